/*
 * kmalloc.h - the allocator front: size classes in slab caches, larger
 * sizes in the general heap, huge ones as whole pages.
 *
 *     size <= 1024 bytes   one of twelve slab caches (16, 32, 48, ... 1024)
 *     size <  huge_min     the boundary-tag heap (mm/heap.h)
 *     size >= huge_min     whole pages from the huge backend
 *
 * Optionally (kalloc_big_heap), sizes from big_min up to huge_min go to a
 * second boundary-tag heap over a region of its own: big blocks that die
 * in random order then leave their holes among other big blocks, where
 * the next big request can use them, not among small blocks.
 *
 * An allocator instance (struct kalloc) is portable: the kernel's
 * kmalloc() (mm/kheap.c) and the host's LD_PRELOAD library are each one
 * instance over their own backends.  Results:
 *   - size 0 gives a unique minimal allocation (freeing it is required);
 *   - a size that cannot be served (exhaustion, or larger than the heap's
 *     address range, or n * size overflowing in kalloc_calloc) gives NULL
 *     and is counted in `failed`, never a panic;
 *   - a bad free (not ours, interior, double) is refused, reported and
 *     counted; nothing is changed.
 * Not thread-safe: the caller serializes.
 */
#ifndef MM_KMALLOC_H
#define MM_KMALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "slab.h"

#define KMALLOC_CLASSES 12 /* 16 .. 1024 */

struct huge_backend {
	void *(*alloc)(void *ctx, size_t bytes); /* page-aligned, zeroed or not; NULL if none */
	void (*free)(void *ctx, void *p, size_t bytes);
	void *ctx;
	size_t page_size;
	/*
	 * For sampled allocations (kalloc.sample_every): like alloc, but the
	 * page after the area must be unmapped, so that the first byte past
	 * it faults.  Freed with `free`.  NULL: no sampling.
	 */
	void *(*alloc_guarded)(void *ctx, size_t bytes);
};

struct huge_alloc; /* one huge allocation's record (kept in a slab cache) */

#define KALLOC_HUGE_BUCKETS0 16 /* the huge table's first size, inside struct kalloc */

struct kalloc {
	struct heap heap;
	struct kmem_cache classes[KMALLOC_CLASSES];
	struct kmem_cache huge_records;
	struct slab_source slab_pages; /* slabs come from the heap */
	struct huge_backend huge;
	/* Huge (and sampled) allocations by address: a hash table of chains,
	 * doubled (from the heap) whenever it holds more records than buckets. */
	struct huge_alloc **huge_table;
	size_t huge_buckets;
	struct huge_alloc *huge_table0[KALLOC_HUGE_BUCKETS0];
	size_t huge_min;
	/*
	 * Sampling: when not 0, one allocation in sample_every below huge_min
	 * is placed alone at the end of its own pages (huge.alloc_guarded),
	 * so that writing past its end faults at once; the few bytes between
	 * its end and the page's (alignment) hold a canary checked on free.
	 */
	unsigned sample_every, sample_count;
	/*
	 * The big heap (kalloc_big_heap): blocks of big_min <= size <
	 * huge_min.  big_min 0: none.  It is set up on its first block, so an
	 * allocator that never sees one maps nothing for it.
	 */
	struct heap big;
	size_t big_min;
	bool big_ready;
	struct kalloc_big_setup {
		uintptr_t base, limit;
		struct heap_config cfg;
		struct heap_backend backend;
	} big_setup;
	struct kalloc_stats {
		uint64_t failed;       /* requests that returned NULL */
		uint64_t bad_frees;    /* frees of pointers that are none of ours */
		size_t huge_live, huge_bytes;
		uint64_t sampled;      /* allocations placed before a guard page */
		/* Both heaps together (the general heap and the big one): the
		 * peaks of their committed bytes (stats.committed: mapped less
		 * purged) and of the bytes requested from them, the
		 * fragmentation figure's two terms. */
		size_t peak_heaps_size, peak_heaps_requested;
	} stats;
	/* Reports for bad frees of pointers that no layer owns; may be NULL. */
	void (*report)(struct kalloc *ka, enum heap_error e, const void *ptr, const char *detail);
};

/*
 * The index of c among ka's size classes, or KMALLOC_CLASSES if it is none
 * of them.  Frees use it to trust a slab header's cache pointer with one
 * compare instead of a walk of every cache: a pointer that merely lies in
 * ka->classes is not enough, it must be exactly one of the elements.
 */
static inline unsigned kalloc_class_index(const struct kalloc *ka, const struct kmem_cache *c)
{
	size_t i = ((uintptr_t)c - (uintptr_t)ka->classes) / sizeof(*c);

	return i < KMALLOC_CLASSES && c == &ka->classes[i] ? (unsigned)i : KMALLOC_CLASSES;
}

/* Is c one of ka's own caches (a size class, or the huge records' cache)? */
static inline bool kalloc_own_cache(const struct kalloc *ka, const struct kmem_cache *c)
{
	return kalloc_class_index(ka, c) < KMALLOC_CLASSES || c == &ka->huge_records;
}

/*
 * Class i's caches carry slab tag i + 1 (slab_cache_tag): a reader without
 * the lock (the host's magazines) learns an object's class from its slab's
 * identity word alone.
 */
_Static_assert(KMALLOC_CLASSES < SLAB_TAGS, "every size class needs a slab tag");

static inline unsigned kalloc_class_tag(unsigned class_index)
{
	return class_index + 1;
}

/* Set up `ka` over the heap region [base, limit); false if the heap cannot start. */
bool kalloc_init(struct kalloc *ka, uintptr_t base, uintptr_t limit, const struct heap_config *cfg,
		 const struct heap_backend *heap_backend, const struct huge_backend *huge);

/*
 * Serve sizes from big_min up to huge_min from a heap of their own over
 * [base, limit), with the same kind of backend; set up on first use.
 * False (nothing changed) for a region heap_init would refuse.
 */
bool kalloc_big_heap(struct kalloc *ka, uintptr_t base, uintptr_t limit, size_t big_min,
		     const struct heap_config *cfg, const struct heap_backend *backend);

void *kalloc_alloc(struct kalloc *ka, size_t size, const void *caller);
/* `align` a power of two; the result is a multiple of it. */
void *kalloc_aligned(struct kalloc *ka, size_t size, size_t align, const void *caller);
void *kalloc_calloc(struct kalloc *ka, size_t n, size_t size, const void *caller);
/* Like realloc: NULL p allocates; size 0 frees and returns NULL; failure leaves p alone. */
void *kalloc_realloc(struct kalloc *ka, void *p, size_t size, const void *caller);
bool kalloc_free(struct kalloc *ka, void *p, const void *caller);
/* Usable bytes at p (0 if p is not a live allocation of ka). */
size_t kalloc_usable_size(struct kalloc *ka, const void *p);

/* Call fn for every live allocation with sequence >= since (leak reports). */
void kalloc_for_each_live(struct kalloc *ka, uint32_t since,
			  void (*fn)(void *arg, const struct heap_block_info *b), void *arg);
/* The sequence number the next allocation will get: a mark for leak reports. */
uint32_t kalloc_mark(const struct kalloc *ka);

/* Check the heap, every cache and the huge table; returns the problem count. */
unsigned kalloc_check(struct kalloc *ka, char *why, size_t why_size);

/* Give empty slabs and free heap pages back. */
void kalloc_trim(struct kalloc *ka);

/*
 * `frees` frees that reached no layer here (the host's per-thread caches
 * keep most small ones): the heaps' purge peaks sink as if they had
 * (heap_decay).  kalloc_free does this itself for the heaps a free did
 * not reach.
 */
void kalloc_decay(struct kalloc *ka, unsigned frees);

#endif
