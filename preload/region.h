/*
 * region.h - the address space the preloaded allocator lives in.
 *
 * The general heap (mm/heap.h) wants one contiguous region that grows at
 * its top.  A process cannot know in advance how big its heap will get, so
 * the library reserves a large range of address space once -- inaccessible
 * and without swap reservation, so it costs neither memory nor commit
 * charge -- and makes pages usable at the top as the heap grows.  Pages
 * the heap gives back are discarded (their memory returns to the system)
 * but stay readable (as zeros, or lazily purged ones as they were until
 * the kernel takes them): the magazines' free (magazine.h) reads a
 * slab header without the lock, and a shrink at the same moment must not
 * turn that read into a fault.  The part never used stays inaccessible.
 *
 * Huge allocations do not live in the region: each is its own anonymous
 * mapping, unmapped when freed.
 *
 * Everything here is a system call on memory the caller names; nothing
 * allocates, so it is safe to use before the heap exists.
 */
#ifndef PRELOAD_REGION_H
#define PRELOAD_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/heap.h"
#include "mm/kmalloc.h"

#define REGION_PAGE 4096 /* the unit of growth and of huge blocks (x86 pages) */

/* Reserve `bytes` of address space; its start (page-aligned) or 0. */
uintptr_t region_reserve(size_t bytes);

/* Zeroed memory of its own (for the heaps' purge maps), or NULL. */
void *region_zeroed(size_t bytes);

/* Give a reservation back whole (the benchmark's instances come and go). */
void region_release(uintptr_t base, size_t bytes);

/* Purge with MADV_DONTNEED (frames back at once) instead of MADV_FREE (region.c). */
void region_purge_eagerly(bool eager);

/* Backends over the reservation, for heap_init and kalloc_init. */
extern const struct heap_backend region_heap_backend;
extern const struct huge_backend region_huge_backend;

#endif
