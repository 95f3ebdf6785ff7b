/*
 * bench_pmm.c - host benchmark of the bitmap frame allocator (mm/pmm.c).
 *
 * What it measures.  The cost of keeping a machine's frames in circulation:
 * one pmm_free() of a random allocated frame followed by one pmm_alloc(), a
 * "pair", in ns.  A pair leaves the number of allocated frames unchanged, so
 * a long run of pairs holds the allocator at one occupancy and the figure is
 * the steady-state cost at that occupancy, not the cost of filling up or
 * draining an empty allocator (which is the easy case for any design).
 *
 * The state.  Simulated memory: a struct memmap with one available range
 * [0, SIZE), SIZE = 16 MiB .. 4 GiB (the 4 GiB map ends exactly at
 * 0x100000000, the top of what the PMM can describe), and pmm_init() over a
 * malloc'd bitmap of pmm_bitmap_bytes().  Every usable frame is allocated,
 * then a uniformly random subset is freed, so the free frames are scattered
 * over the whole bitmap rather than packed behind the allocation hint.
 * Occupancies: 50%, 90%, 99%, and "full-1": every frame allocated, so that
 * in each pair the frame just freed is the only free frame when pmm_alloc()
 * runs.  That last row is the next-fit bitmap's worst case: the hint sits
 * where the previous allocation was, the lone free frame is anywhere, and
 * the scan walks on average half of the bitmap.
 *
 * The harness.  The benchmark keeps the allocated frames in an array and
 * picks the victim of each pair by index (swap-remove: the last entry moves
 * into the victim's slot and the new frame takes the last one).  The random indices are generated before a batch,
 * outside the timing, and the array slot a few pairs ahead is prefetched, so
 * the pair cost is the allocator's, not the RNG's or the cache miss on a
 * multi-MiB array of frame numbers (a kernel gets the frame to free from a
 * page table entry it is already looking at).  What is left of the harness
 * is measured on its own ("harness" column: the same loop with free+alloc
 * replaced by nothing) so it can be subtracted by the reader.
 *
 * The baseline.  A plain free-list stack of frame numbers (push on free, pop
 * on alloc) runs the same pair workload from the same kind of state.  It is
 * O(1) whatever the occupancy and validates nothing (no double-free check),
 * so it is the floor a frame allocator can hope for, not a fair competitor.
 *
 * Contiguous runs.  pmm_alloc_contig(16, align 16) and (1024, align 1024 --
 * a 4 MiB-aligned 4 MiB block) at 90% occupancy.  Scattered free frames
 * never line up into such a run by chance (0.1^16), so one aligned free run
 * is planted at 3/4 of memory and the rest of the free frames are scattered:
 * the first-fit scan from address 0 must walk past three quarters of the
 * bitmap to find it, as it would on a fragmented machine.  Measured: one
 * alloc_contig + free_contig of that run (the state is the same after each
 * pair), and, from separate batches with a clock read around each call, how
 * that time splits between the two calls.
 *
 * Timing.  CLOCK_MONOTONIC around a batch of pairs sized from a calibration
 * run to last cfg.target_ns (40 ms; the calibration doubles as warm-up, so
 * the next-fit hint has reached its steady state), the median of
 * cfg.batches (9) batches, with min and max shown to expose noise on a
 * shared machine.  The batches of the bitmap, the harness and the stack are
 * interleaved, so a slow spell of the machine hits the columns of a row
 * alike and the comparison within a row stays fair.
 *
 * Correctness.  This is also the smoke test `make test` runs (--quick), so
 * every call is checked: a free that is refused, an alloc that returns 0
 * while frames are free, a contiguous alloc that is not the first fit (as
 * a reference scan over pmm_frame_state() finds it), and, after every batch,
 * a full audit: the frames the benchmark holds are distinct, all ALLOCATED
 * in the PMM, and exactly the PMM's allocated frames, with matching stats.
 * mm_warn() is defined here: silent, but any call is a refused call, which
 * the workload never makes, so it fails the run.  Any failure: exit 1.
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "mm/memmap.h"
#include "mm/mm_log.h"
#include "mm/pmm.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define LOW_FRAMES (PMM_LOW_MEMORY_END / FRAME_SIZE) /* reserved by pmm_init */
#define AHEAD 16 /* pairs between the prefetch of a list slot and its use */

struct config {
	bool quick;
	const uint64_t *sizes;
	unsigned nsizes;
	unsigned batches;   /* timed batches per measurement (odd: a true median) */
	uint64_t target_ns; /* wanted length of one batch */
	uint32_t max_pairs; /* cap on pairs per batch */
};

static const uint64_t full_sizes[] = { 16 * MiB, 256 * MiB, 1 * GiB, 4 * GiB };
static const uint64_t quick_sizes[] = { 16 * MiB, 4 * GiB };

static struct config cfg = {
	.sizes = full_sizes,
	.nsizes = 4,
	.batches = 9,
	.target_ns = 40000000, /* 40 ms */
	.max_pairs = 1u << 23,
};

static const struct config quick_cfg = {
	.quick = true,
	.sizes = quick_sizes,
	.nsizes = 2,
	.batches = 3,
	.target_ns = 1000000, /* 1 ms */
	.max_pairs = 1u << 14,
};

/* ---- failure and mm_warn ------------------------------------------------ */

static unsigned warn_calls;
static char first_warning[256];

void mm_warn(const char *fmt, ...)
{
	va_list ap;

	if (warn_calls++ == 0) {
		va_start(ap, fmt);
		vsnprintf(first_warning, sizeof(first_warning), fmt, ap);
		va_end(ap);
	}
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench_pmm: FAILED: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (warn_calls)
		fprintf(stderr, "bench_pmm: %u mm_warn call(s), the first: %s\n", warn_calls,
			first_warning);
	exit(1);
}

static void check_no_warnings(const char *where)
{
	if (warn_calls)
		fail("%s: the PMM refused a call the benchmark expected to succeed", where);
}

static void *xmalloc(size_t bytes)
{
	void *p = malloc(bytes ? bytes : 1);

	if (!p)
		fail("out of host memory (%zu bytes)", bytes);
	return p;
}

/* ---- random numbers: splitmix64, and an index in [0, n) ----------------- */

struct rng {
	uint64_t state;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Multiply-shift: bias below n / 2^32, i.e. under 2^-12 for n <= 2^20. */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

static void shuffle(struct rng *r, paddr_t *a, uint32_t n)
{
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = rng_below(r, i);
		paddr_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the simulated machine ----------------------------------------------- */

struct world {
	uint64_t size;
	struct memmap map;
	struct pmm pmm;
	uint32_t *bitmap;
	uint32_t usable; /* frames pmm_alloc can hand out after pmm_init */
};

static void world_init(struct world *w, uint64_t size)
{
	uint32_t nframes = (uint32_t)(size / FRAME_SIZE);
	size_t want = ((size_t)nframes + 31) / 32 * sizeof(uint32_t);

	w->size = size;
	memmap_init(&w->map);
	memmap_add(&w->map, 0, size, MB_MEMORY_AVAILABLE);
	memmap_normalize(&w->map);
	if (w->map.count != 1 || memmap_top_below_4g(&w->map) != size)
		fail("%llu MiB: memmap top is 0x%llx, expected 0x%llx",
		     (unsigned long long)(size / MiB),
		     (unsigned long long)memmap_top_below_4g(&w->map), (unsigned long long)size);

	size_t bytes = pmm_bitmap_bytes(&w->map);
	if (bytes != want)
		fail("%llu MiB: pmm_bitmap_bytes() = %zu, expected %zu",
		     (unsigned long long)(size / MiB), bytes, want);
	w->bitmap = xmalloc(bytes);
	if (pmm_init(&w->pmm, &w->map, w->bitmap, bytes) != PMM_OK)
		fail("%llu MiB: pmm_init failed", (unsigned long long)(size / MiB));
	if (w->pmm.nframes != nframes || w->pmm.stats.free_frames != nframes - LOW_FRAMES)
		fail("%llu MiB: pmm_init: %u frames, %u free; expected %u, %u",
		     (unsigned long long)(size / MiB), (unsigned)w->pmm.nframes,
		     (unsigned)w->pmm.stats.free_frames, (unsigned)nframes,
		     (unsigned)(nframes - LOW_FRAMES));
	w->usable = w->pmm.stats.free_frames;
	check_no_warnings("pmm_init");
}

static void world_fini(struct world *w)
{
	free(w->bitmap);
	w->bitmap = NULL;
}

/* ---- the baseline: a stack of free frame numbers ------------------------- */

struct stack {
	uint32_t *slot; /* frame numbers; slot[top - 1] is the next to go */
	uint32_t top, cap;
};

static void stack_init(struct stack *s, const struct world *w)
{
	s->cap = w->usable;
	s->slot = xmalloc((size_t)s->cap * sizeof(uint32_t));
	s->top = 0;
	/* Highest first, so pops hand out ascending frames like a fresh bitmap. */
	for (uint32_t f = w->pmm.nframes; f-- > LOW_FRAMES;)
		s->slot[s->top++] = f;
}

static inline paddr_t stack_alloc(struct stack *s)
{
	return s->top ? (paddr_t)s->slot[--s->top] << FRAME_SHIFT : 0;
}

static inline bool stack_free(struct stack *s, paddr_t frame)
{
	if (s->top == s->cap)
		return false;
	s->slot[s->top++] = frame >> FRAME_SHIFT;
	return true;
}

/* ---- the frames the benchmark holds, and audits of both allocators ------- */

struct held {
	paddr_t *frame;
	uint32_t n;
};

enum kind { BITMAP, HARNESS, STACK, NKINDS };

static const char *const kind_name[NKINDS] = { "bitmap", "harness", "stack" };

struct subject {
	enum kind kind;
	struct world *w; /* always set: its size and frame range are the machine */
	struct stack *s; /* for STACK */
	struct held *h;
	uint8_t *seen; /* audit scratch, one byte per frame */
};

/*
 * Check every held frame is a distinct frame of usable memory and that the
 * allocator agrees: for the bitmap, the held frames are exactly the frames
 * in state ALLOCATED and the stats add up; for the stack, held and stacked
 * frames together are every usable frame, each once.
 */
static void audit(const struct subject *sub, const char *where)
{
	const struct world *w = sub->w;
	const struct pmm *pmm = &w->pmm;
	uint32_t nframes = pmm->nframes;

	check_no_warnings(where);
	memset(sub->seen, 0, nframes);
	for (uint32_t i = 0; i < sub->h->n; i++) {
		paddr_t a = sub->h->frame[i];
		uint32_t f = a >> FRAME_SHIFT;
		if (a % FRAME_SIZE || f < LOW_FRAMES || f >= nframes)
			fail("%s: holding impossible frame 0x%x", where, (unsigned)a);
		if (sub->seen[f]++)
			fail("%s: frame 0x%x handed out twice", where, (unsigned)a);
	}
	if (sub->kind == STACK) {
		for (uint32_t i = 0; i < sub->s->top; i++) {
			uint32_t f = sub->s->slot[i];
			if (f < LOW_FRAMES || f >= nframes || sub->seen[f]++)
				fail("%s: stack holds frame %u that is not free", where,
				     (unsigned)f);
		}
		if (sub->h->n + sub->s->top != w->usable)
			fail("%s: %u held + %u stacked != %u usable frames", where,
			     (unsigned)sub->h->n, (unsigned)sub->s->top, (unsigned)w->usable);
		return;
	}
	uint32_t allocated = 0;
	for (uint32_t f = 0; f < nframes; f++) {
		enum pmm_frame_state st = pmm_frame_state(pmm, (uint64_t)f << FRAME_SHIFT);
		if (st == FRAME_ALLOCATED)
			allocated++;
		if (sub->seen[f] && st != FRAME_ALLOCATED)
			fail("%s: held frame 0x%llx is not allocated in the PMM (state %d)", where,
			     (unsigned long long)f << FRAME_SHIFT, (int)st);
	}
	if (allocated != sub->h->n || pmm->stats.used_frames != sub->h->n ||
	    pmm->stats.free_frames != w->usable - sub->h->n)
		fail("%s: PMM has %u allocated frames (stats: %u used, %u free), "
		     "benchmark holds %u", where, (unsigned)allocated,
		     (unsigned)pmm->stats.used_frames, (unsigned)pmm->stats.free_frames,
		     (unsigned)sub->h->n);
}

/*
 * Allocate every usable frame, check the allocator is then empty, and free
 * `nfree` of them chosen uniformly at random (never those in `keep_lo` ..
 * `keep_hi`, a frame range the caller frees itself).  The held list ends up
 * in random order.
 */
static void fill_then_scatter(const struct subject *sub, struct rng *r, uint32_t nfree,
			      uint32_t keep_lo, uint32_t keep_hi)
{
	struct held *h = sub->h;
	struct world *w = sub->w;

	h->n = 0;
	for (uint32_t i = 0; i < w->usable; i++) {
		paddr_t a = sub->kind == STACK ? stack_alloc(sub->s) : pmm_alloc(&w->pmm);
		if (a == 0)
			fail("fill: allocation %u of %u returned 0", (unsigned)i,
			     (unsigned)w->usable);
		h->frame[h->n++] = a;
	}
	if ((sub->kind == STACK ? stack_alloc(sub->s) : pmm_alloc(&w->pmm)) != 0)
		fail("fill: an allocation succeeded after every usable frame was taken");
	audit(sub, "fill");

	/* Move the kept range to the end of the list, shuffle the rest. */
	uint32_t movable = h->n;
	for (uint32_t i = 0; i < movable;) {
		uint32_t f = h->frame[i] >> FRAME_SHIFT;
		if (f >= keep_lo && f < keep_hi) {
			paddr_t t = h->frame[--movable];
			h->frame[movable] = h->frame[i];
			h->frame[i] = t;
		} else {
			i++;
		}
	}
	if (nfree > movable)
		fail("scatter: cannot free %u of %u frames", (unsigned)nfree, (unsigned)movable);
	shuffle(r, h->frame, movable);
	/* Free the last `nfree` movable entries; close the gap with the kept ones. */
	for (uint32_t i = movable - nfree; i < movable; i++) {
		paddr_t a = h->frame[i];
		bool ok = sub->kind == STACK ? stack_free(sub->s, a)
					     : pmm_free(&w->pmm, a) == PMM_OK;
		if (!ok)
			fail("scatter: free of 0x%x refused", (unsigned)a);
	}
	memmove(&h->frame[movable - nfree], &h->frame[movable],
		(size_t)(h->n - movable) * sizeof(paddr_t));
	h->n -= nfree;
}

/* ---- the timed loops ------------------------------------------------------ */

/*
 * One batch of n pairs.  pick[i] is the index (in [0, held)) of the frame
 * freed by pair i; pick has AHEAD extra entries for the prefetch.  The new
 * frame takes the last slot, the last frame moves into the freed slot.
 * Returns non-zero if any call failed.
 */
static __attribute__((noinline)) unsigned pairs_bitmap(struct pmm *pmm, struct held *h,
						       const uint32_t *pick, uint32_t n)
{
	paddr_t *list = h->frame;
	uint32_t last = h->n - 1;
	unsigned bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		__builtin_prefetch(&list[pick[i + AHEAD]]);
		uint32_t k = pick[i];
		paddr_t victim = list[k];
		list[k] = list[last];
		bad |= pmm_free(pmm, victim) != PMM_OK;
		paddr_t got = pmm_alloc(pmm);
		bad |= got == 0;
		list[last] = got;
	}
	return bad;
}

static __attribute__((noinline)) unsigned pairs_stack(struct stack *s, struct held *h,
						      const uint32_t *pick, uint32_t n)
{
	paddr_t *list = h->frame;
	uint32_t last = h->n - 1;
	unsigned bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		__builtin_prefetch(&list[pick[i + AHEAD]]);
		uint32_t k = pick[i];
		paddr_t victim = list[k];
		list[k] = list[last];
		bad |= !stack_free(s, victim);
		paddr_t got = stack_alloc(s);
		bad |= got == 0;
		list[last] = got;
	}
	return bad;
}

/* The same bookkeeping with no allocator: the frame freed is the one "allocated". */
static __attribute__((noinline)) unsigned pairs_harness(struct held *h, const uint32_t *pick,
							uint32_t n)
{
	paddr_t *list = h->frame;
	uint32_t last = h->n - 1;
	unsigned bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		__builtin_prefetch(&list[pick[i + AHEAD]]);
		uint32_t k = pick[i];
		paddr_t victim = list[k];
		list[k] = list[last];
		__asm__ volatile("" : "+r"(victim)); /* opaque: stands for free + alloc */
		bad |= victim == 0;
		list[last] = victim;
	}
	return bad;
}

struct timing {
	double median, min, max; /* ns per operation */
	uint32_t per_batch;      /* operations per timed batch */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct timing summarize(double *ns, unsigned n, uint32_t per_batch)
{
	qsort(ns, n, sizeof(*ns), cmp_double);
	return (struct timing){ ns[n / 2], ns[0], ns[n - 1], per_batch };
}

/* Pairs per batch for the wanted batch length, from one timed run of n. */
static uint32_t scale_batch(uint32_t n, uint64_t ns)
{
	uint64_t want = ns ? (uint64_t)n * cfg.target_ns / ns : cfg.max_pairs;

	if (want < 16)
		want = 16;
	return want > cfg.max_pairs ? cfg.max_pairs : (uint32_t)want;
}

static uint32_t *picks; /* cfg.max_pairs + AHEAD entries */

static uint64_t run_batch(const struct subject *sub, struct rng *r, uint32_t n)
{
	unsigned bad = 0;

	for (uint32_t i = 0; i < n + AHEAD; i++)
		picks[i] = rng_below(r, sub->h->n);

	uint64_t t0 = now_ns();
	switch (sub->kind) {
	case BITMAP:  bad = pairs_bitmap(&sub->w->pmm, sub->h, picks, n); break;
	case STACK:   bad = pairs_stack(sub->s, sub->h, picks, n); break;
	case HARNESS: bad = pairs_harness(sub->h, picks, n); break;
	case NKINDS:  break;
	}
	uint64_t t = now_ns() - t0;

	if (bad)
		fail("%s batch: a free was refused or an alloc returned 0", kind_name[sub->kind]);
	audit(sub, kind_name[sub->kind]);
	return t;
}

/* Calibrate (and warm up): the pairs per batch that take about the target time. */
static uint32_t calibrate(const struct subject *sub, struct rng *r)
{
	uint32_t n = 16;
	uint64_t t;

	for (;;) {
		t = run_batch(sub, r, n);
		if (t >= cfg.target_ns / 4 || n >= cfg.max_pairs)
			break;
		n = n * 4 > cfg.max_pairs ? cfg.max_pairs : n * 4;
	}
	return scale_batch(n, t);
}

/* ---- single frames: one row of the first table ---------------------------- */

struct occupancy {
	const char *name;
	unsigned permille; /* held frames per 1000 usable; 1000: full-1 */
};

static const struct occupancy occupancies[] = {
	{ "50%", 500 }, { "90%", 900 }, { "99%", 990 }, { "full-1", 1000 },
};

static const char *size_name(uint64_t size)
{
	static char buf[32];

	if (size >= GiB)
		snprintf(buf, sizeof(buf), "%llu GiB", (unsigned long long)(size / GiB));
	else
		snprintf(buf, sizeof(buf), "%llu MiB", (unsigned long long)(size / MiB));
	return buf;
}

static void fmt_ns(char *buf, size_t len, double ns)
{
	if (ns >= 1000)
		snprintf(buf, len, "%.0f", ns);
	else if (ns >= 10)
		snprintf(buf, len, "%.1f", ns);
	else
		snprintf(buf, len, "%.2f", ns);
}

static void bench_single(uint64_t size, const struct occupancy *occ, struct held *h,
			 struct held *h_stack, uint8_t *seen)
{
	struct world w;
	struct stack s;
	/* Same seed for both allocators: the same scattered state, the same picks. */
	uint64_t seed = 0x5EED0000u ^ ((size >> 20) * 1009) ^ occ->permille;
	struct rng rng[NKINDS] = { { seed }, { ~seed }, { seed } };

	world_init(&w, size);
	stack_init(&s, &w);
	uint32_t nfree = w.usable - (uint32_t)(((uint64_t)w.usable * occ->permille + 500) / 1000);

	/* The harness works on the bitmap's held list: it only permutes it. */
	const struct subject sub[NKINDS] = {
		[BITMAP] = { BITMAP, &w, NULL, h, seen },
		[HARNESS] = { HARNESS, &w, NULL, h, seen },
		[STACK] = { STACK, &w, &s, h_stack, seen },
	};
	fill_then_scatter(&sub[BITMAP], &rng[BITMAP], nfree, 0, 0);
	audit(&sub[BITMAP], "bitmap setup");
	fill_then_scatter(&sub[STACK], &rng[STACK], nfree, 0, 0);
	audit(&sub[STACK], "stack setup");

	uint32_t n[NKINDS];
	double ns[NKINDS][16];
	struct timing t[NKINDS];
	for (int k = 0; k < NKINDS; k++)
		n[k] = calibrate(&sub[k], &rng[k]);
	/* Interleaved, so that a slow spell of the machine hits all three alike. */
	for (unsigned b = 0; b < cfg.batches; b++)
		for (int k = 0; k < NKINDS; k++)
			ns[k][b] = (double)run_batch(&sub[k], &rng[k], n[k]) / n[k];
	for (int k = 0; k < NKINDS; k++)
		t[k] = summarize(ns[k], cfg.batches, n[k]);

	char b[32], st[32], hs[32], lo[32], hi[32];
	fmt_ns(b, sizeof(b), t[BITMAP].median);
	fmt_ns(st, sizeof(st), t[STACK].median);
	fmt_ns(hs, sizeof(hs), t[HARNESS].median);
	fmt_ns(lo, sizeof(lo), t[BITMAP].min);
	fmt_ns(hi, sizeof(hi), t[BITMAP].max);
	printf("| %s | %s | %u | %s | %s | %s | %s–%s | %u |\n", size_name(size), occ->name,
	       (unsigned)nfree + 1, b, st, hs, lo, hi, (unsigned)t[BITMAP].per_batch);
	fflush(stdout);
	free(s.slot);
	world_fini(&w);
}

/* ---- contiguous runs: the second table ------------------------------------ */

/* First fit by definition, through the public state query: the reference. */
static uint32_t reference_first_fit(const struct pmm *pmm, uint32_t count, uint32_t align)
{
	for (uint64_t f = 0; f + count <= pmm->nframes; f += align) {
		uint32_t i = 0;
		while (i < count && pmm_frame_state(pmm, (f + i) << FRAME_SHIFT) == FRAME_FREE)
			i++;
		if (i == count)
			return (uint32_t)f;
	}
	return UINT32_MAX;
}

static __attribute__((noinline)) unsigned pairs_contig(struct pmm *pmm, uint32_t count,
						       uint32_t align, paddr_t expect, uint32_t n)
{
	unsigned bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		paddr_t a = pmm_alloc_contig(pmm, count, align);
		bad |= a != expect;
		bad |= pmm_free_contig(pmm, a, count) != PMM_OK;
	}
	return bad;
}

/* The same pairs with a clock read around each call: where the time goes. */
static unsigned pairs_contig_split(struct pmm *pmm, uint32_t count, uint32_t align,
				   paddr_t expect, uint32_t n, uint64_t *alloc_ns,
				   uint64_t *free_ns)
{
	unsigned bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		paddr_t a = pmm_alloc_contig(pmm, count, align);
		uint64_t t1 = now_ns();
		bad |= pmm_free_contig(pmm, a, count) != PMM_OK;
		uint64_t t2 = now_ns();
		bad |= a != expect;
		*alloc_ns += t1 - t0;
		*free_ns += t2 - t1;
	}
	return bad;
}

static void bench_contig(uint64_t size, uint32_t count, uint32_t align, struct held *h,
			 uint8_t *seen)
{
	struct world w;
	struct rng r = { 0xC0417u ^ ((size >> 20) * 7919) ^ count };

	world_init(&w, size);
	uint32_t nfree = w.usable - (uint32_t)(((uint64_t)w.usable * 900 + 500) / 1000);
	uint32_t run = (w.pmm.nframes / 4 * 3) & ~(align - 1);

	printf("| %s | %u frames, align %u | ", size_name(size), (unsigned)count, (unsigned)align);
	if (count > nfree || run < LOW_FRAMES || run + count > w.pmm.nframes) {
		printf("— | — | n/a: only %u frames free at 90%% | | | | |\n", (unsigned)nfree);
		world_fini(&w);
		return;
	}

	struct subject sub = { BITMAP, &w, NULL, h, seen };
	fill_then_scatter(&sub, &r, nfree - count, run, run + count);
	/* The planted run is at the tail of the held list: free it there. */
	for (uint32_t i = h->n - count; i < h->n; i++)
		if (pmm_free(&w.pmm, h->frame[i]) != PMM_OK)
			fail("contig setup: free of 0x%x refused", (unsigned)h->frame[i]);
	h->n -= count;
	audit(&sub, "contig setup");

	uint32_t first = reference_first_fit(&w.pmm, count, align);
	if (first == UINT32_MAX)
		fail("contig setup: no free run of %u frames", (unsigned)count);
	paddr_t expect = (paddr_t)first << FRAME_SHIFT;

	/* Calibrate and warm up, then the timed batches. */
	uint32_t n = 1;
	uint64_t t;
	for (;;) {
		uint64_t t0 = now_ns();
		if (pairs_contig(&w.pmm, count, align, expect, n))
			fail("contig %u/%u: a call failed or missed the first fit", (unsigned)count,
			     (unsigned)align);
		t = now_ns() - t0;
		if (t >= cfg.target_ns / 4 || n >= cfg.max_pairs)
			break;
		n *= 4;
	}
	n = scale_batch(n, t);

	double pair[16], alloc[16], fre[16];
	for (unsigned b = 0; b < cfg.batches; b++) {
		uint64_t t0 = now_ns();
		unsigned bad = pairs_contig(&w.pmm, count, align, expect, n);
		pair[b] = (double)(now_ns() - t0) / n;
		uint64_t a_ns = 0, f_ns = 0;
		bad |= pairs_contig_split(&w.pmm, count, align, expect, n, &a_ns, &f_ns);
		alloc[b] = (double)a_ns / n;
		fre[b] = (double)f_ns / n;
		if (bad)
			fail("contig %u/%u: a call failed or missed the first fit", (unsigned)count,
			     (unsigned)align);
		audit(&sub, "contig batch");
	}
	struct timing tp = summarize(pair, cfg.batches, n);
	struct timing ta = summarize(alloc, cfg.batches, n);
	struct timing tf = summarize(fre, cfg.batches, n);

	char p[32], a[32], f[32], lo[32], hi[32];
	fmt_ns(p, sizeof(p), tp.median);
	fmt_ns(a, sizeof(a), ta.median);
	fmt_ns(f, sizeof(f), tf.median);
	fmt_ns(lo, sizeof(lo), tp.min);
	fmt_ns(hi, sizeof(hi), tp.max);
	printf("%.1f MiB | %u | %s | %s–%s | %s | %s | %u |\n",
	       (double)((uint64_t)first << FRAME_SHIFT) / MiB, (unsigned)(first / align), p, lo,
	       hi, a, f, (unsigned)n);
	fflush(stdout);
	world_fini(&w);
}

/* ---- header --------------------------------------------------------------- */

/* The 1-minute load average: how busy the machine was, a hint at the noise. */
static const char *loadavg(void)
{
	static char buf[64];
	FILE *f = fopen("/proc/loadavg", "r");

	strcpy(buf, "?");
	if (f) {
		if (fscanf(f, "%63s", buf) != 1)
			strcpy(buf, "?");
		fclose(f);
	}
	return buf;
}

static void print_header(int argc, char **argv)
{
	char model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');
			if (strncmp(line, "model name", 10) == 0 && colon) {
				snprintf(model, sizeof(model), "%s", colon + 2);
				model[strcspn(model, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}

	char cpus[256] = "";
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		size_t len = 0;
		for (int c = 0; c < CPU_SETSIZE && len < sizeof(cpus) - 8; c++)
			if (CPU_ISSET(c, &set))
				len += (size_t)snprintf(cpus + len, sizeof(cpus) - len, "%s%d",
							len ? "," : "", c);
	}
	struct utsname u;
	if (uname(&u) != 0)
		strcpy(u.release, "?");
	time_t now = time(NULL);
	char date[64];
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));

	printf("# bench_pmm: bitmap frame allocator (mm/pmm.c) vs a free-list stack\n\n");
	printf("- command: `");
	for (int i = 0; i < argc; i++)
		printf("%s%s", i ? " " : "", argv[i]);
	const char *via = getenv("BENCH_PMM_VIA");
	printf("`%s%s%s\n", via ? " (via " : "", via ? via : "", via ? ")" : "");
	printf("- machine: %ld CPUs online (nproc), %s; this process may run on CPU %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), model, cpus);
	printf("- software: Linux %s, gcc %s, -O2; %s\n", u.release, __VERSION__, date);
	printf("- load average (1 min) at start: %s\n", loadavg());
	printf("- method: %u timed batches of ~%llu ms each (CLOCK_MONOTONIC), median shown%s\n",
	       cfg.batches, (unsigned long long)(cfg.target_ns / 1000000),
	       cfg.quick ? "; --quick: a smoke test, the figures mean nothing" : "");
	printf("- memory: one available range [0, SIZE); the first MiB is reserved by pmm_init\n");
	for (unsigned i = 0; i < cfg.nsizes; i++) {
		struct memmap m;
		memmap_init(&m);
		memmap_add(&m, 0, cfg.sizes[i], MB_MEMORY_AVAILABLE);
		memmap_normalize(&m);
		printf("  - %s: top 0x%llx, %llu frames, bitmap %zu bytes\n",
		       size_name(cfg.sizes[i]), (unsigned long long)memmap_top_below_4g(&m),
		       (unsigned long long)(cfg.sizes[i] / FRAME_SIZE), pmm_bitmap_bytes(&m));
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg = quick_cfg;
		} else {
			fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
			return strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	uint64_t start = now_ns();
	print_header(argc, argv);

	uint64_t biggest = 0;
	for (unsigned i = 0; i < cfg.nsizes; i++)
		if (cfg.sizes[i] > biggest)
			biggest = cfg.sizes[i];
	struct held h = { xmalloc(biggest / FRAME_SIZE * sizeof(paddr_t)), 0 };
	struct held h_stack = { xmalloc(biggest / FRAME_SIZE * sizeof(paddr_t)), 0 };
	uint8_t *seen = xmalloc(biggest / FRAME_SIZE);
	picks = xmalloc(((size_t)cfg.max_pairs + AHEAD) * sizeof(uint32_t));

	printf("## Single frames: pmm_free(random allocated frame) + pmm_alloc(), ns per pair\n\n");
	printf("| memory | occupancy | free frames at alloc | bitmap ns/pair | stack ns/pair "
	       "| harness ns/pair | bitmap min–max | bitmap pairs/batch |\n");
	printf("|---|---|--:|--:|--:|--:|--:|--:|\n");
	for (unsigned i = 0; i < cfg.nsizes; i++)
		for (unsigned o = 0; o < sizeof(occupancies) / sizeof(occupancies[0]); o++)
			bench_single(cfg.sizes[i], &occupancies[o], &h, &h_stack, seen);

	printf("\n## Contiguous runs at 90%% occupancy: pmm_alloc_contig() + pmm_free_contig(), "
	       "ns per pair\n\n");
	printf("| memory | request | run at | aligned candidates before it | ns/pair "
	       "| min–max | alloc_contig ns | free_contig ns | pairs/batch |\n");
	printf("|---|---|--:|--:|--:|--:|--:|--:|--:|\n");
	for (unsigned i = 0; i < cfg.nsizes; i++) {
		bench_contig(cfg.sizes[i], 16, 16, &h, seen);
		bench_contig(cfg.sizes[i], 1024, 1024, &h, seen);
	}

	check_no_warnings("end of run");
	printf("\nAll allocator calls checked: no refused call, no lost or duplicated frame.\n"
	       "Total time %.1f s; load average (1 min) at the end: %s.\n",
	       (double)(now_ns() - start) / 1e9, loadavg());
	free(picks);
	free(seen);
	free(h_stack.frame);
	free(h.frame);
	return 0;
}
