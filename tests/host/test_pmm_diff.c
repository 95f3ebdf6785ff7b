/*
 * test_pmm_diff.c - the hbitmap allocator against the bitmap reference.
 *
 * Both allocators promise the same policy (pmm.c), so the test is strict:
 * twin PMMs over one map, one of them indexed, receive the same calls, and
 * after every call they must have returned the same thing, printed the same
 * warning, counted the same statistics and left identical bitmaps and
 * hints, and the index must pass its self-check against its bitmap.  On top
 * of that the test keeps its own record of the frames it holds and checks
 * the promises of pmm.h directly: no frame handed out twice, none outside
 * usable RAM or inside a reservation, a free succeeds exactly when every
 * frame of it is held, and the counts agree with the record.
 *
 * The randomized test runs seeded sequences over random maps with holes and
 * reservations, attaching the index at a random moment (before, between or
 * after the reservations, or after some allocations).  The directed tests
 * cover what random maps rarely reach: a whole 4 GiB map in its worst state,
 * every block order to exhaustion, blocks cut by the top of memory,
 * alignments beyond the largest order, the storage size, refusals, and a
 * corrupted index that the self-check must catch.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mm/pmm.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIB 0x100000ull
#define MAX_FRAMES (1u << 20)
/*
 * pmm_index_words(2^20): orders 0..5 and `fresh` have a bit per bitmap word,
 * 32768 bits = 1024 words plus 32 + 1 summary words each; orders 6..10 a
 * bit per 1024 frames, 32 words plus 1: 7 * 1057 + 5 * 33 = 7564 words,
 * 29.5 KiB.
 */
#define INDEX_WORDS_4G 7564u
#define FRAME(addr) ((uint32_t)((addr) >> FRAME_SHIFT))

static uint64_t rng_state;

/* splitmix64: small, and the same on every host. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* ---- the twins and the record -------------------------------------------------- */

static struct memmap map;
static struct pmm ref, hb;
static uint32_t ref_bits[MAX_FRAMES / 32], hb_bits[MAX_FRAMES / 32];
static uint32_t hb_index[INDEX_WORDS_4G];

struct run {
	paddr_t start;
	uint32_t count;
};

/* What the test holds: exactly the frames the twins call allocated. */
static struct {
	uint8_t held[MAX_FRAMES];
	uint32_t nheld;
	struct run runs[4096]; /* to give back; may go stale, which is fine */
	unsigned nruns;
} rec;

static void one_range_map(uint64_t start, uint64_t end)
{
	memmap_init(&map);
	memmap_add(&map, start, end - start, MB_MEMORY_AVAILABLE);
	memmap_normalize(&map);
}

static void attach(void)
{
	CHECK_EQ(pmm_attach_index(&hb, hb_index, pmm_index_bytes(&map)), PMM_OK);
}

/* Both twins over `map`, the index attached now or later by the caller. */
static void start_twins(bool attach_now)
{
	memset(&rec, 0, sizeof(rec));
	CHECK_EQ(pmm_init(&ref, &map, ref_bits, pmm_bitmap_bytes(&map)), PMM_OK);
	CHECK_EQ(pmm_init(&hb, &map, hb_bits, pmm_bitmap_bytes(&map)), PMM_OK);
	if (attach_now)
		attach();
}

/* The twins agree with each other, the index with its bitmap, the counts with the record. */
static void check_twins(void)
{
	CHECK(!memcmp(&ref.stats, &hb.stats, sizeof(ref.stats)),
	      "stats differ: free %u/%u, used %u/%u, reserved %u/%u, exhausted %u/%u",
	      ref.stats.free_frames, hb.stats.free_frames, ref.stats.used_frames,
	      hb.stats.used_frames, ref.stats.reserved_frames, hb.stats.reserved_frames,
	      ref.stats.exhausted, hb.stats.exhausted);
	CHECK(!memcmp(ref.bitmap, hb.bitmap, ref.nwords * sizeof(uint32_t)), "bitmaps differ");
	CHECK_EQ(hb.hint, ref.hint);
	CHECK(pmm_index_agrees(&hb), "the index disagrees with the bitmap");
	CHECK_EQ(ref.stats.used_frames, rec.nheld);
	CHECK_EQ(ref.stats.free_frames + ref.stats.used_frames + ref.stats.reserved_frames,
		 ref.stats.total_frames);
}

/*
 * Evaluate `call` (an expression using `pmm_`) on the reference, then on the
 * indexed twin: the results, the number of warnings and the last warning
 * must be the same.  Yields the result.
 */
#define TWIN(type, call)                                                                   \
	({                                                                                 \
		char ref_warning_[256];                                                    \
		unsigned before_ = warnings_seen();                                        \
		struct pmm *pmm_ = &ref;                                                   \
		type ref_result_ = (call);                                                 \
		unsigned ref_warnings_ = warnings_seen() - before_;                       \
		snprintf(ref_warning_, sizeof(ref_warning_), "%s", last_warning());        \
		pmm_ = &hb;                                                                \
		type hb_result_ = (call);                                                  \
		CHECK_EQ(hb_result_, ref_result_);                                         \
		CHECK_EQ(warnings_seen() - before_ - ref_warnings_, ref_warnings_);       \
		CHECK(!strcmp(ref_warning_, last_warning()), "warnings differ: \"%s\", \"%s\"", \
		      ref_warning_, last_warning());                                       \
		ref_result_;                                                               \
	})

/* A run just handed out: aligned, each frame new to us, RAM, not reserved. */
static void received(paddr_t start, uint32_t count, uint32_t align)
{
	CHECK(FRAME(start) % align == 0, "run 0x%x not aligned to %u frames", (unsigned)start,
	      (unsigned)align);
	for (uint32_t f = FRAME(start); f < FRAME(start) + count; f++) {
		uint64_t a = (uint64_t)f << FRAME_SHIFT;
		CHECK(f < ref.nframes, "frame 0x%llx is past the top", (unsigned long long)a);
		CHECK(!rec.held[f], "frame 0x%llx handed out twice", (unsigned long long)a);
		CHECK(memmap_is_usable(&map, a), "frame 0x%llx is not RAM", (unsigned long long)a);
		CHECK(!pmm_reservation_at(&ref, a), "frame 0x%llx is reserved",
		      (unsigned long long)a);
		rec.held[f] = 1;
	}
	rec.nheld += count;
	if (rec.nruns < ARRAY_SIZE(rec.runs))
		rec.runs[rec.nruns++] = (struct run){ start, count };
}

/* Does the test hold every frame of [start, start + count)?  (then a free must succeed) */
static bool holds(uint64_t start, uint32_t count)
{
	if (start % FRAME_SIZE || FRAME(start) + (uint64_t)count > ref.nframes)
		return false;
	for (uint32_t f = FRAME(start); f < FRAME(start) + count; f++)
		if (!rec.held[f])
			return false;
	return true;
}

/* Free [start, start + count) on both twins; it must succeed exactly when we hold it all. */
static void give(paddr_t start, uint32_t count, bool single_call)
{
	bool ours = count && holds(start, count);
	enum pmm_result got = single_call ? TWIN(enum pmm_result, pmm_free(pmm_, start))
					  : TWIN(enum pmm_result, pmm_free_contig(pmm_, start, count));

	CHECK(ours == (got == PMM_OK), "freeing 0x%x (%u frames): %s, but the test %s it",
	      (unsigned)start, (unsigned)count, pmm_result_name(got), ours ? "holds" : "does not hold");
	if (!ours)
		return;
	for (uint32_t f = FRAME(start); f < FRAME(start) + count; f++)
		rec.held[f] = 0;
	rec.nheld -= count;
}

/* ---- random operations ----------------------------------------------------------- */

static void op_alloc(void)
{
	paddr_t f = TWIN(paddr_t, pmm_alloc(pmm_));

	if (f)
		received(f, 1, 1);
}

static void op_alloc_contig(void)
{
	static const uint32_t bad_align[] = { 0, 3, 12, 0x80000001u };
	uint32_t count, align;

	switch (rnd_below(10)) {
	case 0: /* refused */
		count = rnd_below(2) ? 0 : ref.stats.total_frames + 1;
		align = rnd_below(2) ? 1 : bad_align[rnd_below(ARRAY_SIZE(bad_align))];
		break;
	case 1: /* alignment beyond the index's largest order */
		count = 1 + rnd_below(3000);
		align = 2048u << rnd_below(3);
		break;
	case 2:
	case 3:
	case 4: /* any length, any power-of-two alignment */
		count = 1 + rnd_below(rnd_below(2) ? 40 : 2100);
		align = 1u << rnd_below(12);
		break;
	default: /* a block of one order, the shape the index answers directly */
		align = count = 1u << rnd_below(PMM_ORDERS);
		break;
	}
	paddr_t got = TWIN(paddr_t, pmm_alloc_contig(pmm_, count, align));
	if (got)
		received(got, count, align);
}

/* Something handed out before, as it was, or one frame longer (often refused). */
static void op_give_back(void)
{
	if (!rec.nruns) {
		op_alloc();
		return;
	}
	unsigned i = rnd_below(rec.nruns);
	struct run r = rec.runs[i];

	rec.runs[i] = rec.runs[--rec.nruns];
	if (rnd_below(8) == 0)
		r.count++;
	give(r.start, r.count, r.count == 1 && rnd_below(2));
}

/* Anywhere, mostly wrong: misaligned, holes, reservations, free frames, past the top. */
static void op_free_anywhere(void)
{
	uint64_t top = (uint64_t)ref.nframes << FRAME_SHIFT;
	paddr_t a = (paddr_t)(rnd() % (top + 64 * FRAME_SIZE));

	if (rnd_below(4))
		a &= ~(FRAME_SIZE - 1);
	if (rnd_below(2))
		give(a, 1, true);
	else
		give(a, rnd_below(16) ? 1 + rnd_below(40) : rnd_below(ref.nframes + 2), false);
}

static const struct check_op ops[] = {
	{ "alloc", op_alloc, 60, 15 },
	{ "alloc_contig", op_alloc_contig, 20, 5 },
	{ "give back", op_give_back, 10, 70 },
	{ "free anywhere", op_free_anywhere, 10, 10 },
};

/* ---- random maps ------------------------------------------------------------------ */

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* k ranges with distinct edges below `top` frames, handed over in random order. */
static void random_map(uint32_t top)
{
	enum { MAX_RANGES = 6 };
	uint32_t edge[2 * MAX_RANGES];
	unsigned k = 1 + rnd_below(MAX_RANGES);
	bool distinct = false;

	while (!distinct) {
		for (unsigned i = 0; i < 2 * k; i++)
			edge[i] = rnd_below(top + 1);
		if (rnd_below(2))
			edge[0] = 0;
		qsort(edge, 2 * k, sizeof(*edge), compare_u32);
		distinct = true;
		for (unsigned i = 1; i < 2 * k; i++)
			distinct &= edge[i] != edge[i - 1];
	}
	memmap_init(&map);
	for (unsigned n = 0, r = rnd_below(k); n < k; n++, r = (r + 1) % k)
		memmap_add(&map, (uint64_t)edge[2 * r] << FRAME_SHIFT,
			   (uint64_t)(edge[2 * r + 1] - edge[2 * r]) << FRAME_SHIFT,
			   MB_MEMORY_AVAILABLE);
	memmap_normalize(&map);
}

static void random_reservations(void)
{
	for (unsigned n = rnd_below(6); n > 0 && !check_failed; n--) {
		uint64_t start = rnd() % (((uint64_t)ref.nframes + 64) << FRAME_SHIFT);
		uint64_t end = start + 1 + rnd_below(rnd_below(2) ? 64 * 1024 : 8 * MIB);
		CHECK_EQ(TWIN(enum pmm_result, pmm_reserve(pmm_, start, end, "random")), PMM_OK);
	}
}

/*
 * One map and `nops` operations in fill and drain phases; the index is
 * attached at a random moment.  Full checks every `every` operations.
 */
static void diff_run(uint64_t seed, uint32_t top, unsigned nops, unsigned every)
{
	unsigned attach_at = rnd_below(4) ? 0 : 1 + rnd_below(nops / 2);
	bool filling = false;
	unsigned phase_left = 0;

	rng_state = seed;
	random_map(top);
	if (map.count == 0)
		return;
	start_twins(attach_at == 0 && rnd_below(2));
	if (!hb.indexed && attach_at == 0 && !check_failed) {
		random_reservations();
		attach();
	}
	if (!check_failed && hb.indexed)
		random_reservations();
	for (unsigned n = 1; n <= nops && !check_failed; n++) {
		if (phase_left-- == 0) {
			filling = !filling;
			phase_left = 200 + rnd_below(4 * top);
		}
		if (n == attach_at)
			attach();
		const struct check_op *op = check_pick_op(ops, ARRAY_SIZE(ops), filling);
		op->fn();
		if (!check_failed && (n % every == 0 || n == nops))
			check_twins();
		if (check_failed)
			printf("# seed 0x%llx, top %u frames, operation %u (%s), index attached %s\n",
			       (unsigned long long)seed, (unsigned)top, n, op->name,
			       hb.indexed ? "yes" : "not yet");
	}
}

static void random_sequences_agree(void)
{
	enum { MAPS = 48, OPS = 6000 };

	for (unsigned i = 0; i < MAPS && !check_failed; i++) {
		rng_state = 0xd1ff0000u + i;
		uint32_t top = (1024u << rnd_below(5)) + rnd_below(3000);
		diff_run(0xd1ff0000u + i, top, OPS, 1);
	}
}

/* Few, long runs over large maps (up to 4 GiB), checked less often. */
static void random_sequences_large_maps(void)
{
	static const uint32_t tops[] = { 1u << 18, (1u << 20) - 1, 1u << 20 };

	for (unsigned i = 0; i < ARRAY_SIZE(tops) && !check_failed; i++)
		diff_run(0x1a26e000u + i, tops[i], 40000, 5000);
}

/* ---- directed tests ---------------------------------------------------------------- */

static void index_storage_size(void)
{
	struct memmap empty;

	one_range_map(0, 4 * 1024 * MIB);
	CHECK_EQ(pmm_index_bytes(&map), INDEX_WORDS_4G * 4);
	CHECK_EQ(pmm_bitmap_bytes(&map), 128 * 1024);
	one_range_map(0, 16 * MIB);
	CHECK(pmm_index_bytes(&map) > 0 && pmm_index_bytes(&map) < 200,
	      "16 MiB: %zu bytes of index", pmm_index_bytes(&map));
	memmap_init(&empty);
	memmap_normalize(&empty);
	CHECK_EQ(pmm_index_bytes(&empty), 0);
}

static void attach_refusals(void)
{
	struct pmm never = { 0 };

	one_range_map(0, 64 * MIB);
	start_twins(false);
	CHECK_EQ(pmm_attach_index(&hb, hb_index, pmm_index_bytes(&map) - 4), PMM_EINVAL);
	CHECK_WARNED("index storage too small");
	CHECK(!hb.indexed, "a refused attach switched allocators");
	CHECK(!strcmp(pmm_allocator_name(&hb), "bitmap"), "name %s", pmm_allocator_name(&hb));
	CHECK_EQ(pmm_attach_index(&never, hb_index, sizeof(hb_index)), PMM_EINVAL);
	CHECK_WARNED("no bitmap to index");
	attach();
	CHECK(!strcmp(pmm_allocator_name(&hb), "hbitmap"), "name %s", pmm_allocator_name(&hb));
	check_twins();
}

/* Fill every frame of 4 GiB, then free+alloc pairs with one frame free: the worst case. */
static void whole_4g_full_minus_one(void)
{
	one_range_map(0, 4 * 1024 * MIB);
	start_twins(true);
	for (uint32_t i = 0; i < ref.stats.total_frames - ref.stats.reserved_frames; i++) {
		paddr_t f = TWIN(paddr_t, pmm_alloc(pmm_));
		CHECK(f == (PMM_LOW_MEMORY_END + (paddr_t)i * FRAME_SIZE), "fill: 0x%x at step %u",
		      (unsigned)f, (unsigned)i);
	}
	CHECK_EQ(TWIN(paddr_t, pmm_alloc(pmm_)), 0);
	rng_state = 0x4611;
	for (unsigned i = 0; i < 3000 && !check_failed; i++) {
		paddr_t victim = (paddr_t)(256 + rnd_below(MAX_FRAMES - 256)) << FRAME_SHIFT;
		CHECK_EQ(TWIN(enum pmm_result, pmm_free(pmm_, victim)), PMM_OK);
		CHECK_EQ(TWIN(paddr_t, pmm_alloc(pmm_)), victim);
	}
	CHECK(pmm_index_agrees(&hb), "the index disagrees with the bitmap");
	CHECK_EQ(TWIN(enum pmm_result, pmm_free(pmm_, 0xfffff000)), PMM_OK);
	CHECK_EQ(TWIN(paddr_t, pmm_alloc_contig(pmm_, 1, 1)), 0xfffff000);
	CHECK_EQ(TWIN(paddr_t, pmm_alloc_contig(pmm_, 1, 1)), 0);
}

/* Every order to exhaustion on a QEMU-like map, then give the blocks back. */
static void every_order_to_exhaustion(void)
{
	memmap_init(&map);
	memmap_add(&map, 0, 0x9fc00, MB_MEMORY_AVAILABLE);
	memmap_add(&map, MIB, 0x7ee0000 - 0x17000, MB_MEMORY_AVAILABLE); /* odd top */
	memmap_normalize(&map);
	start_twins(true);
	CHECK_EQ(TWIN(enum pmm_result, pmm_reserve(pmm_, MIB, MIB + 0x123456, "kernel")), PMM_OK);
	for (unsigned k = PMM_ORDERS; k-- > 0 && !check_failed;) {
		paddr_t got;
		unsigned n = 0;
		while ((got = TWIN(paddr_t, pmm_alloc_contig(pmm_, 1u << k, 1u << k))) != 0) {
			received(got, 1u << k, 1u << k);
			n++;
		}
		printf("# order %2u: %u blocks\n", k, n);
		check_twins();
	}
	CHECK_EQ(ref.stats.free_frames, 0);
	while (rec.nruns && !check_failed)
		op_give_back();
	check_twins();
}

/* The last blocks of each order are cut by the top of memory: never handed out. */
static void blocks_cut_by_the_top(void)
{
	static const uint32_t tops[] = { 1024 + 1, 2048 + 511, 4096 - 1, 3 * 1024 + 33 };

	for (unsigned i = 0; i < ARRAY_SIZE(tops) && !check_failed; i++) {
		one_range_map(0, (uint64_t)tops[i] << FRAME_SHIFT);
		start_twins(true);
		for (unsigned k = 0; k < PMM_ORDERS && !check_failed; k++) {
			uint32_t size = 1u << k, fits = tops[i] / size;
			uint32_t first_free = (256 + size - 1) / size; /* the first MiB is reserved */
			paddr_t got = TWIN(paddr_t, pmm_alloc_contig(pmm_, size, size));
			CHECK_EQ(got, first_free < fits ? (paddr_t)first_free * size * FRAME_SIZE : 0);
			if (got)
				CHECK_EQ(TWIN(enum pmm_result, pmm_free_contig(pmm_, got, size)), PMM_OK);
			/* The highest block that fits wholly below the top, found from there. */
			pmm_index_refresh(&hb.index);
			uint32_t at = pmm_index_find(&hb.index, k, (fits - 1) * size);
			CHECK_EQ(at, fits - 1 >= first_free ? (fits - 1) * size : PMM_INDEX_NONE);
			CHECK_EQ(pmm_index_find(&hb.index, k, fits * size), PMM_INDEX_NONE);
		}
		check_twins();
	}
}

/* Runs whose alignment is beyond order 10, and lengths between the orders. */
static void large_alignments_and_odd_lengths(void)
{
	static const struct { uint32_t count, align; } req[] = {
		{ 1024, 2048 }, { 1, 4096 }, { 3000, 2048 }, { 1025, 1 }, { 1023, 1024 },
		{ 3, 1 }, { 5, 2 }, { 2047, 4 }, { 4096, 8192 },
	};

	one_range_map(0, 256 * MIB);
	start_twins(true);
	/* Chop memory: keep one frame in every 700, so odd lengths have to search. */
	for (paddr_t f; (f = TWIN(paddr_t, pmm_alloc(pmm_))) != 0;)
		if (FRAME(f) % 700 == 0)
			received(f, 1, 1);
	for (uint32_t f = 256; f < ref.nframes && !check_failed; f++)
		if (f % 700)
			CHECK_EQ(TWIN(enum pmm_result, pmm_free(pmm_, f << FRAME_SHIFT)), PMM_OK);
	check_twins();
	for (unsigned i = 0; i < ARRAY_SIZE(req) && !check_failed; i++) {
		paddr_t got = TWIN(paddr_t, pmm_alloc_contig(pmm_, req[i].count, req[i].align));
		if (got)
			received(got, req[i].count, req[i].align);
		check_twins();
	}
	CHECK(rec.nheld > 0, "nothing was found");
}

/* Attached to a PMM already in use: the index is built from the bitmap as it stands. */
static void attach_late(void)
{
	one_range_map(0, 32 * MIB);
	start_twins(false);
	rng_state = 0x1a7e;
	for (unsigned i = 0; i < 3000 && !check_failed; i++)
		(rnd_below(3) ? op_alloc : op_give_back)();
	attach();
	check_twins();
	for (unsigned i = 0; i < 3000 && !check_failed; i++) {
		(rnd_below(2) ? op_alloc_contig : op_give_back)();
		check_twins();
	}
}

/* The self-check catches a wrong bit at any order and any level of its hbitmap. */
static void self_check_catches_corruption(void)
{
	one_range_map(0, 64 * MIB);
	start_twins(true);
	for (unsigned k = 0; k < PMM_ORDERS && !check_failed; k++) {
		struct hbitmap *h = &hb.index.order[k];
		for (unsigned l = 0; l < h->nlevels; l++) {
			h->level[l][0] ^= 1u << 7;
			CHECK(!pmm_index_agrees(&hb), "order %u level %u: a flipped bit went unnoticed",
			      k, l);
			h->level[l][0] ^= 1u << 7;
			CHECK(pmm_index_agrees(&hb), "order %u level %u: restored, still wrong", k, l);
		}
	}
}

int main(void)
{
	RUN(index_storage_size);
	RUN(attach_refusals);
	RUN(whole_4g_full_minus_one);
	RUN(every_order_to_exhaustion);
	RUN(blocks_cut_by_the_top);
	RUN(large_alignments_and_odd_lengths);
	RUN(attach_late);
	RUN(self_check_catches_corruption);
	RUN(random_sequences_agree);
	RUN(random_sequences_large_maps);
	return check_done();
}
