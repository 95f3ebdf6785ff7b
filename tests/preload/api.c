/*
 * api.c - the contract of the malloc family, checked from a program that
 * runs on build/host/libkheap.so (tests/preload/run.sh starts it with
 * LD_PRELOAD).
 *
 * Real programs show that the library works; they rarely show the corners
 * of the contract: posix_memalign's EINVAL, calloc's overflow, errno after
 * a failure, realloc(p, 0), what a bad free prints, fork() while other
 * threads allocate.  Each check here is one of those, printed as
 * "PASS preload/api/NAME" or "FAIL preload/api/NAME: why".
 *
 * `api debug` runs the checks that need KHEAP_DEBUG=1: an overrun and a
 * write after free, each reported on stderr.  `api purge` runs the purge
 * check alone, for KHEAP_PURGE_EAGER=1.
 *
 * Built without sanitizers: AddressSanitizer would replace malloc itself.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mm/heap.h" /* HEAP_PURGE_DECAY */

#define PAGE 4096

static int failures;
static char why[1024];
static bool skip; /* set by a check that cannot run here; `why` says why */

static bool fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

static void run(const char *name, bool (*check)(void))
{
	why[0] = '\0';
	skip = false;
	bool passed = check();
	if (skip) {
		printf("SKIP preload/api/%s: %s\n", name, why);
	} else if (passed) {
		printf("PASS preload/api/%s\n", name);
	} else {
		printf("FAIL preload/api/%s: %s\n", name, why);
		failures++;
	}
	fflush(stdout);
}

/*
 * The compiler sees through some deliberate misuse (an impossible size, a
 * free of a stack address) and refuses to build it; values and pointers
 * passed through these reach the library unexamined.
 */
static size_t opaque_size(size_t n)
{
	__asm__("" : "+r"(n));
	return n;
}

static void *opaque(void *p)
{
	__asm__("" : "+r"(p));
	return p;
}

static bool aligned(const void *p, size_t a)
{
	return (uintptr_t)p % a == 0;
}

/* ---- capturing stderr -------------------------------------------------------- */

struct capture {
	int saved, pipe[2];
	char text[4096];
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	if (pipe(c->pipe) != 0)
		abort();
	c->saved = dup(STDERR_FILENO);
	dup2(c->pipe[1], STDERR_FILENO);
}

/* Stop capturing; the text (at most what fits, NUL-terminated) is in c->text. */
static void capture_end(struct capture *c)
{
	ssize_t n;

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	close(c->pipe[1]);
	n = read(c->pipe[0], c->text, sizeof(c->text) - 1);
	c->text[n > 0 ? n : 0] = '\0';
	close(c->pipe[0]);
}

static unsigned lines_in(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- the checks ---------------------------------------------------------------- */

static bool preloaded(void)
{
	return dlsym(RTLD_DEFAULT, "kheap_preload_stats") ? true
							   : fail("libkheap.so is not loaded (LD_PRELOAD?)");
}

static bool malloc_zero_is_unique(void)
{
	void *a = malloc(0), *b = malloc(0);
	bool ok = a && b && a != b;

	if (!ok)
		fail("malloc(0) gave %p and %p", a, b);
	free(a);
	free(b);
	return ok;
}

/* Every size up to 70000 (all three layers) is 16-aligned, usable and kept apart. */
static bool malloc_alignment_and_usable_size(void)
{
	static void *blocks[700];

	for (size_t i = 0; i < 700; i++) {
		size_t size = i * 100 + 1;
		if (!(blocks[i] = malloc(size)) || !aligned(blocks[i], 16))
			return fail("malloc(%zu) gave %p", size, blocks[i]);
		if (malloc_usable_size(blocks[i]) < size)
			return fail("malloc_usable_size(malloc(%zu)) = %zu", size,
				    malloc_usable_size(blocks[i]));
		memset(blocks[i], (int)i, malloc_usable_size(blocks[i]));
	}
	for (size_t i = 0; i < 700; i++) {
		const unsigned char *p = blocks[i];
		size_t n = malloc_usable_size(blocks[i]);
		if (p[0] != (unsigned char)i || p[n - 1] != (unsigned char)i)
			return fail("block %zu was overwritten", i);
		free(blocks[i]);
	}
	return true;
}

static bool posix_memalign_aligns(void)
{
	static const size_t sizes[] = { 1, 100, 512, 5000, 70000 };

	for (size_t align = sizeof(void *); align <= 65536; align *= 2) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			void *p = NULL;
			int e = posix_memalign(&p, align, sizes[i]);
			if (e || !aligned(p, align))
				return fail("posix_memalign(%zu, %zu) = %d, %p", align, sizes[i], e, p);
			memset(p, 1, sizes[i]);
			free(p);
		}
	}
	return true;
}

/* EINVAL for an alignment that is no power of two or no multiple of sizeof(void *). */
static bool posix_memalign_rejects(void)
{
	static const size_t bad[] = { 0, 3, 24, sizeof(void *) / 2, 4097 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *p = (void *)1;
		int e = posix_memalign(&p, bad[i], 16);
		if (e != EINVAL || p != (void *)1)
			return fail("posix_memalign(%zu) = %d, not EINVAL (or *p changed)", bad[i], e);
	}
	return true;
}

static bool posix_memalign_keeps_errno(void)
{
	void *p;
	int e;

	errno = 1234;
	e = posix_memalign(&p, 64, opaque_size(SIZE_MAX / 2));
	if (e != ENOMEM || errno != 1234)
		return fail("posix_memalign(64, SIZE_MAX/2) = %d, errno %d", e, errno);
	return true;
}

static bool other_aligned_calls(void)
{
	void *a = aligned_alloc(256, 1000), *m = memalign(48, 10), *v = valloc(10), *pv = pvalloc(1);
	bool ok = aligned(a, 256) && aligned(m, 64) && aligned(v, PAGE) && aligned(pv, PAGE) &&
		  malloc_usable_size(pv) >= PAGE;

	if (!ok)
		fail("aligned_alloc %p, memalign(48) %p, valloc %p, pvalloc %p", a, m, v, pv);
	free(a);
	free(m);
	free(v);
	free(pv);
	if (!ok)
		return false;
	errno = 0;
	a = aligned_alloc(3, 16);
	return !a && errno == EINVAL ? true : fail("aligned_alloc(3, 16) = %p, errno %d", a, errno);
}

static bool calloc_overflow(void)
{
	errno = 0;
	void *p = calloc(opaque_size(SIZE_MAX / 2), 3);
	if (p || errno != ENOMEM)
		return fail("calloc(SIZE_MAX/2, 3) = %p, errno %d", p, errno);
	p = reallocarray(NULL, opaque_size(SIZE_MAX / 4), 8);
	return !p && errno == ENOMEM ? true : fail("reallocarray overflow = %p", p);
}

/* calloc clears memory that was dirty before, in every layer. */
static bool calloc_zeroes(void)
{
	static const size_t sizes[] = { 8, 700, 3000, 40000, 300000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *d = malloc(sizes[i]), *z;
		memset(d, 0xAA, sizes[i]);
		free(d);
		z = calloc(1, sizes[i]);
		for (size_t j = 0; z && j < sizes[i]; j++)
			if (z[j])
				return fail("calloc(%zu) byte %zu is %#x", sizes[i], j, z[j]);
		free(z);
	}
	return true;
}

static bool enomem_sets_errno(void)
{
	void *p;

	errno = 0;
	if ((p = malloc(opaque_size(SIZE_MAX))) || errno != ENOMEM)
		return fail("malloc(SIZE_MAX) = %p, errno %d", p, errno);
	errno = 0;
	if ((p = malloc((size_t)1 << 50)) || errno != ENOMEM)
		return fail("malloc(1 PiB) = %p, errno %d", p, errno);
	errno = 0;
	void *q = malloc(10);
	if ((p = realloc(q, opaque_size(SIZE_MAX / 2))) || errno != ENOMEM)
		return fail("realloc to SIZE_MAX/2 = %p, errno %d", p, errno);
	free(q); /* a failed realloc leaves the block alone */
	return true;
}

/* Contents survive moves between all three layers, up and down. */
static bool realloc_keeps_contents(void)
{
	static const size_t steps[] = { 10, 2000, 100000, 500, 70000, 12 };
	unsigned char *p = NULL;
	size_t kept = 0;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		unsigned char *q = realloc(p, steps[i]);
		if (!q)
			return fail("realloc to %zu failed", steps[i]);
		for (size_t j = 0; j < kept && j < steps[i]; j++)
			if (q[j] != (unsigned char)(j * 7))
				return fail("byte %zu lost in realloc to %zu", j, steps[i]);
		for (size_t j = 0; j < steps[i]; j++)
			q[j] = (unsigned char)(j * 7);
		p = q;
		kept = steps[i];
	}
	free(p);
	return true;
}

static bool realloc_zero_frees(void)
{
	void *p = malloc(100);

	errno = 0;
	if (realloc(p, 0) != NULL || errno)
		return fail("realloc(p, 0) did not return NULL quietly");
	if (malloc_usable_size(p))
		return fail("realloc(p, 0) did not free p");
	p = realloc(NULL, 0);
	free(p);
	return p ? true : fail("realloc(NULL, 0) gave NULL");
}

static bool free_keeps_errno(void)
{
	void *a = malloc(40), *b = malloc(4000), *c = malloc(400000);

	errno = 4321;
	free(a);
	free(b);
	free(c);
	return errno == 4321 ? true : fail("free changed errno to %d", errno);
}

/* Each bad free: exactly one line on stderr, the call refused, the heap fine. */
static bool bad_frees_reported(void)
{
	static const char *const expect[] = { "invalid free", "double free", "invalid free",
					      "invalid free", "double free" };
	const size_t n = sizeof(expect) / sizeof(expect[0]);
	struct capture c;
	char *small = malloc(32), *mid = malloc(3000), *big = malloc(200000), local;
	char *mid_again = opaque(mid), *tiny = malloc(24), *tiny_again = opaque(tiny);

	free(mid);
	free(tiny);
	capture_start(&c);
	free(opaque(small + 16));
	free(mid_again);
	free(opaque(&local));
	free(opaque(big + PAGE));
	free(tiny_again);
	capture_end(&c);
	free(small);
	free(big);
	if (lines_in(c.text) != n)
		return fail("expected %zu report lines, got: %s", n, c.text);
	const char *line = c.text;
	for (size_t i = 0; i < n; i++, line = strchr(line, '\n') + 1)
		if (strncmp(line, "kheap: ", 7) || strncmp(line + 7, expect[i], strlen(expect[i])))
			return fail("line %zu is not 'kheap: %s ...': %s", i + 1, expect[i], c.text);
	char *again = malloc(32);
	free(again);
	return again ? true : fail("malloc failed after the bad frees");
}

/*
 * A double free that comes the locked way -- here through realloc, which
 * never passes the magazines -- must be refused like one through free,
 * although the slab still counts an object held in a magazine as
 * allocated; else the next mallocs hand the block out twice.
 */
static bool double_free_by_realloc(void)
{
	char *p = malloc(40), *p_again = opaque(p), *q, *a, *b;
	struct capture c;

	free(p);
	capture_start(&c);
	q = realloc(p_again, 100);
	capture_end(&c);
	if (q)
		return fail("realloc of a freed pointer gave %p", (void *)q);
	if (lines_in(c.text) != 1 || strncmp(c.text, "kheap: ", 7) || !strstr(c.text, "; refused"))
		return fail("realloc of a freed pointer: %s", c.text[0] ? c.text : "not reported");
	a = malloc(40);
	b = malloc(40);
	bool ok = a != b ? true : fail("one block handed out twice: %p", (void *)a);
	free(a);
	free(b);
	return ok;
}

/* A field of /proc/self/smaps_rollup, in KiB; -1 if it cannot be read. */
static long smaps_kib(const char *field)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	size_t n = strlen(field);
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			kib = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

/*
 * Purging gives free pages inside the heap back (mm/heap.c): lazily by
 * default, with MADV_FREE, so they show as LazyFree until the kernel
 * takes them; at once with KHEAP_PURGE_EAGER=1, so RSS falls.  The heap
 * purges what would raise its footprint past its peak in use, so the
 * holes are made first, then the heap grows past them with blocks too big
 * for any hole: 64 holes of 512 KiB (32 MiB) between 64 KiB blocks, then
 * 64 blocks of 600 KiB.  At least 24 MiB of the holes must go back.
 */
static bool purge_gives_pages_back(void)
{
	enum { N = 64, HOLE = 512 << 10, LID = 64 << 10, BIG = 600 << 10, MIB = 1024 };
	bool eager = getenv("KHEAP_PURGE_EAGER") && atoi(getenv("KHEAP_PURGE_EAGER")) != 0; /* as the library reads it */
	long rss0 = smaps_kib("Rss"), lazy0 = smaps_kib("LazyFree");
	char *hole[N], *lid[N], *big[N];
	bool ok = true;

	if (rss0 < 0 || lazy0 < 0) { /* Linux before 4.14 */
		skip = true;
		return fail("/proc/self/smaps_rollup has no Rss or LazyFree");
	}
	for (int i = 0; i < N; i++) {
		hole[i] = malloc(HOLE);
		lid[i] = malloc(LID);
		if (!hole[i] || !lid[i])
			return fail("malloc failed");
		memset(hole[i], 1, HOLE);
		memset(lid[i], 2, LID);
	}
	for (int i = 0; i < N; i++)
		free(hole[i]);
	for (int i = 0; i < N; i++) {
		big[i] = malloc(BIG);
		if (!big[i])
			return fail("malloc failed");
		memset(big[i], 3, BIG);
	}
	/* touched: N * (HOLE + LID + BIG) = 74 MiB; live now: N * (LID + BIG) = 42 MiB */
	long grew = smaps_kib("Rss") - rss0, lazy = smaps_kib("LazyFree") - lazy0;
	long touched = (long)N * (HOLE + LID + BIG) / 1024, back = 24 * MIB;
	if (eager && (grew > touched - back || lazy > 8 * MIB))
		ok = fail("eager purging: RSS grew by %ld KiB of %ld touched, LazyFree by %ld KiB",
			  grew, touched, lazy);
	if (!eager && lazy < back && grew > touched - back)
		ok = fail("lazy purging: LazyFree grew by %ld KiB, RSS by %ld KiB of %ld touched",
			  lazy, grew, touched);
	for (int i = 0; i < N; i++) {
		free(lid[i]);
		free(big[i]);
	}
	return ok;
}

/*
 * A live set that falls for good must let its holes go: the peak the
 * purge cap is a share of sinks with every free (mm/heap.c, purge_ref).
 * n blocks of `size` to `size + span` bytes, 15 of every 16 freed, then
 * twice 2^HEAP_PURGE_DECAY (about four million) more mallocs and frees of
 * `work` to `work + work_span` bytes, which sink the peak to a seventh of
 * the way: at least half the holes' bytes must show as LazyFree or have
 * left RSS (eagerly: left RSS).
 */
static bool drop_gives_holes_back_of(int n, size_t size, size_t span, size_t work, size_t work_span)
{
	bool eager = getenv("KHEAP_PURGE_EAGER") && atoi(getenv("KHEAP_PURGE_EAGER")) != 0;
	static char *block[8192];
	long holes = 0;
	unsigned s = 1;

	if (smaps_kib("Rss") < 0 || smaps_kib("LazyFree") < 0) {
		skip = true;
		return fail("/proc/self/smaps_rollup has no Rss or LazyFree");
	}
	for (int i = 0; i < n; i++) {
		size_t bytes = size + (s = s * 1103515245u + 12345u) % span;
		if (!(block[i] = malloc(bytes)))
			return fail("malloc failed");
		memset(block[i], 1, bytes);
		holes += i % 16 ? (long)bytes / 1024 : 0;
	}
	long rss = smaps_kib("Rss"), lazy = smaps_kib("LazyFree");
	for (int i = 0; i < n; i++)
		if (i % 16)
			free(block[i]);
	for (long k = 0; k < 2L << HEAP_PURGE_DECAY; k++)
		free(opaque(malloc(work + (size_t)k % work_span)));
	long left = rss - smaps_kib("Rss"), lazied = smaps_kib("LazyFree") - lazy;
	for (int i = 0; i < n; i += 16)
		free(block[i]);
	if (eager ? left < holes / 2 : left + lazied < holes / 2)
		return fail("%zu-%zu bytes, then work of %zu-%zu: of %ld KiB of holes, %ld KiB left RSS "
			    "and %ld KiB are LazyFree",
			    size, size + span - 1, work, work + work_span - 1, holes, left, lazied);
	return true;
}

/*
 * Holes in the general heap (2-8 KiB, about 40 MiB of blocks), then in
 * the big heap (20-40 KiB, about 30 MiB), and each time the work after
 * the drop in the general heap: its frees must sink the other heap's
 * peak too (kalloc_free).  With a peak that never fell, neither drop
 * gave anything back; with one that sank only with its own heap's
 * frees, the second gave back 0.3 MiB.  Then the general heap's holes
 * again, with work that only cycles small objects through this thread's
 * magazines: frees no heap sees, which must count all the same
 * (magazine_frees_heard).  Before they did, that gave back 0 of 34 MiB.
 */
static bool drop_gives_holes_back(void)
{
	return drop_gives_holes_back_of(8192, 2048, 6144, 1025, 1024) &&
	       drop_gives_holes_back_of(1024, 20 << 10, 20 << 10, 1025, 1024) &&
	       drop_gives_holes_back_of(8192, 2048, 6144, 16, 1000);
}

/*
 * Once a slab's page has gone back to the heap and a bigger block lives
 * there, a free of a pointer where one of the slab's objects used to be
 * must be refused -- the fast free reads the page's entry in the header
 * table, cleared when the slab went (preload/magazine.h) -- and the block
 * must keep its bytes.
 */
static bool former_object_in_a_block(void)
{
	enum { OBJECTS = 4096, BLOCKS = 256, BLOCK = 3000 };
	static char *object[OBJECTS], *block[BLOCKS];
	char *target = NULL, *inside = NULL;
	struct capture c;

	for (int i = 0; i < OBJECTS; i++)
		object[i] = malloc(32);
	for (int i = 0; i < OBJECTS; i++)
		free(object[i]); /* the slabs go back to the heap */
	for (int b = 0; b < BLOCKS; b++) {
		block[b] = malloc(BLOCK);
		memset(block[b], 0x5A, BLOCK);
		for (int i = 0; i < OBJECTS && !target; i++)
			if (object[i] > block[b] && object[i] < block[b] + BLOCK - 16)
				target = block[b], inside = object[i];
	}
	bool ok = target != NULL;
	if (!ok)
		fail("no block took a page the 32-byte objects had: nothing to check");
	if (ok) {
		capture_start(&c);
		free(opaque(inside));
		capture_end(&c);
		if (lines_in(c.text) != 1 || !strstr(c.text, "invalid free"))
			ok = fail("free of a former object's address inside a %d-byte block: %s", BLOCK,
				  c.text[0] ? c.text : "taken silently");
		for (int i = 0; ok && i < BLOCK; i++)
			if ((unsigned char)target[i] != 0x5A)
				ok = fail("byte %d of the block changed after the refused free", i);
	}
	for (int b = 0; b < BLOCKS; b++)
		free(block[b]);
	return ok;
}

/*
 * Frees of pointers 4 GiB apart from a live object, far outside the heap
 * or beyond its grown part, must be refused before anything is read for
 * them (the slab headers' table ends where the heap's region does; a
 * table indexed by the page number's low bits would alias them to the
 * live object's page) -- reported, not a crash.
 */
static bool wild_frees_far_from_objects(void)
{
	enum { NEAR = 8 };
	char *live = malloc(48), *live_again = opaque(live);
	struct capture c;
	unsigned tried = 0;

	capture_start(&c);
	for (long k = -NEAR; k <= NEAR; k++) {
		uintptr_t p = (uintptr_t)live + (uintptr_t)k * ((uintptr_t)1 << 32);
		if (k == 0 || (k < 0 && p > (uintptr_t)live))
			continue;
		free(opaque((void *)p));
		tried++;
	}
	capture_end(&c);
	bool ok = lines_in(c.text) == tried && !strstr(c.text, "double free");
	if (!ok)
		fail("%u wild frees gave %u report lines: %s", tried, (unsigned)lines_in(c.text), c.text);
	free(live_again);
	return ok;
}

/*
 * When a slab of another class takes over a page, the fast free must take
 * the class from the new slab's identity, not from anything remembered of
 * the page -- else a 192-byte object at a 256-byte boundary would go into
 * the 256-byte magazine and come back out as a block over its live
 * neighbour.  (It did with a per-page class hint whose guess went
 * unchecked against the header.)
 */
static bool slab_page_of_another_class(void)
{
	enum { N = 6000, BIG = 256, SMALL = 192 }; /* classes the checks before leave alone */
	static char *big[N], *small[N];
	unsigned shared = 0, overlaps = 0;

	for (int i = 0; i < N; i++)
		big[i] = malloc(BIG);
	for (int i = 0; i < N; i++)
		free(big[i]); /* the slabs go back to the heap */
	for (int i = 0; i < N; i++)
		small[i] = malloc(SMALL);
	for (int i = 0; i < N; i += 16)
		for (int j = 0; j < N; j++)
			if ((uintptr_t)big[j] / PAGE == (uintptr_t)small[i] / PAGE) {
				shared++;
				break;
			}
	/* Free the objects at 256-byte boundaries, which the 256-byte class's
	 * geometry takes for its own objects' starts; keep the others. */
	for (int i = 0; i < N; i++)
		if ((uintptr_t)small[i] % BIG == 0) {
			free(small[i]);
			small[i] = NULL;
		}
	for (int n = 0; n < N / 2; n++) {
		char *q = malloc(BIG);
		for (int i = 0; q && i < N; i++)
			if (small[i] && q < small[i] + SMALL && small[i] < q + BIG) {
				overlaps++;
				break;
			}
		big[n] = q;
	}
	for (int n = 0; n < N / 2; n++)
		free(big[n]);
	for (int i = 0; i < N; i++)
		free(small[i]);
	if (!shared)
		return fail("no small object landed on a former big one's page: nothing to check");
	return overlaps ? fail("%u new %d-byte blocks overlap live %d-byte objects", overlaps, BIG, SMALL)
			: true;
}

/* ---- threads and fork ---------------------------------------------------------------- */

#define THREADS 4
#define SLOTS 512
#define OPS 200000

static _Atomic(unsigned char *) shared_slots[SLOTS];
static atomic_bool stop_forker;

static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* A block holds its size in its first word and a fill byte derived from it after. */
static unsigned char *make_block(size_t size)
{
	unsigned char *p = malloc(size);

	if (p) {
		memcpy(p, &size, sizeof(size));
		memset(p + sizeof(size), (int)(size & 0xff), size - sizeof(size));
	}
	return p;
}

static bool block_intact(const unsigned char *p)
{
	size_t size;

	memcpy(&size, p, sizeof(size));
	for (size_t i = sizeof(size); i < size; i++)
		if (p[i] != (unsigned char)(size & 0xff))
			return false;
	return true;
}

/* Swap new blocks into random shared slots; whatever comes out is checked and freed. */
static void *churn(void *arg)
{
	uint32_t seed = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
	uintptr_t bad = 0;

	for (unsigned i = 0; i < OPS; i++) {
		uint32_t r = next_random(&seed);
		size_t size = sizeof(size_t) + (r % 8 == 0 ? r % 20000 : r % 300);
		unsigned char *old = atomic_exchange(&shared_slots[r % SLOTS], make_block(size));
		if (old && !block_intact(old))
			bad++;
		free(old);
	}
	return (void *)bad;
}

static bool threads_share_the_heap(void)
{
	pthread_t t[THREADS];
	uintptr_t bad = 0;

	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, churn, (void *)(i + 1));
	for (unsigned i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (uintptr_t)r;
	}
	for (unsigned i = 0; i < SLOTS; i++) {
		unsigned char *p = atomic_exchange(&shared_slots[i], NULL);
		if (p && !block_intact(p))
			bad++;
		free(p);
	}
	return bad ? fail("%zu blocks were damaged", (size_t)bad) : true;
}

/* A child that cannot allocate (a lock held forever) is killed by alarm(). */
static bool child_allocates(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		alarm(10);
		for (unsigned i = 0; i < 1000; i++)
			free(make_block(sizeof(size_t) + i * 37 % 5000));
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static void *churn_until_stopped(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_forker))
		churn((void *)7);
	return NULL;
}

static bool fork_while_threads_allocate(void)
{
	pthread_t t[2];
	unsigned failed = 0;

	for (unsigned i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, churn_until_stopped, NULL);
	for (unsigned i = 0; i < 40; i++)
		failed += !child_allocates();
	atomic_store(&stop_forker, true);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return failed ? fail("%u of 40 children could not allocate", failed) : true;
}

/* ---- debug mode (KHEAP_DEBUG=1) -------------------------------------------------------- */

static bool reported(const char *what, void (*act)(void))
{
	struct capture c;

	capture_start(&c);
	act();
	capture_end(&c);
	if (lines_in(c.text) != 1 || !strstr(c.text, what))
		return fail("expected one line about '%s', got: %s", what, c.text);
	return true;
}

static void overrun_small(void)
{
	char *p = opaque(malloc(20));
	((volatile char *)p)[20] = 'x'; /* volatile: not a dead store before free */
	free(p);
}

static void overrun_heap(void)
{
	char *p = opaque(malloc(3000));
	((volatile char *)p)[3000] = 'x';
	free(p);
}

static void write_after_free(void)
{
	char *p = opaque(malloc(3000)), *alias = opaque(p);
	free(p);
	alias[100] = 'x';
	free(opaque(malloc(3000))); /* the same block again: its poison is checked */
}

static bool debug_overrun_small(void)
{
	return reported("buffer overrun", overrun_small);
}

static bool debug_overrun_heap(void)
{
	return reported("buffer overrun", overrun_heap);
}

static bool debug_write_after_free(void)
{
	return reported("write after free", write_after_free);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "debug") == 0) {
		run("debug/overrun-slab", debug_overrun_small);
		run("debug/overrun-heap", debug_overrun_heap);
		run("debug/write-after-free", debug_write_after_free);
		return failures != 0;
	}
	if (argc > 1 && strcmp(argv[1], "purge") == 0) { /* for KHEAP_PURGE_EAGER=1 */
		run("purge-eager-gives-pages-back", purge_gives_pages_back);
		run("drop-eager-gives-holes-back", drop_gives_holes_back);
		return failures != 0;
	}
	run("preloaded", preloaded);
	run("malloc-zero-unique", malloc_zero_is_unique);
	run("malloc-alignment-usable-size", malloc_alignment_and_usable_size);
	run("posix-memalign-aligns", posix_memalign_aligns);
	run("posix-memalign-einval", posix_memalign_rejects);
	run("posix-memalign-keeps-errno", posix_memalign_keeps_errno);
	run("aligned-alloc-memalign-valloc-pvalloc", other_aligned_calls);
	run("calloc-overflow", calloc_overflow);
	run("calloc-zeroes", calloc_zeroes);
	run("enomem-sets-errno", enomem_sets_errno);
	run("realloc-keeps-contents", realloc_keeps_contents);
	run("realloc-zero-frees", realloc_zero_frees);
	run("free-keeps-errno", free_keeps_errno);
	run("bad-frees-reported", bad_frees_reported);
	run("former-object-in-a-block", former_object_in_a_block);
	run("wild-frees-far-from-objects", wild_frees_far_from_objects);
	run("slab-page-of-another-class", slab_page_of_another_class);
	run("double-free-by-realloc", double_free_by_realloc);
	run("purge-lazy-gives-pages-back", purge_gives_pages_back);
	run("drop-lazy-gives-holes-back", drop_gives_holes_back);
	run("threads", threads_share_the_heap);
	run("fork-while-threads-allocate", fork_while_threads_allocate);
	return failures != 0;
}
