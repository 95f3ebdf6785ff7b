/*
 * kheap_preload.c - the kernel's allocator (mm/kmalloc.h) as the C library's
 * malloc family, for LD_PRELOAD=build/host/libkheap.so.
 *
 * One struct kalloc serves the whole process: slab caches for small sizes,
 * the boundary-tag heap over a region reserved at start-up (region.h), huge
 * blocks as their own mappings.  The same code runs in the kernel; here it
 * meets real programs, which is the point.
 *
 * Starting.  The first call of any entry point sets the allocator up, under
 * the lock.  Nothing on that path may allocate: the lock is a plain word
 * (lock.h), the region comes from mmap, the debug switch from getenv; no
 * dlsym, no stdio, no pthread call.  The fork handlers are registered by a
 * constructor, which runs after the C library is up and may itself call
 * malloc.  If the reservation fails, every allocation fails with ENOMEM.
 *
 * Threads and fork.  Small sizes are served first from the calling
 * thread's magazines (magazine.h), which take no lock until they run empty
 * or full.  Everything else takes one spinlock around every call into
 * kalloc (lock.h says why a spinlock).  Around fork() the lock is held, so
 * the child gets the heap in a consistent state, then released in both
 * processes.
 *
 * Errors.  Allocation failures return NULL with errno ENOMEM; bad frees
 * are refused and reported, one line on stderr each (report.h).
 *
 * Settings.  Release mode by default.  KHEAP_DEBUG=1 turns on red zones
 * and poisoning in every layer: overruns, writes after free and bad frees
 * are then reported with the block's details.  The purging settings are
 * below; KHEAP_SPLIT_MIN=N (bytes, for measuring) overrides the general
 * heap's split_min (mm/heap.h; 0 or unset: kalloc's choice, 1: split off
 * every rest that can be a block).
 */
#include "kheap_preload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lock.h"
#include "magazine.h"
#include "region.h"
#include "report.h"

#define API __attribute__((visibility("default")))
#define CALLER __builtin_return_address(0)

/* Address space reserved at start; halved until the system grants it. */
#define RESERVE_MAX (sizeof(void *) == 8 ? (size_t)64 << 30 : (size_t)1 << 30)
#define RESERVE_MIN ((size_t)256 << 20)
/*
 * Both heaps grow by 64 KiB, the kernel's step: with 256 KiB the step's
 * slack was most of the small-object heap's overhead (churn's heap was
 * 1.24x its bytes in blocks, 1.11x now) and every workload's heap ratio
 * was as good or better at 64 KiB; the extra mprotect calls did not show
 * in the times (docs/design/heap.md).
 */
#define HEAP_INITIAL (64 * 1024)   /* mapped at start, and never given back */
#define HEAP_GROW_STEP (64 * 1024)
/*
 * Blocks from this size up get their own mapping.  The kernel's 64 KiB
 * would make every such malloc an mmap, page faults and an munmap; on the
 * host, blocks up to 1 MiB are cheaper from the heap (docs/benchmarks.md).
 */
#define HUGE_MIN ((size_t)1 << 20)
/*
 * Blocks from this size up to HUGE_MIN live in a heap of their own, in the
 * upper half of the reservation, placed by best fit: among small blocks,
 * big ones that die in random order leave holes only big requests can
 * use.  On the `mixed` benchmark over eight traces this holds 1.11x the
 * live bytes against 1.14x for one heap; 16 KiB was the best threshold
 * of 4..128 KiB, best fit 1-5 points better than first fit for the big
 * blocks, no better for the small ones (docs/design/heap.md).
 */
#define BIG_MIN ((size_t)16 << 10)

/*
 * Purging (mm/heap.c): each heap may hold PURGE_KEEP bytes of committed
 * free memory, or as much as keeps it within PURGE_PEAK_PCT percent above
 * its peak of bytes in use; past that, the pages inside its biggest free
 * blocks (those with PURGE_MIN bytes of them committed) go back to the
 * system.  Purging everything freed, or every hole when the heap grew,
 * faulted the pages in again soon after (2.2-8x slower on `mixed`); a
 * share of the peak purges only what would raise the footprint past the
 * program's own high-water mark.  Purged pages go back lazily (MADV_FREE,
 * region.c says why), so a page taken again before the kernel wants it
 * costs no fault, and the share could go down from the 8% that eager
 * purging needed (1.11-1.13x the time) to 6%: on `mixed` over sixteen
 * traces the heap ratio is 1.075 on average, 1.079 at most, with the
 * peak sinking over about two million frees (1.109 and 1.126 without
 * purging; at 8%, 1.092 and 1.101 when it was measured), with as many
 * page faults as without purging; `realloc` 1.089.  Blocks from 32 KiB kept
 * `realloc` at 1.102 where 64 KiB made it 1.119 (docs/design/heap.md
 * has the tables).  KHEAP_PURGE_MIN, KHEAP_PURGE_KEEP (KiB),
 * KHEAP_PURGE_PEAK_PCT and KHEAP_PURGE_DECAY (the heap's purge_decay)
 * override them, for measuring; KHEAP_PURGE_MIN=0
 * turns purging off; KHEAP_PURGE_EAGER=1 gives purged frames back at once
 * (at 6%, twice the page faults of lazy purging on `mixed`).
 */
#define PURGE_MIN (32 * 1024)
#define PURGE_KEEP HEAP_GROW_STEP
#define PURGE_PEAK_PCT 6

/* A number from the environment, shifted left by `shift`; `dflt` if unset. */
static size_t number_setting(const char *name, size_t dflt, unsigned shift)
{
	const char *v = getenv(name);
	size_t n = 0;

	if (!v || !*v)
		return dflt;
	for (; *v >= '0' && *v <= '9'; v++)
		n = n * 10 + (size_t)(*v - '0');
	return n << shift;
}

static struct kalloc ka;
static struct spinlock lock;
static bool ready, broken; /* written under the lock */

static bool debug_requested(void)
{
	const char *v = getenv("KHEAP_DEBUG");

	return v && *v && strcmp(v, "0") != 0;
}

static uintptr_t reserve(size_t *bytes)
{
	for (*bytes = RESERVE_MAX; *bytes >= RESERVE_MIN; *bytes /= 2) {
		uintptr_t base = region_reserve(*bytes);
		if (base)
			return base;
	}
	return 0;
}

/* Set the allocator up (lock held); false if it cannot be. */
static bool start(void)
{
	size_t purge_min = number_setting("KHEAP_PURGE_MIN", PURGE_MIN, 10);
	size_t purge_keep = number_setting("KHEAP_PURGE_KEEP", PURGE_KEEP, 10);
	unsigned purge_peak_pct = (unsigned)number_setting("KHEAP_PURGE_PEAK_PCT", PURGE_PEAK_PCT, 0);
	size_t bytes;
	uintptr_t base;

	if (broken)
		return false;
	region_purge_eagerly(number_setting("KHEAP_PURGE_EAGER", 0, 0) != 0);
	base = reserve(&bytes);
	/* Each heap's purge map: a bit per page of its half, untouched (so
	 * not resident) until pages are purged. */
	size_t map_bytes = bytes / 2 / REGION_PAGE / 8;
	unsigned char *maps = purge_min && base ? region_zeroed(2 * map_bytes) : NULL;
	/* The slab headers' table (slab.h) beside the general heap; without it, no magazines. */
	static struct region_table slab_table;
	bool table = base && region_table_map(&slab_table, base, bytes / 2, SLAB_SIZE,
					      sizeof(union slab_record));
	struct heap_backend general = region_heap_backend;
	general.ctx = table ? &slab_table : NULL;
	const struct heap_config cfg = {
		.page_size = REGION_PAGE, .initial = HEAP_INITIAL, .grow_step = HEAP_GROW_STEP,
		.keep = HEAP_INITIAL, .fit = HEAP_FIRST_FIT, .debug = debug_requested(),
		.purge_min = purge_min, .purge_keep = purge_keep, .purge_map = maps,
		.purge_peak_pct = purge_peak_pct,
		.purge_decay = (unsigned)number_setting("KHEAP_PURGE_DECAY", 0, 0),
		.split_min = number_setting("KHEAP_SPLIT_MIN", 0, 0),
		.slab_records = table ? (union slab_record *)slab_table.entries : NULL,
	};
	/* The big heap keeps only a page mapped when it is empty. */
	struct heap_config big = cfg;
	big.initial = REGION_PAGE;
	big.keep = 0;
	big.fit = HEAP_BEST_FIT;
	big.split_min = 0; /* any rest: its small ones are few, and keeping them cost space */
	big.purge_map = maps ? maps + map_bytes : NULL;
	big.slab_records = NULL; /* no slabs there */
	if (!base || !kalloc_init(&ka, base, base + bytes / 2, &cfg, &general,
				  &region_huge_backend)) {
		broken = true;
		return false;
	}
	ka.huge_min = HUGE_MIN;
	kalloc_big_heap(&ka, base + bytes / 2, base + bytes, BIG_MIN, &big, &region_heap_backend);
	report_attach(&ka);
	magazine_setup(&ka, &lock);
	ready = true;
	return true;
}

/* Take the lock on a working allocator; false (lock free) if there is none. */
static bool enter(void)
{
	spin_lock(&lock);
	if (ready || start())
		return true;
	spin_unlock(&lock);
	return false;
}

static void leave(void)
{
	spin_unlock(&lock);
}

static void *nomem_if_null(void *p)
{
	if (!p)
		errno = ENOMEM;
	return p;
}

static void *alloc_aligned(size_t size, size_t align, const void *caller)
{
	void *p = NULL;

	if (enter()) {
		p = kalloc_aligned(&ka, size, align, caller);
		leave();
	}
	return nomem_if_null(p);
}

static bool power_of_two(size_t x)
{
	return x && !(x & (x - 1));
}

/*
 * malloc and free are the magazines' inline fast paths (magazine.h) and a
 * call of the rest, kept out of line so that the fast path needs no stack
 * frame: the full magazine paths, then the locked way.
 */
#define SLOW_WAY __attribute__((noinline))

static SLOW_WAY void *malloc_slow(size_t size, const void *caller)
{
	void *p = magazine_alloc(size);

	if (!p && enter()) {
		p = kalloc_alloc(&ka, size, caller);
		leave();
	}
	return nomem_if_null(p);
}

static SLOW_WAY void free_slow(void *p, const void *caller)
{
	if (magazine_free(p) || !enter())
		return;
	if (!magazine_refuses(p))
		kalloc_free(&ka, p, caller);
	leave();
}

API void *malloc(size_t size)
{
	void *p = magazine_alloc_fast(size);

	return p ? p : malloc_slow(size, CALLER);
}

API void free(void *p)
{
	if (p && !magazine_free_fast(p))
		free_slow(p, CALLER);
}

/*
 * Huge blocks are fresh anonymous mappings, zero already: clearing them
 * would only fault in every page.  Other blocks are cleared after the lock
 * is released, so a big calloc does not hold up other threads.
 */
API void *calloc(size_t n, size_t size)
{
	size_t bytes;
	void *p = NULL;
	bool fresh = false;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	p = magazine_alloc(bytes);
	if (!p && enter()) {
		p = kalloc_alloc(&ka, bytes, CALLER);
		fresh = bytes >= ka.huge_min;
		leave();
	}
	if (p && !fresh)
		memset(p, 0, bytes);
	return nomem_if_null(p);
}

/*
 * A block that realloc grows is usually a buffer being appended to, and
 * will grow again.  The heap cannot extend a block in place, so each
 * growth is a copy of the whole block; asking for an eighth more than
 * needed lets the next appends stay in place (kalloc_realloc keeps a block
 * that still fits), which makes appending cost a constant per byte
 * instead of growing with the buffer.
 */
static size_t with_headroom(void *p, size_t size)
{
	size_t more = size + size / 8;

	if (ka.heap.debug || !p || more < size || size <= kalloc_usable_size(&ka, p))
		return size; /* debug mode: the red zone must follow the size asked for */
	return more;
}

/* Like glibc: size 0 frees p and returns NULL; on failure p is left alone. */
API void *realloc(void *p, size_t size)
{
	void *q = NULL;

	if (enter()) {
		q = p && magazine_refuses(p) ? NULL
					     : kalloc_realloc(&ka, p, size ? with_headroom(p, size) : 0, CALLER);
		leave();
	}
	if (!q && (size || !p))
		errno = ENOMEM;
	return q;
}

API void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, bytes);
}

/* POSIX: align a power of two and a multiple of sizeof(void *); errno untouched. */
API int posix_memalign(void **out, size_t align, size_t size)
{
	int saved = errno;
	void *p;

	if (!power_of_two(align) || align % sizeof(void *))
		return EINVAL;
	p = alloc_aligned(size, align, CALLER);
	errno = saved;
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

/* C17: an alignment the implementation does not support gives NULL (EINVAL). */
API void *aligned_alloc(size_t align, size_t size)
{
	if (!power_of_two(align)) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_aligned(size, align, CALLER);
}

/* Like glibc: an alignment that is not a power of two is rounded up to one. */
API void *memalign(size_t align, size_t size)
{
	size_t a = 1;

	while (a < align && a <= SIZE_MAX / 2)
		a *= 2;
	if (a < align) {
		errno = EINVAL;
		return NULL;
	}
	return alloc_aligned(size, a, CALLER);
}

API void *valloc(size_t size)
{
	return alloc_aligned(size, REGION_PAGE, CALLER);
}

/* valloc of size rounded up to whole pages (0: one page). */
API void *pvalloc(size_t size)
{
	size_t bytes = size ? (size + REGION_PAGE - 1) & ~(size_t)(REGION_PAGE - 1) : REGION_PAGE;

	if (bytes < size) {
		errno = ENOMEM;
		return NULL;
	}
	return alloc_aligned(bytes, REGION_PAGE, CALLER);
}

API size_t malloc_usable_size(void *p)
{
	size_t n = 0;

	if (p && enter()) {
		n = kalloc_usable_size(&ka, p);
		leave();
	}
	return n;
}

API bool kheap_preload_stats(struct heap_stats *heap, struct kalloc_stats *front)
{
	bool up;

	spin_lock(&lock);
	up = ready;
	if (up) {
		*heap = ka.heap.stats;
		*front = ka.stats;
	}
	spin_unlock(&lock);
	return up;
}

/*
 * fork() in one thread while another is inside the allocator would give
 * the child a heap caught mid-update and a lock nobody will release.  So
 * the lock is taken before fork and released after it, in the parent and
 * in the child alike: the lock has no owner, and in the child the one
 * thread there is the one that took it.
 */
static void fork_prepare(void)
{
	spin_lock(&lock);
}

static void fork_release(void)
{
	spin_unlock(&lock);
}

__attribute__((constructor)) static void register_fork_handlers(void)
{
	pthread_atfork(fork_prepare, fork_release, fork_release);
}
