/*
 * fuzz_pmm.c - libFuzzer target for the bitmap frame allocator.
 *
 * The fuzzer picks the machine and the calls: the first bytes describe a
 * small map (up to four ranges below 64 MiB) and a few reservations, the
 * rest is a sequence of 4-byte operations -- alloc, free and their
 * contiguous forms, with addresses and sizes that are often wrong on
 * purpose.  A model with one state per frame predicts every result: which
 * frame first fit must return, why a free must be refused, what every
 * counter must read.  After each operation the counters, the warning count,
 * the touched frames and (for refused calls) the whole bitmap are compared;
 * at the end every frame is.  Any disagreement traps.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
#define SLACK 64         /* frames past the top the model also answers for */
#define MAX_REMEMBERED 4096

static struct memmap map;
static struct pmm pmm;
static uint32_t bitmap[MAX_FRAMES / 32];
static uint32_t saved[MAX_FRAMES / 32];

/* ---- the model ----------------------------------------------------------- */

static uint8_t state[MAX_FRAMES + SLACK]; /* enum pmm_frame_state */
static struct pmm_stats want;
static paddr_t remembered[MAX_REMEMBERED]; /* starts of things handed out */
static uint32_t remembered_count[MAX_REMEMBERED];
static unsigned nremembered;

static enum pmm_frame_state model_state(uint64_t addr)
{
	return addr >> FRAME_SHIFT < pmm.nframes ? state[addr >> FRAME_SHIFT] : FRAME_HOLE;
}

static uint32_t *counter_of(uint8_t s)
{
	return s == FRAME_FREE ? &want.free_frames
	       : s == FRAME_ALLOCATED ? &want.used_frames : &want.reserved_frames;
}

static void model_move(uint32_t first, uint32_t count, enum pmm_frame_state to)
{
	for (uint32_t f = first; f < first + count; f++) {
		EXPECT(state[f] != FRAME_HOLE);
		(*counter_of(state[f]))--;
		(*counter_of(to))++;
		state[f] = to;
	}
}

static enum pmm_result free_result(uint64_t addr)
{
	if (addr % FRAME_SIZE)
		return PMM_EALIGN;
	static const enum pmm_result by_state[] = {
		[FRAME_FREE] = PMM_EDOUBLE, [FRAME_ALLOCATED] = PMM_OK,
		[FRAME_RESERVED] = PMM_ERESERVED, [FRAME_HOLE] = PMM_ERANGE,
	};
	return by_state[model_state(addr)];
}

static void refused(enum pmm_result why)
{
	uint32_t *c = why == PMM_EALIGN      ? &want.misaligned
		      : why == PMM_ERANGE    ? &want.out_of_range
		      : why == PMM_ERESERVED ? &want.reserved_frees
		      : why == PMM_EDOUBLE   ? &want.double_frees
					     : &want.bad_requests;
	(*c)++;
}

static void remember(paddr_t start, uint32_t count)
{
	if (nremembered < MAX_REMEMBERED) {
		remembered[nremembered] = start;
		remembered_count[nremembered++] = count;
	}
}

/* ---- building the machine ------------------------------------------------ */

/* Up to four ranges, in order, separated by at least one frame. */
static bool build_map(struct input *in)
{
	unsigned n = 1 + take(in, 1) % 4;
	uint32_t at = take(in, 1) % 2 ? 0 : take(in, 2) % 512;

	memmap_init(&map);
	memset(state, FRAME_HOLE, sizeof(state));
	for (unsigned i = 0; i < n; i++) {
		uint32_t start = at + (i ? 1 + take(in, 2) % 2048 : 0);
		uint32_t len = 1 + take(in, 2) % 4096;
		if (start + len > MAX_FRAMES)
			break;
		/* Each range handed over as two overlapping entries. */
		memmap_add(&map, (uint64_t)start << FRAME_SHIFT,
			   (uint64_t)(len / 2 + 1) << FRAME_SHIFT, MB_MEMORY_AVAILABLE);
		memmap_add(&map, (uint64_t)(start + len / 2) << FRAME_SHIFT,
			   (uint64_t)(len - len / 2) << FRAME_SHIFT, MB_MEMORY_AVAILABLE);
		memset(state + start, FRAME_FREE, len);
		at = start + len;
	}
	memmap_normalize(&map);
	return map.count > 0;
}

static void reserve(uint64_t start, uint64_t end, bool in_pmm)
{
	if (in_pmm)
		EXPECT(pmm_reserve(&pmm, start, end, "fuzz") == PMM_OK);
	for (uint64_t f = start >> FRAME_SHIFT; f < (end + FRAME_SIZE - 1) >> FRAME_SHIFT &&
						f < pmm.nframes; f++)
		if (state[f] == FRAME_FREE)
			model_move((uint32_t)f, 1, FRAME_RESERVED);
}

static bool build_pmm(struct input *in)
{
	memset(&want, 0, sizeof(want));
	nremembered = 0;
	if (!build_map(in))
		return false;
	EXPECT(pmm_bitmap_bytes(&map) <= sizeof(bitmap));
	EXPECT(pmm_init(&pmm, &map, bitmap, sizeof(bitmap)) == PMM_OK);
	for (uint32_t f = 0; f < pmm.nframes; f++)
		if (state[f] == FRAME_FREE)
			want.total_frames++;
	want.free_frames = want.total_frames;
	EXPECT(pmm.nframes <= MAX_FRAMES);
	memset(state + pmm.nframes, FRAME_HOLE, sizeof(state) - pmm.nframes);
	reserve(0, PMM_LOW_MEMORY_END, false);
	for (unsigned n = take(in, 1) % 4; n > 0; n--) {
		uint64_t start = (uint64_t)(take(in, 2) % (MAX_FRAMES + SLACK)) << FRAME_SHIFT |
				 take(in, 1) << 4;
		reserve(start, start + 1 + take(in, 2) * 64ull, true);
	}
	return true;
}

/* ---- operations ------------------------------------------------------------ */

/* What the next operation must leave alone or look at. */
static struct {
	bool unchanged;
	unsigned warnings;
	uint64_t first;
	uint32_t count;
} expect;

static paddr_t pick_address(uint32_t arg)
{
	paddr_t a;

	if (arg & 1 && nremembered)
		a = remembered[(arg >> 8) % nremembered] +
		    (uint32_t)((arg >> 1) % 4) * FRAME_SIZE;
	else
		a = ((arg >> 8) % (pmm.nframes + SLACK)) << FRAME_SHIFT;
	if (arg & 0x80)
		a += (arg >> 2 & 0x1f) * 128 + 1; /* misaligned */
	return a;
}

static void refuse_expected(enum pmm_result why)
{
	refused(why);
	expect.unchanged = true;
	expect.warnings = 1;
}

static void op_alloc(void)
{
	paddr_t f = pmm_alloc(&pmm);

	if (want.free_frames == 0) {
		EXPECT(f == 0);
		want.exhausted++;
		expect.unchanged = true;
		return;
	}
	EXPECT(f && model_state(f) == FRAME_FREE);
	model_move(f >> FRAME_SHIFT, 1, FRAME_ALLOCATED);
	remember(f, 1);
	expect.first = f >> FRAME_SHIFT;
	expect.count = 1;
}

static void op_free(paddr_t addr)
{
	enum pmm_result why = free_result(addr);

	EXPECT(pmm_free(&pmm, addr) == why);
	expect.first = addr >> FRAME_SHIFT;
	expect.count = 1;
	if (why == PMM_OK)
		model_move(addr >> FRAME_SHIFT, 1, FRAME_FREE);
	else
		refuse_expected(why);
}

static uint32_t first_fit(uint32_t count, uint32_t align)
{
	for (uint32_t f = 0, run = 0; f < pmm.nframes; f++) {
		if (state[f] != FRAME_FREE)
			run = 0;
		else if ((run || f % align == 0) && ++run == count)
			return f + 1 - count;
	}
	return 0;
}

static void op_alloc_contig(uint32_t arg)
{
	static const uint32_t odd_aligns[] = { 0, 3, 5, 24, 1000, 0x80000001u };
	uint32_t count;

	if (arg & 0x40) /* zero, or about as many frames as there are */
		count = (arg >> 8 & 3) == 0 ? 0 : want.total_frames + (arg >> 10 & 3) - 1;
	else
		count = 1 + (arg >> 8) % (arg & 0x20 ? 2048 : 32);
	uint32_t align = arg & 0x80 ? odd_aligns[(arg >> 1 & 7) % 6] : 1u << (arg % 12);
	paddr_t got = pmm_alloc_contig(&pmm, count, align);

	if (count == 0 || count > want.total_frames || (align & (align - 1)) || !align) {
		EXPECT(got == 0);
		refuse_expected(PMM_EINVAL);
		return;
	}
	uint32_t f = first_fit(count, align);
	EXPECT(got == (paddr_t)f << FRAME_SHIFT);
	if (!f) {
		want.exhausted++;
		expect.unchanged = true;
		return;
	}
	model_move(f, count, FRAME_ALLOCATED);
	remember(got, count);
	expect.first = f;
	expect.count = count;
}

static void op_free_contig(paddr_t start, uint32_t count)
{
	enum pmm_result why = PMM_OK;

	expect.first = start >> FRAME_SHIFT;
	expect.count = count;
	if (count == 0 || count > pmm.nframes) {
		EXPECT(pmm_free_contig(&pmm, start, count) == PMM_EINVAL);
		refuse_expected(PMM_EINVAL);
		return;
	}
	for (uint32_t i = 0; i < count && why == PMM_OK; i++)
		why = free_result((uint64_t)start + (uint64_t)i * FRAME_SIZE);
	EXPECT(pmm_free_contig(&pmm, start, count) == why);
	if (why == PMM_OK)
		model_move(start >> FRAME_SHIFT, count, FRAME_FREE);
	else
		refuse_expected(why);
}

/* Something handed out earlier, exactly as it was handed out. */
static void op_give_back(uint32_t arg)
{
	if (!nremembered) {
		op_alloc();
		return;
	}
	unsigned i = arg % nremembered;
	paddr_t start = remembered[i];
	uint32_t count = remembered_count[i];

	remembered[i] = remembered[--nremembered];
	remembered_count[i] = remembered_count[nremembered];
	if (count == 1 && arg & 0x100)
		op_free(start);
	else
		op_free_contig(start, count);
}

static void run_op(uint8_t code, uint32_t arg)
{
	switch (code % 8) {
	case 0:
	case 1:
		op_alloc();
		break;
	case 2:
		op_free(pick_address(arg));
		break;
	case 3:
	case 4:
		op_give_back(arg);
		break;
	case 5:
		op_alloc_contig(arg);
		break;
	case 6: /* any length, now and then more frames than there are */
		if ((arg >> 16) % 64 == 63)
			op_free_contig(pick_address(arg), pmm.nframes + (arg >> 22 & 1));
		else
			op_free_contig(pick_address(arg), (arg >> 16) % 40);
		break;
	default:
		op_free_contig(pick_address(arg), 1 + (arg >> 16) % 8);
		break;
	}
}

/* ---- checks ----------------------------------------------------------------- */

static void check_stats(void)
{
	const struct pmm_stats *s = &pmm.stats;

	EXPECT(s->total_frames == want.total_frames);
	EXPECT(s->reserved_frames == want.reserved_frames);
	EXPECT(s->free_frames == want.free_frames);
	EXPECT(s->used_frames == want.used_frames);
	EXPECT(s->misaligned == want.misaligned);
	EXPECT(s->out_of_range == want.out_of_range);
	EXPECT(s->reserved_frees == want.reserved_frees);
	EXPECT(s->double_frees == want.double_frees);
	EXPECT(s->bad_requests == want.bad_requests);
	EXPECT(s->exhausted == want.exhausted);
}

static void check_frames(uint64_t first, uint64_t count)
{
	for (uint64_t f = first; f < first + count; f++) {
		uint64_t addr = f << FRAME_SHIFT;
		EXPECT(pmm_frame_state(&pmm, addr) == model_state(addr));
		if (f < pmm.nframes)
			EXPECT(!!(bitmap[f / 32] & 1u << f % 32) == (state[f] != FRAME_FREE));
	}
}

/*
 * The end of a run: every bit below the top, and the state of every frame
 * where the model's state changes (edges of ranges, reservations, runs);
 * asking pmm_frame_state() about all of them is too slow for a fuzzer.
 */
static void check_all(void)
{
	for (uint32_t f = 0; f < pmm.nframes; f++)
		EXPECT(!!(bitmap[f / 32] & 1u << f % 32) == (state[f] != FRAME_FREE));
	check_frames(0, 1);
	for (uint32_t f = 1; f < pmm.nframes + SLACK; f++)
		if (state[f] != state[f - 1])
			check_frames(f - 1, 2);
}

static void check_op(unsigned warnings_before)
{
	check_stats();
	EXPECT(warnings - warnings_before == expect.warnings);
	if (expect.unchanged)
		EXPECT(!memcmp(saved, bitmap, pmm.nwords * sizeof(uint32_t)));
	check_frames(expect.first, expect.count < SLACK ? expect.count : SLACK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	if (!build_pmm(&in))
		return 0;
	check_stats();
	while (in.left >= 4) {
		uint8_t code = (uint8_t)take(&in, 1);
		uint32_t arg = take(&in, 3);
		unsigned before = warnings;
		memset(&expect, 0, sizeof(expect));
		memcpy(saved, bitmap, pmm.nwords * sizeof(uint32_t));
		run_op(code, arg);
		check_op(before);
	}
	check_all();
	return 0;
}
