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
 * the kernel takes them): the magazines' free (magazine.h) reads an
 * object's key word without the lock, and a shrink at the same moment
 * must not turn that read into a fault.  The part never used stays
 * inaccessible.
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

/*
 * A side table of a heap, one entry of `entry` bytes per `unit` bytes of
 * its region (the slab headers' table, slab.h).  It reads as zeros
 * everywhere, so a reader without the lock may look up any page, but is
 * writable -- and so counted as the process's memory, by RLIMIT_DATA and
 * by a strict commit charge -- only over the part of the region the heap
 * has grown into: the table of a 32 GiB region is 1 GiB.  Given as
 * region_heap_backend's ctx, it is made writable as the heap grows.
 */
struct region_table {
	unsigned char *entries;
	uintptr_t base;  /* the heap region's start */
	size_t unit, entry;
	size_t writable; /* bytes of entries writable so far, from the start */
};

/* Map t for a heap over [base, base + region_bytes); false if it cannot be mapped. */
bool region_table_map(struct region_table *t, uintptr_t base, size_t region_bytes, size_t unit,
		      size_t entry);

/* Purge with MADV_DONTNEED (frames back at once) instead of MADV_FREE (region.c). */
void region_purge_eagerly(bool eager);

/* Backends over the reservation, for heap_init and kalloc_init (ctx: NULL, or a region_table). */
extern const struct heap_backend region_heap_backend;
extern const struct huge_backend region_huge_backend;

#endif
