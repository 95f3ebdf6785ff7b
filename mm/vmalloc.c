/*
 * vmalloc.c - areas of kernel virtual memory (see vmalloc.h).
 *
 * The areas are kept in an array sorted by address; allocation is first fit
 * over the gaps between them, each area taking its size plus one guard page.
 * A few dozen areas are expected (stacks, large buffers), so a linear scan is
 * the clear choice; the heap will serve small objects.
 */
#include "vmalloc.h"

#include <stddef.h>
#include <string.h>

#include "arch/x86/memlayout.h"
#include "kernel/printf.h"
#include "mm_log.h"
#include "vmm.h"

#define AREAS_MAX 128

struct vm_area {
	uint32_t start, size; /* mapped bytes; the guard page follows */
	enum vm_area_kind kind;
};

static struct vm_area areas[AREAS_MAX];
static unsigned nareas;
struct vmalloc_stats vmalloc_stats;

/* The first gap of `span` bytes; the region's first page stays a guard. */
static uint32_t find_gap(uint32_t span, unsigned *index)
{
	uint32_t at = VMALLOC_START + PAGE_SIZE;

	for (unsigned i = 0; i < nareas; i++) {
		if (areas[i].start - at >= span) {
			*index = i;
			return at;
		}
		at = areas[i].start + areas[i].size + PAGE_SIZE;
	}
	*index = nareas;
	return VMALLOC_END - at >= span ? at : 0;
}

static void *area_alloc(uint32_t size, enum vm_area_kind kind)
{
	unsigned i;

	if (size == 0 || size > VMALLOC_END - VMALLOC_START || nareas == AREAS_MAX)
		return NULL;
	size = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	uint32_t start = find_gap(size + PAGE_SIZE, &i);
	if (!start || vmm_map_anon(&kernel_space, start, size, PTE_RW | PTE_G) != VM_OK)
		return NULL;
	memmove(&areas[i + 1], &areas[i], (nareas - i) * sizeof(areas[0]));
	areas[i] = (struct vm_area){ start, size, kind };
	nareas++;
	vmalloc_stats.areas++;
	vmalloc_stats.bytes += size;
	return (void *)start;
}

void *vmalloc(uint32_t size)
{
	return area_alloc(size, VM_AREA_DATA);
}

void *vmalloc_sampled(uint32_t size)
{
	return area_alloc(size, VM_AREA_SAMPLED);
}

void *kstack_alloc(void)
{
	return area_alloc(KSTACK_SIZE, VM_AREA_STACK);
}

void vfree(void *p)
{
	for (unsigned i = 0; i < nareas; i++) {
		if (areas[i].start != (uint32_t)p)
			continue;
		vmm_unmap_free(&kernel_space, areas[i].start, areas[i].size);
		vmalloc_stats.areas--;
		vmalloc_stats.bytes -= areas[i].size;
		memmove(&areas[i], &areas[i + 1], (nareas - i - 1) * sizeof(areas[0]));
		nareas--;
		return;
	}
	vmalloc_stats.refused_frees++;
	mm_warn("vfree(%p) refused: not the start of a vmalloc area", p);
}

const char *vmalloc_guard_name(uint32_t addr)
{
	if (addr < VMALLOC_START || addr >= VMALLOC_END)
		return NULL;
	uint32_t page = addr & ~(PAGE_SIZE - 1);
	/* A page can be both a stack's guard and the one after the area below
	 * it: the stack is what overflowed into it, so it names the page. */
	for (unsigned i = 0; i < nareas; i++)
		if (page == areas[i].start - PAGE_SIZE && areas[i].kind == VM_AREA_STACK)
			return "kernel stack guard page";
	for (unsigned i = 0; i < nareas; i++)
		if (page == areas[i].start + areas[i].size)
			return areas[i].kind == VM_AREA_SAMPLED
				       ? "guard page after a sampled kmalloc block (overflow)"
				       : "guard page after a vmalloc area";
	return NULL;
}

void vmalloc_print(void)
{
	for (unsigned i = 0; i < nareas; i++)
		kprintf("    %08x-%08x %6uK %s\n", areas[i].start, areas[i].start + areas[i].size - 1,
			areas[i].size >> 10, areas[i].kind == VM_AREA_STACK     ? "kernel stack"
					    : areas[i].kind == VM_AREA_SAMPLED ? "kmalloc sample"
									       : "vmalloc");
}
