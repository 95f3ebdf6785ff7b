/*
 * kheap.h - the kernel's allocator: kmalloc and object caches.
 *
 * One struct kalloc (mm/kmalloc.h) over the region [KHEAP_START, KHEAP_END),
 * grown by mapping fresh frames (mm/vmm.c) and shrunk by unmapping them;
 * huge requests are vmalloc areas (each with guard pages).
 *
 *   kmalloc(0)           a unique minimal allocation, to be kfree'd
 *   kmalloc(impossible)  NULL (counted in kheap.stats.failed), never a panic
 *   kfree(bad pointer)   refused with a report naming the block and who
 *                        allocated (and freed) it; nothing changes
 *
 * Debug checks (red zones, poisoning, per-object records) are on when
 * KHEAP_DEBUG is 1, the default; build with KHEAP_DEBUG=0 for a release
 * kernel.  Sampling (off by default): KHEAP_SAMPLE=N at build time or
 * kheap.sample=N on the command line puts one allocation in N alone
 * before a guard page, so an overflow of it faults at once (kheap.c).
 */
#ifndef MM_KHEAP_H
#define MM_KHEAP_H

#include <stddef.h>

#include "kmalloc.h"

#ifndef KHEAP_DEBUG
#define KHEAP_DEBUG 1
#endif

extern struct kalloc kheap;

/* Start the kernel heap (after vmm_init). */
void kheap_init(void);

void *kmalloc(size_t size);
void *kmalloc_aligned(size_t size, size_t align);
void *kcalloc(size_t n, size_t size);
void *krealloc(void *p, size_t size);
void kfree(void *p);
size_t ksize(const void *p);

/* An object cache for the kernel's fixed-size objects; NULL without memory. */
struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
				     void (*ctor)(void *obj));
void *kmem_cache_alloc(struct kmem_cache *c);
void kmem_cache_free(struct kmem_cache *c, void *obj);
/* Destroy an empty cache; false (nothing done) while it has live objects. */
bool kmem_cache_destroy(struct kmem_cache *c);

/*
 * The object caches beyond kmalloc's own size classes, one after another
 * (NULL: the first; NULL when there are no more): kmem_cache_create's, and
 * the cache those come from.
 */
struct kmem_cache *kheap_named_cache_next(struct kmem_cache *c);

/* Check the whole kernel heap; prints and returns the number of problems. */
unsigned kheap_check(void);

/*
 * Call fn for every live allocation numbered `since` or later (kalloc_mark):
 * kmalloc's and every object cache's (leak reports; the caches' objects
 * carry numbers in debug mode).
 */
void kheap_for_each_live(uint32_t since, void (*fn)(void *arg, const struct heap_block_info *b),
			 void *arg);

#endif
