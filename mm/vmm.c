/*
 * vmm.c - address spaces for the kernel (see vmm.h), on top of pagetable.c.
 *
 * How the kernel reaches page tables.  Page tables may live in any frame
 * below 4 GiB, so neither the direct map (768 MiB) nor a fixed mapping can
 * reach all of them.  Two mechanisms do:
 *
 *   - the recursive mapping: slot 1023 of every directory points at the
 *     directory itself, so the current space's table for slot i appears at
 *     RECURSIVE_BASE + i * 4 KiB and the directory at RECURSIVE_DIR.  Editing
 *     the current space costs no mapping work at all;
 *   - kmap slots: a page table of 4 KiB "windows" at KMAP_BASE, re-pointed
 *     with one PTE write and one invlpg, for another space's tables and for
 *     frames outside the direct map.
 *
 * The pt_ops below choose between them; pagetable.c never knows which.
 *
 * Kernel-half sharing.  Directory slots 768..1021 are identical in every
 * space.  Whenever pagetable.c changes one of them in any space,
 * pde_changed() copies the entry into all the others, so the kernel half is
 * one thing seen from every space, and a page table of the kernel half is
 * shared, not copied.
 *
 * Address-space structures come from an object cache (mm/kheap.h), made
 * on first use because the heap itself starts after the VMM.
 */
#include "vmm.h"

#include <string.h>

#include "arch/x86/io.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/physmem.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "kheap.h"

struct addrspace kernel_space;
struct vmm_stats vmm_stats;
uint32_t tlb_flush_threshold = 64; /* measured: docs/design/tlb.md */

static struct addrspace *current;       /* NULL: still on the boot directory */
static struct addrspace *spaces;        /* every live space */
static struct kmem_cache *space_cache;

static pte_t kmap_table[ENTRIES_PER_TABLE] __attribute__((aligned(PAGE_SIZE)));
static pde_t *const current_dir = (pde_t *)RECURSIVE_DIR;

void *kmap(enum kmap_slot slot, uint32_t pa)
{
	uint32_t va = KMAP_BASE + (uint32_t)slot * PAGE_SIZE;
	pte_t want = (pa & PTE_ADDR_MASK) | PTE_P | PTE_RW;

	if (kmap_table[slot] != want) {
		kmap_table[slot] = want;
		invlpg((void *)va);
	}
	return (void *)(va + (pa & (PAGE_SIZE - 1)));
}

void *kmap_frame(enum kmap_slot slot, uint32_t pa)
{
	return pa < direct_map_end ? P2V(pa) : kmap(slot, pa);
}

static void *recursive_table(unsigned pdx)
{
	return pdx == PT_DIR ? (void *)RECURSIVE_DIR : (void *)(RECURSIVE_BASE + pdx * PAGE_SIZE);
}

/* ---- the pt_ops: how pagetable.c reaches memory in the kernel ---------- */

static void *op_table(void *ctx, uint32_t pa, unsigned pdx)
{
	if (ctx == current && pdx != PT_FRAME)
		return recursive_table(pdx);
	return kmap(pdx == PT_DIR ? KMAP_DIR : KMAP_TABLE, pa);
}

static uint32_t op_alloc(void *ctx)
{
	(void)ctx;
	return pmm_alloc(&kpmm);
}

static void op_free(void *ctx, uint32_t pa)
{
	(void)ctx;
	pmm_free(&kpmm, pa);
}

static bool is_shared_slot(unsigned pdx)
{
	return pdx >= KERNEL_PDX_FIRST && pdx < KMAP_PDX;
}

static void op_pde_changed(void *ctx, unsigned pdx, pde_t value)
{
	if (ctx == current)
		invlpg(recursive_table(pdx)); /* the table's recursive view moved */
	if (!is_shared_slot(pdx))
		return;
	for (struct addrspace *s = spaces; s; s = s->next) {
		if (s == ctx)
			continue;
		((pde_t *)kmap(KMAP_SYNC, s->pt.dir))[pdx] = value;
		vmm_stats.kernel_pde_syncs++;
		if (s == current)
			invlpg(recursive_table(pdx));
	}
}

void tlb_flush_range(uint32_t va, uint32_t pages)
{
	if (pages <= tlb_flush_threshold) {
		for (uint32_t i = 0; i < pages; i++)
			invlpg((void *)(va + i * PAGE_SIZE));
		vmm_stats.invlpg += pages;
	} else if ((uint64_t)va + (uint64_t)pages * PAGE_SIZE > KERNEL_BASE && (read_cr4() & CR4_PGE)) {
		/* Kernel pages are global: only toggling CR4.PGE drops them (SDM 4.10.4.1). */
		uint32_t cr4 = read_cr4();
		write_cr4(cr4 & ~CR4_PGE);
		write_cr4(cr4);
		vmm_stats.global_flushes++;
	} else {
		write_cr3(read_cr3());
		vmm_stats.full_flushes++;
	}
}

static void op_flush(void *ctx, uint32_t va, uint32_t pages)
{
	/* A space not loaded has no user translations cached (CR3 loads drop them). */
	if (ctx != current && va < KERNEL_BASE && (uint64_t)va + (uint64_t)pages * PAGE_SIZE <= KERNEL_BASE)
		return;
	tlb_flush_range(va, pages);
}

static const struct pt_ops kernel_pt_ops = {
	op_table, op_alloc, op_free, op_pde_changed, op_flush,
};

/* ---- address spaces ------------------------------------------------------ */

struct addrspace *vmm_current(void)
{
	return current;
}

static void link_space(struct addrspace *as)
{
	as->next = spaces;
	spaces = as;
	vmm_stats.spaces++;
}

static void unlink_space(struct addrspace *as)
{
	for (struct addrspace **p = &spaces; *p; p = &(*p)->next) {
		if (*p == as) {
			*p = as->next;
			vmm_stats.spaces--;
			return;
		}
	}
}

/* A zeroed frame, or 0. */
static uint32_t zeroed_frame(void)
{
	uint32_t f = pmm_alloc(&kpmm);

	if (f)
		memset(kmap_frame(KMAP_ZERO, f), 0, PAGE_SIZE);
	return f;
}

static void map_or_panic(uint32_t va, uint32_t pa, uint32_t len, uint32_t flags)
{
	enum vm_result r = pt_map(&kernel_space.pt, va, pa, len, flags);

	if (r != VM_OK)
		panic("vmm: cannot map kernel range 0x%x-0x%x: %s", va, va + len, vm_result_name(r));
}

/* The kernel image's first 4 MiB in small pages: .text and .rodata read-only. */
static void map_kernel_image(void)
{
	uint32_t ro_start = V2P(__text_start) & ~(PAGE_SIZE - 1);
	uint32_t ro_end = (V2P(__rodata_end) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

	map_or_panic(KERNEL_BASE, 0, ro_start, PTE_RW | PTE_G);
	map_or_panic(KERNEL_BASE + ro_start, ro_start, ro_end - ro_start, PTE_G);
	map_or_panic(KERNEL_BASE + ro_end, ro_end, LARGE_PAGE_SIZE - ro_end, PTE_RW | PTE_G);
}

/* The rest of the direct map in 4 MiB pages, as far as RAM goes. */
static void map_direct(void)
{
	uint64_t top = memmap_top_below_4g(&kmemmap);

	if (top > DIRECT_MAP_SIZE)
		top = DIRECT_MAP_SIZE;
	top = (top + LARGE_PAGE_SIZE - 1) & ~(uint64_t)(LARGE_PAGE_SIZE - 1);
	if (top > LARGE_PAGE_SIZE)
		map_or_panic(KERNEL_BASE + LARGE_PAGE_SIZE, LARGE_PAGE_SIZE,
			     (uint32_t)top - LARGE_PAGE_SIZE, PTE_RW | PTE_G | PT_LARGE);
	direct_map_end = top > LARGE_PAGE_SIZE ? (uint32_t)top : LARGE_PAGE_SIZE;
}

void vmm_init(void)
{
	/* kmap must work on the boot directory too: hook its table in first. */
	current_dir[KMAP_PDX] = V2P(kmap_table) | PTE_P | PTE_RW;
	invlpg(recursive_table(KMAP_PDX));

	uint32_t dir = zeroed_frame();
	if (!dir)
		panic("vmm: no frame for the kernel page directory");
	pt_init(&kernel_space.pt, dir, &kernel_pt_ops, &kernel_space);
	kernel_space.pt.limit_pdx = KMAP_PDX; /* kmap, window, recursive: not pagetable.c's */
	link_space(&kernel_space);
	map_kernel_image();
	map_direct();
	pde_t *d = kmap(KMAP_DIR, dir);
	d[KMAP_PDX] = V2P(kmap_table) | PTE_P | PTE_RW;
	d[RECURSIVE_PDX] = dir | PTE_P | PTE_RW;

	as_switch(&kernel_space);
	write_cr4(read_cr4() | CR4_PGE);
	write_cr0(read_cr0() | CR0_WP);
}

void as_switch(struct addrspace *as)
{
	current = as;
	write_cr3(as->pt.dir);
}

struct addrspace *as_create(void)
{
	struct addrspace *as;
	uint32_t dir;

	if (!space_cache &&
	    !(space_cache = kmem_cache_create("addrspace", sizeof(struct addrspace), 0, NULL)))
		return NULL;
	if (!(as = kmem_cache_alloc(space_cache)))
		return NULL;
	if (!(dir = pmm_alloc(&kpmm))) {
		kmem_cache_free(space_cache, as);
		return NULL;
	}
	pde_t *d = kmap(KMAP_DIR, dir);
	memset(d, 0, KERNEL_PDX_FIRST * sizeof(pde_t));
	/* The kernel half is the same everywhere: copy it from the current space. */
	memcpy(&d[KERNEL_PDX_FIRST], &current_dir[KERNEL_PDX_FIRST],
	       (RECURSIVE_PDX - KERNEL_PDX_FIRST) * sizeof(pde_t));
	d[PHYS_WINDOW_PDX] = 0;
	d[RECURSIVE_PDX] = dir | PTE_P | PTE_RW;
	pt_init(&as->pt, dir, &kernel_pt_ops, as);
	as->pt.limit_pdx = KERNEL_PDX_FIRST; /* the kernel half is edited through kernel_space */
	link_space(as);
	return as;
}

/* pt_for_each_range callback: give back the frames of an owned run. */
static void free_owned_run(void *arg, const struct pt_mapping *run)
{
	(void)arg;
	if (!(run->flags & VMM_OWNED))
		return;
	for (uint32_t off = 0; off < run->size; off += PAGE_SIZE)
		pmm_free(&kpmm, run->pa + off);
}

void as_destroy(struct addrspace *as)
{
	KASSERT(as != current && as != &kernel_space);
	pt_for_each_range(&as->pt, 0, KERNEL_BASE, free_owned_run, NULL);
	pt_free_tables(&as->pt, 0, KERNEL_PDX_FIRST - 1);
	KASSERT(as->pt.tables == 0);
	unlink_space(as);
	pmm_free(&kpmm, as->pt.dir);
	kmem_cache_free(space_cache, as);
}

enum vm_result vmm_unmap_free(struct addrspace *as, uint32_t va, uint32_t len)
{
	struct pt_mapping m;

	if (va % PAGE_SIZE || len % PAGE_SIZE)
		return VM_EALIGN;
	if (len == 0 || (uint64_t)va + len > (uint64_t)as->pt.limit_pdx << LARGE_PAGE_SHIFT)
		return VM_EINVAL;
	for (uint32_t off = 0; off < len; off += PAGE_SIZE)
		if (!pt_query(&as->pt, va + off, &m))
			return VM_ENOENT;
	/* Page by page, and each frame freed only once nothing maps it any more. */
	for (uint32_t off = 0; off < len; off += PAGE_SIZE) {
		pt_query(&as->pt, va + off, &m);
		uint32_t pa = m.pa + (va + off - m.va);
		enum vm_result r = pt_unmap(&as->pt, va + off, PAGE_SIZE);
		if (r != VM_OK)
			return r; /* a split found no frame: the rest stays mapped */
		if (m.flags & VMM_OWNED)
			pmm_free(&kpmm, pa);
	}
	return VM_OK;
}

enum vm_result vmm_map_anon(struct addrspace *as, uint32_t va, uint32_t len, uint32_t flags)
{
	enum vm_result r = VM_OK;
	uint32_t off;

	if (va % PAGE_SIZE || len % PAGE_SIZE)
		return VM_EALIGN;
	if (len == 0)
		return VM_EINVAL;
	for (off = 0; off < len; off += PAGE_SIZE) {
		uint32_t f = zeroed_frame();
		if (!f) {
			r = VM_ENOMEM;
			break;
		}
		r = pt_map(&as->pt, va + off, f, PAGE_SIZE, (flags & ~PT_LARGE) | VMM_OWNED);
		if (r != VM_OK) {
			pmm_free(&kpmm, f);
			break;
		}
	}
	if (r != VM_OK && off)
		vmm_unmap_free(as, va, off);
	return r;
}
