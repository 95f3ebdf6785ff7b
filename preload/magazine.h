/*
 * magazine.h - per-thread caches of small objects in front of the slab
 * caches, so that most malloc and free calls of small sizes take no lock.
 *
 * Each thread holds, for each size class, a "magazine" (Bonwick's word): a
 * small stack of objects that belong to the class's slab cache but are
 * set aside for this thread.  malloc pops one, free pushes one.  Only when
 * a magazine runs empty or full does the thread take the allocator's lock,
 * to move half a magazine's worth of objects in one go: from or to a small
 * depot of full batches shared by all threads (so objects freed by one
 * thread feed another's allocations), or the slab cache.  To the slab
 * cache, the objects in magazines and in the depot are allocated.
 *
 * What stays checked.  A free is taken by the magazine only if the pointer
 * is the start of a live object of one of the classes; anything else goes
 * the locked way and is refused and reported there.  An object in a
 * magazine carries a secret key in its second word, so freeing it again
 * (a double free, from any thread) is seen at once.  Debug mode
 * (KHEAP_DEBUG) turns magazines off: red zones and poisoning need every
 * call to reach the slab cache.  KHEAP_MAGAZINES=0 turns them off too.
 */
#ifndef PRELOAD_MAGAZINE_H
#define PRELOAD_MAGAZINE_H

#include <stdbool.h>
#include <stddef.h>

#include "lock.h"
#include "mm/kmalloc.h"

/* Serve the classes of `ka`, taking `lock` to reach it (lock held now). */
void magazine_setup(struct kalloc *ka, struct spinlock *lock);

/* An object for `size` bytes, or NULL when the caller must go the locked way. */
void *magazine_alloc(size_t size);

/* True if p was taken (or refused as a double free); false: go the locked way. */
bool magazine_free(void *p);

#endif
