/*
 * test_vmm.c - the virtual memory manager on the running machine.
 *
 * Faults that a test expects go through probe_read/probe_write
 * (arch/x86/extable.h): the access fails softly and the test checks the
 * recorded error code and address.  Every test that takes frames checks the
 * PMM's free count afterwards, so a leaked page table or frame fails it.
 */
#include <string.h>

#include "arch/x86/extable.h"
#include "arch/x86/io.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/physmem.h"
#include "kernel/ktest.h"
#include "kernel/memory.h"
#include "mm/vmalloc.h"
#include "mm/vmm.h"

#define TEST_VA  0x40000000u /* in the kernel space's (empty) user half */
#define TEST_VA2 0x40400000u

static struct pagetable *kpt(void)
{
	return &kernel_space.pt;
}

/* Did touching `va` fault with exactly `error` at `va`? */
static bool faults(bool write, uint32_t va, uint32_t error)
{
	uint32_t before = last_probe_fault.count, value;
	int r = write ? probe_write((void *)va, 0x5A5A5A5A) : probe_read((void *)va, &value);

	return r == -1 && last_probe_fault.count == before + 1 && last_probe_fault.vector == 14 &&
	       last_probe_fault.error == error && last_probe_fault.address == va;
}

KTEST(vmm_map_translate_unmap)
{
	uint32_t free0 = kpmm.stats.free_frames, pa, f = pmm_alloc(&kpmm);

	KEXPECT(f, "no frame");
	KEXPECT(pt_map(kpt(), TEST_VA, f, PAGE_SIZE, PTE_RW) == VM_OK, "map failed");
	KEXPECT(pt_translate(kpt(), TEST_VA + 0x123, &pa) && pa == f + 0x123,
		"translate gave 0x%x, expected 0x%x", pa, f + 0x123);
	*(volatile uint32_t *)TEST_VA = 0xCAFEF00D;
	KEXPECT(*(volatile uint32_t *)phys_ptr(f) == 0xCAFEF00D, "write through the mapping not in the frame");
	KEXPECT(pt_map(kpt(), TEST_VA, f, PAGE_SIZE, PTE_RW) == VM_EEXIST, "mapping twice not refused");
	KEXPECT(pt_map(kpt(), TEST_VA + 1, f, PAGE_SIZE, PTE_RW) == VM_EALIGN, "misaligned map not refused");
	KEXPECT(pt_unmap(kpt(), TEST_VA, PAGE_SIZE) == VM_OK, "unmap failed");
	KEXPECT(!pt_translate(kpt(), TEST_VA, &pa), "still translates after unmap");
	KEXPECT(faults(false, TEST_VA, 0), "read of the unmapped page did not fault as not-present");
	KEXPECT(pt_unmap(kpt(), TEST_VA, PAGE_SIZE) == VM_ENOENT, "unmapping twice not refused");
	pmm_free(&kpmm, f);
	KEXPECT(kpmm.stats.free_frames == free0, "free frames %u, expected %u (page table leaked?)",
		kpmm.stats.free_frames, free0);
}

KTEST(vmm_large_page_split)
{
	uint32_t free0 = kpmm.stats.free_frames;
	uint32_t block = pmm_alloc_contig(&kpmm, 1024, 1024);
	struct pt_mapping m;

	KEXPECT(block, "no 4 MiB-aligned block free");
	KEXPECT(pt_map(kpt(), TEST_VA2, block, LARGE_PAGE_SIZE, PTE_RW | PT_LARGE) == VM_OK, "map failed");
	KEXPECT(pt_query(kpt(), TEST_VA2, &m) && m.size == LARGE_PAGE_SIZE && (m.flags & PDE_PS),
		"not mapped as a 4 MiB page");
	for (uint32_t i = 0; i < 1024; i++)
		*(volatile uint32_t *)(TEST_VA2 + i * PAGE_SIZE) = i * 7;
	KEXPECT(pt_unmap(kpt(), TEST_VA2 + 5 * PAGE_SIZE, PAGE_SIZE) == VM_OK, "partial unmap failed");
	KEXPECT(faults(false, TEST_VA2 + 5 * PAGE_SIZE, 0), "the unmapped page still reads");
	for (uint32_t i = 0; i < 1024; i++) {
		uint32_t pa;
		if (i == 5)
			continue;
		KEXPECT(pt_query(kpt(), TEST_VA2 + i * PAGE_SIZE, &m) && m.size == PAGE_SIZE &&
				pt_translate(kpt(), TEST_VA2 + i * PAGE_SIZE, &pa) && pa == block + i * PAGE_SIZE,
			"page %u lost its translation in the split", i);
		KEXPECT(*(volatile uint32_t *)(TEST_VA2 + i * PAGE_SIZE) == i * 7, "page %u lost its data", i);
	}
	KEXPECT(pt_unmap(kpt(), TEST_VA2, 5 * PAGE_SIZE) == VM_OK &&
			pt_unmap(kpt(), TEST_VA2 + 6 * PAGE_SIZE, LARGE_PAGE_SIZE - 6 * PAGE_SIZE) == VM_OK,
		"unmapping the rest failed");
	pmm_free_contig(&kpmm, block, 1024);
	KEXPECT(kpmm.stats.free_frames == free0, "free frames %u, expected %u (split table leaked?)",
		kpmm.stats.free_frames, free0);
}

KTEST(vmm_protections_enforced)
{
	uint32_t f = pmm_alloc(&kpmm);

	KEXPECT(read_cr0() & CR0_WP, "CR0.WP off: the kernel could write read-only pages");
	KEXPECT(faults(true, (uint32_t)__text_start, PF_P | PF_W), "kernel .text is writable");
	KEXPECT(faults(true, (uint32_t)__rodata_end - 4, PF_P | PF_W), "kernel .rodata is writable");
	KEXPECT(faults(false, 0, 0), "NULL is readable");
	KEXPECT(faults(false, KERNEL_LOAD, 0), "the boot identity map is still there");

	KEXPECT(pt_map(kpt(), TEST_VA, f, PAGE_SIZE, PTE_RW) == VM_OK, "map failed");
	*(volatile uint32_t *)TEST_VA = 1; /* the TLB now holds a writable translation */
	KEXPECT(pt_protect(kpt(), TEST_VA, PAGE_SIZE, 0) == VM_OK, "protect failed");
	KEXPECT(faults(true, TEST_VA, PF_P | PF_W), "write after making the page read-only did not fault (stale TLB?)");
	uint32_t v;
	KEXPECT(probe_read((void *)TEST_VA, &v) == 0 && v == 1, "read-only page not readable");
	pt_unmap(kpt(), TEST_VA, PAGE_SIZE);
	pmm_free(&kpmm, f);
}

KTEST(vmm_kernel_pages_global)
{
	struct pt_mapping m;

	KEXPECT(read_cr4() & CR4_PGE, "CR4.PGE off");
	KEXPECT(read_cr4() & CR4_PSE, "CR4.PSE off");
	KEXPECT(pt_query(kpt(), (uint32_t)__text_start, &m) && (m.flags & PTE_G) && !(m.flags & PTE_RW),
		"kernel text mapping flags 0x%x, expected global read-only", m.flags);
	if (memmap_top_below_4g(&kmemmap) > 2 * LARGE_PAGE_SIZE)
		KEXPECT(pt_query(kpt(), KERNEL_BASE + LARGE_PAGE_SIZE, &m) && m.size == LARGE_PAGE_SIZE &&
				(m.flags & PTE_G), "direct map above 4 MiB not in global 4 MiB pages");
}

KTEST(vmm_recursive_matches_walk)
{
	const pde_t *dir = (const pde_t *)RECURSIVE_DIR;
	/* The walk must not itself go through the recursive mapping: the same
	 * tables seen as "another space" are reached through kmap slots. */
	struct pagetable through_kmap = kernel_space.pt;
	through_kmap.ctx = &through_kmap;
	uint32_t probes[] = { (uint32_t)__text_start, KERNEL_BASE + LARGE_PAGE_SIZE, read_esp(),
			      (uint32_t)&kpmm, KMAP_BASE };

	KEXPECT((dir[RECURSIVE_PDX] & PTE_ADDR_MASK) == kpt()->dir, "slot 1023 does not point at the directory");
	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint32_t va = probes[i];
		struct pt_mapping m;
		pde_t pde = dir[PDX(va)];
		KEXPECT(pt_query(&through_kmap, va, &m), "va %x not mapped in the kmap walk", va);
		if (pde & PDE_PS) {
			KEXPECT(m.size == LARGE_PAGE_SIZE && (pde & PDE_LARGE_MASK) == m.pa,
				"va %x: PDE %x vs walk pa %x", va, pde, m.pa);
			continue;
		}
		pte_t pte = ((const pte_t *)(RECURSIVE_BASE + PDX(va) * PAGE_SIZE))[PTX(va)];
		KEXPECT((pte & PTE_ADDR_MASK) == m.pa && (pte & PTE_FLAGS_MASK & ~PDE_PS) == m.flags,
			"va %x: recursive PTE %x, walk says pa %x flags %x", va, pte, m.pa, m.flags);
	}
}

#define UNUSED_KERNEL_SLOT_VA 0xFF000000u /* top of the vmalloc region: no table yet */

/* Would a read of `va` fault in space `as`?  (switches there and back) */
static bool faults_in(struct addrspace *as, uint32_t va, uint32_t *value)
{
	as_switch(as);
	int r = probe_read((void *)va, value);
	as_switch(&kernel_space);
	return r != 0;
}

KTEST(vmm_kernel_half_shared)
{
	uint32_t free0 = kpmm.stats.free_frames, syncs = vmm_stats.kernel_pde_syncs, v = 0;
	struct addrspace *a = as_create(), *b = as_create();
	uint32_t f = pmm_alloc(&kpmm);

	KEXPECT(a && b && f, "no memory");
	KEXPECT(!pt_query(kpt(), UNUSED_KERNEL_SLOT_VA, &(struct pt_mapping){ 0, 0, 0, 0 }),
		"the test slot is already in use");
	/* A new kernel page table after both spaces exist: it must reach both. */
	KEXPECT(pt_map(kpt(), UNUSED_KERNEL_SLOT_VA, f, PAGE_SIZE, PTE_RW | PTE_G) == VM_OK, "map failed");
	KEXPECT(vmm_stats.kernel_pde_syncs >= syncs + 2, "the new kernel table was copied to %u spaces",
		vmm_stats.kernel_pde_syncs - syncs);
	*(volatile uint32_t *)UNUSED_KERNEL_SLOT_VA = 0x5EED;
	KEXPECT(!faults_in(a, UNUSED_KERNEL_SLOT_VA, &v) && v == 0x5EED, "space a does not see it (0x%x)", v);
	KEXPECT(!faults_in(b, UNUSED_KERNEL_SLOT_VA, &v) && v == 0x5EED, "space b does not see it (0x%x)", v);
	/* Unmapping frees the table: every space must lose it. */
	KEXPECT(pt_unmap(kpt(), UNUSED_KERNEL_SLOT_VA, PAGE_SIZE) == VM_OK, "unmap failed");
	KEXPECT(faults_in(a, UNUSED_KERNEL_SLOT_VA, &v), "space a still reads the unmapped page");
	KEXPECT(faults_in(b, UNUSED_KERNEL_SLOT_VA, &v), "space b still reads the unmapped page");
	KEXPECT(pt_map(&a->pt, UNUSED_KERNEL_SLOT_VA, f, PAGE_SIZE, PTE_RW) == VM_EINVAL,
		"a user space may edit the kernel half");
	KEXPECT(pt_map(kpt(), RECURSIVE_BASE, f, PAGE_SIZE, PTE_RW) == VM_EINVAL,
		"the recursive slot is editable");
	KEXPECT(pt_map(&a->pt, TEST_VA, f, PAGE_SIZE, PTE_RW | PTE_G) == VM_EINVAL,
		"a global page in the user half was accepted");
	pmm_free(&kpmm, f);
	as_destroy(a);
	as_destroy(b);
	KEXPECT(kpmm.stats.free_frames == free0, "free frames %u, expected %u", kpmm.stats.free_frames, free0);
}

KTEST(vmm_spaces_isolated)
{
	uint32_t free0 = kpmm.stats.free_frames, v = 0;
	struct addrspace *a = as_create(), *b = as_create();

	KEXPECT(a && b, "as_create failed");
	KEXPECT(vmm_map_anon(a, TEST_VA, 2 * PAGE_SIZE, PTE_RW) == VM_OK &&
			vmm_map_anon(b, TEST_VA, 2 * PAGE_SIZE, PTE_RW) == VM_OK, "map_anon failed");
	uint32_t *shared = vmalloc(PAGE_SIZE); /* a kernel mapping made after both spaces */
	KEXPECT(shared, "vmalloc failed");
	*shared = 0x5EED;
	as_switch(a);
	*(volatile uint32_t *)TEST_VA = 0xAAAA;
	uint32_t seen_shared = *shared;
	as_switch(b);
	*(volatile uint32_t *)TEST_VA = 0xBBBB;
	as_switch(a);
	v = *(volatile uint32_t *)TEST_VA;
	as_switch(&kernel_space);
	KEXPECT(seen_shared == 0x5EED, "space a saw 0x%x in a later kernel mapping", seen_shared);
	KEXPECT(v == 0xAAAA, "space a reads 0x%x, expected its own 0xAAAA", v);
	KEXPECT(faults(false, TEST_VA, 0), "the kernel space sees a user mapping of another space");
	vfree(shared);
	as_destroy(a);
	as_destroy(b);
	KEXPECT(kpmm.stats.free_frames == free0, "free frames %u after destroying, expected %u",
		kpmm.stats.free_frames, free0);
}

KTEST(vmalloc_guard_pages)
{
	uint32_t free0 = kpmm.stats.free_frames, refused = vmalloc_stats.refused_frees;
	uint8_t *p = vmalloc(3 * PAGE_SIZE), *q = vmalloc(PAGE_SIZE);

	KEXPECT(p && q, "vmalloc failed");
	memset(p, 0xAB, 3 * PAGE_SIZE);
	KEXPECT(faults(true, (uint32_t)p + 3 * PAGE_SIZE, PF_W), "no guard page after the area");
	KEXPECT(faults(true, (uint32_t)p - 4, PF_W), "no guard page before the area");
	KEXPECT(q >= p + 4 * PAGE_SIZE, "next area %p within a page of %p's end", q, p + 3 * PAGE_SIZE);
	vfree(p + PAGE_SIZE);
	KEXPECT(vmalloc_stats.refused_frees == refused + 1, "vfree of an interior pointer not refused");
	vfree(p);
	vfree(q);
	KEXPECT(kpmm.stats.free_frames == free0, "free frames %u, expected %u", kpmm.stats.free_frames, free0);
}

static uint32_t __attribute__((noinline)) recurse(volatile uint32_t depth)
{
	volatile uint8_t frame[256];

	frame[0] = (uint8_t)depth;
	if (depth > 1000000) /* never: 16 KiB of stack ends long before */
		return 0;
	return recurse(depth + 1) + frame[0]; /* not a tail call: the stack grows */
}

KTEST_CRASH(stack_overflow)
{
	kprintf("    # %u\n", recurse(0));
}

KTEST_CRASH(fault_write_kernel_text)
{
	*(volatile uint32_t *)__text_start = 0; /* read-only since vmm_init, CR0.WP on */
}

KTEST(vmm_highest_frame_reachable)
{
	/* The last usable frame below 4 GiB, whatever the machine: through a
	 * kmap slot and through the physical window, the same bytes. */
	uint32_t top = (uint32_t)(memmap_top_below_4g(&kmemmap) - PAGE_SIZE);
	volatile uint32_t *via_kmap = kmap(KMAP_TEST, top);
	uint32_t saved = *via_kmap;

	*via_kmap = 0xD1CEF00D ^ top;
	KEXPECT(*(volatile uint32_t *)phys_ptr(top) == (0xD1CEF00D ^ top),
		"frame 0x%x reads differently through kmap and the physical window", top);
	*via_kmap = saved;
	kprintf("    # highest frame 0x%x reached\n", top);
}
