/*
 * pagetable.h - one address space's page tables: map, unmap, protect, query.
 *
 * This is the part of the virtual memory manager that only edits x86 paging
 * structures (arch/x86/paging.h).  It does not know how the kernel reaches a
 * table in memory, where table frames come from, or how the TLB is flushed:
 * the caller supplies those as `struct pt_ops`, so the same code runs in the
 * kernel (tables reached through the recursive mapping or a temporary window)
 * and on the host (tables in a simulated physical memory, tested against a
 * model of the MMU).
 *
 * Rules every call follows:
 *   - addresses and lengths are page-aligned, ranges do not wrap and stay
 *     below limit_pdx: otherwise VM_EALIGN / VM_EINVAL and nothing changes;
 *   - PTE_G (global) is refused below 0xC0000000: a global translation
 *     survives CR3 loads, so in a user half it would leak between spaces;
 *     PTE_US is refused from 0xC0000000 up: kernel-half tables are
 *     supervisor-only, so a user page there could not be one;
 *   - pt_map refuses (VM_EEXIST) if any page of the range is already mapped;
 *     pt_unmap and pt_protect refuse (VM_ENOENT) if any page is not: a
 *     refused call changes nothing;
 *   - with PT_LARGE, pt_map uses 4 MiB pages wherever virtual and physical
 *     addresses are 4 MiB-aligned and the range covers the whole page;
 *     unmapping or reprotecting part of a 4 MiB page first splits it into a
 *     page table of 1024 small pages with the same translation;
 *   - a page table that becomes empty is freed.
 * Frames that mappings point at belong to the caller: unmapping never frees
 * them.  Not thread-safe: the caller serializes.
 */
#ifndef MM_PAGETABLE_H
#define MM_PAGETABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/paging.h"

#define PT_DIR   ENTRIES_PER_TABLE       /* the `pdx` that names the directory itself */
#define PT_FRAME (ENTRIES_PER_TABLE + 1) /* a table frame not yet in the directory */

/* Only these flags may be passed to pt_map / pt_protect. */
#define PT_FLAGS_ALLOWED (PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_G | PTE_AVAIL_MASK)
#define PT_LARGE 0x80000000u /* pt_map: 4 MiB pages where possible */

struct pt_ops {
	/*
	 * A pointer to the table for directory slot `pdx` (0..1023), to the
	 * directory (pdx == PT_DIR), or to a new table frame that is not in the
	 * directory yet (pdx == PT_FRAME), which lives in frame `pa`.  The
	 * directory's pointer and a table's must be usable at the same time;
	 * each stays valid until the next call for the same kind.
	 */
	void *(*table)(void *ctx, uint32_t pa, unsigned pdx);
	uint32_t (*alloc)(void *ctx);          /* a frame for a table, 0 if none */
	void (*free)(void *ctx, uint32_t pa);  /* give back a table's frame */
	/* A directory entry changed (new, split or freed table). */
	void (*pde_changed)(void *ctx, unsigned pdx, pde_t value);
	/* Translations of [va, va + pages * PAGE_SIZE) may be cached: drop them. */
	void (*flush)(void *ctx, uint32_t va, uint32_t pages);
};

struct pagetable {
	uint32_t dir; /* physical address of the page directory */
	const struct pt_ops *ops;
	void *ctx;
	uint32_t tables; /* page tables this pagetable allocated and still holds */
	/*
	 * Directory slots [0, limit_pdx) may be edited; ranges reaching past
	 * are refused (VM_EINVAL).  pt_init allows all 1024; the kernel keeps
	 * its kmap, window and recursive slots, and a user space its user
	 * half, out of reach.
	 */
	unsigned limit_pdx;
};

enum vm_result {
	VM_OK = 0,
	VM_EALIGN,  /* address or length not page-aligned */
	VM_EINVAL,  /* empty or wrapping range, or flags outside PT_FLAGS_ALLOWED */
	VM_EEXIST,  /* pt_map: a page of the range is already mapped */
	VM_ENOENT,  /* pt_unmap/pt_protect: a page of the range is not mapped */
	VM_ENOMEM,  /* no frame for a page table */
};

/* One translation: what pt_query found for an address. */
struct pt_mapping {
	uint32_t va;    /* start of the page (4 KiB or 4 MiB) holding the address */
	uint32_t pa;    /* start of the frame it maps to */
	uint32_t size;  /* PAGE_SIZE or LARGE_PAGE_SIZE */
	uint32_t flags; /* PTE flag bits (PDE_PS for a 4 MiB page) */
};

/* Start `pt` over the (zeroed or prepared) directory frame `dir`. */
void pt_init(struct pagetable *pt, uint32_t dir, const struct pt_ops *ops, void *ctx);

enum vm_result pt_map(struct pagetable *pt, uint32_t va, uint32_t pa, uint32_t len,
		      uint32_t flags);
enum vm_result pt_unmap(struct pagetable *pt, uint32_t va, uint32_t len);
enum vm_result pt_protect(struct pagetable *pt, uint32_t va, uint32_t len, uint32_t flags);

/*
 * Point the mapped 4 KiB page at `va` at frame `pa` with `flags`, in one
 * entry write (copy-on-write: no moment where the page is unmapped, and no
 * table to free and allocate again).  VM_ENOENT if it is not mapped by a
 * small page.
 */
enum vm_result pt_replace(struct pagetable *pt, uint32_t va, uint32_t pa, uint32_t flags);

/* The translation of `va`, or false if it is not mapped. */
bool pt_query(struct pagetable *pt, uint32_t va, struct pt_mapping *out);

/* Physical address `va` translates to, or false if it is not mapped. */
bool pt_translate(struct pagetable *pt, uint32_t va, uint32_t *pa);

/*
 * Free every page table of directory slots [first, last] and clear those
 * slots (large pages there are simply dropped).  For tearing down the user
 * half of an address space; mapped frames are the caller's to free first.
 */
void pt_free_tables(struct pagetable *pt, unsigned first, unsigned last);

/*
 * Copy the page tables of directory slots [first, last] of `src` into
 * `dst` (fork): for every present entry of `src`, `fn` sets the entry `dst`
 * gets at the same address (it may also change the source entry, say to
 * take write access away for copy-on-write) and returns false when it runs
 * out of memory.  Copying a table costs one pass over its 1024 entries,
 * not a walk per page.  The slots must be empty in `dst` and hold no 4 MiB
 * page in `src`: otherwise VM_EINVAL, found before anything is copied, and
 * nothing changes.  On VM_ENOMEM, what was copied stays in `dst` for the
 * caller to undo; the source's cached translations are flushed either way.
 * A table of `src` and one of `dst` are used at the same time, so the
 * pt_ops must give them separate windows (the kernel's do when `src` is
 * the loaded space, reached through the recursive mapping: fork's case).
 */
typedef bool (*pt_clone_fn)(void *arg, uint32_t va, pte_t *src, pte_t *dst);
enum vm_result pt_clone(struct pagetable *dst, struct pagetable *src, unsigned first,
			unsigned last, pt_clone_fn fn, void *arg);

/*
 * Call `fn` for each run of pages in [va, va + len) whose translations are
 * contiguous with equal flags, in address order: what ptdump prints.
 */
void pt_for_each_range(struct pagetable *pt, uint32_t va, uint64_t len,
		       void (*fn)(void *arg, const struct pt_mapping *run), void *arg);

const char *vm_result_name(enum vm_result r);

#endif
