/*
 * test_heap.c - host tests for mm/heap.c, the boundary-tag heap.
 *
 * Every test heap lives in its own 64 MiB reservation of address space that
 * is mapped PROT_NONE; the backend makes pages usable with mprotect as the
 * heap grows and takes them away again (contents dropped) when it shrinks,
 * so a heap that touches memory it was not given faults at once.  Fresh
 * pages are filled with garbage, as the kernel's frames would be: the heap
 * must not rely on zeroed memory.  The backend also checks its contract
 * (whole pages, always at the top) and can be told to refuse growth after
 * N calls, which is how exhaustion is tested.
 *
 * The directed tests pin down what heap.h promises: alignment (also with a
 * leading gap split off), unique blocks for size 0, refused impossible
 * sizes, splitting and coalescing with both neighbours, the exact blocks
 * first, next and best fit must pick in a layout where all three differ,
 * growth, trimming with its hysteresis and `keep`, exhaustion, and the
 * leak-report queries.  Then every kind of misuse is injected -- double
 * and invalid frees, smashed headers, overruns, writes after free, free-list
 * links overwritten -- and each must be refused or repaired, counted in the
 * right stats.errors slot and reported with the right enum, after which
 * heap_check() must find nothing and a burst of random operations must
 * still work: a bad call must never damage the heap.
 *
 * Last, a randomized model test: per fit policy, with and without debug
 * mode, seeded runs of random allocations (size 0 to 64 KiB, sometimes
 * aligned) and frees.  Every block is filled with a pattern derived from
 * its id and verified before it is freed and periodically all together;
 * the statistics must match the model after every operation and
 * heap_check() must return 0 at regular intervals.
 *
 * The misuse tests are white-box where they must be: they aim at fields of
 * the block header through a mirror of heap.c's layout, which the first
 * case checks.  `test_heap NAME` runs only the cases whose name contains
 * NAME (the numbering of TAP results then starts at 1).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"
#include "mm/heap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KIB 1024u
#define MIB (1024u * KIB)
#define PAGE 4096u
#define RESERVE (64u * MIB)   /* address space behind every test heap */
#define GARBAGE 0xA5          /* what fresh pages hold */
#define CALLER(n) ((const void *)(uintptr_t)(0xC0DE0000u + 16u * (n)))

/* Run a helper that may fail a CHECK; stop the case if it did. */
#define TRY(call)                         \
	do {                              \
		call;                     \
		if (check_failed)         \
			return;           \
	} while (0)

static const enum heap_fit fits[] = { HEAP_FIRST_FIT, HEAP_NEXT_FIT, HEAP_BEST_FIT };
static const char *const fit_names[] = { "first-fit", "next-fit", "best-fit" };

/* ---- random numbers ------------------------------------------------------ */

static uint64_t splitmix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static uint64_t rnd(uint64_t *state)
{
	*state += 0x9E3779B97F4A7C15ull;
	return splitmix(*state);
}

static size_t below(uint64_t *state, size_t n)
{
	return (size_t)(rnd(state) % n);
}

/* ---- the backend: a PROT_NONE reservation opened page by page ------------ */

struct arena {
	char *base;
	size_t reserve, mapped;  /* [base, base + mapped) is accessible */
	unsigned grows, shrinks, refused;
	long grows_left;         /* grow and commit calls (heap_init's too) that may succeed; < 0: any */
	unsigned misuse;         /* calls that broke the backend contract */
	char misuse_why[160];
	size_t purged;           /* bytes decommitted below `mapped` */
	unsigned commits, decommits;
	bool gone[RESERVE / PAGE]; /* which pages are decommitted */
};

static void arena_misuse(struct arena *a, const char *what, uintptr_t addr, size_t bytes)
{
	if (a->misuse++ == 0)
		snprintf(a->misuse_why, sizeof(a->misuse_why),
			 "%s: at +0x%zx, 0x%zx bytes, 0x%zx mapped", what,
			 (size_t)(addr - (uintptr_t)a->base), bytes, a->mapped);
}

static bool arena_grow(void *ctx, uintptr_t end, size_t bytes)
{
	struct arena *a = ctx;

	if (end != (uintptr_t)a->base + a->mapped || !bytes || bytes % PAGE ||
	    bytes > a->reserve - a->mapped) {
		arena_misuse(a, "grow not at the top or not whole pages", end, bytes);
		return false;
	}
	if (a->grows_left == 0) {
		a->refused++;
		return false;
	}
	if (a->grows_left > 0)
		a->grows_left--;
	if (mprotect((void *)end, bytes, PROT_READ | PROT_WRITE)) {
		arena_misuse(a, "mprotect failed", end, bytes);
		return false;
	}
	memset((void *)end, GARBAGE, bytes);
	a->mapped += bytes;
	a->grows++;
	return true;
}

static void arena_shrink(void *ctx, uintptr_t start, size_t bytes)
{
	struct arena *a = ctx;

	if (start % PAGE || !bytes || bytes % PAGE || start < (uintptr_t)a->base ||
	    start + bytes != (uintptr_t)a->base + a->mapped) {
		arena_misuse(a, "shrink not at the top or not whole pages", start, bytes);
		return;
	}
	madvise((void *)start, bytes, MADV_DONTNEED);
	mprotect((void *)start, bytes, PROT_NONE);
	for (size_t i = (start - (uintptr_t)a->base) / PAGE; i < a->mapped / PAGE; i++) {
		a->purged -= a->gone[i] ? PAGE : 0;
		a->gone[i] = false;
	}
	a->mapped -= bytes;
	a->shrinks++;
}

/*
 * Purging: pages below the top change state, each from the state the heap
 * must believe it is in.  Decommitted pages are PROT_NONE, so a heap that
 * reads or writes one faults (under ASan: a SEGV report).
 */
static bool arena_flip(struct arena *a, uintptr_t start, size_t bytes, bool gone)
{
	if (start % PAGE || !bytes || bytes % PAGE || start < (uintptr_t)a->base ||
	    start + bytes > (uintptr_t)a->base + a->mapped) {
		arena_misuse(a, "commit or decommit outside the mapped pages", start, bytes);
		return false;
	}
	for (size_t i = (start - (uintptr_t)a->base) / PAGE, n = 0; n < bytes / PAGE; i++, n++)
		if (a->gone[i] == gone) {
			arena_misuse(a, gone ? "decommit of a decommitted page" : "commit of a committed page",
				     (uintptr_t)a->base + i * PAGE, PAGE);
			return false;
		}
	for (size_t i = (start - (uintptr_t)a->base) / PAGE, n = 0; n < bytes / PAGE; i++, n++)
		a->gone[i] = gone;
	if (gone) {
		madvise((void *)start, bytes, MADV_DONTNEED);
		mprotect((void *)start, bytes, PROT_NONE);
		a->purged += bytes;
		a->decommits++;
	} else {
		mprotect((void *)start, bytes, PROT_READ | PROT_WRITE);
		memset((void *)start, GARBAGE, bytes);
		a->purged -= bytes;
		a->commits++;
	}
	return true;
}

static bool arena_commit(void *ctx, uintptr_t start, size_t bytes)
{
	struct arena *a = ctx;

	if (a->grows_left == 0) {
		a->refused++;
		return false;
	}
	if (a->grows_left > 0)
		a->grows_left--;
	return arena_flip(a, start, bytes, false);
}

static void arena_decommit(void *ctx, uintptr_t start, size_t bytes)
{
	arena_flip(ctx, start, bytes, true);
}

/* Is the page at `p` decommitted? */
static bool arena_gone(const struct arena *a, const void *p)
{
	return a->gone[((uintptr_t)p - (uintptr_t)a->base) / PAGE];
}

/*
 * The block header as heap.c lays it out.  White-box: these tests aim at
 * its fields; header_mirror_matches checks that the mirror still fits.
 */
struct header_mirror {
	size_t prev_size;
	size_t size; /* | IN_USE (1) | PREV_IN_USE (2) */
	uint32_t magic;
	uint32_t seq;
	const void *caller;
	size_t requested;  /* free: where its purged pages start */
	uintptr_t purged_to; /* free: and end */
} __attribute__((aligned(HEAP_ALIGN)));

#define HDR sizeof(struct header_mirror)
/* The smallest block: a header and the two free-list links, rounded up. */
#define MIN_BLOCK_BYTES ((HDR + 2 * sizeof(void *) + HEAP_ALIGN - 1) & ~(size_t)(HEAP_ALIGN - 1))

static struct header_mirror *header_of(void *p)
{
	return (struct header_mirror *)((uintptr_t)p - HDR);
}

static bool grow_never(void *ctx, uintptr_t end, size_t bytes)
{
	(void)ctx, (void)end, (void)bytes;
	return false;
}

/* ---- the fixture: one heap, its arena, and what it reported -------------- */

struct fixture {
	struct heap h;
	struct arena arena;
	unsigned reports;
	enum heap_error last_error;
	const void *last_ptr;
	size_t split_rest; /* the smallest rest the heap should split off (from its config) */
};

static struct fixture fx;

static void record_report(struct heap *h, enum heap_error e, const void *ptr, const char *detail)
{
	(void)h;
	fx.reports++;
	fx.last_error = e;
	fx.last_ptr = ptr;
	printf("# report: %s at %p: %s\n", heap_error_name(e), ptr, detail);
}

static struct heap_config config(enum heap_fit fit, bool debug)
{
	return (struct heap_config){ .page_size = PAGE, .initial = 4 * PAGE,
				     .grow_step = 16 * PAGE, .keep = 0,
				     .fit = fit, .debug = debug };
}

/* A one-page heap that grows four pages at a time, for growth and trimming. */
static struct heap_config small_config(bool debug)
{
	struct heap_config cfg = config(HEAP_FIRST_FIT, debug);

	cfg.initial = PAGE;
	cfg.grow_step = 4 * PAGE;
	return cfg;
}

static void stop_heap(void)
{
	if (fx.arena.base)
		munmap(fx.arena.base, fx.arena.reserve);
	memset(&fx, 0, sizeof(fx));
}

static void expect_consistent(void)
{
	char why[160];
	unsigned problems = heap_check(&fx.h, why, sizeof(why));

	CHECK(problems == 0, "heap_check: %u problem(s), the first: %s", problems, why);
	CHECK(fx.arena.misuse == 0, "backend misused: %s", fx.arena.misuse_why);
	CHECK_EQ(fx.h.stats.heap_size, fx.arena.mapped);
	CHECK_EQ(fx.h.end - fx.h.base, fx.arena.mapped);
	CHECK_EQ(fx.h.stats.purged, fx.arena.purged);
	CHECK_EQ(fx.h.stats.committed, fx.arena.mapped - fx.arena.purged);
}

static unsigned char purge_map[RESERVE / PAGE / 8];

/* A fresh heap that may grow to `limit` bytes, its backend refusing after `grows_left` calls. */
static void start_heap(const struct heap_config *config, size_t limit, long grows_left)
{
	struct heap_config with_map = *config, *cfg = &with_map;

	memset(purge_map, 0, sizeof(purge_map));
	with_map.purge_map = purge_map;
	stop_heap();
	void *base = mmap(NULL, RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	CHECK(base != MAP_FAILED, "cannot reserve %u MiB of address space", RESERVE / MIB);
	memset(&fx.arena, 0, sizeof(fx.arena));
	fx.arena.base = base;
	fx.arena.reserve = RESERVE;
	fx.arena.grows_left = grows_left;
	fx.split_rest = (HDR + cfg->split_min + (cfg->debug ? 16 : 0) + HEAP_ALIGN - 1) &
			~(size_t)(HEAP_ALIGN - 1);
	if (!cfg->split_min || fx.split_rest < MIN_BLOCK_BYTES)
		fx.split_rest = MIN_BLOCK_BYTES;
	struct heap_backend backend = { arena_grow, arena_shrink, &fx.arena, arena_commit,
					arena_decommit };
	CHECK(heap_init(&fx.h, (uintptr_t)base, (uintptr_t)base + limit, cfg, &backend),
	      "heap_init failed");
	fx.h.report = record_report;
	TRY(expect_consistent());
}

static void start_default(enum heap_fit fit, bool debug)
{
	struct heap_config cfg = config(fit, debug);

	start_heap(&cfg, RESERVE, -1);
}

static void *halloc(size_t size)
{
	return heap_alloc(&fx.h, size, 0, CALLER(0));
}

static void *halloc_aligned(size_t size, size_t align)
{
	return heap_alloc(&fx.h, size, align, CALLER(0));
}

/* Allocate or fail the case. */
static void alloc_ok(void **p, size_t size)
{
	*p = halloc(size);
	CHECK(*p != NULL, "alloc(%zu) failed", size);
	CHECK((uintptr_t)*p % HEAP_ALIGN == 0, "alloc(%zu) gave misaligned %p", size, *p);
}

/* Free a healthy block: accepted, and nothing reported. */
static void free_ok(void *p)
{
	unsigned reports = fx.reports;

	CHECK(heap_free(&fx.h, p, CALLER(1)), "free(%p) refused", p);
	CHECK_EQ(fx.reports, reports);
}

/* Exactly one report since `before`, of kind `e`, counted in errors[e] only. */
static void expect_reported(unsigned before, const uint64_t *errors_before, enum heap_error e)
{
	CHECK(fx.reports == before + 1, "%u report(s), expected one (%s)", fx.reports - before,
	      heap_error_name(e));
	CHECK(fx.last_error == e, "reported \"%s\", expected \"%s\"",
	      heap_error_name(fx.last_error), heap_error_name(e));
	for (int k = 0; k < HEAP_ERR_COUNT; k++)
		CHECK(fx.h.stats.errors[k] == errors_before[k] + (k == (int)e),
		      "stats.errors[%s] is %llu, was %llu", heap_error_name(k),
		      (unsigned long long)fx.h.stats.errors[k],
		      (unsigned long long)errors_before[k]);
}

/*
 * Free `p`, which must be refused and reported as `e` (or as `alt`, where the
 * heap cannot tell the two apart), with no statistic but that error changed.
 */
static void expect_refused_as(void *p, enum heap_error e, enum heap_error alt)
{
	struct heap_stats before = fx.h.stats;
	unsigned reports = fx.reports;

	CHECK(!heap_free(&fx.h, p, CALLER(2)), "bad free(%p) was accepted", p);
	enum heap_error got = fx.reports > reports && fx.last_error == alt ? alt : e;
	TRY(expect_reported(reports, before.errors, got));
	CHECK(fx.last_ptr == p, "report names %p, not %p", fx.last_ptr, p);
	before.errors[got]++;
	CHECK(memcmp(&before, &fx.h.stats, sizeof(before)) == 0,
	      "a refused free changed the statistics");
}

static void expect_refused(void *p, enum heap_error e)
{
	expect_refused_as(p, e, e);
}

/* ---- block contents ------------------------------------------------------ */

/* Word w of block id's pattern: different for every block and every offset. */
static uint64_t pattern_seed(uint32_t id)
{
	return splitmix(id);
}

static uint64_t pattern_word(uint64_t seed, size_t w)
{
	return seed ^ (w * 0x9E3779B97F4A7C15ull);
}

static void fill(void *p, size_t size, uint32_t id)
{
	unsigned char *c = p;
	uint64_t seed = pattern_seed(id);
	size_t w;

	for (w = 0; 8 * w + 8 <= size; w++) {
		uint64_t v = pattern_word(seed, w);
		memcpy(c + 8 * w, &v, 8);
	}
	uint64_t tail = pattern_word(seed, w);
	memcpy(c + 8 * w, &tail, size - 8 * w);
}

/* Offset of the first byte that does not hold id's pattern, or size. */
static size_t first_bad_byte(const void *p, size_t size, uint32_t id)
{
	const unsigned char *c = p;
	uint64_t seed = pattern_seed(id);

	for (size_t w = 0; 8 * w < size; w++) {
		uint64_t v = pattern_word(seed, w);
		size_t n = size - 8 * w < 8 ? size - 8 * w : 8;
		if (memcmp(c + 8 * w, &v, n) == 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (c[8 * w + i] != ((unsigned char *)&v)[i])
				return 8 * w + i;
	}
	return size;
}

static void expect_pattern(const void *p, size_t size, uint32_t id)
{
	size_t bad = first_bad_byte(p, size, id);

	CHECK(bad == size, "block %p (id %u, %zu bytes) damaged at offset %zu", p, id, size, bad);
}

/* ---- a model of live blocks, for random operations ----------------------- */

struct live {
	unsigned char *p;
	size_t size, align;
	uint32_t id;
};

struct model {
	struct live *live;        /* dense: [0, nlive) */
	unsigned nlive, cap;
	uint64_t rng;
	uint32_t next_id;
	unsigned alloc_permille;  /* the current phase's chance to allocate */
	size_t requested;         /* by the model's live blocks */
	struct heap_stats base;   /* the heap's statistics when the model started */
	unsigned long ops;
};

#define PHASE_OPS 3000 /* the model alternates between filling and draining */

static void model_start(struct model *m, unsigned cap, uint64_t seed)
{
	*m = (struct model){ .live = calloc(cap, sizeof(struct live)), .cap = cap,
			     .rng = seed, .alloc_permille = 650, .base = fx.h.stats };
}

/* Sizes 0 to 64 KiB, most of them small. */
static size_t random_size(uint64_t *rng)
{
	unsigned kind = (unsigned)below(rng, 100);

	if (kind < 8)
		return below(rng, 17);
	if (kind < 55)
		return 1 + below(rng, 256);
	if (kind < 87)
		return 257 + below(rng, 4096 - 256);
	if (kind < 98)
		return 4097 + below(rng, 28 * KIB);
	return 32 * KIB + below(rng, 32 * KIB + 1);
}

/* 0 (the default) mostly; otherwise 1 to 64 KiB, mostly small. */
static size_t random_align(uint64_t *rng)
{
	unsigned kind = (unsigned)below(rng, 100);

	if (kind < 90)
		return 0;
	if (kind < 99)
		return (size_t)1 << below(rng, 13);
	return (size_t)1 << (13 + below(rng, 4));
}

/*
 * The oracle of the fit policies: where a block of `size` bytes aligned to
 * `align` must go among the blocks as they are, found by walking every
 * header (white-box, like header_mirror).  heap.c finds it through its
 * bins; this is the plain definition.  A block fits if it holds the block
 * the request needs after a leading gap that is 0 or itself a block.
 * First fit: the lowest such block; best fit: the smallest, the lowest of
 * equals, and with purging the smallest of those that would commit no
 * decommitted page (the backend's record says which are), if any; next
 * fit: the lowest at or above the rover, else the lowest.  NULL: nothing
 * fits, the heap must grow.
 */
/*
 * Would carving `need` bytes after `lead` out of free block b use a
 * decommitted page: one of the new block's, or the one the rest's header
 * lands on (all of them when no rest is left)?
 */
static bool touches_gone(const struct header_mirror *b, size_t bsize, size_t lead, size_t need)
{
	uintptr_t at = (uintptr_t)b + lead, end = (uintptr_t)b + bsize;

	if (bsize - lead - need >= fx.split_rest)
		end = at + need + MIN_BLOCK_BYTES;
	for (uintptr_t a = at & ~(uintptr_t)(PAGE - 1); a < end; a += PAGE)
		if (arena_gone(&fx.arena, (void *)a))
			return true;
	return false;
}

static unsigned char *expected_pick(size_t size, size_t align)
{
	size_t a = align > HEAP_ALIGN ? align : HEAP_ALIGN;
	size_t need = (HDR + size + (fx.h.debug ? 16 : 0) + HEAP_ALIGN - 1) & ~(size_t)(HEAP_ALIGN - 1);
	uintptr_t lowest = 0, after_rover = 0, best = 0, best_size = 0, ready = 0, ready_size = 0;
	struct header_mirror *b = (struct header_mirror *)fx.h.base;
	size_t bsize;

	if (need < MIN_BLOCK_BYTES)
		need = MIN_BLOCK_BYTES;
	for (; (bsize = b->size & ~(size_t)(HEAP_ALIGN - 1)) != 0;
	     b = (struct header_mirror *)((uintptr_t)b + bsize)) {
		uintptr_t p = (uintptr_t)b + HDR;
		size_t lead = (a - p % a) % a;
		while (lead && lead < MIN_BLOCK_BYTES)
			lead += a;
		if ((b->size & 1) || bsize < need + lead)
			continue;
		if (!lowest)
			lowest = p + lead;
		if (!after_rover && (uintptr_t)b >= fx.h.rover)
			after_rover = p + lead;
		if (!best || bsize < best_size) {
			best = p + lead;
			best_size = bsize;
		}
		if ((!ready || bsize < ready_size) && !touches_gone(b, bsize, lead, need)) {
			ready = p + lead;
			ready_size = bsize;
		}
	}
	switch (fx.h.fit) {
	case HEAP_NEXT_FIT:
		return (unsigned char *)(after_rover ? after_rover : lowest);
	case HEAP_BEST_FIT:
		return (unsigned char *)(ready ? ready : best);
	case HEAP_FIRST_FIT:
		break;
	}
	return (unsigned char *)lowest;
}

static void model_alloc(struct model *m, size_t size, size_t align)
{
	size_t want_align = align > HEAP_ALIGN ? align : HEAP_ALIGN;
	unsigned char *want = expected_pick(size, align);
	uint64_t grows = fx.h.stats.grows;
	unsigned char *p = heap_alloc(&fx.h, size, align, CALLER(m->next_id % 7));

	CHECK(p != NULL, "alloc(%zu, align %zu) failed", size, align);
	CHECK(want ? p == want : fx.h.stats.grows > grows,
	      "%s: alloc(%zu, align %zu) gave %p, the policy's block is %p%s",
	      fit_names[fx.h.fit], size, align, (void *)p, (void *)want,
	      want ? "" : " (none: the heap should have grown)");
	CHECK((uintptr_t)p % want_align == 0, "alloc(%zu, align %zu) gave %p", size, align, p);
	CHECK((uintptr_t)p >= fx.h.base && (uintptr_t)p + size <= fx.h.end,
	      "alloc(%zu) gave %p, outside the mapped heap", size, p);
	size_t usable = heap_usable_size(&fx.h, p);
	CHECK(fx.h.debug ? usable == size : usable >= size, "usable size %zu for %zu bytes", usable,
	      size);
	/* The block came out of a free block between blocks in use: what follows it
	 * is one of those, or a rest big enough to be split off. */
	const struct header_mirror *hd = header_of(p);
	const struct header_mirror *next =
		(const void *)((uintptr_t)hd + (hd->size & ~(size_t)(HEAP_ALIGN - 1)));
	size_t next_size = next->size & ~(size_t)(HEAP_ALIGN - 1);
	CHECK((next->size & 1) || next_size >= fx.split_rest,
	      "alloc(%zu) left a free rest of %zu bytes, below %zu", size, next_size, fx.split_rest);
	fill(p, size, m->next_id);
	m->live[m->nlive++] = (struct live){ p, size, align, m->next_id++ };
	m->requested += size;
}

static void model_free(struct model *m, unsigned k)
{
	struct live *l = &m->live[k];

	TRY(expect_pattern(l->p, l->size, l->id));
	CHECK(heap_free(&fx.h, l->p, CALLER(3)), "free(%p) refused", (void *)l->p);
	m->requested -= l->size;
	*l = m->live[--m->nlive];
}

/* What the heap says about a live block must be what the model knows. */
static void model_probe(struct model *m, unsigned k)
{
	const struct live *l = &m->live[k];
	struct heap_block_info info;

	CHECK(heap_owns(&fx.h, l->p), "heap does not own live block %p", (void *)l->p);
	CHECK(heap_block_info(&fx.h, l->p, &info), "no info for live block %p", (void *)l->p);
	CHECK(info.ptr == l->p && info.requested == l->size && info.usable >= l->size &&
		      info.caller == CALLER(l->id % 7),
	      "info for %p: ptr %p, requested %zu (want %zu), caller %p", (void *)l->p, info.ptr,
	      info.requested, l->size, info.caller);
}

static void model_compare_stats(const struct model *m)
{
	const struct heap_stats *s = &fx.h.stats;

	CHECK_EQ(s->live_blocks, m->base.live_blocks + m->nlive);
	CHECK_EQ(s->requested, m->base.requested + m->requested);
	CHECK_EQ(s->allocs - s->frees, m->base.allocs - m->base.frees + m->nlive);
	CHECK_EQ(s->failed, m->base.failed);
	CHECK(s->in_use >= s->requested + s->live_blocks * heap_overhead_per_block(&fx.h) &&
		      s->in_use + s->free_bytes < s->heap_size,
	      "in_use %zu, free %zu, heap %zu", s->in_use, s->free_bytes, s->heap_size);
	CHECK_EQ(s->heap_size, fx.arena.mapped);
	CHECK(s->peak_in_use >= s->in_use && s->peak_requested >= s->requested &&
		      s->peak_heap_size >= s->heap_size,
	      "a peak is below the current value");
}

static void model_verify_all(const struct model *m)
{
	for (unsigned k = 0; k < m->nlive; k++)
		TRY(expect_pattern(m->live[k].p, m->live[k].size, m->live[k].id));
}

/* Occasional extras: queries, frees of NULL, trimming. */
static void model_extra(struct model *m)
{
	switch (below(&m->rng, 64)) {
	case 0:
		CHECK(heap_free(&fx.h, NULL, CALLER(4)), "free(NULL) refused");
		break;
	case 1:
		heap_trim(&fx.h);
		break;
	default:
		if (m->nlive)
			model_probe(m, (unsigned)below(&m->rng, m->nlive));
	}
}

static void model_step(struct model *m)
{
	if (++m->ops % PHASE_OPS == 0)
		m->alloc_permille = 1000 - m->alloc_permille;
	bool alloc = m->nlive == 0 ||
		     (m->nlive < m->cap && below(&m->rng, 1000) < m->alloc_permille);
	if (alloc) {
		size_t size = random_size(&m->rng);
		TRY(model_alloc(m, size, random_align(&m->rng)));
	} else {
		TRY(model_free(m, (unsigned)below(&m->rng, m->nlive)));
	}
	if (m->ops % 16 == 0)
		TRY(model_extra(m));
	TRY(model_compare_stats(m));
}

static void model_run(struct model *m, unsigned long ops, unsigned check_every,
		      unsigned verify_every)
{
	for (unsigned long i = 1; i <= ops; i++) {
		TRY(model_step(m));
		if (i % check_every == 0)
			TRY(expect_consistent());
		if (i % verify_every == 0)
			TRY(model_verify_all(m));
	}
}

static void model_finish(struct model *m)
{
	while (m->nlive && !check_failed)
		model_free(m, m->nlive - 1);
	free(m->live);
	m->live = NULL;
}

/* After a bad call: random work on the same heap must still go right. */
static void churn_ops(uint64_t seed, unsigned long ops)
{
	struct model m;
	unsigned reports = fx.reports;

	model_start(&m, 128, seed);
	model_run(&m, ops, 500, 1000);
	model_finish(&m);
	if (check_failed)
		return;
	CHECK(fx.reports == reports, "%u report(s) during healthy operations",
	      fx.reports - reports);
	TRY(expect_consistent());
}

static void churn(uint64_t seed)
{
	churn_ops(seed, 2000);
}

/* The white-box tests rely on the mirror of heap.c's block header. */
static void header_mirror_matches(void)
{
	struct heap h = { .debug = false };
	void *p;

	CHECK(HDR == heap_overhead_per_block(&h),
	      "header mirror is %zu bytes, heap.c's header %zu: update the mirror", HDR,
	      heap_overhead_per_block(&h));
	TRY(start_default(HEAP_FIRST_FIT, false));
	CHECK((p = heap_alloc(&fx.h, 77, 0, CALLER(5))), "alloc");
	const struct header_mirror *hd = header_of(p);
	CHECK(hd->requested == 77 && hd->caller == CALLER(5) && (hd->size & 1) &&
		      (uintptr_t)p + (hd->size & ~(size_t)15) - HDR <= fx.h.end,
	      "the mirror does not fit: requested %zu, caller %p, size 0x%zx", hd->requested,
	      hd->caller, hd->size);
	TRY(free_ok(p));
}

/* ---- basics -------------------------------------------------------------- */

static void basic_alloc_free_one(bool debug)
{
	static const size_t sizes[] = { 1, 15, 16, 17, 100, 1000, 4096, 20000 };
	void *p[ARRAY_SIZE(sizes)];

	TRY(start_default(HEAP_FIRST_FIT, debug));
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		TRY(alloc_ok(&p[i], sizes[i]));
		size_t usable = heap_usable_size(&fx.h, p[i]);
		CHECK(debug ? usable == sizes[i] : usable >= sizes[i] && usable < sizes[i] + 64,
		      "usable %zu for %zu bytes", usable, sizes[i]);
		fill(p[i], usable, i);
		CHECK(heap_owns(&fx.h, p[i]), "does not own %p", p[i]);
	}
	CHECK_EQ(fx.h.stats.live_blocks, ARRAY_SIZE(sizes));
	CHECK_EQ(fx.h.stats.allocs, ARRAY_SIZE(sizes));
	TRY(expect_consistent());
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		TRY(expect_pattern(p[i], heap_usable_size(&fx.h, p[i]), i));
		TRY(free_ok(p[i]));
		CHECK(!heap_owns(&fx.h, p[i]) && heap_usable_size(&fx.h, p[i]) == 0,
		      "freed %p still owned", p[i]);
	}
	CHECK(fx.h.stats.live_blocks == 0 && fx.h.stats.requested == 0 && fx.h.stats.in_use == 0,
	      "empty heap has %zu live blocks, %zu bytes", fx.h.stats.live_blocks,
	      fx.h.stats.in_use);
	CHECK_EQ(fx.h.stats.frees, ARRAY_SIZE(sizes));
	CHECK(fx.h.stats.peak_requested >= 20000, "peak_requested %zu", fx.h.stats.peak_requested);
	CHECK(heap_free(&fx.h, NULL, CALLER(0)), "free(NULL) refused");
	TRY(expect_consistent());
}

static void basic_alloc_free(void)
{
	TRY(basic_alloc_free_one(false));
	TRY(basic_alloc_free_one(true));
}

static void init_refusals(void)
{
	struct heap_config cfg = config(HEAP_FIRST_FIT, false);
	struct heap h;

	TRY(start_default(HEAP_FIRST_FIT, false));
	/* the arena's backend flags any call: none of these may reach it */
	struct heap_backend backend = { arena_grow, arena_shrink, &fx.arena, NULL, NULL };
	struct heap_backend never = { grow_never, arena_shrink, &fx.arena, NULL, NULL };
	uintptr_t top = (uintptr_t)fx.arena.base + RESERVE;
	CHECK(!heap_init(&h, top - 8 * PAGE + 16, top, &cfg, &backend), "unaligned base taken");
	CHECK(!heap_init(&h, top - 8 * PAGE, top - 8 * PAGE, &cfg, &backend), "empty range taken");
	CHECK(!heap_init(&h, top - 2 * PAGE, top, &cfg, &backend), "initial > limit taken");
	struct heap_config odd = cfg;
	odd.page_size = odd.initial = 3 * PAGE; /* pages are numbered by a shift: a power of two only */
	uintptr_t at = (top - 8 * PAGE) / (3 * PAGE) * (3 * PAGE);
	CHECK(!heap_init(&h, at, top, &odd, &backend), "page size of 3 pages taken");
	odd.page_size = 0;
	CHECK(!heap_init(&h, top - 8 * PAGE, top, &odd, &backend), "page size 0 taken");
	CHECK_EQ(fx.arena.misuse, 0);
	CHECK(!heap_init(&h, top - 8 * PAGE, top, &cfg, &never), "failed backend ignored");
}

static void alignment_of_every_pointer(void)
{
	uint64_t rng = 42;
	void *p[400];

	for (int debug = 0; debug <= 1; debug++) {
		TRY(start_default(HEAP_FIRST_FIT, debug));
		for (unsigned i = 0; i < ARRAY_SIZE(p); i++) {
			TRY(alloc_ok(&p[i], i < 64 ? i : random_size(&rng)));
			if (i % 3 == 0)
				TRY(free_ok(p[i / 2]));
			if (i % 3 == 0)
				p[i / 2] = halloc(below(&rng, 300));
		}
		TRY(expect_consistent());
		for (unsigned i = 0; i < ARRAY_SIZE(p); i++)
			CHECK(p[i] && (uintptr_t)p[i] % HEAP_ALIGN == 0, "pointer %u: %p", i, p[i]);
	}
}

/* One aligned allocation after a filler that puts the top at every residue. */
static void aligned_after_filler(size_t align, size_t size, size_t filler)
{
	void *f, *q;

	TRY(alloc_ok(&f, filler));
	unsigned char *p = halloc_aligned(size, align);
	CHECK(p && (uintptr_t)p % align == 0, "alloc(%zu, align %zu) gave %p", size, align, p);
	CHECK(heap_usable_size(&fx.h, p) >= size, "usable %zu", heap_usable_size(&fx.h, p));
	fill(p, size, 7);
	TRY(alloc_ok(&q, 24)); /* may land in the gap split off before p */
	TRY(expect_consistent());
	TRY(expect_pattern(p, size, 7));
	TRY(free_ok(q));
	TRY(free_ok(p));
	TRY(free_ok(f));
}

static void aligned_allocations(void)
{
	static const size_t sizes[] = { 0, 1, 100, 5000 };

	for (int debug = 0; debug <= 1; debug++) {
		TRY(start_default(HEAP_FIRST_FIT, debug));
		for (size_t align = 64; align <= 65536; align *= 2)
			for (unsigned s = 0; s < ARRAY_SIZE(sizes); s++)
				for (size_t filler = 0; filler <= 256; filler += 16)
					TRY(aligned_after_filler(align, sizes[s], filler));
		CHECK_EQ(fx.h.stats.live_blocks, 0);
	}
}

/* The first block's payload is not page aligned: a page-aligned one needs a gap. */
static void aligned_leading_gap(void)
{
	for (int debug = 0; debug <= 1; debug++) {
		TRY(start_default(HEAP_FIRST_FIT, debug));
		unsigned char *base = (unsigned char *)fx.h.base;
		unsigned char *p = halloc_aligned(100, PAGE);
		CHECK(p == base + PAGE, "aligned block at %p, expected %p", p, base + PAGE);
		CHECK_EQ(fx.h.stats.free_blocks, 2); /* the gap below, the rest above */
		TRY(expect_consistent());
		unsigned char *q = halloc(PAGE / 2);
		CHECK(q && q < p && q >= base, "small block %p not in the gap below %p", q, p);
		CHECK_EQ(fx.h.stats.free_blocks, 2); /* the gap was split in turn */
		TRY(free_ok(p));
		TRY(free_ok(q));
		CHECK_EQ(fx.h.stats.free_blocks, 1);
		TRY(expect_consistent());
	}
}

static void size_zero_is_unique(void)
{
	unsigned char *p[64];

	for (int debug = 0; debug <= 1; debug++) {
		TRY(start_default(HEAP_FIRST_FIT, debug));
		for (unsigned i = 0; i < ARRAY_SIZE(p); i++) {
			TRY(alloc_ok((void **)&p[i], 0));
			CHECK(heap_owns(&fx.h, p[i]), "size-0 block %p not owned", (void *)p[i]);
			for (unsigned j = 0; j < i; j++)
				CHECK(p[j] != p[i], "blocks %u and %u are both %p", j, i,
				      (void *)p[i]);
		}
		CHECK_EQ(fx.h.stats.requested, 0);
		TRY(expect_consistent());
		for (unsigned i = 0; i < ARRAY_SIZE(p); i++)
			TRY(free_ok(p[i]));
		TRY(expect_consistent());
	}
}

static void impossible_sizes_refused(void)
{
	const size_t limit = 16 * MIB;
	const struct { size_t size, align; } bad[] = {
		{ limit + 1, 0 }, { limit, 0 }, { SIZE_MAX, 0 }, { SIZE_MAX - 64, 0 },
		{ SIZE_MAX / 2, 0 }, { 100, (size_t)1 << (sizeof(size_t) * 8 - 1) },
		{ 100, 2 * limit }, { 100, 24 }, { 100, 48 }, { 100, SIZE_MAX },
		{ limit - PAGE, PAGE },
	};

	for (int debug = 0; debug <= 1; debug++) {
		struct heap_config cfg = config(HEAP_FIRST_FIT, debug);
		void *keep;
		TRY(start_heap(&cfg, limit, -1));
		TRY(alloc_ok(&keep, 1000));
		fill(keep, 1000, 3);
		for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
			struct heap_stats before = fx.h.stats;
			unsigned grows = fx.arena.grows;
			void *p = halloc_aligned(bad[i].size, bad[i].align);
			CHECK(p == NULL, "alloc(%zu, align %zu) gave %p", bad[i].size,
			      bad[i].align, p);
			before.failed++;
			CHECK(memcmp(&before, &fx.h.stats, sizeof(before)) == 0,
			      "alloc(%zu, align %zu) changed more than stats.failed", bad[i].size,
			      bad[i].align);
			CHECK_EQ(fx.arena.grows, grows);
			TRY(expect_consistent());
		}
		CHECK_EQ(fx.reports, 0);
		TRY(expect_pattern(keep, 1000, 3));
		TRY(churn(1));
	}
}

/* ---- splitting and coalescing -------------------------------------------- */

static void expect_free_blocks(size_t n)
{
	CHECK(fx.h.stats.free_blocks == n, "%zu free blocks, expected %zu", fx.h.stats.free_blocks,
	      n);
	TRY(expect_consistent());
}

static void split_and_coalesce_one(bool debug)
{
	void *a, *b, *c, *d, *e;

	TRY(start_default(HEAP_FIRST_FIT, debug));
	TRY(alloc_ok(&a, 100));
	TRY(alloc_ok(&b, 100));
	TRY(alloc_ok(&c, 100));
	TRY(alloc_ok(&d, 100));
	TRY(alloc_ok(&e, 100)); /* keeps d away from the free top */
	TRY(expect_free_blocks(1));
	TRY(free_ok(b));
	TRY(expect_free_blocks(2));
	TRY(free_ok(d));
	TRY(expect_free_blocks(3));
	TRY(free_ok(c)); /* merges with b below and d above */
	TRY(expect_free_blocks(2));
	void *big = halloc(250); /* fits only in b+c+d, which starts at b */
	CHECK(big == b, "merged hole not reused: got %p, expected %p", big, b);
	TRY(expect_free_blocks(2)); /* split: the rest of the hole stays free */
	TRY(free_ok(big));
	TRY(free_ok(a)); /* merges with the hole above */
	TRY(expect_free_blocks(2));
	TRY(free_ok(e)); /* merges with the hole below and the top above */
	TRY(expect_free_blocks(1));
	CHECK_EQ(fx.h.stats.free_bytes + HDR, fx.h.stats.heap_size); /* one block and the fence */
}

/*
 * With split_min, a rest too small for the smallest expected request
 * stays with the allocated block; one big enough is split off.  A kept
 * rest over purged pages is committed with the block: the caller may
 * write all of its usable size.
 */
static void split_min_keeps_small_rests(void)
{
	for (int purge = 0; purge <= 1; purge++) {
		struct heap_config cfg = config(HEAP_FIRST_FIT, false);
		void *a, *b, *c, *again;
		cfg.split_min = 2 * PAGE + 1000; /* a kept rest spans purged pages */
		cfg.purge_min = purge ? 4 * PAGE : 0;
		TRY(start_heap(&cfg, RESERVE, -1));
		TRY(alloc_ok(&a, 64));
		TRY(alloc_ok(&b, 40 * KIB));
		TRY(alloc_ok(&c, 64));
		size_t usable = heap_usable_size(&fx.h, b);
		size_t rest_min = (HDR + cfg.split_min + HEAP_ALIGN - 1) & ~(size_t)(HEAP_ALIGN - 1);
		TRY(free_ok(b));
		CHECK(!purge || fx.h.stats.purged > 0, "the hole was not purged");
		/* the rest could not hold split_min bytes: it stays with the block */
		TRY(alloc_ok(&again, usable - rest_min + HEAP_ALIGN));
		CHECK(again == b, "got %p, expected the hole %p", again, b);
		CHECK_EQ(heap_usable_size(&fx.h, again), usable);
		memset(again, 7, usable);
		TRY(expect_free_blocks(1));
		TRY(expect_consistent());
		TRY(free_ok(again));
		/* room for split_min bytes after it: split */
		TRY(alloc_ok(&again, usable - rest_min));
		CHECK(again == b, "got %p, expected the hole %p", again, b);
		CHECK_EQ(heap_usable_size(&fx.h, again), usable - rest_min);
		TRY(expect_free_blocks(2));
		TRY(expect_consistent());
		TRY(free_ok(again));
		CHECK_EQ(fx.reports, 0);
	}
}

static void split_and_coalesce(void)
{
	TRY(split_and_coalesce_one(false));
	TRY(split_and_coalesce_one(true));
}

/*
 * A hole is split when the rest can be a block of its own (a minimum
 * block or more), and handed out whole when it cannot.
 */
static void split_only_a_whole_block(void)
{
	void *a, *b, *c, *again;

	TRY(start_default(HEAP_FIRST_FIT, false));
	TRY(alloc_ok(&a, 64));
	TRY(alloc_ok(&b, 400));
	TRY(alloc_ok(&c, 64));
	size_t usable = heap_usable_size(&fx.h, b);
	TRY(free_ok(b));
	TRY(expect_free_blocks(2));
	TRY(alloc_ok(&again, usable - 16)); /* the rest would be 16 bytes: no block */
	CHECK(again == b, "got %p, expected the hole %p", again, b);
	CHECK_EQ(heap_usable_size(&fx.h, again), usable);
	TRY(expect_free_blocks(1));
	TRY(free_ok(again));
	TRY(alloc_ok(&again, usable - MIN_BLOCK_BYTES)); /* the rest is a minimum block */
	CHECK(again == b, "got %p, expected the hole %p", again, b);
	CHECK_EQ(heap_usable_size(&fx.h, again), usable - MIN_BLOCK_BYTES);
	TRY(expect_free_blocks(2));
	TRY(free_ok(again));
	TRY(expect_free_blocks(2));
}

/* ---- fit policies -------------------------------------------------------- */

#define FILL_SIZE 256
#define MAX_FILL 128

struct layout {
	unsigned char *p[MAX_FILL];
	unsigned n;
	size_t step;
};

/* Fill a heap that cannot grow with FILL_SIZE blocks, back to back, until one fails. */
static void fill_heap(struct layout *l)
{
	for (l->n = 0; l->n < MAX_FILL; l->n++)
		if (!(l->p[l->n] = halloc(FILL_SIZE)))
			break;
	CHECK(l->n >= 16 && l->n < MAX_FILL, "%u blocks fill the heap", l->n);
	CHECK_EQ(fx.h.stats.failed, 1);
	l->step = (size_t)(l->p[1] - l->p[0]);
	for (unsigned i = 0; i < l->n; i++)
		CHECK(l->p[i] == l->p[0] + i * l->step, "block %u at %p is not next to the others",
		      i, (void *)l->p[i]);
}

/* Allocate one FILL_SIZE block; which of the layout's slots did it take? */
static void pick(const struct layout *l, unsigned *slot)
{
	unsigned char *q = halloc(FILL_SIZE);
	size_t off = (size_t)(q - l->p[0]);

	CHECK(q && off % l->step == 0 && off / l->step < l->n, "got %p, not a slot", (void *)q);
	*slot = (unsigned)(off / l->step);
}

/*
 * Holes (in slots): [1 2] [4] [6] [8 9], the top too small.  Take one
 * block, free slot 0, take three more.  First fit takes the lowest hole,
 * best fit the smallest (the lowest of equals), next fit goes on from
 * where it stopped: three different sequences.
 */
static void fit_scenario(enum heap_fit fit, bool debug, const unsigned want[4])
{
	static const unsigned holes[] = { 1, 2, 4, 6, 8, 9 };
	struct heap_config cfg = config(fit, debug);
	struct layout l;
	unsigned got[4];

	TRY(start_heap(&cfg, RESERVE, 1));
	TRY(fill_heap(&l));
	size_t free_before = fx.h.stats.free_blocks;
	for (unsigned i = 0; i < ARRAY_SIZE(holes); i++)
		TRY(free_ok(l.p[holes[i]]));
	TRY(expect_free_blocks(free_before + 4));
	TRY(pick(&l, &got[0]));
	TRY(free_ok(l.p[0]));
	for (unsigned i = 1; i < 4; i++)
		TRY(pick(&l, &got[i]));
	CHECK(!memcmp(got, want, sizeof(got)), "%s%s took slots %u %u %u %u, expected %u %u %u %u",
	      fit_names[fit], debug ? " (debug)" : "", got[0], got[1], got[2], got[3], want[0],
	      want[1], want[2], want[3]);
	TRY(expect_consistent());
}

static void fit_policy(enum heap_fit fit, const unsigned want[4])
{
	TRY(fit_scenario(fit, false, want));
	TRY(fit_scenario(fit, true, want));
	fx.arena.grows_left = -1;
	TRY(churn(fit + 10));
}

static void first_fit_takes_lowest(void)
{
	static const unsigned want[4] = { 1, 0, 2, 4 };
	fit_policy(HEAP_FIRST_FIT, want);
}

static void best_fit_takes_smallest(void)
{
	static const unsigned want[4] = { 4, 6, 8, 9 };
	fit_policy(HEAP_BEST_FIT, want);
}

static void next_fit_goes_on(void)
{
	static const unsigned want[4] = { 1, 2, 4, 6 };
	fit_policy(HEAP_NEXT_FIT, want);
}

/* Next fit wraps around to the start when nothing after its position fits. */
static void next_fit_wraps(void)
{
	struct heap_config cfg = config(HEAP_NEXT_FIT, false);
	struct layout l;
	unsigned slot;

	TRY(start_heap(&cfg, RESERVE, 1));
	TRY(fill_heap(&l));
	TRY(free_ok(l.p[3]));
	TRY(free_ok(l.p[7]));
	TRY(pick(&l, &slot));
	CHECK_EQ(slot, 3);
	TRY(free_ok(l.p[1])); /* behind the position */
	TRY(pick(&l, &slot));
	CHECK_EQ(slot, 7);
	TRY(pick(&l, &slot));
	CHECK_EQ(slot, 1);
	TRY(expect_consistent());
}

/* ---- growth, trimming, exhaustion ---------------------------------------- */

static void growth_through_backend(void)
{
	for (int debug = 0; debug <= 1; debug++) {
		struct heap_config cfg = small_config(debug);
		void *small, *medium;
		TRY(start_heap(&cfg, RESERVE, -1));
		CHECK(fx.arena.grows == 1 && fx.h.stats.heap_size == PAGE, "initial %zu bytes",
		      fx.h.stats.heap_size);
		TRY(alloc_ok(&small, 100));
		CHECK_EQ(fx.h.stats.grows, 0);
		TRY(alloc_ok(&medium, PAGE)); /* needs 2 pages more; grows a whole step */
		CHECK_EQ(fx.h.stats.grows, 1);
		CHECK_EQ(fx.h.stats.heap_size, 5 * PAGE);
		unsigned char *big = halloc(MIB); /* more than a step: as much as needed */
		CHECK(big != NULL, "1 MiB allocation failed");
		CHECK_EQ(fx.h.stats.grows, 2);
		CHECK(fx.h.stats.heap_size > 5 * PAGE + MIB &&
			      fx.h.stats.heap_size <= 7 * PAGE + MIB,
		      "heap is %zu bytes after a 1 MiB allocation", fx.h.stats.heap_size);
		CHECK_EQ(fx.h.stats.peak_heap_size, fx.h.stats.heap_size);
		fill(big, MIB, 9); /* faults if any of it is not mapped */
		fill(medium, PAGE, 8);
		TRY(expect_consistent());
		TRY(expect_pattern(big, MIB, 9));
		TRY(expect_pattern(medium, PAGE, 8));
		CHECK_EQ(fx.arena.grows, 3);
	}
}

/*
 * Free memory at the top goes back only when at least two grow steps are
 * free there, and a step stays; heap_trim gives back all of it.
 */
/* ---- purging --------------------------------------------------------------- */

static uintptr_t page_up(uintptr_t x)
{
	return (x + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
}

/* The whole pages strictly inside the free block that starts at payload `p` and ends at `end`. */
static size_t inner_bytes(const char *p, const char *end)
{
	uintptr_t lo = page_up((uintptr_t)p - HDR + MIN_BLOCK_BYTES), hi = (uintptr_t)end & ~(uintptr_t)(PAGE - 1);
	return hi > lo ? hi - lo : 0;
}

/* Are all pages of [lo, hi) decommitted, and the pages holding lo's and hi's headers not? */
static bool only_inside_gone(const char *p, const char *end)
{
	uintptr_t lo = page_up((uintptr_t)p - HDR + MIN_BLOCK_BYTES), hi = (uintptr_t)end & ~(uintptr_t)(PAGE - 1);

	for (uintptr_t a = lo; a < hi; a += PAGE)
		if (!arena_gone(&fx.arena, (void *)a))
			return false;
	return !arena_gone(&fx.arena, p - HDR) && !arena_gone(&fx.arena, end - HDR);
}

/* Are none of the pages strictly inside the block at payload `p`, ending at `end`, decommitted? */
static bool none_inside_gone(const char *p, const char *end)
{
	uintptr_t lo = page_up((uintptr_t)p - HDR + MIN_BLOCK_BYTES), hi = (uintptr_t)end & ~(uintptr_t)(PAGE - 1);

	for (uintptr_t a = lo; a < hi; a += PAGE)
		if (arena_gone(&fx.arena, (void *)a))
			return false;
	return true;
}

/*
 * A big free block's inner pages go back to the backend and come back
 * when the block is used again; the header pages stay; a refused commit
 * fails the allocation and changes nothing; a block freed beside a purged
 * one keeps its pages (the run stays as it was); purged neighbours merge
 * into one purged block; and below the keep, nothing is purged.
 */
static void purge_gives_back_inner_pages(void)
{
	for (int debug = 0; debug <= 1; debug++) {
		struct heap_config cfg = config(HEAP_FIRST_FIT, debug);
		cfg.purge_min = 4 * PAGE;
		TRY(start_heap(&cfg, RESERVE, -1));
		char *a = halloc(100), *b = halloc(40 * KIB), *c = halloc(100), *d = halloc(40 * KIB);
		char *e = halloc(100);
		CHECK(a && b && c && d && e, "alloc");
		/* the free block at the top may be purged already: count from here */
		size_t before = fx.h.stats.committed, inner = inner_bytes(b, c), top = fx.h.stats.purged;
		CHECK(inner >= 8 * PAGE, "only %zu inner bytes", inner);
		TRY(free_ok(b));
		CHECK_EQ(fx.h.stats.purged, top + inner);
		CHECK_EQ(fx.h.stats.committed, before - inner);
		CHECK(only_inside_gone(b, c), "not exactly the inner pages were decommitted");
		TRY(expect_consistent());

		/* taken again: the same block, committed and writable */
		char *b2 = halloc(40 * KIB);
		CHECK(b2 == b, "got %p, not the purged block %p", (void *)b2, (void *)b);
		CHECK_EQ(fx.h.stats.purged, top);
		CHECK_EQ(fx.h.stats.committed, before);
		memset(b2, 1, 40 * KIB);
		TRY(expect_consistent());

		/* a small block out of a purged one commits no more than the page it needs */
		TRY(free_ok(b2));
		char *small = halloc(100);
		CHECK(small == b, "got %p, not %p", (void *)small, (void *)b);
		CHECK(fx.h.stats.purged + PAGE >= top + inner && fx.h.stats.purged <= top + inner,
		      "purged %zu of %zu", fx.h.stats.purged - top, inner);
		TRY(expect_consistent());
		TRY(free_ok(small));
		CHECK_EQ(fx.h.stats.purged, top + inner);

		/* the backend refuses the commit: NULL, and the block stays as it was */
		fx.arena.grows_left = 0;
		CHECK(!halloc(40 * KIB), "allocated without the commit");
		CHECK_EQ(fx.h.stats.purged, top + inner);
		TRY(expect_consistent());
		fx.arena.grows_left = -1;

		/* two purged blocks and the block between them: one purged block */
		TRY(free_ok(d));
		CHECK_EQ(fx.h.stats.purged, top + inner + inner_bytes(d, e));
		TRY(free_ok(c));
		CHECK_EQ(fx.h.stats.purged, top + inner_bytes(b, e));
		CHECK(only_inside_gone(b, e), "the merged block is not purged whole");
		TRY(expect_consistent());
		CHECK_EQ(fx.reports, 0);

		/* freed beside a purged block, a block keeps its pages: the
		 * merged block holds the neighbour's run, and nothing more */
		TRY(start_heap(&cfg, RESERVE, -1));
		a = halloc(100), b = halloc(40 * KIB), c = halloc(40 * KIB), d = halloc(100);
		CHECK(a && b && c && d, "alloc");
		TRY(free_ok(b)); /* over the keep (0): purged */
		CHECK(only_inside_gone(b, c), "b's inner pages are not what was decommitted");
		top = fx.h.stats.purged;
		fx.h.purge_keep = SIZE_MAX; /* from here on nothing is over the cap */
		memset(c, 2, 40 * KIB);
		TRY(free_ok(c));
		CHECK_EQ(fx.h.stats.purged, top);
		CHECK(none_inside_gone(c, d) && !arena_gone(&fx.arena, b + 40 * KIB),
		      "the block freed beside a purged one lost pages");
		TRY(expect_consistent());
		/* and the other way round: the purged block after a freed one */
		TRY(start_heap(&cfg, RESERVE, -1));
		a = halloc(100), b = halloc(40 * KIB), c = halloc(40 * KIB), d = halloc(100);
		CHECK(a && b && c && d, "alloc");
		TRY(free_ok(c));
		CHECK(only_inside_gone(c, d), "c's inner pages are not what was decommitted");
		top = fx.h.stats.purged;
		fx.h.purge_keep = SIZE_MAX;
		TRY(free_ok(b));
		CHECK_EQ(fx.h.stats.purged, top);
		CHECK(none_inside_gone(b, c), "the block freed beside a purged one lost pages");
		TRY(expect_consistent());

		/* with room for 48 KiB more committed free bytes, one 40 KiB free
		 * block stays committed, a second goes */
		TRY(start_heap(&cfg, RESERVE, -1));
		a = halloc(100), b = halloc(40 * KIB), c = halloc(100), d = halloc(40 * KIB);
		e = halloc(100);
		CHECK(a && b && c && d && e, "alloc");
		top = fx.h.stats.purged;
		fx.h.purge_keep = fx.h.stats.free_bytes - top + 48 * KIB;
		TRY(free_ok(b));
		CHECK_EQ(fx.h.stats.purged, top);
		TRY(free_ok(d));
		CHECK_EQ(fx.h.stats.purged, top + inner_bytes(d, e));
		TRY(expect_consistent());
	}
}

/* The committed bytes in free blocks: what the purge cap limits. */
static size_t committed_free(void)
{
	return fx.h.stats.free_bytes - fx.h.stats.purged;
}

/*
 * The keep: free blocks stay committed while at most purge_keep bytes of
 * them are; past that, the biggest free block goes first, and only as
 * many as it takes to be within the keep again.
 */
static void purge_cap_keep(void)
{
	for (int debug = 0; debug <= 1; debug++) {
		struct heap_config cfg = config(HEAP_FIRST_FIT, debug);
		cfg.purge_min = 4 * PAGE;
		cfg.purge_keep = 64 * KIB;
		TRY(start_heap(&cfg, RESERVE, -1));
		char *g0 = halloc(100), *x = halloc(40 * KIB), *g1 = halloc(100), *y = halloc(56 * KIB);
		char *g2 = halloc(100), *z = halloc(48 * KIB), *g3 = halloc(100);
		CHECK(g0 && x && g1 && y && g2 && z && g3, "alloc");
		heap_trim(&fx.h); /* no free block at the top to count */
		uint64_t purges = fx.h.stats.purges;
		CHECK(committed_free() + 40 * KIB + 200 <= 64 * KIB, "%zu free bytes committed already",
		      committed_free());

		TRY(free_ok(x)); /* within the keep: nothing purged */
		CHECK_EQ(fx.h.stats.purges, purges);
		CHECK(none_inside_gone(x, g1), "x was purged within the keep");
		TRY(expect_consistent());

		TRY(free_ok(y)); /* over it: y, the biggest, goes, and that is enough */
		CHECK(fx.h.stats.purges > purges, "over the keep, nothing was purged");
		CHECK(only_inside_gone(y, g2), "not y's inner pages were decommitted");
		CHECK(none_inside_gone(x, g1), "x went too, though y was enough");
		CHECK(committed_free() <= 64 * KIB, "%zu free bytes committed, keep 64 KiB",
		      committed_free());
		TRY(expect_consistent());

		TRY(free_ok(z)); /* x and z: 88 KiB; purging z (the bigger) is enough */
		CHECK(only_inside_gone(z, g3) && none_inside_gone(x, g1),
		      "the biggest free block was not the one purged");
		CHECK(committed_free() <= 64 * KIB, "%zu free bytes committed", committed_free());
		TRY(expect_consistent());
		CHECK_EQ(fx.reports, 0);
	}
}

/*
 * The share of the peak: however much free memory is committed, nothing
 * is purged while the heap holds no more than purge_peak_pct percent
 * above its peak in use; when a growth would take it past that, the
 * biggest free blocks are purged until it is within again.
 */
/*
 * A heap that purges past 10% above its peak in use, holding n blocks of
 * 40 KiB, each with a small live block after it so that freed ones
 * never merge.
 */
static void start_share_heap(enum heap_fit fit, bool debug, unsigned decay, char **blk, int n)
{
	struct heap_config cfg = config(fit, debug);

	cfg.purge_min = 4 * PAGE;
	cfg.purge_keep = 0;
	cfg.purge_peak_pct = 10;
	cfg.purge_decay = decay;
	TRY(start_heap(&cfg, RESERVE, -1));
	for (int i = 0; i < n; i++) {
		blk[i] = halloc(40 * KIB);
		CHECK(blk[i] && halloc(100), "alloc");
	}
}

static void purge_cap_peak_share(void)
{
	for (int debug = 0; debug <= 1; debug++) {
		char *blk[10];
		TRY(start_share_heap(HEAP_BEST_FIT, debug, 0, blk, 10));
		/* 10%, which the heap's share in 65536ths never exceeds */
		size_t peak = fx.h.stats.peak_in_use, cap = peak + peak / 10;
		uint64_t purges = fx.h.stats.purges;
		for (int i = 0; i < 10; i += 2)
			TRY(free_ok(blk[i]));
		CHECK(committed_free() >= 5 * 40 * KIB, "only %zu free bytes committed", committed_free());
		CHECK_EQ(fx.h.stats.purges, purges); /* 200 KiB free, but no more than at the peak */
		TRY(expect_consistent());

		/* 64 KiB fits no hole: the heap grows past 110% of its peak in use,
		 * which stays where it was */
		CHECK(fx.h.stats.committed + 64 * KIB > cap, "the growth would stay under the cap");
		void *big = halloc(64 * KIB);
		CHECK(big != NULL, "alloc");
		CHECK_EQ(fx.h.stats.peak_in_use, peak);
		CHECK(fx.h.stats.purges > purges, "over the share of the peak, nothing was purged");
		CHECK(fx.h.stats.committed <= cap, "holds %zu bytes, cap %zu", fx.h.stats.committed, cap);
		TRY(expect_consistent());
		CHECK_EQ(fx.reports, 0);
	}
}

/*
 * The peak the share is taken of decays: after the live set falls for
 * good, the holes it left stay committed at first (they are within the
 * share of the old peak), and are purged once enough frees have brought
 * the peak down -- where a peak that never fell kept them for good.  The
 * default decay takes about two million frees; this heap's takes 4096, and
 * 60 000 frees bring its peak all the way down to the bytes in use, but
 * for the loop's own block (each step is rounded up: rounded down, it
 * would stop up to 4 KiB short).
 */
static void purge_share_of_a_decaying_peak(void)
{
	char *blk[32];

	TRY(start_share_heap(HEAP_FIRST_FIT, false, 0, blk, 1));
	CHECK_EQ(fx.h.purge_decay, HEAP_PURGE_DECAY); /* 0: the default */
	TRY(start_share_heap(HEAP_FIRST_FIT, false, 49, blk, 1));
	CHECK_EQ(fx.h.purge_decay, 48); /* at most 48: the rounding's 2^decay - 1 must not overflow */
	TRY(start_share_heap(HEAP_FIRST_FIT, false, 12, blk, 32));
	for (int i = 0; i < 32; i++)
		if (i % 4)
			TRY(free_ok(blk[i]));
	size_t holes = committed_free();
	CHECK(holes >= 24 * 40 * KIB, "only %zu free bytes committed after the drop", holes);
	uint64_t purges = fx.h.stats.purges;
	for (int n = 0; n < 60000 && !check_failed; n++) {
		void *p = halloc(100);
		CHECK(p != NULL, "alloc");
		TRY(free_ok(p));
	}
	CHECK(fx.h.stats.purges > purges, "no purge after the live set fell for good");
	CHECK(fx.h.stats.purged >= holes / 2, "%zu of the holes' %zu bytes purged", fx.h.stats.purged,
	      holes);
	/* All the way down but for the block the loop allocates and frees each time. */
	CHECK(fx.h.purge_ref - fx.h.stats.in_use <= 256, "the peak did not decay (%zu of %zu, %zu in use)",
	      fx.h.purge_ref, fx.h.stats.peak_in_use, fx.h.stats.in_use);
	TRY(expect_consistent());
	CHECK_EQ(fx.reports, 0);
}

/*
 * Best fit with purging takes the smallest block it can use without
 * committing pages, before a smaller purged one; only when no committed
 * block fits does it commit.
 */
static void best_fit_prefers_committed(void)
{
	for (int debug = 0; debug <= 1; debug++) {
		struct heap_config cfg = config(HEAP_BEST_FIT, debug);
		cfg.purge_min = 4 * PAGE;
		cfg.purge_keep = SIZE_MAX;
		TRY(start_heap(&cfg, RESERVE, -1));
		char *x = halloc(40 * KIB), *g0 = halloc(100), *y = halloc(60 * KIB), *g1 = halloc(100);
		CHECK(x && g0 && y && g1, "alloc");
		heap_trim(&fx.h); /* no free block at the top to choose */
		fx.h.purge_keep = 0; /* now x, freed, is purged */
		TRY(free_ok(x));
		CHECK(only_inside_gone(x, g0), "x was not purged");
		fx.h.purge_keep = SIZE_MAX;
		TRY(free_ok(y));
		CHECK(none_inside_gone(y, g1), "y was purged");
		uint64_t commits = fx.h.stats.commits;
		char *p = halloc(30 * KIB);
		CHECK(p == y, "got %p: not the committed block %p (the purged %p is smaller)", (void *)p,
		      (void *)y, (void *)x);
		CHECK_EQ(fx.h.stats.commits, commits);
		uint64_t grows = fx.h.stats.grows;
		char *q = halloc(36 * KIB); /* y's rest is too small now: only x fits */
		CHECK(q == x, "got %p, not the purged block %p", (void *)q, (void *)x);
		CHECK(fx.h.stats.commits > commits, "took the purged block without committing");
		CHECK_EQ(fx.h.stats.grows, grows);
		memset(q, 3, 36 * KIB);
		TRY(expect_consistent());
	}
}

/*
 * An aligned allocation out of a free block whose tail is purged leaves a
 * free gap in front of it.  The gap goes into its bin while it still
 * carries the whole block's purged run; once the run is cut to the gap's
 * own pages, the gap may be worth purging, and its bin must be one the
 * purge walk looks at -- else the heap stays over its cap with a block it
 * could purge (a review found this; the fuzzer did too).
 */
static void aligned_gap_of_a_purged_block(void)
{
	struct heap_config cfg = config(HEAP_FIRST_FIT, false);
	cfg.purge_min = 4 * PAGE;
	cfg.purge_keep = SIZE_MAX;
	TRY(start_heap(&cfg, RESERVE, -1));
	uintptr_t align = 64 * KIB;
	uintptr_t target = (fx.h.base + 11 * PAGE + align - 1) & ~(align - 1);
	uintptr_t front = target - 10 * PAGE; /* the free block will start here */
	char *pad = halloc(front - fx.h.base - HDR);
	char *a = halloc(6 * PAGE - 32), *b = halloc(7 * PAGE - HDR), *guard = halloc(100);
	CHECK(pad && a && b && guard, "alloc");
	CHECK((uintptr_t)a == front + HDR, "a at %p, wanted %p", (void *)a,
	      (void *)(front + HDR));
	fx.h.purge_keep = 0;
	TRY(free_ok(b)); /* b's pages purged */
	fx.h.purge_keep = SIZE_MAX;
	TRY(free_ok(a)); /* one free block: 6 committed pages, then a purged run */
	char *p = halloc_aligned(100, align); /* its header lands inside the purged run */
	CHECK((uintptr_t)p == target, "aligned block at %p, wanted %p", (void *)p, (void *)target);
	TRY(expect_consistent());
	fx.h.purge_keep = 0;
	heap_decay(&fx.h, 0); /* what every free ends with: back under the cap */
	TRY(expect_consistent());
}

/* heap_check sees a heap over its cap with blocks left to purge, or a wrong purged run. */
static void purge_checks_fail(void)
{
	char why[160];
	struct heap_config cfg = config(HEAP_FIRST_FIT, false);
	cfg.purge_min = 4 * PAGE;
	cfg.purge_keep = SIZE_MAX;
	TRY(start_heap(&cfg, RESERVE, -1));
	char *x = halloc(40 * KIB), *g = halloc(100);
	CHECK(x && g, "alloc");
	TRY(free_ok(x));

	fx.h.purge_keep = 0; /* as if a call had left the heap over its cap */
	CHECK(heap_check(&fx.h, why, sizeof(why)) == 1 && strstr(why, "over the purge cap"),
	      "heap_check: %s", why);
	fx.h.purge_keep = SIZE_MAX;
	struct heap_bin_set dirty = fx.h.purge_dirty;
	memset(&fx.h.purge_dirty, 0, sizeof(dirty)); /* as if x's bin had been left unmarked */
	CHECK(heap_check(&fx.h, why, sizeof(why)) >= 1 && strstr(why, "marked clean"), "heap_check: %s",
	      why);
	fx.h.purge_dirty = dirty;
	struct heap_bin_set nonempty = fx.h.nonempty;
	memset(&fx.h.nonempty, 0, sizeof(nonempty)); /* as if a search could skip x's bin */
	CHECK(heap_check(&fx.h, why, sizeof(why)) == 1 && strstr(why, "non-empty bins"), "heap_check: %s",
	      why);
	fx.h.nonempty = nonempty;
	TRY(expect_consistent());

	fx.h.purge_keep = 0;
	TRY(free_ok(halloc(100))); /* any free brings it under the cap: x is purged */
	CHECK(only_inside_gone(x, g), "x was not purged");
	struct header_mirror *hx = header_of(x);
	uintptr_t to = hx->purged_to;
	hx->purged_to = to + PAGE; /* the run would end past x's inner pages */
	CHECK(heap_check(&fx.h, why, sizeof(why)) > 0 && strstr(why, "purged pages"),
	      "heap_check: %s", why);
	hx->purged_to = to - PAGE; /* a page of the run not counted */
	CHECK(heap_check(&fx.h, why, sizeof(why)) > 0, "a shortened run passed heap_check");
	hx->purged_to = to;
	TRY(expect_consistent());
}

static void trim_hysteresis(void)
{
	for (int debug = 0; debug <= 1; debug++) {
		struct heap_config cfg = small_config(debug);
		void *p, *low;
		TRY(start_heap(&cfg, RESERVE, -1));
		TRY(alloc_ok(&p, 6 * PAGE)); /* the heap grows to 8 pages */
		CHECK_EQ(fx.h.stats.heap_size, 8 * PAGE);
		TRY(free_ok(p)); /* not quite 2 steps free: kept */
		CHECK(fx.h.stats.heap_size == 8 * PAGE && fx.arena.shrinks == 0,
		      "heap shrank to %zu bytes", fx.h.stats.heap_size);
		TRY(alloc_ok(&p, 16 * PAGE));
		TRY(free_ok(p)); /* far more than 2 steps free: down to one step */
		CHECK(fx.h.stats.heap_size == 5 * PAGE && fx.arena.shrinks == 1,
		      "heap is %zu bytes after %u shrinks", fx.h.stats.heap_size, fx.arena.shrinks);
		CHECK_EQ(fx.h.stats.shrinks, 1);
		TRY(expect_consistent());
		heap_trim(&fx.h);
		CHECK(fx.h.stats.heap_size == PAGE && fx.arena.shrinks == 2,
		      "heap is %zu bytes after heap_trim", fx.h.stats.heap_size);
		heap_trim(&fx.h);
		CHECK_EQ(fx.arena.shrinks, 2);
		TRY(alloc_ok(&low, 100)); /* a live block at the bottom stays */
		fill(low, 100, 5);
		TRY(alloc_ok(&p, 16 * PAGE));
		TRY(free_ok(p));
		CHECK(fx.h.stats.heap_size <= 6 * PAGE && fx.arena.shrinks == 3,
		      "heap is %zu bytes", fx.h.stats.heap_size);
		heap_trim(&fx.h);
		CHECK_EQ(fx.h.stats.heap_size, PAGE);
		TRY(expect_pattern(low, 100, 5));
		TRY(expect_consistent());
		TRY(churn(20 + debug));
	}
}

/* Trimming never goes below `keep`, rounded up to whole pages. */
static void trim_honours_keep(void)
{
	static const struct { size_t keep, floor; } cases[] = {
		{ 0, PAGE }, { 3 * PAGE, 3 * PAGE }, { 10000, 3 * PAGE }, { 16 * PAGE, 16 * PAGE },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct heap_config cfg = small_config(i % 2);
		void *p;
		cfg.keep = cases[i].keep;
		TRY(start_heap(&cfg, RESERVE, -1));
		TRY(alloc_ok(&p, 32 * PAGE));
		TRY(free_ok(p));
		CHECK(fx.h.stats.heap_size >= cases[i].floor, "keep %zu: heap shrank to %zu",
		      cases[i].keep, fx.h.stats.heap_size);
		TRY(expect_consistent());
		heap_trim(&fx.h);
		CHECK(fx.h.stats.heap_size == cases[i].floor,
		      "keep %zu: trimmed to %zu, expected %zu", cases[i].keep,
		      fx.h.stats.heap_size, cases[i].floor);
		TRY(expect_consistent());
		TRY(churn(30 + i));
	}
}

/* The backend runs dry: NULL, counted, and the heap goes on working. */
static void exhaustion_backend_refuses(void)
{
	for (int debug = 0; debug <= 1; debug++) {
		struct heap_config cfg = small_config(debug);
		void *p[64];
		unsigned n;
		TRY(start_heap(&cfg, RESERVE, 3)); /* heap_init and two grow steps */
		for (n = 0; n < ARRAY_SIZE(p); n++) {
			if (!(p[n] = halloc(4000)))
				break;
			fill(p[n], 4000, n);
		}
		CHECK(n > 2 && n < ARRAY_SIZE(p), "%u blocks before exhaustion", n);
		CHECK(fx.h.stats.failed == 1 && fx.arena.refused == 1 && fx.arena.grows == 3,
		      "failed %llu, refused %u, grows %u", (unsigned long long)fx.h.stats.failed,
		      fx.arena.refused, fx.arena.grows);
		CHECK(halloc(4000) == NULL, "an allocation succeeded after exhaustion");
		CHECK_EQ(fx.h.stats.failed, 2);
		TRY(expect_consistent());
		for (unsigned i = 0; i < n; i += 2)
			TRY(free_ok(p[i]));
		for (unsigned i = 0; i < n; i += 2)
			CHECK((p[i] = halloc(4000)) != NULL, "no reuse of freed block %u", i);
		for (unsigned i = 0; i < n; i++)
			if (i % 2)
				TRY(expect_pattern(p[i], 4000, i));
		CHECK_EQ(fx.h.stats.failed, 2);
		for (unsigned i = 0; i < n; i++)
			TRY(free_ok(p[i]));
		TRY(expect_consistent());
		CHECK_EQ(fx.reports, 0);
	}
}

/* The region's limit runs out: a grow step is cut down to fit, then NULL. */
static void exhaustion_at_limit(void)
{
	struct heap_config cfg = small_config(false);
	void *a, *b;

	cfg.grow_step = 16 * PAGE;
	TRY(start_heap(&cfg, 16 * PAGE, -1));
	TRY(alloc_ok(&a, 2 * PAGE)); /* a whole step would pass the limit */
	CHECK(fx.h.stats.heap_size < 16 * PAGE, "heap is %zu bytes", fx.h.stats.heap_size);
	TRY(alloc_ok(&b, 8 * PAGE));
	CHECK(halloc(8 * PAGE) == NULL, "allocation past the limit succeeded");
	CHECK_EQ(fx.h.stats.failed, 1);
	CHECK(fx.h.stats.heap_size <= 16 * PAGE, "heap is %zu bytes", fx.h.stats.heap_size);
	TRY(expect_consistent());
	TRY(free_ok(a));
	TRY(free_ok(b));
	TRY(expect_consistent());
}

/* ---- misuse: double and invalid frees ------------------------------------ */

static void double_free_one(bool debug)
{
	void *a, *b, *c, *g;

	TRY(start_default(HEAP_FIRST_FIT, debug));
	TRY(alloc_ok(&a, 100));
	TRY(alloc_ok(&b, 100));
	TRY(alloc_ok(&c, 100));
	TRY(alloc_ok(&g, 100));
	TRY(free_ok(b));
	TRY(expect_refused(b, HEAP_ERR_DOUBLE_FREE)); /* plain */
	TRY(expect_consistent());
	TRY(free_ok(c)); /* c is merged into b */
	TRY(expect_refused(c, HEAP_ERR_DOUBLE_FREE));
	TRY(free_ok(a)); /* b (with c) is merged into a */
	TRY(expect_refused(b, HEAP_ERR_DOUBLE_FREE));
	TRY(expect_refused(a, HEAP_ERR_DOUBLE_FREE));
	TRY(expect_refused(c, HEAP_ERR_DOUBLE_FREE));
	TRY(expect_free_blocks(2));
	TRY(churn(40 + debug));
	TRY(free_ok(g));
	TRY(expect_refused(g, HEAP_ERR_DOUBLE_FREE)); /* merged into the top */
	TRY(expect_consistent());
	TRY(churn(42 + debug));
}

static void double_free(void)
{
	TRY(double_free_one(false));
	TRY(double_free_one(true));
}

static void invalid_free_one(bool debug)
{
	unsigned char *p, *q;
	int on_stack;

	TRY(start_default(HEAP_FIRST_FIT, debug));
	TRY(alloc_ok((void **)&p, 256));
	TRY(alloc_ok((void **)&q, 100));
	unsigned char *base = (unsigned char *)fx.h.base, *end = (unsigned char *)fx.h.end;
	void *const bad[] = {
		p + 16, p + 32, p + 128,    /* interior */
		p + 1, p + 8, q + 4,       /* misaligned */
		base, base + 16,            /* before the first payload */
		end, end + PAGE, base - PAGE, (void *)(uintptr_t)0x1000, /* outside */
		&on_stack, (void *)&fx,     /* stack and static data */
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		TRY(expect_refused(bad[i], HEAP_ERR_INVALID_FREE));
	TRY(expect_consistent());
	/*
	 * Never returned, in free space: debug mode walks the heap and, finding
	 * the pointer inside a free block, takes it for a block that was freed
	 * and merged -- it cannot tell, the old header being poisoned over.
	 */
	unsigned char *top = q + 2048;
	TRY(expect_refused_as(top, HEAP_ERR_INVALID_FREE, HEAP_ERR_DOUBLE_FREE));
	TRY(free_ok(p));
	TRY(free_ok(q));
	TRY(expect_consistent());
	TRY(churn(50 + debug));
}

static void invalid_free(void)
{
	TRY(invalid_free_one(false));
	TRY(invalid_free_one(true));
}

/* ---- misuse: smashed headers --------------------------------------------- */

enum smash { SIZE_ZERO, SIZE_HUGE, SIZE_PLUS, SIZE_MINUS, NOT_IN_USE,
	     PREV_FREE, MAGIC, MAGIC_AND_SIZE_ZERO, MAGIC_AND_SIZE_HUGE, REQUESTED_HUGE,
	     NEXT_SIZE, NEXT_LOOKS_FREE, SMASH_COUNT };

static const char *const smash_names[] = {
	"size 0", "size huge", "size + 16", "size - 16", "IN_USE cleared",
	"PREV_IN_USE cleared", "magic", "magic and size 0", "magic and huge size",
	"requested > block", "the next block's size (a short overflow)",
	"the next block's size and IN_USE flag",
};

static void smash_header(struct header_mirror *hd, enum smash how)
{
	size_t flags = hd->size & (HEAP_ALIGN - 1), size = hd->size - flags;

	switch (how) {
	case SIZE_ZERO:           hd->size = flags; break;
	case SIZE_HUGE:           hd->size = ((SIZE_MAX / 2) & ~(size_t)15) | flags; break;
	case SIZE_PLUS:           hd->size = (size + 16) | flags; break;
	case SIZE_MINUS:          hd->size = (size - 16) | flags; break;
	case NOT_IN_USE:          hd->size &= ~(size_t)1; break;
	case PREV_FREE:           hd->size &= ~(size_t)2; break;
	case MAGIC:               hd->magic ^= 0x01010101u; break;
	case MAGIC_AND_SIZE_ZERO: hd->magic = 0; hd->size = flags; break;
	case MAGIC_AND_SIZE_HUGE: memset(hd, 0x41, sizeof(*hd)); break;
	case REQUESTED_HUGE:      hd->requested = size; break;
	case NEXT_SIZE:           hd->size = (SIZE_MAX / 3 & ~(size_t)15) | flags; break;
	case NEXT_LOOKS_FREE:     hd->size = (SIZE_MAX / 3 & ~(size_t)15) | (flags & 2); break;
	case SMASH_COUNT:         break;
	}
}

/*
 * Which report a smashed header earns.  A wrong magic without debug mode
 * looks like no block at all (the heap cannot tell it from an interior
 * pointer without walking the heap, which only debug mode does).
 */
static enum heap_error smash_error(enum smash how, bool debug)
{
	bool magic = how == MAGIC || how == MAGIC_AND_SIZE_ZERO || how == MAGIC_AND_SIZE_HUGE;

	return magic && !debug ? HEAP_ERR_INVALID_FREE : HEAP_ERR_SMASHED_HEADER;
}

static void count_block(void *arg, const struct heap_block_info *b)
{
	(void)b;
	++*(unsigned *)arg;
}

/*
 * While a header is smashed, walks over the heap must stop rather than
 * follow a damaged size: the leak report, and (debug) the search for what
 * a bad pointer is.  Freeing a pointer behind the damage is refused.
 */
static void walks_stop_at_damage(void *behind)
{
	struct heap_stats before = fx.h.stats;
	unsigned reports = fx.reports, listed = 0;

	heap_for_each_live(&fx.h, 0, count_block, &listed);
	CHECK(listed <= fx.h.stats.live_blocks, "%u blocks listed, %zu live", listed,
	      fx.h.stats.live_blocks);
	CHECK(!heap_free(&fx.h, (char *)behind + 16, CALLER(2)), "interior free accepted");
	CHECK(fx.reports == reports + 1, "%u reports", fx.reports - reports);
	before.errors[fx.last_error]++;
	CHECK(memcmp(&before, &fx.h.stats, sizeof(before)) == 0,
	      "a refused free changed the statistics");
}

static void smashed_header_one(enum smash how, bool debug)
{
	void *a, *b, *c;
	struct header_mirror saved;

	TRY(start_default(HEAP_FIRST_FIT, debug));
	TRY(alloc_ok(&a, 100));
	TRY(alloc_ok(&b, 100));
	TRY(alloc_ok(&c, 100));
	fill(b, 100, 11);
	struct header_mirror *victim = header_of(how >= NEXT_SIZE ? c : b);
	saved = *victim;
	smash_header(victim, how);
	CHECK(heap_check(&fx.h, NULL, 0) > 0, "heap_check missed a smashed header (%s)",
	      smash_names[how]);
	TRY(expect_refused(b, smash_error(how, debug)));
	TRY(walks_stop_at_damage(c));
	*victim = saved;
	TRY(expect_consistent());
	TRY(expect_pattern(b, 100, 11));
	TRY(free_ok(b));
	TRY(free_ok(a));
	TRY(expect_consistent());
	TRY(churn(60 + how));
	TRY(free_ok(c));
}

static void smashed_header(void)
{
	for (int debug = 0; debug <= 1; debug++)
		for (int how = 0; how < SMASH_COUNT; how++) {
			smashed_header_one(how, debug);
			if (check_failed) {
				printf("# while testing: %s%s\n", smash_names[how],
				       debug ? " (debug)" : "");
				return;
			}
		}
}

/* ---- misuse: overruns and writes after free (debug mode) ----------------- */

/*
 * `len` bytes written at `at` (past p's `size` bytes) are found by
 * heap_check and refused by free as an overrun, even when they reach into
 * the next block's header.
 */
static void overrun_at(unsigned char *p, size_t size, unsigned char *at, size_t len)
{
	unsigned char saved[64];

	memcpy(saved, at, len);
	memset(at, 0x41, len);
	CHECK(heap_check(&fx.h, NULL, 0) > 0, "heap_check missed an overrun at +%zu",
	      (size_t)(at - p));
	TRY(expect_refused(p, HEAP_ERR_OVERRUN));
	CHECK(heap_check(&fx.h, NULL, 0) > 0, "the overrun vanished");
	memcpy(at, saved, len);
	TRY(expect_consistent());
	TRY(expect_pattern(p, size, 12));
}

static void overrun_detected(void)
{
	static const size_t sizes[] = { 0, 1, 100, 128, 1000 };

	TRY(start_default(HEAP_FIRST_FIT, true));
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t size = sizes[i];
		unsigned char *p, *next;
		TRY(alloc_ok((void **)&p, size));
		TRY(alloc_ok((void **)&next, 16));
		fill(p, size, 12);
		unsigned char *block_end = next - HDR; /* where next's header starts */
		TRY(overrun_at(p, size, p + size, 1));         /* one byte past */
		TRY(overrun_at(p, size, block_end - 1, 1));    /* the last red-zone byte */
		TRY(overrun_at(p, size, p + size,              /* on into next's size field */
			       (size_t)(block_end - (p + size)) + 2 * sizeof(size_t)));
		TRY(free_ok(p));
		TRY(free_ok(next));
	}
	TRY(churn(70));
}

enum neighbour { KEEP_NEIGHBOURS, FREE_BELOW, FREE_ABOVE };

#define GAP_END SIZE_MAX /* offset: the last byte of the gap before an aligned block */

/* Where the gap left free before the first `align`-aligned block carved from p ends. */
static size_t gap_end_offset(const unsigned char *p, size_t align)
{
	uintptr_t at = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);

	if (at - (uintptr_t)p < MIN_BLOCK_BYTES)
		at += align;
	return at - HDR - 1 - (uintptr_t)p;
}

struct uaf_case {
	size_t block, offset;     /* a freed block of `block` bytes, written at `offset` */
	enum neighbour merge;     /* then a neighbour freed, merging with it */
	size_t size, align;       /* the allocations that follow */
	const char *what;
};

/* The byte at `at` is inside the block at q (header, payload or red zone). */
static bool covers(const unsigned char *q, size_t size, const unsigned char *at)
{
	return at >= q - HDR && at < q + size + 2 * HEAP_ALIGN;
}

/*
 * Slots [below, p, above, guard]; p is freed and one of its bytes changed.
 * heap_check sees it at once, merging p into a freed neighbour must not
 * hide it, and allocations are made until one hands the byte out: by then
 * the write must have been reported, once.
 */
static void write_after_free_case(const struct uaf_case *c)
{
	unsigned char *below, *p, *above, *guard, *q[64];
	unsigned n = 0;

	TRY(start_default(HEAP_FIRST_FIT, true));
	TRY(alloc_ok((void **)&below, c->block));
	TRY(alloc_ok((void **)&p, c->block));
	TRY(alloc_ok((void **)&above, c->block));
	TRY(alloc_ok((void **)&guard, 16));
	TRY(free_ok(p));
	TRY(expect_consistent());
	size_t offset = c->offset == GAP_END ? gap_end_offset(p, c->align) : c->offset;
	CHECK(offset >= 2 * sizeof(void *) && offset < c->block, "offset %zu", offset);
	p[offset] ^= 0x5A;
	CHECK(heap_check(&fx.h, NULL, 0) > 0, "heap_check missed a write after free");
	if (c->merge == FREE_BELOW)
		TRY(free_ok(below));
	if (c->merge == FREE_ABOVE)
		TRY(free_ok(above));
	CHECK(heap_check(&fx.h, NULL, 0) > 0, "merging erased the evidence of a write after free");
	unsigned reports = fx.reports;
	uint64_t errors[HEAP_ERR_COUNT];
	memcpy(errors, fx.h.stats.errors, sizeof(errors));
	do {
		q[n] = halloc_aligned(c->size, c->align);
		CHECK(q[n] != NULL, "allocation failed");
		fill(q[n], c->size, 13);
	} while (!covers(q[n], c->size, p + offset) && ++n < ARRAY_SIZE(q));
	TRY(expect_reported(reports, errors, HEAP_ERR_USE_AFTER_FREE));
	TRY(expect_consistent());
	for (unsigned i = 0; i < n && i < ARRAY_SIZE(q); i++)
		TRY(expect_pattern(q[i], c->size, 13));
	TRY(churn(80 + offset));
}

static void write_after_free(void)
{
	static const struct uaf_case cases[] = {
		{ 200, 100, KEEP_NEIGHBOURS, 200, 0, "the same block again" },
		{ 200, 199, KEEP_NEIGHBOURS, 40, 0, "split: the written part is handed out later" },
		{ 8000, GAP_END, KEEP_NEIGHBOURS, 100, PAGE,
		  "the written part stays free, before an aligned block" },
		{ 8000, 7000, KEEP_NEIGHBOURS, 1000, 1024, "after aligned blocks" },
		{ 200, 100, FREE_BELOW, 400, 0, "merged into the block below" },
		{ 200, 150, FREE_ABOVE, 400, 0, "the block above merged into it" },
		{ 4000, 3000, FREE_ABOVE, 100, 0, "merged, handed out in small pieces" },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		write_after_free_case(&cases[i]);
		if (check_failed) {
			printf("# case: %s\n", cases[i].what);
			return;
		}
	}
}

/* ---- misuse: free-list links overwritten --------------------------------- */

enum link_damage { LINKS_GARBAGE, LINKS_ZERO, LINKS_SMALL, LINKS_TO_LIVE, LINKS_SWAPPED,
		   LINKS_SELF, LINK_DAMAGE_COUNT };

static const char *const damage_names[] = {
	"garbage", "zeros", "small integers", "a live block", "swapped", "itself",
};

/* What a use after free writes over the first two words of free block `f`. */
static void damage_links(void **f, enum link_damage how, void *live, void *lower, void *upper)
{
	void *v[2];

	switch (how) {
	case LINKS_GARBAGE:  memset(v, 0x41, sizeof(v)); break;
	case LINKS_ZERO:     memset(v, 0, sizeof(v)); break;
	case LINKS_SMALL:    v[0] = (void *)(uintptr_t)5; v[1] = (void *)(uintptr_t)24; break;
	case LINKS_TO_LIVE:  v[0] = v[1] = header_of(live); break;
	case LINKS_SWAPPED:  v[0] = header_of(lower); v[1] = header_of(upper); break;
	case LINKS_SELF:     v[0] = v[1] = header_of(f); break;
	case LINK_DAMAGE_COUNT: return;
	}
	memcpy(f, v, sizeof(v));
}

enum link_op { OP_ALLOC_SAME, OP_FREE_BELOW, OP_FREE_ABOVE, OP_FREE_APART, LINK_OP_COUNT };

static const char *const link_op_names[] = {
	"allocate from the damaged bin", "free the block below", "free the block above",
	"free a block with no free neighbour",
};

/* The slot each operation frees (OP_ALLOC_SAME: none). */
static const unsigned link_op_slot[] = { 0, 2, 4, 7 };

/*
 * Slots 0-9: 1, 3, 5 free, then 3's links damaged.  Each operation must
 * meet the damaged links, report once and rebuild the bins: the allocation
 * of the free blocks' size walks their bin under first and best fit (the
 * head, 1, must see that 3 does not link back); freeing 2 takes 3 off its
 * bin; freeing 4 takes 5 off, whose back link names 3; freeing 7 walks
 * the bin from its head to find its place.
 */
static void link_damage_one(enum heap_fit fit, bool debug, enum link_damage how, enum link_op op)
{
	void *s[10];
	bool gone[10] = { [1] = true, [3] = true, [5] = true };

	TRY(start_default(fit, debug));
	for (unsigned i = 0; i < ARRAY_SIZE(s); i++)
		TRY(alloc_ok(&s[i], 100));
	TRY(free_ok(s[1]));
	TRY(free_ok(s[3]));
	TRY(free_ok(s[5]));
	damage_links(s[3], how, s[2], s[1], s[5]);
	unsigned reports = fx.reports;
	uint64_t errors[HEAP_ERR_COUNT];
	memcpy(errors, fx.h.stats.errors, sizeof(errors));
	void *large = NULL;
	if (op == OP_ALLOC_SAME) {
		TRY(alloc_ok(&large, 100));
	} else {
		unsigned slot = link_op_slot[op];
		gone[slot] = heap_free(&fx.h, s[slot], CALLER(1));
		CHECK(gone[slot], "free of slot %u refused", slot);
	}
	TRY(expect_reported(reports, errors, HEAP_ERR_USE_AFTER_FREE));
	TRY(expect_consistent());
	TRY(churn_ops(90 + how, 400));
	for (unsigned i = 0; i < ARRAY_SIZE(s); i++)
		if (!gone[i])
			TRY(free_ok(s[i]));
	TRY(free_ok(large));
	CHECK_EQ(fx.h.stats.live_blocks, 0);
	TRY(expect_consistent());
}

static void free_list_link_overwritten(void)
{
	for (unsigned f = 0; f < ARRAY_SIZE(fits); f++)
		for (int debug = 0; debug <= 1; debug++)
			for (int how = 0; how < LINK_DAMAGE_COUNT; how++)
				for (int op = 0; op < LINK_OP_COUNT; op++) {
					if (fits[f] == HEAP_NEXT_FIT && op == OP_ALLOC_SAME)
						continue; /* next fit need not pass the damage */
					link_damage_one(fits[f], debug, how, op);
					if (check_failed) {
						printf("# %s%s, links %s, %s\n", fit_names[f],
						       debug ? " (debug)" : "", damage_names[how],
						       link_op_names[op]);
						return;
					}
				}
}

/* ---- heap_check sees damage to the bins themselves ---------------------- */

/* heap_check must count at least one problem and name it with `words`. */
static void expect_check_finds(const char *words)
{
	char why[160];
	unsigned problems = heap_check(&fx.h, why, sizeof(why));

	CHECK(problems > 0 && strstr(why, words), "heap_check: %u problem(s), \"%s\"; expected \"%s\"",
	      problems, why, words);
}

/* The first non-empty bin from `i` on. */
static unsigned nonempty_bin(unsigned i)
{
	while (i < HEAP_BINS && !fx.h.bin[i])
		i++;
	return i;
}

/*
 * Free blocks of two sizes (so two bins hold blocks), then, one at a time,
 * each invariant of the bins broken and mended: a block left out of its
 * bin, a block in the wrong bin, a stale node of the tree of lowest heads,
 * a bin out of address order.
 */
static void bins_checked(void)
{
	void *s[8];

	TRY(start_default(HEAP_FIRST_FIT, false));
	for (unsigned i = 0; i < ARRAY_SIZE(s); i++)
		TRY(alloc_ok(&s[i], i < 4 ? 100 : 1000));
	for (unsigned i = 0; i < ARRAY_SIZE(s); i += 2)
		TRY(free_ok(s[i]));
	TRY(expect_consistent());
	unsigned small = nonempty_bin(0), large = nonempty_bin(small + 1);
	CHECK(large < HEAP_BINS && fx.h.bin[small] == (void *)header_of(s[0]),
	      "bins %u and %u, the first headed by %p, not %p", small, large,
	      (void *)fx.h.bin[small], (void *)header_of(s[0]));

	struct heap_block *head = fx.h.bin[small];
	fx.h.bin[small] = NULL;
	TRY(expect_check_finds("miss"));
	fx.h.bin[small] = fx.h.bin[large];
	fx.h.bin[large] = head;
	TRY(expect_check_finds("wrong bin"));
	fx.h.bin[large] = fx.h.bin[small];
	fx.h.bin[small] = head;
	TRY(expect_consistent());

	uintptr_t root = fx.h.lowest[1];
	fx.h.lowest[1] = root + HEAP_ALIGN;
	TRY(expect_check_finds("stale"));
	fx.h.lowest[1] = root;

	void **links0 = s[0], **links2 = s[2]; /* next, prev: the first words of a free payload */
	CHECK(links0[0] == header_of(s[2]) && links2[1] == header_of(s[0]),
	      "blocks 0 and 2 are not linked in their bin");
	fx.h.bin[small] = (struct heap_block *)header_of(s[2]);
	links2[0] = header_of(s[0]), links2[1] = NULL;
	links0[0] = NULL, links0[1] = header_of(s[2]);
	TRY(expect_check_finds("address order"));
}

/* ---- leak reports -------------------------------------------------------- */

struct listing {
	struct heap_block_info b[16];
	unsigned n;
};

static void collect(void *arg, const struct heap_block_info *b)
{
	struct listing *l = arg;

	if (l->n < ARRAY_SIZE(l->b))
		l->b[l->n] = *b;
	l->n++;
}

static void expect_listed(const struct listing *l, unsigned i, void *p, size_t size,
			  unsigned caller)
{
	const struct heap_block_info *b = &l->b[i];

	CHECK(b->ptr == p && b->requested == size && b->usable >= size &&
		      b->caller == CALLER(caller),
	      "entry %u: %p, %zu bytes, caller %p; expected %p, %zu bytes, caller %p", i, b->ptr,
	      b->requested, b->caller, p, size, CALLER(caller));
}

static void live_blocks_since_mark(void)
{
	for (int debug = 0; debug <= 1; debug++) {
		struct listing l = { .n = 0 };
		void *old[3], *new[4];
		TRY(start_default(HEAP_FIRST_FIT, debug));
		for (unsigned i = 0; i < 3; i++)
			CHECK((old[i] = heap_alloc(&fx.h, 50, 0, CALLER(100 + i))), "alloc");
		TRY(free_ok(old[1]));
		uint32_t mark = fx.h.seq;
		for (unsigned i = 0; i < 4; i++)
			CHECK((new[i] = heap_alloc(&fx.h, 40 + i, i == 3 ? 256 : 0,
						   CALLER(200 + i))),
			      "alloc");
		TRY(free_ok(new[2]));
		TRY(free_ok(old[0]));
		heap_for_each_live(&fx.h, mark, collect, &l);
		CHECK_EQ(l.n, 3);
		/* new[0] took old[1]'s place, below new[1] and new[3] */
		TRY(expect_listed(&l, 0, new[0], 40, 200));
		TRY(expect_listed(&l, 1, new[1], 41, 201));
		TRY(expect_listed(&l, 2, new[3], 43, 203));
		CHECK(l.b[0].seq >= mark && l.b[0].seq < l.b[1].seq && l.b[1].seq < l.b[2].seq,
		      "sequence numbers %u %u %u, mark %u", l.b[0].seq, l.b[1].seq, l.b[2].seq,
		      mark);
		l.n = 0;
		heap_for_each_live(&fx.h, 0, collect, &l);
		CHECK_EQ(l.n, 4);
		l.n = 0;
		heap_for_each_live(&fx.h, fx.h.seq, collect, &l);
		CHECK_EQ(l.n, 0);
	}
}

static void block_info(void)
{
	for (int debug = 0; debug <= 1; debug++) {
		struct heap_block_info info;
		unsigned char *p, *q;
		TRY(start_default(HEAP_FIRST_FIT, debug));
		uint32_t seq = fx.h.seq;
		CHECK((p = heap_alloc(&fx.h, 77, 0, CALLER(300))), "alloc");
		CHECK((q = heap_alloc(&fx.h, 5, 1024, CALLER(301))), "alloc");
		CHECK(heap_block_info(&fx.h, p, &info), "no info for %p", (void *)p);
		CHECK(info.ptr == p && info.requested == 77 && info.caller == CALLER(300) &&
			      info.seq == seq && info.usable == heap_usable_size(&fx.h, p),
		      "info: %p %zu %p %u", info.ptr, info.requested, info.caller, info.seq);
		CHECK(debug ? info.usable == 77 : info.usable >= 77, "usable %zu", info.usable);
		CHECK(heap_block_info(&fx.h, q, &info), "no info for %p", (void *)q);
		CHECK(info.ptr == q && info.requested == 5 && info.caller == CALLER(301) &&
			      info.seq == seq + 1,
		      "info: %p %zu %p %u", info.ptr, info.requested, info.caller, info.seq);
		CHECK(!heap_block_info(&fx.h, p + 16, &info), "info for an interior pointer");
		CHECK(!heap_block_info(&fx.h, NULL, &info), "info for NULL");
		TRY(free_ok(p));
		CHECK(!heap_block_info(&fx.h, p, &info), "info for a freed block");
		CHECK_EQ(fx.reports, 0);
		TRY(free_ok(q));
	}
}

/* ---- the randomized model test ------------------------------------------- */

#define MODEL_OPS 100000
#define MODEL_SEEDS 2

struct model_case {
	enum heap_fit fit;
	bool debug, purge; /* purging cases also keep rests below split_min */
	uint64_t seed;
};

static struct model_case model_case;

static void random_operations_match_model(void)
{
	const struct model_case *c = &model_case;
	struct heap_config cfg = config(c->fit, c->debug);
	struct model m;

	printf("# model: %s, debug %s, purging and split_min %s, seed 0x%llx, %u operations\n", fit_names[c->fit],
	       c->debug ? "on" : "off", c->purge ? "on" : "off", (unsigned long long)c->seed,
	       MODEL_OPS);
	cfg.grow_step = 8 * PAGE;
	if (c->purge) { /* purge small blocks too, so that splits and merges meet purged pages */
		cfg.purge_min = PAGE;
		cfg.purge_keep = 2 * PAGE;
		cfg.split_min = PAGE; /* and rests kept with a block span purged pages */
	}
	TRY(start_heap(&cfg, RESERVE, -1));
	model_start(&m, 1024, c->seed);
	model_run(&m, MODEL_OPS, 2500, 5000);
	if (check_failed)
		printf("# failed at operation %lu of seed 0x%llx\n", m.ops,
		       (unsigned long long)c->seed);
	printf("# peak: %zu bytes mapped, %zu committed, %zu requested; %llu grows, %llu shrinks, "
	       "%llu purges, %llu commits\n",
	       fx.h.stats.peak_heap_size, fx.h.stats.peak_committed, fx.h.stats.peak_requested,
	       (unsigned long long)fx.h.stats.grows, (unsigned long long)fx.h.stats.shrinks,
	       (unsigned long long)fx.h.stats.purges, (unsigned long long)fx.h.stats.commits);
	if (c->purge)
		CHECK(fx.h.stats.purges > 0 && fx.h.stats.commits > 0, "purging never happened");
	model_finish(&m);
	if (check_failed)
		return;
	CHECK_EQ(fx.reports, 0);
	TRY(expect_consistent());
	heap_trim(&fx.h);
	CHECK_EQ(fx.h.stats.heap_size, PAGE);
}

/* Cases run: all, or those whose name contains the command line's argument. */
static const char *only;

static void run_case(const char *name, void (*fn)(void))
{
	if (!only || strstr(name, only))
		check_run(name, fn);
}

#define CASE(fn) run_case(#fn, fn)

static void run_model_cases(void)
{
	static char names[ARRAY_SIZE(fits) * 2 * MODEL_SEEDS][64];
	unsigned n = 0;

	for (unsigned f = 0; f < ARRAY_SIZE(fits); f++)
		for (int debug = 0; debug <= 1; debug++)
			for (unsigned s = 0; s < MODEL_SEEDS; s++, n++) {
				/* the second seed of each pair with purging */
				model_case = (struct model_case){ fits[f], debug, s % 2 == 1,
								  0x5EED0000u + 16 * n };
				snprintf(names[n], sizeof(names[n]), "model_%s%s%s_seed_%llx",
					 fit_names[f], debug ? "_debug" : "",
					 model_case.purge ? "_purge" : "",
					 (unsigned long long)model_case.seed);
				run_case(names[n], random_operations_match_model);
			}
}

int main(int argc, char **argv)
{
	only = argc > 1 ? argv[1] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	CASE(header_mirror_matches);
	CASE(basic_alloc_free);
	CASE(init_refusals);
	CASE(alignment_of_every_pointer);
	CASE(aligned_allocations);
	CASE(aligned_leading_gap);
	CASE(size_zero_is_unique);
	CASE(impossible_sizes_refused);
	CASE(split_and_coalesce);
	CASE(split_only_a_whole_block);
	CASE(split_min_keeps_small_rests);
	CASE(first_fit_takes_lowest);
	CASE(best_fit_takes_smallest);
	CASE(next_fit_goes_on);
	CASE(next_fit_wraps);
	CASE(growth_through_backend);
	CASE(trim_hysteresis);
	CASE(purge_gives_back_inner_pages);
	CASE(purge_cap_keep);
	CASE(purge_cap_peak_share);
	CASE(purge_share_of_a_decaying_peak);
	CASE(best_fit_prefers_committed);
	CASE(purge_checks_fail);
	CASE(aligned_gap_of_a_purged_block);
	CASE(trim_honours_keep);
	CASE(exhaustion_backend_refuses);
	CASE(exhaustion_at_limit);
	CASE(double_free);
	CASE(invalid_free);
	CASE(smashed_header);
	CASE(overrun_detected);
	CASE(write_after_free);
	CASE(free_list_link_overwritten);
	CASE(bins_checked);
	CASE(live_blocks_since_mark);
	CASE(block_info);
	run_model_cases();
	stop_heap();
	return check_done();
}
