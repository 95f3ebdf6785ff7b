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
 * call to reach the slab cache.  KHEAP_MAGAZINES=0 turns them off too, and
 * so does a heap whose slab headers are in their pages: the checks read
 * headers from the table beside the heap (slab.h), which can be read at
 * any page, slab or not, without the lock.
 */
#ifndef PRELOAD_MAGAZINE_H
#define PRELOAD_MAGAZINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lock.h"
#include "mm/kmalloc.h"

/* Serve the classes of `ka`, taking `lock` to reach it (lock held now). */
void magazine_setup(struct kalloc *ka, struct spinlock *lock);

/* An object for `size` bytes, or NULL when the caller must go the locked way. */
void *magazine_alloc(size_t size);

/* True if p was taken (or refused as a double free); false: go the locked way. */
bool magazine_free(void *p);

/*
 * The heaps' purge caps are shares of peaks that sink with every free
 * (mm/heap.c, heap_decay), and a free a magazine takes reaches no heap.
 * Every MAGAZINE_FREES_HEARD of them, the fast free calls this, which
 * lets the peaks sink by as many: so a program that, after its live set
 * fell, only cycles small objects through its magazines still lets the
 * holes go.  It never waits for the lock: the free may come from a fork
 * handler that runs while this thread holds it (kheap_preload.c), and a
 * count that finds the lock taken is passed on at the next free, or by
 * the next refill, flush or thread exit, which hold the lock anyway.
 */
#define MAGAZINE_FREES_HEARD 4096u
void magazine_frees_heard(void);

/*
 * With the lock held, before another layer frees or resizes p: true (and
 * reported) if p sits in a magazine or the depot, freed already.  The slab
 * counts those objects as allocated, so without this a double free that
 * comes the locked way -- through realloc, or from a thread whose
 * magazines were given back at its exit -- would be taken.
 */
bool magazine_refuses(void *p);

/*
 * The same two, for the common case only, inline and without a call so
 * that malloc and free need no stack frame for them: an ACTIVE thread, a
 * magazine that is not empty (alloc) or full (free), a pointer that passes
 * every check.  NULL or false means "call the full version", which takes
 * every other case.
 */
static inline void *magazine_alloc_fast(size_t size);
static inline bool magazine_free_fast(void *p);

/* ---- what the inline fast paths need to see ---------------------------------------------- */

#define MAGAZINE_ROUNDS 32 /* objects a magazine holds at most */
#define MAGAZINE_GRAIN 16  /* the class table has one entry per GRAIN bytes */

/*
 * A thread's state, one byte so that the fast paths test it with one
 * compare: ACTIVE means magazines are on (setup is done) and the exit
 * destructor knows the thread.  NEW threads become ACTIVE on their first
 * call; RETIRED ones (their destructor ran) take the locked way for good.
 */
enum magazine_thread_state { MAGAZINE_NEW, MAGAZINE_ACTIVE, MAGAZINE_RETIRED };

/*
 * Class c's magazine is round[c][0 .. count[c]).  The counts and the state,
 * which every call reads, share one cache line, apart from the rounds: a
 * free's push and the next malloc's pop of another class then touch
 * neither the other's round slots nor a line the other is storing to, and
 * a round slot's address is a shift of the class, not a multiply.
 */
struct thread_magazines {
	unsigned char state; /* enum magazine_thread_state */
	unsigned count[KMALLOC_CLASSES];
	unsigned frees;      /* taken since the heaps last heard of them (magazine_frees_heard) */
	void *round[KMALLOC_CLASSES][MAGAZINE_ROUNDS] __attribute__((aligned(64)));
};

/*
 * What a free's checks read for each slab tag (slab.h), copied at setup so
 * that they never chase ka's pointers: the salt a slab of the tag's class
 * has, that class's geometry, and its index.  A tag of no class has a salt
 * whose tag bits are not its index, so no identity matches it: zero (no
 * slab) and the huge records' untagged slabs included.
 */
struct magazine_class {
	uint32_t salt;
	uint32_t first, stride, index_mul, per_slab;
	unsigned class_index;
} __attribute__((aligned(32)));

/* Set once by magazine_setup, read by every fast path. */
struct magazine_globals {
	uintptr_t key;            /* in the second word of every object in a magazine */
	struct kalloc *ka;
	/* The slab headers' table (slab.h): magazines need one. */
	const union slab_record *records;
	uintptr_t records_base;
	size_t records_count;
	struct magazine_class tags[SLAB_TAGS];
	unsigned char class_of_grain[SLAB_MAX_OBJECT / MAGAZINE_GRAIN + 1];
};

extern __thread struct thread_magazines magazine_tls __attribute__((tls_model("initial-exec")));
extern struct magazine_globals magazine_globals;

static inline uintptr_t *magazine_key_word(void *obj)
{
	return (uintptr_t *)obj + 1;
}

static inline void *magazine_alloc_fast(size_t size)
{
	struct thread_magazines *t = &magazine_tls;

	if (size > SLAB_MAX_OBJECT)
		return NULL;
	unsigned c = magazine_globals.class_of_grain[(size + MAGAZINE_GRAIN - 1) / MAGAZINE_GRAIN];
	if (t->state != MAGAZINE_ACTIVE || !t->count[c])
		return NULL;
	void *obj = t->round[c][--t->count[c]];
	*magazine_key_word(obj) = 0;
	return obj;
}

/*
 * The class of the live object that starts at p (its tag's line), or NULL
 * if p is not one.  These are the release-mode checks of every free, each refusing what the
 * one before let through (docs/design/heap.md gives their cost):
 *   - p lies in the pages the header table covers: one compare (the
 *     table reads as zeros where no slab is, so any page's entry may be
 *     read, without the lock and whatever the heap did to the page);
 *   - the page's entry is the header of a slab of one of the classes: its
 *     identity word's check matches the entry's address and the salt of
 *     the tag it names (one load, from a line of the table that the
 *     slab's objects share; the tag gives the class);
 *   - p is an object's start: a multiply by the stride's reciprocal and a
 *     multiply back (slab_index_at), the geometry read from the tag's
 *     line in magazine_globals;
 *   - the object is live: one bit of the header's bitmap;
 *   - and the identity word is still the one these reads began with (its
 *     generation, slab.h): without the lock, the slab may have been given
 *     back and rebuilt in the meantime.
 */
static inline const struct magazine_class *magazine_live_class(const void *p)
{
	size_t n = ((uintptr_t)p - magazine_globals.records_base) / SLAB_SIZE;

	if (n >= magazine_globals.records_count)
		return NULL;
	const struct slab *s = &magazine_globals.records[n].slab;
	union slab_ident id = { .word = __atomic_load_n(&s->ident.word, __ATOMIC_ACQUIRE) };
	const struct magazine_class *k = &magazine_globals.tags[id.half.check % SLAB_TAGS];
	if (id.half.check != slab_ident_check(s, k->salt))
		return NULL;
	int i = slab_index_at((uint32_t)((uintptr_t)p % SLAB_SIZE), k->first, k->stride, k->index_mul,
			      k->per_slab);
	if (i < 0 || !slab_is_live(s, (unsigned)i))
		return NULL;
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* the bit's read before the word's second */
	return __atomic_load_n(&s->ident.word, __ATOMIC_RELAXED) == id.word ? k : NULL;
}

/*
 * Only for an ACTIVE thread: setup is done, magazine_globals are set.  p
 * itself is read (its key word) only once it has passed the checks: its
 * page was then a live slab's, and stays readable even if the slab has
 * been given back since (region.h).
 */
static inline bool magazine_free_fast(void *p)
{
	struct thread_magazines *t = &magazine_tls;
	const struct magazine_class *k;

	if (t->state != MAGAZINE_ACTIVE || !(k = magazine_live_class(p)))
		return false;
	unsigned c = k->class_index;
	if (t->count[c] == MAGAZINE_ROUNDS || *magazine_key_word(p) == magazine_globals.key)
		return false;
	*magazine_key_word(p) = magazine_globals.key;
	t->round[c][t->count[c]++] = p;
	if (++t->frees >= MAGAZINE_FREES_HEARD)
		magazine_frees_heard();
	return true;
}

#endif
