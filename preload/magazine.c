/*
 * magazine.c - per-thread object caches (see magazine.h).
 *
 * The thread's magazines live in thread-local storage of the initial-exec
 * kind: the library is loaded at start-up (LD_PRELOAD), so its TLS is
 * static and reaching it is one instruction, never a call that might
 * allocate (__tls_get_addr can).
 *
 * Classes.  A size's class comes from a table built at setup from the
 * caches' own sizes (ka->classes[i].size), one entry per 16 bytes, so a
 * change of the classes in mm/kmalloc.c needs no change here.
 *
 * Freeing without the lock.  Is p a live object of one of our classes?
 * The checks read the slab's header and live bitmap without the lock.  For
 * a pointer the program rightly frees, what they read cannot change under
 * them: the slab cannot go away while p is live, and only p's own
 * allocation and free touch p's bit.  For a wrong pointer the answer may be
 * stale, which can only send the call the locked way, where it is checked
 * again, properly.  The class itself comes from the slab's identity word
 * (slab.h), which names the cache's tag: nothing else needs to be known
 * or guessed about a page.
 *
 * The key.  Each object in a magazine has KEY in its second word (objects
 * are at least 16 bytes); popping or flushing it clears the word.  KEY is
 * made from the kernel's AT_RANDOM bytes, so a program's data matches it
 * by chance with odds of 2^-64.  A free that finds the key is a double
 * free -- whichever thread's magazine holds the object -- and is refused
 * without a search; so is one that comes the locked way (realloc, or a
 * thread past its exit: magazine_refuses).  A double free of an object
 * that went back to its slab has its live bit clear, and goes the locked
 * way, where slab_free refuses it.  Two threads freeing the same pointer
 * at the same instant can both miss the key (each reads it before the
 * other writes it): a double free is caught once the first free is done.
 *
 * The depot.  A thread that only frees (a consumer) fills magazines that
 * a thread that only allocates (a producer) needs: full batches go to a
 * small per-class depot, under the lock, and refills take them from there
 * before asking the slab cache -- one lock round trip per BATCH objects
 * and no slab work at all.  The depot holds at most DEPOT_BATCHES batches
 * per class; beyond that, batches go back to the slab cache.
 *
 * Threads that end give their magazines back (a pthread key destructor).
 * After fork() the child keeps the forking thread's magazines; those of
 * the threads that do not exist in the child are lost to it (at most
 * MAGAZINE_ROUNDS objects per class per thread).
 */
#include "magazine.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "report.h"

#define BATCH (MAGAZINE_ROUNDS / 2) /* objects moved to or from the slab cache at once */
#define DEPOT_BATCHES 8             /* full batches the depot keeps per class */

__thread struct thread_magazines magazine_tls __attribute__((tls_model("initial-exec")));
struct magazine_globals magazine_globals;

/* Full batches set aside by threads that free more than they allocate (lock held). */
struct depot {
	unsigned batches;
	void *batch[DEPOT_BATCHES][BATCH];
};

static struct depot depot[KMALLOC_CLASSES];

static struct spinlock *lock;
static bool enabled; /* set last, with release order: the rest is ready when it reads true */
static pthread_key_t exit_key;

/* ---- the key in an object's second word ------------------------------------------ */

static void mark(void *obj)
{
	*magazine_key_word(obj) = magazine_globals.key;
}

static void unmark(void *obj)
{
	*magazine_key_word(obj) = 0;
}

static uintptr_t make_key(void)
{
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
	uintptr_t k = (uintptr_t)&magazine_tls ^ 0x9E3779B97F4A7C15u;

	if (r) {
		uintptr_t bytes;
		memcpy(&bytes, r + 8, sizeof(bytes));
		k ^= bytes;
	}
	return k | 1; /* never 0, the cleared word */
}

/* ---- moving objects between magazines, the depot and the slab caches ------------------- */

/*
 * Move the top BATCH rounds of class c's magazine on (lock held): into the
 * depot while it has room -- where another thread's refill finds them, so
 * a producer and a consumer pass objects without the slab layer -- else
 * back to the slab cache.  Objects in the depot keep their key.
 */
static void flush_batch(unsigned c)
{
	unsigned *count = &magazine_tls.count[c];
	void **round = magazine_tls.round[c];
	struct depot *d = &depot[c];

	*count -= BATCH;
	if (d->batches < DEPOT_BATCHES) {
		memcpy(d->batch[d->batches++], &round[*count], sizeof(d->batch[0]));
		return;
	}
	for (unsigned i = 0; i < BATCH; i++) {
		unmark(round[*count + i]);
		kalloc_free(magazine_globals.ka, round[*count + i], NULL);
	}
}

/* The slow paths are kept out of line, so the fast ones need no stack frame. */
#define SLOW __attribute__((noinline, cold))

/* Let the heaps hear of the frees this thread's magazines took (lock held). */
static void pass_frees_on(void)
{
	unsigned n = magazine_tls.frees;

	magazine_tls.frees = 0;
	if (n)
		kalloc_decay(magazine_globals.ka, n);
}

static SLOW void flush(unsigned c)
{
	spin_lock(lock);
	flush_batch(c);
	pass_frees_on();
	spin_unlock(lock);
}

SLOW void magazine_frees_heard(void)
{
	if (!spin_trylock(lock))
		return;
	pass_frees_on();
	spin_unlock(lock);
}

/* Fill class c's empty magazine: a batch from the depot, or new objects; false if none. */
static SLOW bool refill(unsigned c)
{
	unsigned *count = &magazine_tls.count[c];
	void **round = magazine_tls.round[c];
	struct depot *d = &depot[c];

	spin_lock(lock);
	pass_frees_on();
	if (d->batches) {
		memcpy(round, d->batch[--d->batches], sizeof(d->batch[0]));
		*count = BATCH;
	}
	while (*count < BATCH) {
		struct kalloc *ka = magazine_globals.ka;
		void *obj = kalloc_alloc(ka, ka->classes[c].size, NULL);
		if (!obj)
			break;
		mark(obj);
		round[(*count)++] = obj;
	}
	spin_unlock(lock);
	return *count > 0;
}

/* The thread ends: whole batches to the depot or the slabs, the rest to the slabs. */
static void give_back_all(void *arg)
{
	(void)arg;
	magazine_tls.state = MAGAZINE_RETIRED;
	spin_lock(lock);
	pass_frees_on();
	for (unsigned c = 0; c < KMALLOC_CLASSES; c++) {
		unsigned *count = &magazine_tls.count[c];
		while (*count >= BATCH)
			flush_batch(c);
		while (*count) {
			unmark(magazine_tls.round[c][--*count]);
			kalloc_free(magazine_globals.ka, magazine_tls.round[c][*count], NULL);
		}
	}
	spin_unlock(lock);
}


/* ---- setup ------------------------------------------------------------------------------ */

static bool magazines_wanted(const struct kalloc *k)
{
	const char *v = getenv("KHEAP_MAGAZINES");

	return !k->heap.debug && k->slab_pages.records && !(v && strcmp(v, "0") == 0);
}

void magazine_setup(struct kalloc *k, struct spinlock *l)
{
	unsigned c = 0;

	magazine_globals.ka = k;
	magazine_globals.records = k->slab_pages.records;
	magazine_globals.records_base = k->slab_pages.records_base;
	magazine_globals.records_count = k->slab_pages.records_count;
	for (unsigned t = 0; t < SLAB_TAGS; t++)
		magazine_globals.tags[t] = (struct magazine_class){ .salt = SLAB_SALT | (t ^ 1) };
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++) {
		const struct kmem_cache *cache = &k->classes[i];
		magazine_globals.tags[kalloc_class_tag(i)] = (struct magazine_class){
			cache->salt, (uint32_t)cache->first, (uint32_t)cache->stride, cache->index_mul,
			cache->per_slab, i };
	}
	lock = l;
	if (!magazines_wanted(k) || pthread_key_create(&exit_key, give_back_all) != 0)
		return;
	for (size_t g = 0; g <= SLAB_MAX_OBJECT / MAGAZINE_GRAIN; g++) {
		while (c < KMALLOC_CLASSES && k->classes[c].size < g * MAGAZINE_GRAIN)
			c++;
		magazine_globals.class_of_grain[g] = (unsigned char)c;
	}
	magazine_globals.key = make_key();
	__atomic_store_n(&enabled, true, __ATOMIC_RELEASE);
}

/*
 * The slow half of the state test: a NEW thread, once setup is done,
 * becomes ACTIVE and has its magazines given back when it ends.  ACTIVE
 * is set first: pthread_setspecific may allocate, and that malloc must
 * not come back here.
 */
static bool activate(void)
{
	if (magazine_tls.state == MAGAZINE_ACTIVE)
		return true;
	if (magazine_tls.state == MAGAZINE_RETIRED || !__atomic_load_n(&enabled, __ATOMIC_ACQUIRE))
		return false;
	magazine_tls.state = MAGAZINE_ACTIVE;
	pthread_setspecific(exit_key, &magazine_tls);
	return true;
}

/* ---- the full paths: the fast ones, and every other case ------------------------------------ */

void *magazine_alloc(size_t size)
{
	if (size > SLAB_MAX_OBJECT || !activate())
		return NULL;
	unsigned c = magazine_globals.class_of_grain[(size + MAGAZINE_GRAIN - 1) / MAGAZINE_GRAIN];
	if (!magazine_tls.count[c] && !refill(c))
		return NULL;
	return magazine_alloc_fast(size);
}

static SLOW bool refuse_double_free(void *p)
{
	report_line("double free", p, "object is already free (in a thread's cache)", "refused");
	return true;
}

/*
 * When the fast path says no to a live object of ours, the object is in
 * a magazine already (a double free) or its magazine is full (flushed
 * here).  Then the fast path takes it.
 */
bool magazine_free(void *p)
{
	const struct magazine_class *k;

	if (!activate())
		return false;
	if (magazine_free_fast(p))
		return true;
	if (!(k = magazine_live_class(p)))
		return false;
	if (*magazine_key_word(p) == magazine_globals.key)
		return refuse_double_free(p);
	if (magazine_tls.count[k->class_index] == MAGAZINE_ROUNDS)
		flush(k->class_index);
	return magazine_free_fast(p);
}

bool magazine_refuses(void *p)
{
	if (!__atomic_load_n(&enabled, __ATOMIC_ACQUIRE) || !magazine_live_class(p) ||
	    *magazine_key_word(p) != magazine_globals.key)
		return false;
	return refuse_double_free(p);
}
