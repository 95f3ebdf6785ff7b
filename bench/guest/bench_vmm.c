/*
 * bench_vmm.c - what paging operations cost inside the guest.
 *
 *   bench_map:    mapping and unmapping 4 MiB as 1024 small pages or as one
 *                 large page (the page-size question).
 *   bench_lookup: translating an address by the pagetable.c walk, by the
 *                 recursive mapping read directly, and for a space that is
 *                 not current (through kmap): what recursion buys, and
 *                 whether a software cache of lookups could pay; and the
 *                 cost of an empty address space (sharing the kernel half).
 *   bench_tlb:    after changing N PTEs of a 256-page working set, flushing
 *                 with N invlpg or with one CR3 reload, then touching the
 *                 whole set again: where the full flush starts to win.
 *
 * The pages measured are not global (user half of the kernel's space), so a
 * CR3 reload really drops them.
 */
#include <string.h>

#include "arch/x86/io.h"
#include "arch/x86/memlayout.h"
#include "kernel/kbench.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "mm/vmm.h"

#define AREA      0x40000000u /* scratch virtual space in the kernel's user half */
#define RUNS      15
#define WORKING_SET 256

void bench_tlb(void);
void bench_map(void);
void bench_lookup(void);

static uint32_t block; /* a 4 MiB-aligned 4 MiB physical block */

static uint64_t map_small(void *arg)
{
	(void)arg;
	uint64_t t0 = rdtsc();
	pt_map(&kernel_space.pt, AREA, block, LARGE_PAGE_SIZE, PTE_RW);
	uint64_t t1 = rdtsc();
	pt_unmap(&kernel_space.pt, AREA, LARGE_PAGE_SIZE);
	return t1 - t0;
}

static uint64_t map_large(void *arg)
{
	(void)arg;
	uint64_t t0 = rdtsc();
	pt_map(&kernel_space.pt, AREA, block, LARGE_PAGE_SIZE, PTE_RW | PT_LARGE);
	uint64_t t1 = rdtsc();
	pt_unmap(&kernel_space.pt, AREA, LARGE_PAGE_SIZE);
	return t1 - t0;
}

static uint64_t unmap_of(uint32_t flags)
{
	pt_map(&kernel_space.pt, AREA, block, LARGE_PAGE_SIZE, PTE_RW | flags);
	uint64_t t0 = rdtsc();
	pt_unmap(&kernel_space.pt, AREA, LARGE_PAGE_SIZE);
	return rdtsc() - t0;
}

static uint64_t unmap_small(void *arg)
{
	(void)arg;
	return unmap_of(0);
}

static uint64_t unmap_large(void *arg)
{
	(void)arg;
	return unmap_of(PT_LARGE);
}

void bench_map(void)
{
	block = pmm_alloc_contig(&kpmm, 1024, 1024);
	if (!block)
		panic("bench: no 4 MiB block");
	kprintf("\n## map and unmap 4 MiB (ticks per call, median of %u)\n\n", RUNS);
	kprintf("| page size | pt_map | pt_unmap |\n| --- | ---: | ---: |\n");
	kprintf("| 1024 x 4 KiB | %llu | %llu |\n", (unsigned long long)kbench_median(RUNS, map_small, NULL),
		(unsigned long long)kbench_median(RUNS, unmap_small, NULL));
	kprintf("| 1 x 4 MiB | %llu | %llu |\n", (unsigned long long)kbench_median(RUNS, map_large, NULL),
		(unsigned long long)kbench_median(RUNS, unmap_large, NULL));
	pmm_free_contig(&kpmm, block, 1024);
}

/* ---- lookups ------------------------------------------------------------- */

#define LOOKUPS 1024

struct lookup_case {
	struct addrspace *as;
};

static uint64_t lookup_walk(void *arg)
{
	struct lookup_case *c = arg;
	uint32_t pa, sum = 0;
	uint64_t t0 = rdtsc();

	for (uint32_t i = 0; i < LOOKUPS; i++) {
		pt_translate(&c->as->pt, AREA + i * PAGE_SIZE, &pa);
		sum += pa;
	}
	uint64_t t = rdtsc() - t0;
	return sum ? t : t; /* keep the loop */
}

static uint64_t lookup_recursive(void *arg)
{
	(void)arg;
	/* With the recursive slot, all PTEs form one array indexed by va >> 12. */
	const volatile pte_t *ptes = (const volatile pte_t *)RECURSIVE_BASE;
	uint32_t sum = 0;
	uint64_t t0 = rdtsc();

	for (uint32_t i = 0; i < LOOKUPS; i++)
		sum += ptes[(AREA >> PAGE_SHIFT) + i] & PTE_ADDR_MASK;
	uint64_t t = rdtsc() - t0;
	return sum ? t : t;
}

static uint64_t space_lifecycle(void *arg)
{
	(void)arg;
	uint64_t t0 = rdtsc();
	struct addrspace *as = as_create();
	if (!as)
		panic("bench: as_create failed");
	as_destroy(as);
	return rdtsc() - t0;
}

void bench_lookup(void)
{
	struct addrspace *as = as_create();

	if (!as || vmm_map_anon(as, AREA, LOOKUPS * PAGE_SIZE, PTE_RW) != VM_OK)
		panic("bench: cannot build the lookup space");
	struct lookup_case c = { as };
	as_switch(as);
	uint64_t walk_current = kbench_median(RUNS, lookup_walk, &c);
	uint64_t direct = kbench_median(RUNS, lookup_recursive, NULL);
	as_switch(&kernel_space);
	uint64_t walk_other = kbench_median(RUNS, lookup_walk, &c);
	as_destroy(as);

	kprintf("\n## translating %u addresses (ticks per lookup, median of %u)\n\n", LOOKUPS, RUNS);
	kprintf("| how | ticks |\n| --- | ---: |\n");
	kprintf("| pt_translate, current space (recursive mapping) | %llu.%02llu |\n",
		(unsigned long long)walk_current / LOOKUPS, (unsigned long long)(walk_current % LOOKUPS) * 100 / LOOKUPS);
	kprintf("| pt_translate, another space (kmap window) | %llu.%02llu |\n",
		(unsigned long long)walk_other / LOOKUPS, (unsigned long long)(walk_other % LOOKUPS) * 100 / LOOKUPS);
	kprintf("| one load from the recursive PTE array | %llu.%02llu |\n",
		(unsigned long long)direct / LOOKUPS, (unsigned long long)(direct % LOOKUPS) * 100 / LOOKUPS);
	kprintf("\n## an empty address space: as_create + as_destroy (ticks, median of %u)\n\n| %llu |\n",
		RUNS, (unsigned long long)kbench_median(RUNS, space_lifecycle, NULL));
}

/* ---- TLB ------------------------------------------------------------------ */

struct tlb_case {
	uint32_t changed;  /* PTEs rewritten */
	bool full;         /* flush by CR3 reload instead of invlpg */
};

static void touch_working_set(void)
{
	for (uint32_t i = 0; i < WORKING_SET; i++)
		(void)*(volatile uint32_t *)(AREA + i * PAGE_SIZE);
}

static uint64_t tlb_round(void *arg)
{
	struct tlb_case *c = arg;
	volatile pte_t *ptes = (volatile pte_t *)RECURSIVE_BASE + (AREA >> PAGE_SHIFT);

	touch_working_set(); /* every translation cached */
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < c->changed; i++)
		ptes[i] = ptes[i]; /* a PTE rewrite (same value: the set stays valid) */
	if (c->full) {
		write_cr3(read_cr3());
	} else {
		for (uint32_t i = 0; i < c->changed; i++)
			invlpg((void *)(AREA + i * PAGE_SIZE));
	}
	touch_working_set(); /* pay for whatever the flush dropped */
	return rdtsc() - t0;
}

void bench_tlb(void)
{
	static const uint32_t counts[] = { 1, 2, 4, 8, 16, 32, 48, 64, 80, 96, 112, 128, 192, 256 };

	if (vmm_map_anon(&kernel_space, AREA, WORKING_SET * PAGE_SIZE, PTE_RW) != VM_OK)
		panic("bench: cannot map the working set");
	kprintf("\n## TLB: change N PTEs of a %u-page working set, flush, touch the set again\n"
		"## (ticks per round, median of %u)\n\n", WORKING_SET, RUNS);
	kprintf("| N | N x invlpg | CR3 reload | cheaper |\n| ---: | ---: | ---: | --- |\n");
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct tlb_case sel = { counts[i], false }, full = { counts[i], true };
		uint64_t a = kbench_median(RUNS, tlb_round, &sel), b = kbench_median(RUNS, tlb_round, &full);
		kprintf("| %u | %llu | %llu | %s |\n", counts[i], (unsigned long long)a,
			(unsigned long long)b, a <= b ? "invlpg" : "reload");
	}
	vmm_unmap_free(&kernel_space, AREA, WORKING_SET * PAGE_SIZE);
}
