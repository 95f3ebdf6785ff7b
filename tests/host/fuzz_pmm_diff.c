/*
 * fuzz_pmm_diff.c - libFuzzer target: the hbitmap allocator against the
 * bitmap reference.
 *
 * The fuzzer picks the machine and the calls.  The first bytes describe a
 * map (up to four ranges below 64 MiB, with holes between them), up to four
 * reservations and the moment the index is attached (before or after the
 * reservations, or after some operation); the rest is a sequence of 4-byte
 * operations -- alloc, free, and their contiguous forms with shapes from
 * single frames to 4 MiB blocks, alignments past the largest order, and
 * addresses and lengths that are often wrong on purpose.
 *
 * Every call goes to both twins.  After each one: the same result, the same
 * number of warnings, identical statistics, bitmaps and hints, and the index
 * passes its self-check against its bitmap.  The target also keeps which
 * frames it holds: an allocation must return frames it does not hold, in
 * usable RAM, outside every reservation, and a free must succeed exactly
 * when it holds every frame.  Any disagreement traps.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "mm/mm_log.h"
#include "mm/pmm.h"

static unsigned warnings;

void mm_warn(const char *fmt, ...)
{
	(void)fmt;
	warnings++;
}

#define MAX_FRAMES 16384 /* 64 MiB */
#define MAX_RUNS 1024

static struct memmap map;
static struct pmm ref, hb;
static uint32_t ref_bits[MAX_FRAMES / 32], hb_bits[MAX_FRAMES / 32];
static uint32_t hb_index[MAX_FRAMES / 64]; /* half a bit per frame: more than enough */

static uint8_t held[MAX_FRAMES];
static uint32_t nheld;
static struct {
	paddr_t start;
	uint32_t count;
} runs[MAX_RUNS];
static unsigned nruns;

/* Evaluate `call` (using `pmm_`) on both twins: same result, same number of warnings. */
#define TWIN(type, call)                                                   \
	({                                                                 \
		unsigned before_ = warnings;                               \
		struct pmm *pmm_ = &ref;                                   \
		type ref_result_ = (call);                                 \
		unsigned ref_warnings_ = warnings - before_;               \
		pmm_ = &hb;                                                \
		type hb_result_ = (call);                                  \
		EXPECT(hb_result_ == ref_result_);                         \
		EXPECT(warnings - before_ == 2 * ref_warnings_);           \
		ref_result_;                                               \
	})

static void attach(void)
{
	EXPECT(pmm_index_bytes(&map) <= sizeof(hb_index));
	EXPECT(pmm_attach_index(&hb, hb_index, sizeof(hb_index)) == PMM_OK);
}

/* ---- building the machine -------------------------------------------------------- */

/* Up to four ranges, in order, with holes of at least one frame between them. */
static bool build_map(struct input *in)
{
	unsigned n = 1 + take(in, 1) % 4;
	uint32_t at = take(in, 1) % 2 ? 0 : take(in, 2) % 512;

	memmap_init(&map);
	for (unsigned i = 0; i < n; i++) {
		uint32_t start = at + (i ? 1 + take(in, 2) % 2048 : 0);
		uint32_t len = 1 + take(in, 2) % 8192;
		if (start + len > MAX_FRAMES)
			break;
		memmap_add(&map, (uint64_t)start << FRAME_SHIFT, (uint64_t)len << FRAME_SHIFT,
			   MB_MEMORY_AVAILABLE);
		at = start + len;
	}
	memmap_normalize(&map);
	return map.count > 0;
}

static void reserve_some(struct input *in)
{
	for (unsigned n = take(in, 1) % 5; n > 0; n--) {
		uint64_t start = (uint64_t)(take(in, 2) % (MAX_FRAMES + 64)) << FRAME_SHIFT |
				 take(in, 1) << 4;
		uint64_t end = start + 1 + take(in, 2) * 64ull;
		EXPECT(TWIN(enum pmm_result, pmm_reserve(pmm_, start, end, "fuzz")) == PMM_OK);
	}
}

/* ---- operations ------------------------------------------------------------------ */

static void received(paddr_t start, uint32_t count)
{
	for (uint32_t f = start >> FRAME_SHIFT; f < (start >> FRAME_SHIFT) + count; f++) {
		uint64_t a = (uint64_t)f << FRAME_SHIFT;
		EXPECT(f < ref.nframes && !held[f]);
		EXPECT(memmap_is_usable(&map, a) && !pmm_reservation_at(&ref, a));
		held[f] = 1;
	}
	nheld += count;
	if (nruns < MAX_RUNS) {
		runs[nruns].start = start;
		runs[nruns++].count = count;
	}
}

static bool holds(paddr_t start, uint32_t count)
{
	uint64_t first = start >> FRAME_SHIFT;

	if (count == 0 || start % FRAME_SIZE || first + count > ref.nframes)
		return false;
	for (uint64_t f = first; f < first + count; f++)
		if (!held[f])
			return false;
	return true;
}

/* A free must succeed exactly when every frame of it is held. */
static void give(paddr_t start, uint32_t count, bool single_call)
{
	bool ours = holds(start, count);
	enum pmm_result got = single_call ? TWIN(enum pmm_result, pmm_free(pmm_, start))
					  : TWIN(enum pmm_result, pmm_free_contig(pmm_, start, count));

	EXPECT(ours == (got == PMM_OK));
	if (!ours)
		return;
	memset(held + (start >> FRAME_SHIFT), 0, count);
	nheld -= count;
}

static void op_alloc(void)
{
	paddr_t f = TWIN(paddr_t, pmm_alloc(pmm_));

	if (f)
		received(f, 1);
}

static void op_alloc_contig(uint32_t arg)
{
	static const uint32_t odd_aligns[] = { 0, 3, 5, 24, 1000, 0x80000001u };
	uint32_t count, align;

	if (arg & 0x80) { /* one block of order 0..10, or a refused shape */
		count = align = 1u << (arg % 11);
		if ((arg & 0x700) == 0x700)
			align = odd_aligns[(arg >> 11) % 6];
	} else {
		count = arg & 0x40 ? 1 + (arg >> 8) % 2100 : 1 + (arg >> 8) % 40;
		align = 1u << (arg % 14);
		if ((arg >> 20) == 0xF)
			count = (arg & 1) ? 0 : ref.stats.total_frames + 1;
	}
	paddr_t got = TWIN(paddr_t, pmm_alloc_contig(pmm_, count, align));
	if (got) {
		EXPECT((got >> FRAME_SHIFT) % align == 0);
		received(got, count);
	}
}

static paddr_t pick_address(uint32_t arg)
{
	paddr_t a;

	if (arg & 1 && nruns)
		a = runs[(arg >> 8) % nruns].start + ((arg >> 1) % 4) * FRAME_SIZE;
	else
		a = ((arg >> 8) % (ref.nframes + 64)) << FRAME_SHIFT;
	if (arg & 0x80)
		a += (arg >> 2 & 0x1f) * 128 + 1; /* misaligned */
	return a;
}

/* Something handed out earlier: as it was, or one frame longer. */
static void op_give_back(uint32_t arg)
{
	if (!nruns) {
		op_alloc();
		return;
	}
	unsigned i = arg % nruns;
	paddr_t start = runs[i].start;
	uint32_t count = runs[i].count + ((arg >> 12) % 8 == 0);

	runs[i] = runs[--nruns];
	give(start, count, count == 1 && arg & 0x100);
}

static void run_op(uint8_t code, uint32_t arg)
{
	switch (code % 8) {
	case 0:
	case 1:
		op_alloc();
		break;
	case 2:
	case 3:
		op_alloc_contig(arg);
		break;
	case 4:
	case 5:
		op_give_back(arg);
		break;
	case 6:
		give(pick_address(arg), 1, true);
		break;
	default:
		give(pick_address(arg), (arg >> 16) % 64 == 63 ? ref.nframes + 1 : (arg >> 16) % 40,
		     false);
		break;
	}
}

static void check_twins(void)
{
	EXPECT(!memcmp(&ref.stats, &hb.stats, sizeof(ref.stats)));
	EXPECT(!memcmp(ref_bits, hb_bits, ref.nwords * sizeof(uint32_t)));
	EXPECT(ref.hint == hb.hint);
	EXPECT(pmm_index_agrees(&hb));
	EXPECT(ref.stats.used_frames == nheld);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	memset(held, 0, sizeof(held));
	nheld = nruns = 0;
	if (!build_map(&in))
		return 0;
	unsigned attach_at = take(&in, 1); /* 0: before reservations, 1: after, n: before op n */
	EXPECT(pmm_init(&ref, &map, ref_bits, pmm_bitmap_bytes(&map)) == PMM_OK);
	EXPECT(pmm_init(&hb, &map, hb_bits, pmm_bitmap_bytes(&map)) == PMM_OK);
	if (attach_at == 0)
		attach();
	reserve_some(&in);
	if (attach_at == 1)
		attach();
	check_twins();
	for (unsigned n = 2; in.left >= 4; n++) {
		if (n == attach_at)
			attach();
		uint8_t code = (uint8_t)take(&in, 1);
		run_op(code, take(&in, 3));
		check_twins();
	}
	return 0;
}
