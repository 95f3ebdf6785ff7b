/*
 * fuzz_heap.c - libFuzzer target for mm/heap.c, the boundary-tag heap.
 *
 * The first bytes of an input configure a heap -- fit policy, debug mode,
 * initial size, grow step, `keep`, its limit, and after how many grow
 * calls the backend runs dry -- over a fresh PROT_NONE reservation whose
 * pages the backend opens and closes with mprotect, so any access outside
 * the mapped heap faults.  The rest is a sequence of operations: allocate
 * (any size up to 64 KiB, impossible ones too, sometimes aligned) into
 * one of 64 slots, free a slot, free a bad pointer (interior, misaligned,
 * outside, a double or stale free), write past a block's end (debug),
 * free and then write into the freed block, trim, and query.
 *
 * A model knows every live block and its contents (a pattern derived from
 * its id): blocks must be aligned, inside the heap and disjoint, their
 * contents intact when freed; a NULL must be explained by the limit or
 * the backend; every bad call must be refused, reported once with the
 * right enum and counted, and change nothing else.  The statistics are
 * compared and heap_check() run after every operation.  Any disagreement
 * traps.  FUZZ_HEAP_TRACE=1 in the environment prints each operation, to
 * read a crash input: build/host/fuzz_heap crash-...
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

#include "fuzz.h"
#include "mm/heap.h"
#include "mm/mm_log.h"

void mm_warn(const char *fmt, ...)
{
	(void)fmt;
}

#define PAGE 4096u
#define SLOTS 64
#define GRAVES 16      /* freed pointers remembered for stale frees */
#define GARBAGE 0xA5   /* what fresh pages hold */
#define REDZONE_MIN 16 /* heap.c keeps at least this much red zone (debug) */
#define LINKS (2 * sizeof(void *)) /* a free block's list links, first in its payload */
#define FENCE_MAX 64   /* at most the size of the header at the heap's top */

/* ---- the input ----------------------------------------------------------- */

/* ---- the backend --------------------------------------------------------- */

#define ARENA_PAGES (16 + 63 * 16) /* the largest limit start() picks */

struct arena {
	char *base;
	size_t reserve, mapped;
	unsigned grows, refused;
	unsigned grows_left; /* 0: any number; commits count as grows */
	bool limited;
	size_t purged;            /* bytes decommitted below `mapped` */
	bool gone[ARENA_PAGES];   /* which pages are decommitted */
};

static bool arena_grow(void *ctx, uintptr_t end, size_t bytes)
{
	struct arena *a = ctx;

	EXPECT(end == (uintptr_t)a->base + a->mapped && bytes && bytes % PAGE == 0 &&
	       bytes <= a->reserve - a->mapped);
	if (a->limited && a->grows_left == 0) {
		a->refused++;
		return false;
	}
	a->grows_left -= a->limited;
	EXPECT(mprotect((void *)end, bytes, PROT_READ | PROT_WRITE) == 0);
	memset((void *)end, GARBAGE, bytes);
	a->mapped += bytes;
	a->grows++;
	return true;
}

static void arena_shrink(void *ctx, uintptr_t start, size_t bytes)
{
	struct arena *a = ctx;

	EXPECT(start % PAGE == 0 && bytes && bytes % PAGE == 0 && start >= (uintptr_t)a->base &&
	       start + bytes == (uintptr_t)a->base + a->mapped);
	madvise((void *)start, bytes, MADV_DONTNEED);
	EXPECT(mprotect((void *)start, bytes, PROT_NONE) == 0);
	for (size_t i = (start - (uintptr_t)a->base) / PAGE; i < a->mapped / PAGE; i++) {
		a->purged -= a->gone[i] ? PAGE : 0;
		a->gone[i] = false;
	}
	a->mapped -= bytes;
}

/* Purging: only mapped pages in the state they are said to be in change state. */
static void arena_flip(struct arena *a, uintptr_t start, size_t bytes, bool gone)
{
	EXPECT(start % PAGE == 0 && bytes && bytes % PAGE == 0 && start >= (uintptr_t)a->base &&
	       start + bytes <= (uintptr_t)a->base + a->mapped);
	for (size_t i = (start - (uintptr_t)a->base) / PAGE, n = 0; n < bytes / PAGE; i++, n++) {
		EXPECT(a->gone[i] != gone);
		a->gone[i] = gone;
	}
	if (gone) {
		a->purged += bytes;
		madvise((void *)start, bytes, MADV_DONTNEED);
	} else {
		a->purged -= bytes;
	}
	/* Decommitted pages are inaccessible: a heap that touches one faults here. */
	EXPECT(mprotect((void *)start, bytes, gone ? PROT_NONE : PROT_READ | PROT_WRITE) == 0);
	if (!gone)
		memset((void *)start, GARBAGE, bytes);
}

static bool arena_commit(void *ctx, uintptr_t start, size_t bytes)
{
	struct arena *a = ctx;

	if (a->limited && a->grows_left == 0) {
		a->refused++;
		return false;
	}
	a->grows_left -= a->limited;
	arena_flip(a, start, bytes, false);
	return true;
}

static void arena_decommit(void *ctx, uintptr_t start, size_t bytes)
{
	arena_flip(ctx, start, bytes, true);
}

/* ---- the model ----------------------------------------------------------- */

struct slot {
	unsigned char *p; /* NULL: empty */
	size_t size;
	uint32_t id;
};

static struct {
	struct heap h;
	struct arena a;
	struct slot slot[SLOTS];
	unsigned nlive;
	size_t requested, keep;
	uint64_t failed, errors[HEAP_ERR_COUNT];
	unsigned reports;
	enum heap_error last_error;
	void *grave[GRAVES];
	unsigned ngraves;
	uint32_t next_id;
	unsigned long ops;
} m;

static int tracing = -1;

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void trace(const char *fmt, ...)
{
	va_list ap;

	if (tracing < 0)
		tracing = getenv("FUZZ_HEAP_TRACE") != NULL;
	if (!tracing)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static void on_report(struct heap *h, enum heap_error e, const void *ptr, const char *detail)
{
	(void)h;
	trace("  report: %s at %p: %s\n", heap_error_name(e), ptr, detail);
	EXPECT(e < HEAP_ERR_COUNT);
	m.reports++;
	m.last_error = e;
}

static uint64_t pattern_word(uint32_t id, size_t w)
{
	uint64_t x = ((uint64_t)id << 32 | 0x9E3779B9u) ^ (w * 0xBF58476D1CE4E5B9ull);
	return x ^ (x >> 29);
}

static void fill(unsigned char *p, size_t size, uint32_t id)
{
	for (size_t w = 0; 8 * w < size; w++) {
		uint64_t v = pattern_word(id, w);
		memcpy(p + 8 * w, &v, size - 8 * w < 8 ? size - 8 * w : 8);
	}
}

static void verify(const unsigned char *p, size_t size, uint32_t id)
{
	for (size_t w = 0; 8 * w < size; w++) {
		uint64_t v = pattern_word(id, w);
		EXPECT(memcmp(p + 8 * w, &v, size - 8 * w < 8 ? size - 8 * w : 8) == 0);
	}
}

static void verify_all(void)
{
	for (unsigned k = 0; k < SLOTS; k++)
		if (m.slot[k].p)
			verify(m.slot[k].p, m.slot[k].size, m.slot[k].id);
}

static bool inside(const void *p, const struct slot *s)
{
	const unsigned char *c = p;
	return c >= s->p && c < s->p + (s->size ? s->size : 1);
}

static bool overlaps_live(const unsigned char *p, size_t size)
{
	for (unsigned k = 0; k < SLOTS; k++) {
		const struct slot *s = &m.slot[k];
		if (s->p && p < s->p + (s->size ? s->size : 1) && s->p < p + (size ? size : 1))
			return true;
	}
	return false;
}

static void check_everything(void)
{
	const struct heap_stats *st = &m.h.stats;
	char why[128];

	EXPECT(heap_check(&m.h, why, sizeof(why)) == 0);
	EXPECT(st->live_blocks == m.nlive && st->requested == m.requested);
	EXPECT(st->failed == m.failed && st->allocs - st->frees == m.nlive);
	EXPECT(memcmp(st->errors, m.errors, sizeof(m.errors)) == 0);
	EXPECT(st->heap_size == m.a.mapped && m.h.end - m.h.base == m.a.mapped);
	EXPECT(st->purged == m.a.purged && st->committed == m.a.mapped - m.a.purged);
	EXPECT(st->in_use + st->free_bytes < st->heap_size);
	EXPECT(st->peak_in_use >= st->in_use && st->peak_heap_size >= st->heap_size);
}

/* ---- operations ---------------------------------------------------------- */

static size_t decode_size(struct input *in)
{
	unsigned kind = (unsigned)take(in, 1);

	switch (kind >> 6) {
	case 0:
		return kind & 31;
	case 1:
		return take(in, 1) | (kind & 15) << 8;  /* up to 4 KiB */
	case 2:
		return take(in, 2);                     /* up to 64 KiB */
	default:
		return (take(in, 1) + 1) * 256;       /* whole pages and more */
	}
}

static size_t decode_align(struct input *in)
{
	unsigned a = (unsigned)take(in, 1);

	return a < 160 ? 0 : (size_t)1 << (a % 17);
}

/* Was a NULL deserved: the backend refused, or the region has no room left? */
static bool null_explained(size_t size, size_t align, unsigned refused_before)
{
	return m.a.refused > refused_before || m.h.limit - m.h.end < size + align + 512 + PAGE;
}

/* Allocate into an empty slot `k`; false if the heap gave NULL (explained). */
static bool alloc_into(unsigned k, size_t size, size_t align)
{
	struct slot *s = &m.slot[k];
	unsigned refused = m.a.refused;
	unsigned char *p = heap_alloc(&m.h, size, align, (const void *)(uintptr_t)(k + 1));

	trace("alloc(%zu, align %zu) -> %p in slot %u\n", size, align, (void *)p, k);
	if (!p) {
		EXPECT(null_explained(size, align, refused));
		m.failed++;
		return false;
	}
	EXPECT((uintptr_t)p % (align > HEAP_ALIGN ? align : HEAP_ALIGN) == 0);
	EXPECT((uintptr_t)p >= m.h.base && (uintptr_t)p + size <= m.h.end);
	EXPECT(!overlaps_live(p, size));
	size_t usable = heap_usable_size(&m.h, p);
	EXPECT(m.h.debug ? usable == size : usable >= size);
	*s = (struct slot){ p, size, m.next_id++ };
	fill(p, size, s->id);
	m.nlive++;
	m.requested += size;
	return true;
}

static void remember_freed(void *p)
{
	m.grave[m.ngraves++ % GRAVES] = p;
}

static void free_slot(unsigned k)
{
	struct slot *s = &m.slot[k];
	unsigned reports = m.reports;

	trace("free slot %u: %p\n", k, (void *)s->p);
	verify(s->p, s->size, s->id);
	EXPECT(heap_free(&m.h, s->p, (const void *)(uintptr_t)(k + 100)));
	EXPECT(m.reports == reports);
	remember_freed(s->p);
	m.nlive--;
	m.requested -= s->size;
	s->p = NULL;
}

/* Free `p`, which must be refused and reported once, as `e` or `alt`. */
static void expect_refused(void *p, enum heap_error e, enum heap_error alt)
{
	struct heap_stats before = m.h.stats;
	unsigned reports = m.reports;

	trace("bad free %p, expecting %s\n", p, heap_error_name(e));
	EXPECT(!heap_free(&m.h, p, NULL));
	EXPECT(m.reports == reports + 1 && (m.last_error == e || m.last_error == alt));
	m.errors[m.last_error]++;
	before.errors[m.last_error]++;
	EXPECT(memcmp(&before, &m.h.stats, sizeof(before)) == 0);
}

static void op_alloc(struct input *in)
{
	unsigned k = (unsigned)take(in, 1) % SLOTS;
	size_t size = decode_size(in), align = decode_align(in);

	if (m.slot[k].p)
		free_slot(k);
	unsigned reports = m.reports;
	alloc_into(k, size, align);
	EXPECT(m.reports == reports);
}

static void op_impossible(struct input *in)
{
	const size_t span = m.h.limit - m.h.base;
	const size_t sizes[] = { span + 1, SIZE_MAX, SIZE_MAX - 4 * PAGE, SIZE_MAX / 2,
				 span + 1 + take(in, 2) };
	size_t size = sizes[take(in, 1) % (sizeof(sizes) / sizeof(sizes[0]))];
	unsigned grows = m.a.grows;

	EXPECT(heap_alloc(&m.h, size, 0, NULL) == NULL);
	EXPECT(m.a.grows == grows);
	m.failed++;
}

static void op_free(struct input *in)
{
	unsigned k = (unsigned)take(in, 1) % SLOTS;

	if (m.slot[k].p)
		free_slot(k);
	else
		EXPECT(heap_free(&m.h, NULL, NULL));
}

/* A pointer that was freed and is no live block's start: double or invalid. */
static void stale_free(unsigned which)
{
	void *p = m.grave[which % GRAVES];

	if (!p)
		return;
	for (unsigned k = 0; k < SLOTS; k++)
		if (m.slot[k].p == p)
			return;
	expect_refused(p, HEAP_ERR_DOUBLE_FREE, HEAP_ERR_INVALID_FREE);
}

static void op_bad_free(struct input *in)
{
	unsigned kind = (unsigned)take(in, 1), k = (unsigned)take(in, 1) % SLOTS;
	unsigned r = (unsigned)take(in, 1);
	struct slot *s = &m.slot[k];
	int on_stack;

	switch (kind % 6) {
	case 0: /* interior: its header would lie inside the block's own bytes */
		if (s->p)
			expect_refused(s->p + 16 * (1 + r % (s->size / 16 > 1 ? s->size / 16 : 1)),
				       HEAP_ERR_INVALID_FREE, HEAP_ERR_INVALID_FREE);
		break;
	case 1: /* misaligned */
		if (s->p)
			expect_refused(s->p + 1 + r % 15, HEAP_ERR_INVALID_FREE,
				       HEAP_ERR_INVALID_FREE);
		break;
	case 2: { /* outside the heap */
		void *const out[] = { (void *)(m.h.end + 16 * (r % 64)),
				      (void *)(uintptr_t)(16 * (r + 1)),
				      (void *)(m.h.base - 16 * (r + 1)), &on_stack, (void *)&m };
		expect_refused(out[kind / 6 % 5], HEAP_ERR_INVALID_FREE, HEAP_ERR_INVALID_FREE);
		break;
	}
	case 3: /* free, then free again at once (if trimmed away, it is no heap pointer) */
		if (s->p) {
			void *p = s->p;
			free_slot(k);
			expect_refused(p, HEAP_ERR_DOUBLE_FREE,
				       (uintptr_t)p >= m.h.end ? HEAP_ERR_INVALID_FREE
							       : HEAP_ERR_DOUBLE_FREE);
		}
		break;
	default:
		stale_free(r);
	}
}

/* Debug mode: a byte of the red zone changed is seen by heap_check and refused by free. */
static void op_overrun(struct input *in)
{
	unsigned k = (unsigned)take(in, 1) % SLOTS, r = (unsigned)take(in, 1);
	struct slot *s = &m.slot[k];

	if (!m.h.debug || !s->p)
		return;
	unsigned char *at = s->p + s->size + r % REDZONE_MIN, saved = *at;
	*at ^= (unsigned char)(r | 1);
	EXPECT(heap_check(&m.h, NULL, 0) > 0);
	expect_refused(s->p, HEAP_ERR_OVERRUN, HEAP_ERR_OVERRUN);
	*at = saved;
}

/*
 * Free slot k and write into the freed block beyond its links: only
 * poison is hit (or, without debug mode, nothing the heap relies on).
 * In debug mode, allocations of the same size are made until one hands
 * the byte out: the write must be reported by then, once; if none does,
 * the byte is put back.  The heap must be sound afterwards.
 */
static void op_write_after_free(struct input *in)
{
	unsigned k = (unsigned)take(in, 1) % SLOTS, r = (unsigned)take(in, 2);
	struct slot *s = &m.slot[k];
	unsigned tmp[SLOTS], n = 0, reports;

	if (!s->p || s->size <= LINKS)
		return;
	unsigned char *p = s->p;
	size_t size = s->size;
	free_slot(k);
	unsigned char *at = p + LINKS + r % (size - LINKS);
	if ((uintptr_t)at + FENCE_MAX >= m.h.end || heap_page_purged(&m.h, (uintptr_t)at))
		return; /* trimmed away, the fence header is there now, or the page was purged */
	unsigned char saved = *at;
	*at ^= (unsigned char)(r >> 8 | 1);
	if (!m.h.debug)
		return;
	EXPECT(heap_check(&m.h, NULL, 0) > 0);
	reports = m.reports;
	bool covered = false;
	for (unsigned j = 0; j < SLOTS && !covered; j++) {
		if (m.slot[j].p)
			continue;
		if (!alloc_into(j, size, 0))
			break;
		tmp[n++] = j;
		covered = inside(at, &m.slot[j]);
	}
	EXPECT(m.reports <= reports + 1 && (!covered || m.reports == reports + 1));
	if (m.reports > reports) {
		EXPECT(m.last_error == HEAP_ERR_USE_AFTER_FREE);
		m.errors[HEAP_ERR_USE_AFTER_FREE]++;
	} else if (!covered) {
		*at = saved; /* never handed out: put the poison back */
	}
	for (unsigned i = 0; i < n; i++)
		free_slot(tmp[i]);
}

/* Trimming never takes the heap below `keep` (rounded up to pages), or grows it. */
static void op_trim(void)
{
	size_t floor = m.keep > PAGE ? m.keep : PAGE, size = m.h.stats.heap_size;

	heap_trim(&m.h);
	EXPECT(m.h.stats.heap_size <= size &&
	       m.h.stats.heap_size >= (size < floor ? size : floor));
}

struct census {
	unsigned n;
	uint32_t since;
	bool ok;
};

static void count_live(void *arg, const struct heap_block_info *b)
{
	struct census *c = arg;

	c->n++;
	c->ok &= b->seq >= c->since && heap_owns(&m.h, b->ptr) && b->usable >= b->requested;
}

static void op_query(struct input *in)
{
	unsigned k = (unsigned)take(in, 1) % SLOTS;
	struct slot *s = &m.slot[k];
	struct heap_block_info info;
	struct census all = { 0, 0, true };

	if (s->p) {
		EXPECT(heap_owns(&m.h, s->p) && heap_block_info(&m.h, s->p, &info));
		EXPECT(info.ptr == s->p && info.requested == s->size && info.usable >= s->size &&
		       info.caller == (const void *)(uintptr_t)(k + 1));
	}
	heap_for_each_live(&m.h, 0, count_live, &all);
	EXPECT(all.ok && all.n == m.nlive);
	heap_largest_free(&m.h);
	EXPECT(m.h.stats.largest_free <= m.h.stats.free_bytes);
}

/* ---- one input ----------------------------------------------------------- */

static unsigned char purge_map[ARENA_PAGES / 8];

static bool start(struct input *in)
{
	memset(purge_map, 0, sizeof(purge_map));
	unsigned cfg = (unsigned)take(in, 1);
	struct heap_config c = {
		.page_size = PAGE,
		.initial = (1 + take(in, 1) % 8) * PAGE,
		.grow_step = (1 + take(in, 1) % 16) * PAGE,
		.keep = take(in, 1) % 8 * PAGE + (cfg & 0x80 ? 100 : 0),
		.fit = (enum heap_fit)(cfg % 3),
		.debug = cfg & 4,
		/* purging in 3 of 4 heaps, from 1..3 pages, keeping 0 or 4 pages,
		 * in half of them also 10% above the peak in use */
		.purge_min = (cfg >> 3 & 3) * PAGE,
		.purge_keep = cfg & 0x40 ? 4 * PAGE : 0,
		.purge_map = purge_map,
		.purge_peak_pct = cfg & 0x20 ? 10 : 0,
	};
	size_t limit = (16 + take(in, 1) % 64 * 16) * PAGE;
	unsigned budget = (unsigned)take(in, 1) % 16;
	unsigned extra = (unsigned)take(in, 1);
	c.split_min = extra % 4 * 1500; /* rests below it stay with the block */
	/* in half the heaps a peak that sinks within a few frees, so that a
	 * short input sees it move (the default takes two million) */
	c.purge_decay = extra / 4 % 2 ? 1 + extra / 8 % 12 : 0;

	trace("heap: %s%s, initial %zu, step %zu, keep %zu, limit %zu, %u grows allowed, "
	      "purge from %zu keeping %zu or %u%% over the peak (decay %u), split from %zu\n",
	      (const char *[]){ "first fit", "next fit", "best fit" }[c.fit],
	      c.debug ? ", debug" : "", c.initial, c.grow_step, c.keep, limit, budget, c.purge_min,
	      c.purge_keep, c.purge_peak_pct, c.purge_decay, c.split_min);
	memset(&m, 0, sizeof(m));
	m.keep = (c.keep + PAGE - 1) / PAGE * PAGE;
	m.a.reserve = limit;
	m.a.base = mmap(NULL, limit, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	EXPECT(m.a.base != MAP_FAILED);
	m.a.limited = budget != 0;
	m.a.grows_left = budget;
	struct heap_backend backend = { arena_grow, arena_shrink, &m.a, arena_commit, arena_decommit };
	if (!heap_init(&m.h, (uintptr_t)m.a.base, (uintptr_t)m.a.base + limit, &c, &backend)) {
		EXPECT(c.initial > limit || m.a.refused);
		return false;
	}
	m.h.report = on_report;
	return true;
}

static void run_op(struct input *in)
{
	switch (take(in, 1) % 10) {
	case 0: case 1: case 2: op_alloc(in); break;
	case 3: case 4:         op_free(in); break;
	case 5:                 op_bad_free(in); break;
	case 6:                 op_overrun(in); break;
	case 7:                 op_write_after_free(in); break;
	case 8:                 take(in, 1) % 4 ? op_query(in) : op_trim(); break;
	default:                op_impossible(in); break;
	}
}

/* Everything freed: the heap is empty, and trimming takes it down to `keep`. */
static void finish(void)
{
	verify_all();
	for (unsigned k = 0; k < SLOTS; k++)
		if (m.slot[k].p)
			free_slot(k);
	check_everything();
	EXPECT(m.h.stats.in_use == 0 && m.h.stats.free_blocks == 1);
	size_t floor = m.keep > PAGE ? m.keep : PAGE, size = m.h.stats.heap_size;
	unsigned refused = m.a.refused;
	heap_trim(&m.h);
	/* A trim whose new top page was purged needs it back: refused, no trim. */
	EXPECT(m.h.stats.heap_size == (size > floor ? floor : size) ||
	       (m.a.refused > refused && m.h.stats.heap_size == size));
	check_everything();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	if (start(&in)) {
		check_everything();
		while (in.left) {
			run_op(&in);
			check_everything();
			if (++m.ops % 32 == 0)
				verify_all();
		}
		finish();
	}
	munmap(m.a.base, m.a.reserve);
	return 0;
}
