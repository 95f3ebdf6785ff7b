/*
 * soak_heap.c - a long randomized run of mm/heap.c, built without sanitizers.
 *
 * The unit tests and the fuzzer check many short histories; this checks one
 * long one, where fragmentation, growth and trimming build up over millions
 * of operations.  The run is split into rounds, each on a fresh heap; any
 * six rounds in a row cover the three fit policies with debug mode off and
 * on, alternating between a roomy and a tight region (the tight one runs
 * out of room regularly, so failed allocations are part of the history).
 *
 * Each round allocates (mostly small sizes, some up to 64 KiB, sometimes
 * aligned) and frees in phases that fill and drain the heap, trims now and
 * then, and once in a while makes a bad free (a double free, an interior
 * pointer) that must be refused.  Every block is filled with a pattern
 * derived from its id and verified before it is freed; every live block is
 * verified and heap_check() run every 100,000 operations; the statistics
 * are compared with the model after every operation.
 *
 *   soak_heap [-n operations] [-t seconds] [-r round-operations] [-s seed] [-q]
 *
 * Defaults: 10,000,000 operations, no time limit, 1,000,000 per round, seed
 * 1.  With -t the run stops when the time is up (or the count is reached).
 * It prints each round and the totals with operations per second; the exit
 * status is 0 only if nothing went wrong.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mm/heap.h"
#include "mm/mm_log.h"

#define PAGE 4096u
#define MIB (1024u * 1024u)
#define ROOMY (256u * MIB)  /* the region of a roomy round */
#define TIGHT (4u * MIB)    /* the region of a tight round: it runs out */
#define MAX_LIVE 4096
#define CHECK_EVERY 100000
#define PHASE_OPS 20000     /* fill for a phase, then drain for one */
#define GARBAGE 0xA5

/* heap.c does not warn today; if it is linked with the rest of mm/, it may. */
void mm_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "soak_heap: mm_warn: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* ---- options and failure ------------------------------------------------- */

struct options {
	unsigned long long ops, round_ops;
	double seconds; /* 0: no limit */
	uint64_t seed;
	bool quiet;
};

static struct {
	unsigned round;
	unsigned long long op;
	uint64_t seed;
	const char *config;
} where;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "soak_heap: FAIL in round %u (%s), operation %llu, seed %llu: ",
		where.round, where.config, where.op, (unsigned long long)where.seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

#define EXPECT(cond)                                                 \
	do {                                                         \
		if (!(cond))                                         \
			fail("%s:%d: %s", __FILE__, __LINE__, #cond); \
	} while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *state)
{
	uint64_t x = (*state += 0x9E3779B97F4A7C15ull);

	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static size_t below(uint64_t *state, size_t n)
{
	return (size_t)(rnd(state) % n);
}

/* ---- the backend --------------------------------------------------------- */

struct arena {
	char *base;
	size_t reserve, mapped;
};

static bool arena_grow(void *ctx, uintptr_t end, size_t bytes)
{
	struct arena *a = ctx;

	EXPECT(end == (uintptr_t)a->base + a->mapped && bytes && bytes % PAGE == 0);
	if (bytes > a->reserve - a->mapped)
		return false;
	EXPECT(mprotect((void *)end, bytes, PROT_READ | PROT_WRITE) == 0);
	memset((void *)end, GARBAGE, bytes);
	a->mapped += bytes;
	return true;
}

static void arena_shrink(void *ctx, uintptr_t start, size_t bytes)
{
	struct arena *a = ctx;

	EXPECT(start % PAGE == 0 && bytes % PAGE == 0 && start >= (uintptr_t)a->base &&
	       start + bytes == (uintptr_t)a->base + a->mapped);
	madvise((void *)start, bytes, MADV_DONTNEED);
	EXPECT(mprotect((void *)start, bytes, PROT_NONE) == 0);
	a->mapped -= bytes;
}

/*
 * Purging: decommitted pages are inaccessible, so a heap that touches one
 * faults; heap_check verifies the heap's own count of them.
 */
static bool arena_commit(void *ctx, uintptr_t start, size_t bytes)
{
	struct arena *a = ctx;

	EXPECT(start % PAGE == 0 && bytes % PAGE == 0 && start >= (uintptr_t)a->base &&
	       start + bytes <= (uintptr_t)a->base + a->mapped);
	EXPECT(mprotect((void *)start, bytes, PROT_READ | PROT_WRITE) == 0);
	memset((void *)start, GARBAGE, bytes);
	return true;
}

static void arena_decommit(void *ctx, uintptr_t start, size_t bytes)
{
	struct arena *a = ctx;

	EXPECT(start % PAGE == 0 && bytes % PAGE == 0 && start >= (uintptr_t)a->base &&
	       start + bytes <= (uintptr_t)a->base + a->mapped);
	madvise((void *)start, bytes, MADV_DONTNEED);
	EXPECT(mprotect((void *)start, bytes, PROT_NONE) == 0);
}

/* ---- the model ----------------------------------------------------------- */

struct live {
	unsigned char *p;
	size_t size;
	uint64_t id;
};

struct round {
	struct heap h;
	struct arena arena;
	struct live live[MAX_LIVE];
	unsigned nlive;
	size_t requested;
	uint64_t next_id, failed, errors[HEAP_ERR_COUNT], rng;
	unsigned reports;
	enum heap_error last_error;
	unsigned fill_permille;
};

static void on_report(struct heap *h, enum heap_error e, const void *ptr, const char *detail)
{
	struct round *r = (struct round *)((char *)h - offsetof(struct round, h));

	(void)ptr, (void)detail;
	r->reports++;
	r->last_error = e;
}

static uint64_t pattern_word(uint64_t seed, size_t w)
{
	return seed ^ (w * 0xD1B54A32D192ED03ull);
}

static uint64_t pattern_seed(uint64_t id)
{
	uint64_t s = id;
	return rnd(&s);
}

static void fill(unsigned char *p, size_t size, uint64_t id)
{
	uint64_t seed = pattern_seed(id);
	size_t w;

	for (w = 0; 8 * w + 8 <= size; w++) {
		uint64_t v = pattern_word(seed, w);
		memcpy(p + 8 * w, &v, 8);
	}
	uint64_t v = pattern_word(seed, w);
	memcpy(p + 8 * w, &v, size - 8 * w);
}

static void verify(const struct live *l)
{
	uint64_t seed = pattern_seed(l->id);
	size_t w;

	for (w = 0; 8 * w + 8 <= l->size; w++) {
		uint64_t v = pattern_word(seed, w);
		if (memcmp(l->p + 8 * w, &v, 8))
			fail("block %p (id %llu, %zu bytes) damaged near offset %zu", (void *)l->p,
			     (unsigned long long)l->id, l->size, 8 * w);
	}
	uint64_t v = pattern_word(seed, w);
	if (memcmp(l->p + 8 * w, &v, l->size - 8 * w))
		fail("block %p (id %llu, %zu bytes) damaged at its end", (void *)l->p,
		     (unsigned long long)l->id, l->size);
}

/* Kernel-like: mostly small, a tail up to 64 KiB. */
static size_t random_size(uint64_t *rng)
{
	unsigned kind = (unsigned)below(rng, 100);

	if (kind < 5)
		return 0;
	if (kind < 62)
		return 1 + below(rng, 128);
	if (kind < 87)
		return 129 + below(rng, 896);
	if (kind < 98)
		return 1025 + below(rng, 7 * 1024);
	return 8 * 1024 + below(rng, 56 * 1024 + 1);
}

static size_t random_align(uint64_t *rng)
{
	unsigned kind = (unsigned)below(rng, 100);

	if (kind < 93)
		return 0;
	return (size_t)1 << (below(rng, 13) + (kind == 99 ? 3 : 0));
}

static void check_stats(const struct round *r)
{
	const struct heap_stats *s = &r->h.stats;

	EXPECT(s->live_blocks == r->nlive && s->requested == r->requested);
	EXPECT(s->allocs - s->frees == r->nlive && s->failed == r->failed);
	EXPECT(memcmp(s->errors, r->errors, sizeof(r->errors)) == 0);
	EXPECT(s->heap_size == r->arena.mapped && s->in_use + s->free_bytes < s->heap_size);
}

static void check_all(struct round *r)
{
	char why[128];
	unsigned problems = heap_check(&r->h, why, sizeof(why));

	if (problems)
		fail("heap_check: %u problem(s), the first: %s", problems, why);
	for (unsigned k = 0; k < r->nlive; k++)
		verify(&r->live[k]);
}

static void do_alloc(struct round *r)
{
	size_t size = random_size(&r->rng), align = random_align(&r->rng);
	unsigned char *p = heap_alloc(&r->h, size, align, (const void *)(uintptr_t)(r->nlive + 1));

	if (!p) {
		if (r->h.limit - r->h.end >= size + align + 512 + PAGE)
			fail("alloc(%zu, align %zu) failed with %zu bytes of room left", size,
			     align, (size_t)(r->h.limit - r->h.end));
		r->failed++;
		return;
	}
	EXPECT((uintptr_t)p % (align > HEAP_ALIGN ? align : HEAP_ALIGN) == 0);
	EXPECT((uintptr_t)p >= r->h.base && (uintptr_t)p + size <= r->h.end);
	struct live *l = &r->live[r->nlive++];
	*l = (struct live){ p, size, r->next_id++ };
	fill(p, size, l->id);
	r->requested += size;
}

static void do_free(struct round *r, unsigned k)
{
	struct live *l = &r->live[k];

	verify(l);
	if (!heap_free(&r->h, l->p, NULL))
		fail("free(%p) of a live block refused", (void *)l->p);
	r->requested -= l->size;
	*l = r->live[--r->nlive];
}

/* Free a bad pointer: refused, reported once as `e` (or `alt`). */
static void bad_free(struct round *r, void *p, enum heap_error e, enum heap_error alt)
{
	unsigned reports = r->reports;

	if (heap_free(&r->h, p, NULL))
		fail("bad free(%p) accepted", p);
	EXPECT(r->reports == reports + 1 && (r->last_error == e || r->last_error == alt));
	r->errors[r->last_error]++;
}

/* Now and then: a double free, an interior pointer, a trim. */
static void do_extra(struct round *r)
{
	unsigned k = (unsigned)below(&r->rng, r->nlive);
	struct live *l = &r->live[k];

	switch (below(&r->rng, 3)) {
	case 0: {
		void *p = l->p;
		do_free(r, k);
		bad_free(r, p, HEAP_ERR_DOUBLE_FREE,
			 (uintptr_t)p >= r->h.end ? HEAP_ERR_INVALID_FREE : HEAP_ERR_DOUBLE_FREE);
		break;
	}
	case 1:
		bad_free(r, l->p + 16 * (1 + below(&r->rng, l->size / 16 + 1)),
			 HEAP_ERR_INVALID_FREE, HEAP_ERR_INVALID_FREE);
		break;
	default:
		heap_trim(&r->h);
	}
}

static void step(struct round *r, unsigned long long i)
{
	if (i % PHASE_OPS == 0)
		r->fill_permille = 1000 - r->fill_permille;
	if (r->nlive && below(&r->rng, 1000) == 0)
		do_extra(r);
	else if (r->nlive == 0 ||
		 (r->nlive < MAX_LIVE && below(&r->rng, 1000) < r->fill_permille))
		do_alloc(r);
	else
		do_free(r, (unsigned)below(&r->rng, r->nlive));
	check_stats(r);
}

/* ---- rounds -------------------------------------------------------------- */

static const char *const fit_names[] = { "first fit", "next fit", "best fit" };

static unsigned char purge_map[ROOMY / PAGE / 8];

static struct round *start_round(unsigned n, uint64_t seed)
{
	memset(purge_map, 0, sizeof(purge_map));
	static char name[64];
	struct round *r = calloc(1, sizeof(*r));
	bool tight = (n + n / 6) % 2; /* rounds 0-5 and 6-11: each pair of fit and mode both ways */
	struct heap_config cfg = {
		.page_size = PAGE, .initial = 4 * PAGE, .grow_step = 16 * PAGE,
		.keep = 8 * PAGE, .fit = (enum heap_fit)(n % 3), .debug = n / 3 % 2,
		/* purging in rounds 0, 1, 4, 5, 8, 9...: on and off in every mode;
		 * in 4, 5, 12, 13... only past 10% above the peak in use */
		.purge_min = n / 2 % 2 ? 0 : 8 * PAGE, .purge_keep = 16 * PAGE,
		.purge_map = purge_map, .purge_peak_pct = n / 4 % 2 ? 10 : 0,
		.split_min = n / 8 % 2 ? 1500 : 0, /* in 8-15, 24-31...: rests below it kept */
	};

	EXPECT(r != NULL);
	snprintf(name, sizeof(name), "%s%s, %s region%s%s", fit_names[cfg.fit],
		 cfg.debug ? ", debug" : "", tight ? "tight" : "roomy",
		 !cfg.purge_min ? "" : cfg.purge_peak_pct ? ", purging over the peak" : ", purging",
		 cfg.split_min ? ", small rests kept" : "");
	where.config = name;
	r->arena.reserve = tight ? TIGHT : ROOMY;
	r->arena.base = mmap(NULL, r->arena.reserve, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	EXPECT(r->arena.base != MAP_FAILED);
	struct heap_backend backend = { arena_grow, arena_shrink, &r->arena, arena_commit,
					arena_decommit };
	EXPECT(heap_init(&r->h, (uintptr_t)r->arena.base,
			 (uintptr_t)r->arena.base + r->arena.reserve, &cfg, &backend));
	r->h.report = on_report;
	r->rng = seed;
	r->fill_permille = 600;
	return r;
}

/* Everything freed, the heap trims down to `keep`. */
static void end_round(struct round *r)
{
	while (r->nlive)
		do_free(r, r->nlive - 1);
	check_all(r);
	size_t size = r->h.stats.heap_size;
	heap_trim(&r->h);
	EXPECT(r->h.stats.heap_size == (size > r->h.keep ? r->h.keep : size));
	check_all(r);
	munmap(r->arena.base, r->arena.reserve);
	free(r);
}

static void print_stats(const struct heap_stats *s)
{
	printf("    peak: %zu KiB mapped, %zu KiB in use, %zu KiB requested\n",
	       s->peak_heap_size / 1024, s->peak_in_use / 1024, s->peak_requested / 1024);
	printf("    %llu allocs, %llu frees, %llu failed, %llu grows, %llu shrinks\n",
	       (unsigned long long)s->allocs, (unsigned long long)s->frees,
	       (unsigned long long)s->failed, (unsigned long long)s->grows,
	       (unsigned long long)s->shrinks);
	printf("    errors refused: %llu double, %llu invalid, %llu other\n",
	       (unsigned long long)s->errors[HEAP_ERR_DOUBLE_FREE],
	       (unsigned long long)s->errors[HEAP_ERR_INVALID_FREE],
	       (unsigned long long)(s->errors[HEAP_ERR_SMASHED_HEADER] +
				    s->errors[HEAP_ERR_OVERRUN] +
				    s->errors[HEAP_ERR_USE_AFTER_FREE]));
}

/* One round of up to `ops` operations, stopping early at `deadline` (0: none). */
static unsigned long long run_round(const struct options *o, unsigned n, unsigned long long ops,
				    double deadline)
{
	uint64_t seed = o->seed * 0x100000001B3ull + n;
	struct round *r = start_round(n, seed);
	double t0 = now();
	unsigned long long i;

	where.round = n;
	where.seed = o->seed;
	for (i = 1; i <= ops; i++) {
		where.op = i;
		step(r, i);
		if (i % CHECK_EVERY == 0)
			check_all(r);
		if (deadline && i % 4096 == 0 && now() >= deadline)
			break;
	}
	i = i > ops ? ops : i;
	double t = now() - t0;
	if (!o->quiet) {
		printf("round %u (%s): %llu operations, %.0f ops/s\n", n, where.config, i,
		       t > 0 ? i / t : 0.0);
		print_stats(&r->h.stats);
	}
	end_round(r);
	return i;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-n operations] [-t seconds] [-r round-operations] "
			"[-s seed] [-q]\n", prog);
	exit(2);
}

static struct options parse(int argc, char **argv)
{
	struct options o = { .ops = 10000000, .round_ops = 1000000, .seed = 1 };
	int c;

	while ((c = getopt(argc, argv, "n:t:r:s:q")) != -1) {
		switch (c) {
		case 'n': o.ops = strtoull(optarg, NULL, 0); break;
		case 't': o.seconds = strtod(optarg, NULL); break;
		case 'r': o.round_ops = strtoull(optarg, NULL, 0); break;
		case 's': o.seed = strtoull(optarg, NULL, 0); break;
		case 'q': o.quiet = true; break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || !o.ops || !o.round_ops || o.seconds < 0)
		usage(argv[0]);
	return o;
}

int main(int argc, char **argv)
{
	struct options o = parse(argc, argv);
	double t0 = now(), deadline = o.seconds ? t0 + o.seconds : 0;
	unsigned long long done = 0;
	unsigned n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("soak_heap: up to %llu operations%s, %llu per round, seed %llu\n", o.ops,
	       o.seconds ? " or the time limit" : "", o.round_ops, (unsigned long long)o.seed);
	for (n = 0; done < o.ops && (!deadline || now() < deadline); n++) {
		unsigned long long left = o.ops - done;
		done += run_round(&o, n, left < o.round_ops ? left : o.round_ops, deadline);
	}
	double t = now() - t0;
	printf("soak_heap: OK: %llu operations in %u rounds, %.1f s, %.0f ops/s\n", done, n, t,
	       t > 0 ? done / t : 0.0);
	return 0;
}
