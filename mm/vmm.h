/*
 * vmm.h - the kernel's virtual memory manager: address spaces.
 *
 * An address space is a page directory plus the page tables below it
 * (mm/pagetable.h does the editing).  Every space shares the kernel half
 * (0xC0000000 and up): its directory slots 768..1021 hold the same entries
 * in every space, and when the kernel changes one (a new page table for
 * vmalloc, say) vmm copies it into all spaces, so a kernel mapping made at
 * any time is seen by every space.  Slot 1022 (the physical window) and 1023
 * (the recursive mapping) are each space's own.
 *
 * The current space's tables are edited through the recursive mapping
 * (RECURSIVE_BASE); another space's through kmap slots.  Frames mapped with
 * VMM_OWNED belong to the space and are freed when it is destroyed.
 */
#ifndef MM_VMM_H
#define MM_VMM_H

#include <stdbool.h>
#include <stdint.h>

#include "pagetable.h"

/* An AVAIL bit of the PTE: the frame belongs to the space (freed with it). */
#define VMM_OWNED 0x200u

struct addrspace {
	struct pagetable pt;
	struct addrspace *next; /* every space, for kernel-half updates */
};

struct vmm_stats {
	uint32_t spaces;          /* address spaces alive, the kernel's included */
	uint32_t invlpg, full_flushes, global_flushes;
	uint32_t kernel_pde_syncs; /* kernel-half entries copied into other spaces */
	uint32_t page_faults;
};

extern struct addrspace kernel_space;
extern struct vmm_stats vmm_stats;
extern uint32_t tlb_flush_threshold; /* pages; above it a flush reloads CR3 */

/*
 * Replace the boot stub's page directory with the kernel space: the direct
 * map in 4 MiB global pages, the kernel image in 4 KiB pages with .text and
 * .rodata read-only, the kmap table; then turn on CR0.WP and CR4.PGE.
 */
void vmm_init(void);

struct addrspace *vmm_current(void);

/* A new space: empty user half, the shared kernel half.  NULL without memory. */
struct addrspace *as_create(void);

/* Load `as` into CR3. */
void as_switch(struct addrspace *as);

/*
 * Free everything `as` holds: VMM_OWNED frames of its user half, its page
 * tables, its directory.  Must not be the current space or the kernel's.
 */
void as_destroy(struct addrspace *as);

/*
 * Map `len` bytes at `va` to fresh zeroed frames owned by the space
 * (VMM_OWNED).  All or nothing: VM_ENOMEM leaves nothing mapped.
 */
enum vm_result vmm_map_anon(struct addrspace *as, uint32_t va, uint32_t len, uint32_t flags);

/* Unmap, freeing the frames the space owns. */
enum vm_result vmm_unmap_free(struct addrspace *as, uint32_t va, uint32_t len);

/* Drop cached translations of [va, va + pages) in the current space. */
void tlb_flush_range(uint32_t va, uint32_t pages);

/* The kmap slots, one per user so no two users share a slot. */
enum kmap_slot {
	KMAP_DIR,   /* another space's directory (pagetable ops) */
	KMAP_TABLE, /* another space's page table (pagetable ops) */
	KMAP_SYNC,  /* a directory receiving a kernel-half entry */
	KMAP_ZERO,  /* a fresh frame being cleared */
	KMAP_DUMP,  /* the monitor's `dump p` */
	KMAP_TEST,  /* in-kernel tests */
	KMAP_COPY_SRC, /* copy-on-write and fork: the frame copied from */
	KMAP_COPY_DST, /* ... and the one copied to */
	KMAP_FILL,  /* a user page being filled from the initrd */
};

/*
 * A kernel pointer to frame `pa` (and the byte offset within it) through
 * kmap slot `slot`, valid until the slot is used again.
 */
void *kmap(enum kmap_slot slot, uint32_t pa);

/* Frame `pa` through the direct map when it is there, else through `slot`. */
void *kmap_frame(enum kmap_slot slot, uint32_t pa);

#endif
