/*
 * vmalloc.h - virtually contiguous kernel memory from scattered frames.
 *
 * Each area lives in [VMALLOC_START, VMALLOC_END) with an unmapped guard page
 * after it (and the region's first page unmapped), so every area has a guard
 * page on both sides: running off either end faults at once instead of
 * corrupting a neighbour.  Kernel stacks are vmalloc areas too; the one
 * below a stack is that stack's guard page, and the page-fault handler names
 * it ("kernel stack guard page").
 */
#ifndef MM_VMALLOC_H
#define MM_VMALLOC_H

#include <stdint.h>

#define KSTACK_SIZE 0x4000 /* 16 KiB kernel stacks */

enum vm_area_kind { VM_AREA_DATA, VM_AREA_STACK, VM_AREA_SAMPLED };

/*
 * `size` bytes (rounded up to pages) of zeroed, writable kernel memory, or
 * NULL (size 0, no virtual space, or no frames: nothing is left behind).
 */
void *vmalloc(uint32_t size);
/* Free an area from vmalloc() or kstack_alloc(); anything else is refused. */
void vfree(void *p);

/*
 * Like vmalloc, for a kmalloc block that kheap's sampling places to end at
 * the area's end: a fault in the guard page after it is reported as an
 * overflow of that block.
 */
void *vmalloc_sampled(uint32_t size);

/* A kernel stack; returns its lowest address (the stack grows down from +KSTACK_SIZE). */
void *kstack_alloc(void);

/* If `addr` is a guard page of the vmalloc region, what it guards; else NULL. */
const char *vmalloc_guard_name(uint32_t addr);

struct vmalloc_stats {
	uint32_t areas, bytes, refused_frees;
};
extern struct vmalloc_stats vmalloc_stats;

/* Print every area (the monitor's vmstat uses it). */
void vmalloc_print(void);

#endif
