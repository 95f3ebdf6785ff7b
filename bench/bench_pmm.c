/*
 * bench_pmm.c - host benchmark of the frame allocators (mm/pmm.c): the
 * bitmap reference, the hbitmap allocator (the same bitmap with a per-order
 * index), and a plain free-list stack as the floor, side by side in one run.
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
 * 0x100000000, the top of what the PMM can describe), pmm_init() over a
 * malloc'd bitmap and, for hbitmap, pmm_attach_index() over malloc'd index
 * storage.  Every usable frame is allocated, then a uniformly random subset
 * is freed, so the free frames are scattered over the whole bitmap.
 * Occupancies: 50%, 90%, 99%, and "full-1": every frame allocated, so that
 * in each pair the frame just freed is the only free frame when pmm_alloc()
 * runs -- the next-fit scan's worst case.  Both allocators start from the
 * same state (same seed), and since they hand out the same frames for the
 * same calls, they walk through the same states too.
 *
 * The harness.  The benchmark keeps the allocated frames in an array and
 * picks the victim of each pair by index (swap-remove: the last entry moves
 * into the victim's slot and the new frame takes the last one).  The random
 * indices are generated before a batch, outside the timing, and the array
 * slot a few pairs ahead is prefetched, so the pair cost is the allocator's,
 * not the RNG's or a cache miss on a multi-MiB array of frame numbers (a
 * kernel gets the frame to free from a page table entry it is already
 * looking at).  What is left of the harness is measured on its own (the
 * "harness" column: the same loop with free+alloc replaced by nothing).
 *
 * The floor.  A plain free-list stack of frame numbers (push on free, pop on
 * alloc) runs the same pair workload from the same kind of state.  It is
 * O(1) whatever the occupancy and validates nothing, so it is the floor a
 * frame allocator can hope for, not a fair competitor.
 *
 * Contiguous runs.  pmm_alloc_contig(2^k, align 2^k) + pmm_free_contig() for
 * every order k = 0..10 (4 KiB to a 4 MiB-aligned 4 MiB block) at 90%
 * occupancy.  Scattered free frames rarely line up into such a block by
 * chance (0.1^8 for order 3), so one aligned free run is planted at 3/4 of
 * memory and the rest of the free frames are scattered: a first-fit scan
 * from address 0 must get past three quarters of memory to find it, as on a
 * fragmented machine.  Each pair leaves the state as it was; separate
 * batches with a clock read around each call show how it splits.  The
 * very first pmm_alloc_contig() after the setup is timed on its own: the
 * setup handed out every frame one by one, so the hbitmap allocator's index
 * must first catch up with all of those single-frame changes (its worst
 * case; pmm_index.c, "Updates").
 *
 * Fragmentation.  A random workload of phases that fill memory to 80..95%
 * and drain it to 40..60%, in single frames (and, in a second workload, with
 * one request in 50 for a block of order 1..10), ending full; then: free
 * frames, the largest free run, and the free 4 MiB-aligned blocks against
 * the number the free frames could make.  Placements: next fit (pmm_alloc,
 * the kernel's policy; both allocators give the same frames), address-ordered
 * first fit (pmm_alloc_contig(1, 1), affordable with the index), and the
 * stack's last-freed-first.
 *
 * Timing.  CLOCK_MONOTONIC around a batch of pairs sized from a calibration
 * run to last cfg.target_ns (the calibration doubles as warm-up), the median
 * of cfg.batches batches, with min and max to expose noise on a shared
 * machine.  The batches of the columns of a row are interleaved, so a slow
 * spell of the machine hits them alike.
 *
 * Correctness.  This is also the smoke test `make test` runs (--quick), so
 * every call is checked: a refused free, an alloc that returns 0 while
 * frames are free, a contiguous alloc other than the first fit (as a scan
 * over pmm_frame_state() finds it), and after every batch an audit: the
 * held frames are distinct, all ALLOCATED in the PMM and exactly its
 * allocated frames, the stats agree, and the index agrees with its bitmap.
 * mm_warn() is defined here: silent, but any call is a refused call, which
 * the workload never makes, so it fails the run.  Any failure: exit 1.
 *
 * Output: Markdown on stdout; with --data DIR, the grid also as
 * whitespace-separated columns in DIR/pmm_single.dat and DIR/pmm_contig.dat
 * for bench/pmm.gnuplot.
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
#define MAX_BATCHES 16

struct config {
	bool quick;
	const uint64_t *sizes;
	unsigned nsizes;
	unsigned batches;          /* timed batches per measurement (odd: a true median) */
	uint64_t target_ns;        /* wanted length of one single-frame batch */
	uint64_t contig_target_ns; /* ... of one contiguous batch */
	uint32_t max_pairs;        /* cap on pairs per batch */
	unsigned frag_phases;      /* fill/drain cycles of the fragmentation workload */
};

static const uint64_t full_sizes[] = { 16 * MiB, 256 * MiB, 1 * GiB, 4 * GiB };
static const uint64_t quick_sizes[] = { 16 * MiB, 4 * GiB };

static struct config cfg = {
	.sizes = full_sizes,
	.nsizes = 4,
	.batches = 9,
	.target_ns = 40000000,       /* 40 ms */
	.contig_target_ns = 10000000, /* 10 ms */
	.max_pairs = 1u << 23,
	.frag_phases = 8,
};

static const struct config quick_cfg = {
	.quick = true,
	.sizes = quick_sizes,
	.nsizes = 2,
	.batches = 3,
	.target_ns = 1000000, /* 1 ms */
	.contig_target_ns = 1000000,
	.max_pairs = 1u << 14,
	.frag_phases = 2,
};

/* ---- failure and mm_warn ------------------------------------------------------ */

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

/* ---- random numbers: splitmix64, and an index in [0, n) ----------------------- */

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

/* ---- the simulated machine ----------------------------------------------------- */

enum kind { BITMAP, HBITMAP, HARNESS, STACK, NKINDS };

static const char *const kind_name[NKINDS] = { "bitmap", "hbitmap", "harness", "stack" };

struct world {
	uint64_t size;
	struct memmap map;
	struct pmm pmm;
	uint32_t *bitmap, *index;
	uint32_t usable; /* frames pmm_alloc can hand out after pmm_init */
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

static void one_range_map(struct memmap *map, uint64_t size)
{
	memmap_init(map);
	memmap_add(map, 0, size, MB_MEMORY_AVAILABLE);
	memmap_normalize(map);
	if (map->count != 1 || memmap_top_below_4g(map) != size)
		fail("%s: memmap top is 0x%llx", size_name(size),
		     (unsigned long long)memmap_top_below_4g(map));
}

/* A machine of `size` bytes, all free but the first MiB, with or without the index. */
static void world_init(struct world *w, uint64_t size, bool indexed)
{
	uint32_t nframes = (uint32_t)(size / FRAME_SIZE);
	size_t want = ((size_t)nframes + 31) / 32 * sizeof(uint32_t);

	w->size = size;
	one_range_map(&w->map, size);
	size_t bytes = pmm_bitmap_bytes(&w->map), index_bytes = pmm_index_bytes(&w->map);
	if (bytes != want)
		fail("%s: pmm_bitmap_bytes() = %zu, expected %zu", size_name(size), bytes, want);
	w->bitmap = xmalloc(bytes);
	w->index = indexed ? xmalloc(index_bytes) : NULL;
	if (pmm_init(&w->pmm, &w->map, w->bitmap, bytes) != PMM_OK)
		fail("%s: pmm_init failed", size_name(size));
	if (indexed && pmm_attach_index(&w->pmm, w->index, index_bytes) != PMM_OK)
		fail("%s: pmm_attach_index failed", size_name(size));
	if (w->pmm.nframes != nframes || w->pmm.stats.free_frames != nframes - LOW_FRAMES)
		fail("%s: pmm_init: %u frames, %u free; expected %u, %u", size_name(size),
		     (unsigned)w->pmm.nframes, (unsigned)w->pmm.stats.free_frames,
		     (unsigned)nframes, (unsigned)(nframes - LOW_FRAMES));
	w->usable = w->pmm.stats.free_frames;
	check_no_warnings("pmm_init");
}

static void world_fini(struct world *w)
{
	free(w->bitmap);
	free(w->index);
	w->bitmap = w->index = NULL;
}

/* ---- the floor: a stack of free frame numbers ------------------------------------ */

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

/* ---- the frames the benchmark holds, and audits --------------------------------- */

struct held {
	paddr_t *frame;
	uint32_t n;
};

struct subject {
	enum kind kind;
	struct world *w; /* always set: its size and frame range are the machine */
	struct stack *s; /* for STACK */
	struct held *h;
	uint8_t *seen; /* audit scratch, one byte per frame */
};

static paddr_t subject_alloc(const struct subject *sub)
{
	return sub->kind == STACK ? stack_alloc(sub->s) : pmm_alloc(&sub->w->pmm);
}

static bool subject_free(const struct subject *sub, paddr_t a)
{
	return sub->kind == STACK ? stack_free(sub->s, a) : pmm_free(&sub->w->pmm, a) == PMM_OK;
}

/* For the stack: held and stacked frames together are every usable frame, once. */
static void audit_stack(const struct subject *sub, const char *where)
{
	for (uint32_t i = 0; i < sub->s->top; i++) {
		uint32_t f = sub->s->slot[i];
		if (f < LOW_FRAMES || f >= sub->w->pmm.nframes || sub->seen[f]++)
			fail("%s: stack holds frame %u that is not free", where, (unsigned)f);
	}
	if (sub->h->n + sub->s->top != sub->w->usable)
		fail("%s: %u held + %u stacked != %u usable frames", where, (unsigned)sub->h->n,
		     (unsigned)sub->s->top, (unsigned)sub->w->usable);
}

/* For a PMM: the held frames are exactly the allocated ones, and the stats agree. */
static void audit_pmm(const struct subject *sub, const char *where)
{
	const struct world *w = sub->w;
	uint32_t allocated = 0;

	for (uint32_t f = 0; f < w->pmm.nframes; f++) {
		enum pmm_frame_state st = pmm_frame_state(&w->pmm, (uint64_t)f << FRAME_SHIFT);
		allocated += st == FRAME_ALLOCATED;
		if (sub->seen[f] && st != FRAME_ALLOCATED)
			fail("%s: held frame 0x%llx is not allocated in the PMM (state %d)", where,
			     (unsigned long long)f << FRAME_SHIFT, (int)st);
	}
	if (allocated != sub->h->n || w->pmm.stats.used_frames != sub->h->n ||
	    w->pmm.stats.free_frames != w->usable - sub->h->n)
		fail("%s: PMM has %u allocated frames (stats: %u used, %u free), benchmark holds %u",
		     where, (unsigned)allocated, (unsigned)w->pmm.stats.used_frames,
		     (unsigned)w->pmm.stats.free_frames, (unsigned)sub->h->n);
	if (!pmm_index_agrees(&w->pmm))
		fail("%s: the index disagrees with the bitmap", where);
}

/* Every held frame is a distinct frame of usable memory, and the allocator agrees. */
static void audit(const struct subject *sub, const char *where)
{
	uint32_t nframes = sub->w->pmm.nframes;

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
	if (sub->kind == STACK)
		audit_stack(sub, where);
	else
		audit_pmm(sub, where);
}

/*
 * Allocate every usable frame, check the allocator is then empty, and free
 * `nfree` of them chosen uniformly at random (never those in `keep_lo` ..
 * `keep_hi`, a frame range the caller frees itself; it is left at the end of
 * the held list).  The held list ends up in random order.
 */
static void fill_then_scatter(const struct subject *sub, struct rng *r, uint32_t nfree,
			      uint32_t keep_lo, uint32_t keep_hi)
{
	struct held *h = sub->h;

	h->n = 0;
	for (uint32_t i = 0; i < sub->w->usable; i++) {
		paddr_t a = subject_alloc(sub);
		if (a == 0)
			fail("fill: allocation %u of %u returned 0", (unsigned)i,
			     (unsigned)sub->w->usable);
		h->frame[h->n++] = a;
	}
	if (subject_alloc(sub) != 0)
		fail("fill: an allocation succeeded after every usable frame was taken");

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
	for (uint32_t i = movable - nfree; i < movable; i++)
		if (!subject_free(sub, h->frame[i]))
			fail("scatter: free of 0x%x refused", (unsigned)h->frame[i]);
	memmove(&h->frame[movable - nfree], &h->frame[movable],
		(size_t)(h->n - movable) * sizeof(paddr_t));
	h->n -= nfree;
}

/* ---- the timed loops -------------------------------------------------------------- */

/*
 * One batch of n pairs.  pick[i] is the index (in [0, held)) of the frame
 * freed by pair i; pick has AHEAD extra entries for the prefetch.  The new
 * frame takes the last slot, the last frame moves into the freed slot.
 * Returns non-zero if any call failed.
 */
static __attribute__((noinline)) unsigned pairs_pmm(struct pmm *pmm, struct held *h,
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
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct timing summarize(double *ns, unsigned n)
{
	qsort(ns, n, sizeof(*ns), cmp_double);
	return (struct timing){ ns[n / 2], ns[0], ns[n - 1] };
}

/* Pairs per batch for a batch of about `target` ns, from one timed run of n. */
static uint32_t scale_batch(uint32_t n, uint64_t ns, uint64_t target)
{
	uint64_t want = ns ? (uint64_t)n * target / ns : cfg.max_pairs;

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
	case BITMAP:
	case HBITMAP: bad = pairs_pmm(&sub->w->pmm, sub->h, picks, n); break;
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
	return scale_batch(n, t, cfg.target_ns);
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

/* A "min–max" cell. */
static const char *range_cell(const struct timing *t)
{
	static char buf[2][80];
	static unsigned which;
	char lo[32], hi[32];

	fmt_ns(lo, sizeof(lo), t->min);
	fmt_ns(hi, sizeof(hi), t->max);
	which ^= 1;
	snprintf(buf[which], sizeof(buf[which]), "%s–%s", lo, hi);
	return buf[which];
}

static const char *ns_cell(double ns)
{
	static char buf[8][32]; /* a table row uses up to 8 cells at once */
	static unsigned which;

	which = (which + 1) % 8;
	fmt_ns(buf[which], sizeof(buf[which]), ns);
	return buf[which];
}

static FILE *single_dat, *contig_dat; /* --data files, or NULL */

/* ---- single frames: one row of the grid ------------------------------------------- */

struct occupancy {
	const char *name;
	unsigned permille; /* held frames per 1000 usable; 1000: full-1 */
};

static const struct occupancy occupancies[] = {
	{ "50%", 500 }, { "90%", 900 }, { "99%", 990 }, { "full-1", 1000 },
};

/* The frames held at `permille` occupancy of `usable` frames. */
static uint32_t frames_to_free(uint32_t usable, unsigned permille)
{
	return usable - (uint32_t)(((uint64_t)usable * permille + 500) / 1000);
}

struct scratch {
	struct held held[NKINDS]; /* HARNESS shares BITMAP's */
	uint8_t *seen;
};

static void bench_single(uint64_t size, const struct occupancy *occ, struct scratch *x)
{
	struct world w[2]; /* BITMAP, HBITMAP */
	struct stack s;
	/* Same seed for every column: the same scattered state, the same picks. */
	uint64_t seed = 0x5EED0000u ^ ((size >> 20) * 1009) ^ occ->permille;
	struct rng rng[NKINDS] = { { seed }, { seed }, { ~seed }, { seed } };

	world_init(&w[BITMAP], size, false);
	world_init(&w[HBITMAP], size, true);
	stack_init(&s, &w[BITMAP]);
	uint32_t nfree = frames_to_free(w[BITMAP].usable, occ->permille);
	const struct subject sub[NKINDS] = {
		[BITMAP] = { BITMAP, &w[BITMAP], NULL, &x->held[BITMAP], x->seen },
		[HBITMAP] = { HBITMAP, &w[HBITMAP], NULL, &x->held[HBITMAP], x->seen },
		[HARNESS] = { HARNESS, &w[BITMAP], NULL, &x->held[BITMAP], x->seen },
		[STACK] = { STACK, &w[BITMAP], &s, &x->held[STACK], x->seen },
	};
	for (int k = 0; k < NKINDS; k++) {
		if (k == HARNESS)
			continue; /* it only permutes the bitmap's list */
		struct rng setup = { seed };
		fill_then_scatter(&sub[k], &setup, nfree, 0, 0);
		audit(&sub[k], "setup");
	}

	uint32_t n[NKINDS];
	double ns[NKINDS][MAX_BATCHES];
	struct timing t[NKINDS];
	for (int k = 0; k < NKINDS; k++)
		n[k] = calibrate(&sub[k], &rng[k]);
	/* Interleaved, so that a slow spell of the machine hits every column alike. */
	for (unsigned b = 0; b < cfg.batches; b++)
		for (int k = 0; k < NKINDS; k++)
			ns[k][b] = (double)run_batch(&sub[k], &rng[k], n[k]) / n[k];
	for (int k = 0; k < NKINDS; k++)
		t[k] = summarize(ns[k], cfg.batches);

	printf("| %s | %s | %u | %s | %s | %s | %s | %s | %s |\n", size_name(size), occ->name,
	       (unsigned)nfree + 1, ns_cell(t[BITMAP].median), ns_cell(t[HBITMAP].median),
	       ns_cell(t[STACK].median), ns_cell(t[HARNESS].median), range_cell(&t[BITMAP]),
	       range_cell(&t[HBITMAP]));
	fflush(stdout);
	if (single_dat)
		fprintf(single_dat, "%llu %u %.3f %.3f %.3f %.3f\n",
			(unsigned long long)(size / MiB), occ->permille, t[BITMAP].median,
			t[HBITMAP].median, t[STACK].median, t[HARNESS].median);
	free(s.slot);
	world_fini(&w[BITMAP]);
	world_fini(&w[HBITMAP]);
}

/* ---- contiguous runs ----------------------------------------------------------------- */

/* First fit by definition, through the public state query: the reference answer. */
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
						       paddr_t expect, uint32_t n)
{
	unsigned bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		paddr_t a = pmm_alloc_contig(pmm, count, count);
		bad |= a != expect;
		bad |= pmm_free_contig(pmm, a, count) != PMM_OK;
	}
	return bad;
}

/* The same pairs with a clock read around each call: where the time goes. */
static unsigned pairs_contig_split(struct pmm *pmm, uint32_t count, paddr_t expect, uint32_t n,
				   uint64_t *alloc_ns, uint64_t *free_ns)
{
	unsigned bad = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		paddr_t a = pmm_alloc_contig(pmm, count, count);
		uint64_t t1 = now_ns();
		bad |= pmm_free_contig(pmm, a, count) != PMM_OK;
		uint64_t t2 = now_ns();
		bad |= a != expect;
		*alloc_ns += t1 - t0;
		*free_ns += t2 - t1;
	}
	return bad;
}

struct contig_result {
	paddr_t at;                      /* where first fit found the run */
	double first_ns;                 /* the first alloc_contig after the setup */
	struct timing pair, alloc, free; /* ns per pair, and per call */
};

/*
 * Time pmm_alloc_contig(count, align count) + pmm_free_contig in `w`, 90%
 * occupied with a free aligned run planted at 3/4 of memory.
 */
static struct contig_result time_contig(struct world *w, uint32_t count, struct held *h,
					uint8_t *seen)
{
	struct rng r = { 0xC0417u ^ ((w->size >> 20) * 7919) ^ count };
	uint32_t nfree = frames_to_free(w->usable, 900);
	uint32_t run = (w->pmm.nframes / 4 * 3) & ~(count - 1);
	struct subject sub = { w->pmm.indexed ? HBITMAP : BITMAP, w, NULL, h, seen };
	struct contig_result res;

	fill_then_scatter(&sub, &r, nfree - count, run, run + count);
	/* The planted run is at the tail of the held list: free it there. */
	for (uint32_t i = h->n - count; i < h->n; i++)
		if (pmm_free(&w->pmm, h->frame[i]) != PMM_OK)
			fail("contig setup: free of 0x%x refused", (unsigned)h->frame[i]);
	h->n -= count;
	audit(&sub, "contig setup");
	uint32_t first = reference_first_fit(&w->pmm, count, count);
	if (first == UINT32_MAX)
		fail("contig setup: no free run of %u frames", (unsigned)count);
	res.at = (paddr_t)first << FRAME_SHIFT;

	uint64_t t0 = now_ns();
	paddr_t a = pmm_alloc_contig(&w->pmm, count, count);
	res.first_ns = (double)(now_ns() - t0);
	if (a != res.at || pmm_free_contig(&w->pmm, a, count) != PMM_OK)
		fail("contig %u: the first call failed or missed the first fit", (unsigned)count);

	uint32_t n = 1;
	uint64_t t;
	for (;;) { /* calibrate and warm up */
		uint64_t t0 = now_ns();
		if (pairs_contig(&w->pmm, count, res.at, n))
			fail("contig %u: a call failed or missed the first fit", (unsigned)count);
		t = now_ns() - t0;
		if (t >= cfg.contig_target_ns / 4 || n >= cfg.max_pairs)
			break;
		n *= 4;
	}
	n = scale_batch(n, t, cfg.contig_target_ns);

	double pair[MAX_BATCHES], alloc[MAX_BATCHES], fre[MAX_BATCHES];
	for (unsigned b = 0; b < cfg.batches; b++) {
		uint64_t t0 = now_ns(), a_ns = 0, f_ns = 0;
		unsigned bad = pairs_contig(&w->pmm, count, res.at, n);
		pair[b] = (double)(now_ns() - t0) / n;
		bad |= pairs_contig_split(&w->pmm, count, res.at, n, &a_ns, &f_ns);
		alloc[b] = (double)a_ns / n;
		fre[b] = (double)f_ns / n;
		if (bad)
			fail("contig %u: a call failed or missed the first fit", (unsigned)count);
	}
	audit(&sub, "contig batches");
	res.pair = summarize(pair, cfg.batches);
	res.alloc = summarize(alloc, cfg.batches);
	res.free = summarize(fre, cfg.batches);
	return res;
}

static void bench_contig(uint64_t size, unsigned order, struct scratch *x)
{
	uint32_t count = 1u << order;
	struct contig_result r[2];
	struct world w;

	printf("| %s | %u (%u KiB) | ", size_name(size), order, (unsigned)count * 4);
	for (int k = BITMAP; k <= HBITMAP; k++) {
		world_init(&w, size, k == HBITMAP);
		if (count > frames_to_free(w.usable, 900)) {
			printf("— | n/a: %u frames free at 90%% | | | | |\n",
			       (unsigned)frames_to_free(w.usable, 900));
			world_fini(&w);
			return;
		}
		r[k] = time_contig(&w, count, &x->held[k], x->seen);
		world_fini(&w);
	}
	if (r[BITMAP].at != r[HBITMAP].at)
		fail("contig %u: bitmap found 0x%x, hbitmap 0x%x", (unsigned)count,
		     (unsigned)r[BITMAP].at, (unsigned)r[HBITMAP].at);
	printf("%.1f MiB | %s | %s | %s / %s | %s / %s | %s |\n",
	       (double)r[BITMAP].at / MiB, ns_cell(r[BITMAP].pair.median),
	       ns_cell(r[HBITMAP].pair.median), ns_cell(r[BITMAP].alloc.median),
	       ns_cell(r[BITMAP].free.median), ns_cell(r[HBITMAP].alloc.median),
	       ns_cell(r[HBITMAP].free.median), ns_cell(r[HBITMAP].first_ns));
	fflush(stdout);
	if (contig_dat)
		fprintf(contig_dat, "%llu %u %.3f %.3f\n", (unsigned long long)(size / MiB), order,
			r[BITMAP].pair.median, r[HBITMAP].pair.median);
}

/* ---- fragmentation ---------------------------------------------------------------------- */

enum placement { NEXT_FIT, FIRST_FIT, LAST_FREED, NPLACEMENTS };

static const char *const placement_name[NPLACEMENTS] = {
	"next fit (pmm_alloc)", "first fit (pmm_alloc_contig(1, 1))", "stack (last freed first)",
};

struct frag_state {
	enum placement how;
	struct world w;
	struct stack s;
	struct { paddr_t at; uint32_t count; } *item; /* what is held */
	uint32_t nitems, held, failed, requests;
};

static bool frag_alloc(struct frag_state *st, uint32_t count)
{
	paddr_t a = st->how == LAST_FREED ? stack_alloc(&st->s)
		    : st->how == FIRST_FIT || count > 1 ? pmm_alloc_contig(&st->w.pmm, count, count)
							: pmm_alloc(&st->w.pmm);
	st->requests += count > 1;
	if (!a) {
		st->failed += count > 1;
		return false;
	}
	st->item[st->nitems].at = a;
	st->item[st->nitems++].count = count;
	st->held += count;
	return true;
}

static void frag_free(struct frag_state *st, struct rng *r)
{
	uint32_t i = rng_below(r, st->nitems);
	bool ok = st->how == LAST_FREED
			  ? stack_free(&st->s, st->item[i].at)
			  : pmm_free_contig(&st->w.pmm, st->item[i].at, st->item[i].count) == PMM_OK;

	if (!ok)
		fail("fragmentation: a free was refused");
	st->held -= st->item[i].count;
	st->item[i] = st->item[--st->nitems];
}

/*
 * The workload: phases that fill to 80..95% and drain to 40..60% of the usable
 * frames, a quarter of the steps going the other way, ending with a fill.
 * With `runs`, one allocation in 50 asks for a block of order 1..10 (not for
 * the stack, which cannot give one).
 */
static void frag_workload(struct frag_state *st, bool runs)
{
	struct rng r = { 0xF4A6u ^ st->w.usable };
	uint32_t usable = st->w.usable;

	for (unsigned phase = 0; phase < 2 * cfg.frag_phases + 1; phase++) {
		bool filling = phase % 2 == 0;
		uint32_t permille = filling ? 800 + rng_below(&r, 151) : 400 + rng_below(&r, 201);
		uint32_t target = (uint32_t)((uint64_t)usable * permille / 1000);
		while (filling ? st->held < target : st->held > target) {
			bool up = rng_below(&r, 4) ? filling : !filling;
			if (!up && st->nitems) {
				frag_free(st, &r);
				continue;
			}
			uint32_t order = runs && rng_below(&r, 50) == 0 ? 1 + rng_below(&r, 10) : 0;
			if (!frag_alloc(st, 1u << order) && order == 0)
				fail("fragmentation: no free frame at %u of %u held", st->held, usable);
		}
	}
}

/* Free frames, the largest free run, and free aligned 4 MiB blocks. */
static void frag_measure(const uint8_t *is_free, uint32_t nframes, uint32_t *free_frames,
			 uint32_t *largest, uint32_t *blocks)
{
	uint32_t run = 0;

	*free_frames = *largest = *blocks = 0;
	for (uint32_t f = 0; f < nframes; f++) {
		run = is_free[f] ? run + 1 : 0;
		*free_frames += is_free[f];
		*largest = run > *largest ? run : *largest;
		*blocks += (f + 1) % 1024 == 0 && run >= 1024;
	}
}

static void frag_row(uint64_t size, enum placement how, bool runs, struct scratch *x)
{
	struct frag_state st = { .how = how };
	uint32_t free_frames, largest, blocks;

	world_init(&st.w, size, true);
	stack_init(&st.s, &st.w);
	st.item = xmalloc((size_t)st.w.usable * sizeof(*st.item));
	frag_workload(&st, runs);

	uint8_t *is_free = x->seen;
	for (uint32_t f = 0; f < st.w.pmm.nframes; f++)
		is_free[f] = how == LAST_FREED ? 0 :
			     pmm_frame_state(&st.w.pmm, (uint64_t)f << FRAME_SHIFT) == FRAME_FREE;
	for (uint32_t i = 0; how == LAST_FREED && i < st.s.top; i++)
		is_free[st.s.slot[i]] = 1;
	frag_measure(is_free, st.w.pmm.nframes, &free_frames, &largest, &blocks);
	check_no_warnings("fragmentation");

	char failed[32] = "—";
	if (runs && how != LAST_FREED)
		snprintf(failed, sizeof(failed), "%u of %u", st.failed, st.requests);
	printf("| %s | %s | %s | %u | %u (%.1f MiB) | %.1f%% | %u of %u | %s |\n",
	       size_name(size), runs ? "frames + blocks" : "frames", placement_name[how],
	       free_frames, largest, largest / 256.0, 100.0 * largest / free_frames, blocks,
	       free_frames / 1024, failed);
	fflush(stdout);
	free(st.item);
	free(st.s.slot);
	world_fini(&st.w);
}

/* ---- header ------------------------------------------------------------------------------ */

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

static void cpu_model(char *model, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(model, len, "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, len, "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
}

static void cpu_list(char *cpus, size_t len)
{
	cpu_set_t set;
	size_t used = 0;

	cpus[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	for (int c = 0; c < CPU_SETSIZE && used < len - 8; c++)
		if (CPU_ISSET(c, &set))
			used += (size_t)snprintf(cpus + used, len - used, "%s%d", used ? "," : "", c);
}

static void print_header(int argc, char **argv)
{
	char model[256], cpus[256], date[64];
	struct utsname u;
	time_t now = time(NULL);

	cpu_model(model, sizeof(model));
	cpu_list(cpus, sizeof(cpus));
	if (uname(&u) != 0)
		strcpy(u.release, "?");
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));

	printf("# bench_pmm: frame allocators (mm/pmm.c): bitmap, hbitmap, and a free-list stack\n\n");
	printf("- command: `");
	for (int i = 0; i < argc; i++)
		printf("%s%s", i ? " " : "", argv[i]);
	const char *via = getenv("BENCH_PMM_VIA");
	printf("`%s%s%s\n", via ? " (via " : "", via ? via : "", via ? ")" : "");
	printf("- machine: %ld CPUs online (nproc), %s; this process may run on CPU %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), model, cpus);
	printf("- software: Linux %s, gcc %s, -O2; %s\n", u.release, __VERSION__, date);
	printf("- load average (1 min) at start: %s\n", loadavg());
	printf("- method: %u timed batches of ~%llu ms (single frames) and ~%llu ms (runs), "
	       "CLOCK_MONOTONIC, median shown%s\n", cfg.batches,
	       (unsigned long long)(cfg.target_ns / 1000000),
	       (unsigned long long)(cfg.contig_target_ns / 1000000),
	       cfg.quick ? "; --quick: a smoke test, the figures mean nothing" : "");
	printf("- memory: one available range [0, SIZE); the first MiB is reserved by pmm_init\n");
	for (unsigned i = 0; i < cfg.nsizes; i++) {
		struct memmap m;
		one_range_map(&m, cfg.sizes[i]);
		printf("  - %s: %llu frames, bitmap %zu bytes, hbitmap index %zu bytes more\n",
		       size_name(cfg.sizes[i]), (unsigned long long)(cfg.sizes[i] / FRAME_SIZE),
		       pmm_bitmap_bytes(&m), pmm_index_bytes(&m));
	}
	printf("\n");
}

/* ---- main ---------------------------------------------------------------------------------- */

static FILE *open_data(const char *dir, const char *name, const char *columns)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		fail("cannot write %s", path);
	fprintf(f, "# %s\n", columns);
	return f;
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg = quick_cfg;
		} else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			i++;
			single_dat = open_data(argv[i], "pmm_single.dat",
					       "MiB permille bitmap hbitmap stack harness (ns/pair)");
			contig_dat = open_data(argv[i], "pmm_contig.dat",
					       "MiB order bitmap hbitmap (ns/pair)");
		} else {
			fprintf(stderr, "usage: %s [--quick] [--data DIR]\n", argv[0]);
			exit(strcmp(argv[i], "--help") == 0 ? 0 : 2);
		}
	}
}

static void run_tables(struct scratch *x)
{
	printf("## Single frames: pmm_free(random allocated frame) + pmm_alloc(), ns per pair\n\n");
	printf("| memory | occupancy | free frames at alloc | bitmap | hbitmap | stack | harness "
	       "| bitmap min–max | hbitmap min–max |\n");
	printf("|---|---|--:|--:|--:|--:|--:|--:|--:|\n");
	for (unsigned i = 0; i < cfg.nsizes; i++)
		for (unsigned o = 0; o < sizeof(occupancies) / sizeof(occupancies[0]); o++)
			bench_single(cfg.sizes[i], &occupancies[o], x);

	printf("\n## Blocks of order 0..10 at 90%% occupancy: pmm_alloc_contig(2^k, 2^k) + "
	       "pmm_free_contig(), ns per pair\n\n");
	printf("| memory | order (size) | first fit at | bitmap | hbitmap "
	       "| bitmap alloc / free | hbitmap alloc / free | hbitmap first alloc |\n");
	printf("|---|---|--:|--:|--:|--:|--:|--:|\n");
	for (unsigned i = 0; i < cfg.nsizes; i++) {
		if (contig_dat && i > 0)
			fprintf(contig_dat, "\n\n"); /* a data set per size for the plot */
		for (unsigned k = 0; k < PMM_ORDERS; k++)
			bench_contig(cfg.sizes[i], k, x);
	}

	printf("\n## Fragmentation after a random workload (fill to 80-95%%, drain to 40-60%%, "
	       "%u times, then fill)\n\n", cfg.frag_phases);
	printf("| memory | requests | placement | free frames | largest free run "
	       "| largest / free | free 4 MiB blocks | block requests failed |\n");
	printf("|---|---|---|--:|--:|--:|--:|--:|\n");
	for (unsigned i = 0; i < cfg.nsizes; i++) {
		for (int how = 0; how < NPLACEMENTS; how++)
			frag_row(cfg.sizes[i], how, false, x);
		frag_row(cfg.sizes[i], NEXT_FIT, true, x);
		frag_row(cfg.sizes[i], FIRST_FIT, true, x);
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	uint64_t start = now_ns();
	print_header(argc, argv);

	uint64_t biggest = 0;
	for (unsigned i = 0; i < cfg.nsizes; i++)
		biggest = cfg.sizes[i] > biggest ? cfg.sizes[i] : biggest;
	struct scratch x;
	for (int k = 0; k < NKINDS; k++)
		x.held[k].frame = k == HARNESS ? NULL : xmalloc(biggest / FRAME_SIZE * sizeof(paddr_t));
	x.seen = xmalloc(biggest / FRAME_SIZE);
	picks = xmalloc(((size_t)cfg.max_pairs + AHEAD) * sizeof(uint32_t));

	run_tables(&x);

	check_no_warnings("end of run");
	printf("\nAll allocator calls checked: no refused call, no lost or duplicated frame, "
	       "runs at the first fit, the index in agreement with its bitmap.\n"
	       "Total time %.1f s; load average (1 min) at the end: %s.\n",
	       (double)(now_ns() - start) / 1e9, loadavg());
	if (single_dat)
		fclose(single_dat);
	if (contig_dat)
		fclose(contig_dat);
	free(picks);
	free(x.seen);
	for (int k = 0; k < NKINDS; k++)
		free(x.held[k].frame);
	return 0;
}
