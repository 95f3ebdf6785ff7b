/*
 * test_pmm.c - host tests for mm/pmm.c, the bitmap frame allocator.
 *
 * The PMM's promises are in pmm.h: every usable frame below 4 GiB is handed
 * out at most once, never one in a hole or a reservation; running out is
 * reported by a 0 return, not an error; and every bad call is refused,
 * counted in the right pmm_stats field and reported, with the bitmap left
 * exactly as it was.  The directed tests check each promise on QEMU-like
 * maps, with the exact addresses first fit and next fit must give.
 *
 * The randomized test then runs long seeded sequences of valid and invalid
 * calls over random maps with holes and reservations, against a model that
 * keeps one state per frame; counts, results, warnings and frame states must
 * agree after every operation, and the whole bitmap periodically.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "qemu_maps.h"
#include "mm/pmm.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIB 0x100000u
#define MAX_FRAMES (1u << 20) /* all of the 4 GiB a bitmap can cover */
#define FRAME(addr) ((uint32_t)((addr) >> FRAME_SHIFT))

/* ---- fixture: one map, one PMM, bitmap storage for up to 4 GiB ---------- */

static struct memmap fx_map;
static struct pmm fx;
static uint32_t fx_bitmap[MAX_FRAMES / 32];
static uint32_t fx_saved[MAX_FRAMES / 32];

static void build_map(const struct raw *t, unsigned n)
{
	memmap_init(&fx_map);
	for (unsigned i = 0; i < n; i++)
		memmap_add(&fx_map, t[i].base, t[i].length, t[i].type);
	memmap_normalize(&fx_map);
}

static enum pmm_result start_pmm(const struct raw *t, unsigned n)
{
	build_map(t, n);
	memset(fx_bitmap, 0x5a, sizeof(fx_bitmap)); /* init must not trust it */
	return pmm_init(&fx, &fx_map, fx_bitmap, pmm_bitmap_bytes(&fx_map));
}

#define START_PMM(table) start_pmm((table), ARRAY_SIZE(table))

static void save_bitmap(void)
{
	memcpy(fx_saved, fx.bitmap, fx.nwords * sizeof(uint32_t));
}

static bool bitmap_unchanged(void)
{
	return memcmp(fx_saved, fx.bitmap, fx.nwords * sizeof(uint32_t)) == 0;
}

#define PMM_STATS(X)                                                                  \
	X(total_frames) X(reserved_frames) X(free_frames) X(used_frames) X(misaligned) \
	X(out_of_range) X(reserved_frees) X(double_frees) X(bad_requests) X(exhausted)
#define PLUS_ONE(field) +1
_Static_assert(sizeof(struct pmm_stats) == (0 PMM_STATS(PLUS_ONE)) * sizeof(uint32_t),
	       "a pmm_stats field is missing from PMM_STATS");

/* Compare every field, naming the ones that differ. */
static bool stats_equal(const struct pmm_stats *got, const struct pmm_stats *want)
{
	bool same = true;
#define COMPARE(field)                                                                \
	if (got->field != want->field) {                                              \
		printf("# stats." #field ": got %u, want %u\n", (unsigned)got->field,  \
		       (unsigned)want->field);                                        \
		same = false;                                                         \
	}
	PMM_STATS(COMPARE)
#undef COMPARE
	return same;
}

/* ---- maps ---------------------------------------------------------------- */


/* qemu-system-i386 -m 128M (the Makefile's default). */
static const struct raw qemu_128m[] = {
	QEMU_LOW,
	{ 0x100000, 0x7ee0000, MB_MEMORY_AVAILABLE },
	{ 0x7fe0000, 0x20000, MB_MEMORY_RESERVED },
	QEMU_BIOS,
};
#define QEMU_128M_TOP 0x7fe0000u
#define QEMU_128M_FRAMES (0x9f + 0x7ee0) /* usable frames: low memory + the rest */

static const struct raw qemu_4g[] = {
	QEMU_LOW,
	{ 0x100000, 0xbfee0000, MB_MEMORY_AVAILABLE },
	{ 0xbffe0000, 0x20000, MB_MEMORY_RESERVED },
	QEMU_BIOS,
	{ 0x100000000, 0x40000000, MB_MEMORY_AVAILABLE },
};

/* A map whose top is not a multiple of 32 frames: the last word is partial. */
static const struct raw odd_tail[] = {
	{ MIB, 45 * FRAME_SIZE, MB_MEMORY_AVAILABLE },
};

/* A fake kernel image at 1 MiB, not a whole number of frames long. */
#define KERNEL_START 0x100000u
#define KERNEL_END (0x100000u + 0x123456u)
#define KERNEL_FRAMES 0x124u

static void start_qemu_with_kernel(void)
{
	CHECK_EQ(START_PMM(qemu_128m), PMM_OK);
	CHECK_EQ(pmm_reserve(&fx, KERNEL_START, KERNEL_END, "kernel image"), PMM_OK);
}

/* ---- init and reservations ------------------------------------------------ */

static void init_counts(void)
{
	CHECK_EQ(START_PMM(qemu_128m), PMM_OK);
	CHECK_EQ(fx.nframes, FRAME(QEMU_128M_TOP));
	CHECK_EQ(pmm_bitmap_bytes(&fx_map), (FRAME(QEMU_128M_TOP) + 31) / 32 * 4);
	CHECK_EQ(fx.stats.total_frames, QEMU_128M_FRAMES);
	CHECK_EQ(fx.stats.reserved_frames, 0x9f); /* the usable part of the first MiB */
	CHECK_EQ(fx.stats.free_frames, QEMU_128M_FRAMES - 0x9f);
	CHECK_EQ(fx.stats.used_frames, 0);
	CHECK_EQ(warnings_seen(), 0);
}

static void init_frame_states(void)
{
	static const struct { uint64_t addr; enum pmm_frame_state state; } probes[] = {
		{ 0, FRAME_RESERVED },       { 0x9e000, FRAME_RESERVED },
		{ 0x9f000, FRAME_HOLE },     { 0xf0000, FRAME_HOLE },
		{ 0x100000, FRAME_FREE },    { QEMU_128M_TOP - FRAME_SIZE, FRAME_FREE },
		{ QEMU_128M_TOP, FRAME_HOLE }, { 0xfffff000, FRAME_HOLE },
		{ 0x100000000, FRAME_HOLE },
	};

	CHECK_EQ(START_PMM(qemu_128m), PMM_OK);
	for (unsigned i = 0; i < ARRAY_SIZE(probes); i++)
		CHECK(pmm_frame_state(&fx, probes[i].addr) == probes[i].state,
		      "frame 0x%llx: state %d, want %d", (unsigned long long)probes[i].addr,
		      pmm_frame_state(&fx, probes[i].addr), probes[i].state);
	CHECK(pmm_reservation_at(&fx, 0x9e000) != NULL, "the first MiB is a reservation");
}

/* Above 4 GiB is counted by the map, never by the PMM. */
static void init_4g_map(void)
{
	CHECK_EQ(START_PMM(qemu_4g), PMM_OK);
	CHECK_EQ(fx.nframes, 0xbffe0);
	CHECK_EQ(pmm_bitmap_bytes(&fx_map), 0xbffe0 / 32 * 4);
	CHECK_EQ(fx.stats.total_frames, 0x9f + 0xbfee0);
	CHECK(pmm_frame_state(&fx, 0x100000000) == FRAME_HOLE, "above 4 GiB");
	CHECK(pmm_frame_state(&fx, 0xbffdf000) == FRAME_FREE, "last frame below 4 GiB");
}

/* A range reaching past 4 GiB fills the bitmap to its very last frame. */
static void init_straddling_4g(void)
{
	static const struct raw t[] = {
		{ MIB, 15 * MIB, MB_MEMORY_AVAILABLE },
		{ 0xe0000000, 0x40000000, MB_MEMORY_AVAILABLE },
	};

	CHECK_EQ(START_PMM(t), PMM_OK);
	CHECK_EQ(fx.nframes, MAX_FRAMES);
	CHECK_EQ(fx.stats.total_frames, FRAME(15 * MIB) + FRAME(0x20000000));
	CHECK(pmm_frame_state(&fx, 0xfffff000) == FRAME_FREE, "last frame below 4 GiB");
	CHECK_EQ(pmm_free(&fx, 0xfffff000), PMM_EDOUBLE);
}

static void init_refusals(void)
{
	static const struct raw above_only[] = { { 0x100000000, MIB, MB_MEMORY_AVAILABLE } };

	build_map(qemu_128m, ARRAY_SIZE(qemu_128m));
	CHECK_EQ(pmm_init(&fx, &fx_map, fx_bitmap, pmm_bitmap_bytes(&fx_map) - 1), PMM_EINVAL);
	CHECK_WARNED("bitmap storage too small");
	CHECK_EQ(START_PMM(above_only), PMM_EINVAL);
	CHECK_WARNED("no usable memory below 4 GiB");
}

static void reserve_kernel_image(void)
{
	start_qemu_with_kernel();
	if (check_failed)
		return;
	CHECK_EQ(fx.stats.reserved_frames, 0x9f + KERNEL_FRAMES);
	CHECK_EQ(fx.stats.free_frames, QEMU_128M_FRAMES - 0x9f - KERNEL_FRAMES);
	CHECK(pmm_frame_state(&fx, KERNEL_START) == FRAME_RESERVED, "first kernel frame");
	CHECK(pmm_frame_state(&fx, KERNEL_END) == FRAME_RESERVED, "partial last frame");
	CHECK(pmm_frame_state(&fx, KERNEL_END + FRAME_SIZE) == FRAME_FREE, "after the kernel");
	const struct pmm_reservation *r = pmm_reservation_at(&fx, KERNEL_START + 0x5000);
	CHECK(r && !strcmp(r->what, "kernel image"), "the reservation names the kernel");
	CHECK_EQ(r->start, KERNEL_START);
	CHECK_EQ(r->end, KERNEL_START + KERNEL_FRAMES * FRAME_SIZE);
	CHECK_EQ(warnings_seen(), 0);
}

/* Holes, memory past the top and above 4 GiB: recorded, nothing counted. */
static void reserve_outside_usable(void)
{
	static const struct mem_range outside[] = {
		{ 0xa0000, 0xf0000 },
		{ QEMU_128M_TOP, 0x10000000 },
		{ 0x140000000, 0x180000000 },
	};

	CHECK_EQ(START_PMM(qemu_128m), PMM_OK);
	struct pmm_stats before = fx.stats;
	save_bitmap();
	for (unsigned i = 0; i < ARRAY_SIZE(outside); i++) {
		CHECK_EQ(pmm_reserve(&fx, outside[i].start, outside[i].end, "device"), PMM_OK);
		CHECK(pmm_reservation_at(&fx, outside[i].start) != NULL, "recorded");
		CHECK(pmm_frame_state(&fx, outside[i].start) == FRAME_HOLE, "still a hole");
	}
	CHECK(stats_equal(&fx.stats, &before), "counts changed");
	CHECK(bitmap_unchanged(), "the bitmap changed");
	CHECK_EQ(fx.nreservations, 1 + ARRAY_SIZE(outside));
}

/* Overlapping and unaligned reservations count each frame once. */
static void reserve_overlaps_counted_once(void)
{
	CHECK_EQ(START_PMM(qemu_128m), PMM_OK);
	uint32_t reserved = fx.stats.reserved_frames;

	CHECK_EQ(pmm_reserve(&fx, 2 * MIB, 3 * MIB, "a"), PMM_OK);
	CHECK_EQ(fx.stats.reserved_frames, reserved + 256);
	CHECK_EQ(pmm_reserve(&fx, 2 * MIB + MIB / 2, 4 * MIB, "b"), PMM_OK);
	CHECK_EQ(fx.stats.reserved_frames, reserved + 512);
	CHECK_EQ(pmm_reserve(&fx, 0x400fff, 0x401001, "c"), PMM_OK); /* 2 frames */
	CHECK_EQ(fx.stats.reserved_frames, reserved + 514);
	CHECK_EQ(pmm_reserve(&fx, 0x9e000, 0x101000, "straddles a hole"), PMM_OK);
	CHECK_EQ(fx.stats.reserved_frames, reserved + 515);
	CHECK_EQ(fx.stats.free_frames + fx.stats.reserved_frames, fx.stats.total_frames);
}

static void reserve_refusals(void)
{
	CHECK_EQ(START_PMM(qemu_128m), PMM_OK);
	save_bitmap();
	CHECK_EQ(pmm_reserve(&fx, 2 * MIB, 2 * MIB, "nothing"), PMM_EINVAL);
	CHECK_WARNED("empty reservation");
	CHECK_EQ(fx.stats.bad_requests, 1);
	CHECK_EQ(pmm_reserve(&fx, 3 * MIB, 2 * MIB, "backwards"), PMM_EINVAL);
	CHECK_EQ(fx.stats.bad_requests, 2);
	CHECK_EQ(fx.nreservations, 1);
	CHECK(bitmap_unchanged(), "a refused reservation changed the bitmap");
	while (fx.nreservations < PMM_MAX_RESERVATIONS)
		CHECK_EQ(pmm_reserve(&fx, fx.nreservations * MIB, fx.nreservations * MIB + 1, "x"),
			 PMM_OK);
	uint32_t reserved = fx.stats.reserved_frames;
	CHECK_EQ(pmm_reserve(&fx, 100 * MIB, 101 * MIB, "one too many"), PMM_EFULL);
	CHECK_WARNED("reservation table full");
	CHECK_EQ(fx.stats.reserved_frames, reserved);
	CHECK(pmm_frame_state(&fx, 100 * MIB) == FRAME_FREE, "not reserved");
}

/*
 * Reserving over a frame already handed out is refused as a whole: the
 * holder could never free it otherwise.  Nothing is reserved, the frame can
 * still be freed.
 */
static void reserve_over_allocated_frame(void)
{
	CHECK_EQ(START_PMM(qemu_128m), PMM_OK);
	paddr_t a = pmm_alloc(&fx);
	CHECK(a != 0, "allocation");
	struct pmm_stats want = fx.stats;
	unsigned nreservations = fx.nreservations;

	save_bitmap();
	CHECK_EQ(pmm_reserve(&fx, a - FRAME_SIZE, a + 2 * FRAME_SIZE, "late"), PMM_EINVAL);
	CHECK_WARNED("is allocated");
	want.bad_requests++;
	CHECK(stats_equal(&fx.stats, &want), "statistics after the refused reservation");
	CHECK(bitmap_unchanged(), "the refused reservation changed the bitmap");
	CHECK_EQ(fx.nreservations, nreservations);
	CHECK_EQ(pmm_frame_state(&fx, a + FRAME_SIZE), FRAME_FREE);
	CHECK_EQ(pmm_free(&fx, a), PMM_OK);
}

/* ---- allocation until exhaustion ------------------------------------------ */

static uint8_t seen[MAX_FRAMES];

/* A frame fresh from pmm_alloc(): aligned, RAM, not reserved, not seen yet. */
static void check_handed_out(paddr_t f)
{
	CHECK(f % FRAME_SIZE == 0, "0x%x is not frame aligned", (unsigned)f);
	CHECK(FRAME(f) < fx.nframes, "0x%x is past the top", (unsigned)f);
	CHECK(!seen[FRAME(f)], "0x%x handed out twice", (unsigned)f);
	CHECK(memmap_is_usable(&fx_map, f), "0x%x is in a hole", (unsigned)f);
	CHECK(!pmm_reservation_at(&fx, f), "0x%x is reserved", (unsigned)f);
	CHECK(pmm_frame_state(&fx, f) == FRAME_ALLOCATED, "0x%x not marked", (unsigned)f);
	seen[FRAME(f)] = 1;
}

static void exhaust_and_refill(void)
{
	uint32_t start_free = fx.stats.free_frames, n = 0;
	paddr_t f;

	memset(seen, 0, sizeof(seen));
	save_bitmap();
	while ((f = pmm_alloc(&fx)) != 0) {
		check_handed_out(f);
		if (check_failed)
			return;
		CHECK(++n <= start_free, "more frames than were free");
	}
	CHECK_EQ(n, start_free);
	CHECK_EQ(fx.stats.free_frames, 0);
	CHECK_EQ(fx.stats.used_frames, start_free);
	CHECK_EQ(fx.stats.exhausted, 1);
	CHECK_EQ(pmm_alloc(&fx), 0);
	CHECK_EQ(fx.stats.exhausted, 2);
	CHECK_EQ(warnings_seen(), 0);
	/* Give everything back, from the top down. */
	for (uint32_t frame = fx.nframes; frame-- > 0;)
		if (seen[frame])
			CHECK_EQ(pmm_free(&fx, frame << FRAME_SHIFT), PMM_OK);
	CHECK_EQ(fx.stats.free_frames, start_free);
	CHECK_EQ(fx.stats.used_frames, 0);
	CHECK(bitmap_unchanged(), "freeing everything did not restore the bitmap");
	CHECK(pmm_alloc(&fx) != 0, "allocation after refill");
}

static void exhaust_qemu(void)
{
	start_qemu_with_kernel();
	if (!check_failed)
		exhaust_and_refill();
}

static void exhaust_odd_tail(void)
{
	CHECK_EQ(START_PMM(odd_tail), PMM_OK);
	CHECK_EQ(fx.nframes, 256 + 45);
	CHECK_EQ(fx.stats.free_frames, 45);
	exhaust_and_refill();
}

/* Next fit: increasing addresses, no going back until the end is reached. */
static void next_fit_order(void)
{
	enum { FIRST = 1000, FREED = 100 };
	static paddr_t got[FIRST];

	start_qemu_with_kernel();
	for (unsigned i = 0; i < FIRST; i++) {
		got[i] = pmm_alloc(&fx);
		CHECK(i == 0 || got[i] > got[i - 1], "allocation %u went back: 0x%x after 0x%x",
		      i, (unsigned)got[i], (unsigned)got[i - 1]);
	}
	CHECK_EQ(got[0], KERNEL_START + KERNEL_FRAMES * FRAME_SIZE);
	for (unsigned i = 0; i < FREED; i++)
		CHECK_EQ(pmm_free(&fx, got[i]), PMM_OK);
	paddr_t next = pmm_alloc(&fx);
	CHECK(next > got[FIRST - 1], "next fit must not go back: 0x%x", (unsigned)next);
	uint32_t ahead = fx.stats.free_frames - FREED;
	for (uint32_t i = 0; i < ahead; i++)
		CHECK(pmm_alloc(&fx) > next, "still ahead");
	CHECK_EQ(pmm_alloc(&fx), got[0]); /* wrapped around to the lowest free frame */
}

/* ---- refused calls -------------------------------------------------------- */

/*
 * The scene for the bad calls: the QEMU map with a kernel image, a frame
 * allocated and freed again, a frame allocated, and an allocated run of 8.
 */
static paddr_t freed, held, run;

static void set_scene(void)
{
	start_qemu_with_kernel();
	freed = pmm_alloc(&fx);
	held = pmm_alloc(&fx);
	run = pmm_alloc_contig(&fx, 8, 8);
	CHECK(freed && held && run, "scene allocations");
	CHECK_EQ(pmm_free(&fx, freed), PMM_OK);
	CHECK_EQ(pmm_frame_state(&fx, held + FRAME_SIZE), FRAME_FREE);
}

static enum pmm_result contig(uint32_t count, uint32_t align)
{
	return pmm_alloc_contig(&fx, count, align) ? PMM_OK : PMM_EINVAL;
}

static enum pmm_result free_again(void) { return pmm_free(&fx, freed); }
static enum pmm_result free_kernel(void) { return pmm_free(&fx, KERNEL_START + 0x8000); }
static enum pmm_result free_zero(void) { return pmm_free(&fx, 0); }
static enum pmm_result free_hole(void) { return pmm_free(&fx, 0xa0000); }
static enum pmm_result free_top(void) { return pmm_free(&fx, QEMU_128M_TOP); }
static enum pmm_result free_high(void) { return pmm_free(&fx, 0xfffff000); }
static enum pmm_result free_byte(void) { return pmm_free(&fx, held + 1); }
static enum pmm_result free_half(void) { return pmm_free(&fx, held + FRAME_SIZE / 2); }
static enum pmm_result contig_zero(void) { return contig(0, 1); }
static enum pmm_result contig_huge(void) { return contig(fx.stats.total_frames + 1, 1); }
static enum pmm_result contig_max(void) { return contig(UINT32_MAX, 1); }
static enum pmm_result contig_align3(void) { return contig(1, 3); }
static enum pmm_result contig_align0(void) { return contig(1, 0); }
static enum pmm_result run_zero(void) { return pmm_free_contig(&fx, run, 0); }
static enum pmm_result run_huge(void) { return pmm_free_contig(&fx, run, fx.nframes + 1); }
static enum pmm_result run_byte(void) { return pmm_free_contig(&fx, run + 1, 8); }
static enum pmm_result run_hole(void) { return pmm_free_contig(&fx, 0xa0000, 2); }
static enum pmm_result run_freed(void) { return pmm_free_contig(&fx, freed, 2); }
static enum pmm_result run_past(void) { return pmm_free_contig(&fx, held, 2); }
static enum pmm_result run_kernel(void) { return pmm_free_contig(&fx, KERNEL_START, 2); }

struct bad_call {
	const char *name;
	enum pmm_result (*call)(void);
	enum pmm_result want; /* PMM_EINVAL for pmm_alloc_contig's 0 */
	size_t counter;       /* offset of the pmm_stats field it must bump */
	const char *warning;
	const char *detail;   /* also in the warning, or NULL */
};

#define STAT(field) offsetof(struct pmm_stats, field)

static const struct bad_call bad_calls[] = {
	{ "double free", free_again, PMM_EDOUBLE, STAT(double_frees),
	  "refused: double free", NULL },
	{ "kernel frame", free_kernel, PMM_ERESERVED, STAT(reserved_frees),
	  "(0x108000) refused: frame is reserved", "kernel image" },
	{ "frame 0", free_zero, PMM_ERESERVED, STAT(reserved_frees),
	  "(0x0) refused: frame is reserved", "low memory" },
	{ "hole", free_hole, PMM_ERANGE, STAT(out_of_range),
	  "(0xa0000) refused: not RAM", NULL },
	{ "top", free_top, PMM_ERANGE, STAT(out_of_range),
	  "(0x7fe0000) refused: not RAM", NULL },
	{ "near 4 GiB", free_high, PMM_ERANGE, STAT(out_of_range),
	  "(0xfffff000) refused: not RAM", NULL },
	{ "misaligned", free_byte, PMM_EALIGN, STAT(misaligned),
	  "refused: address not frame-aligned", NULL },
	{ "half frame", free_half, PMM_EALIGN, STAT(misaligned),
	  "refused: address not frame-aligned", NULL },
	{ "contig 0", contig_zero, PMM_EINVAL, STAT(bad_requests),
	  "refused: zero size", NULL },
	{ "contig > total", contig_huge, PMM_EINVAL, STAT(bad_requests),
	  "more frames than the machine has", NULL },
	{ "contig 2^32-1", contig_max, PMM_EINVAL, STAT(bad_requests),
	  "more frames than the machine has", NULL },
	{ "align 3", contig_align3, PMM_EINVAL, STAT(bad_requests),
	  "alignment not a power of two", NULL },
	{ "align 0", contig_align0, PMM_EINVAL, STAT(bad_requests),
	  "alignment not a power of two", NULL },
	{ "free_contig 0", run_zero, PMM_EINVAL, STAT(bad_requests),
	  "refused: zero size", NULL },
	{ "free_contig huge", run_huge, PMM_EINVAL, STAT(bad_requests),
	  "more frames than the machine has", NULL },
	{ "free_contig misaligned", run_byte, PMM_EALIGN, STAT(misaligned),
	  "refused: address not frame-aligned", NULL },
	{ "free_contig hole", run_hole, PMM_ERANGE, STAT(out_of_range),
	  "(0xa0000) refused: not RAM", NULL },
	{ "free_contig freed", run_freed, PMM_EDOUBLE, STAT(double_frees),
	  "refused: double free", NULL },
	{ "free_contig past a run", run_past, PMM_EDOUBLE, STAT(double_frees),
	  "refused: double free", NULL },
	{ "free_contig kernel", run_kernel, PMM_ERESERVED, STAT(reserved_frees),
	  "(0x100000) refused: frame is reserved", "kernel image" },
};

/* The call was refused: its result, one counter, one warning, no bit changed. */
static void check_bad_call(const struct bad_call *c)
{
	set_scene();
	if (check_failed)
		return;
	struct pmm_stats want = fx.stats;
	unsigned warnings = warnings_seen();

	*(uint32_t *)((char *)&want + c->counter) += 1;
	save_bitmap();
	CHECK_EQ(c->call(), c->want);
	CHECK(stats_equal(&fx.stats, &want), "statistics after the refused call");
	CHECK_EQ(warnings_seen(), warnings + 1);
	CHECK_WARNED(c->warning);
	if (c->detail)
		CHECK_WARNED(c->detail);
	CHECK(bitmap_unchanged(), "a refused call changed the bitmap");
}

static void bad_calls_refused(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(bad_calls); i++) {
		check_bad_call(&bad_calls[i]);
		if (check_failed) {
			printf("# in the \"%s\" case\n", bad_calls[i].name);
			return;
		}
	}
}

/* One free frame in the middle of a run: the whole call is refused. */
static void free_contig_hole_in_middle(void)
{
	char where[64];

	set_scene();
	CHECK_EQ(pmm_free(&fx, run + 3 * FRAME_SIZE), PMM_OK);
	struct pmm_stats before = fx.stats;
	save_bitmap();
	CHECK_EQ(pmm_free_contig(&fx, run, 8), PMM_EDOUBLE);
	snprintf(where, sizeof(where), "pmm_free_contig(0x%x) refused: double free",
		 (unsigned)(run + 3 * FRAME_SIZE));
	CHECK_WARNED(where);
	before.double_frees++;
	CHECK(stats_equal(&fx.stats, &before), "statistics after the refused call");
	CHECK(bitmap_unchanged(), "part of the run was freed");
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(pmm_frame_state(&fx, run + i * FRAME_SIZE),
			 i == 3 ? FRAME_FREE : FRAME_ALLOCATED);
}

/* ---- contiguous runs ------------------------------------------------------ */

/* [start, start + count frames) is aligned, and every frame is now ours. */
static void check_contig_run(paddr_t start, uint32_t count, uint32_t align)
{
	CHECK(start != 0, "no run of %u frames found", (unsigned)count);
	CHECK(FRAME(start) % align == 0, "run at 0x%x not aligned to %u frames",
	      (unsigned)start, (unsigned)align);
	for (uint32_t i = 0; i < count; i++) {
		paddr_t f = start + i * FRAME_SIZE;
		CHECK(!seen[FRAME(f)], "frame 0x%x in two runs", (unsigned)f);
		CHECK(pmm_frame_state(&fx, f) == FRAME_ALLOCATED,
		      "frame 0x%x of the run is not allocated (hole or reservation?)", (unsigned)f);
		seen[FRAME(f)] = 1;
	}
}

static void contig_16_aligned_16(void)
{
	paddr_t prev = 0;

	start_qemu_with_kernel();
	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < 64; i++) {
		paddr_t r = pmm_alloc_contig(&fx, 16, 16);
		check_contig_run(r, 16, 16);
		if (check_failed)
			return;
		CHECK(r > prev, "first fit on a fresh PMM goes up");
		prev = r;
	}
	CHECK_EQ(fx.stats.used_frames, 64 * 16);
	CHECK_EQ(pmm_free_contig(&fx, prev, 16), PMM_OK);
	CHECK_EQ(pmm_alloc_contig(&fx, 16, 16), prev);
}

/* 4 MiB pages: first fit gives every aligned 4 MiB block, then nothing. */
static void contig_4mib_blocks(void)
{
	uint32_t blocks = 0;
	paddr_t r;

	start_qemu_with_kernel();
	memset(seen, 0, sizeof(seen));
	while ((r = pmm_alloc_contig(&fx, 1024, 1024)) != 0) {
		CHECK_EQ(r, (blocks + 1) * 4 * MIB); /* 0-4 MiB holds the kernel */
		check_contig_run(r, 1024, 1024);
		if (check_failed)
			return;
		blocks++;
	}
	CHECK_EQ(blocks, QEMU_128M_TOP / (4 * MIB) - 1);
	CHECK_EQ(fx.stats.exhausted, 1);
	CHECK_EQ(fx.stats.bad_requests, 0);
	CHECK_EQ(warnings_seen(), 0);
	CHECK(pmm_alloc(&fx) != 0, "single frames are left");
}

/* Runs go around holes and reservations, at the first place that fits. */
static void contig_skips_holes_and_reservations(void)
{
	static const struct raw t[] = {
		{ 0, 0x9fc00, MB_MEMORY_AVAILABLE },
		{ MIB, MIB, MB_MEMORY_AVAILABLE },                  /* frames 0x100-0x1ff */
		{ 2 * MIB + FRAME_SIZE, 14 * MIB - FRAME_SIZE, MB_MEMORY_AVAILABLE },
	};
	static const struct { uint32_t count, align; paddr_t want; } steps[] = {
		{ 256, 256, 0x100000 }, /* exactly the 1-2 MiB range */
		{ 300, 1, 0x201000 },   /* after the one-frame hole at 2 MiB */
		{ 512, 1, 0x401000 },   /* not enough room below the reservation */
		{ 1024, 1024, 0x800000 },
		{ 0x800, 1, 0 },        /* 8 MiB in one piece: nowhere */
		{ 0x1ff, 1, 0x601000 }, /* the gap left below 8 MiB, exactly */
	};

	CHECK_EQ(START_PMM(t), PMM_OK);
	CHECK_EQ(pmm_reserve(&fx, 4 * MIB, 4 * MIB + 1, "one frame"), PMM_OK);
	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < ARRAY_SIZE(steps); i++) {
		paddr_t r = pmm_alloc_contig(&fx, steps[i].count, steps[i].align);
		CHECK(r == steps[i].want, "step %u: run of %u (align %u) at 0x%x, want 0x%x", i,
		      (unsigned)steps[i].count, (unsigned)steps[i].align, (unsigned)r,
		      (unsigned)steps[i].want);
		if (r)
			check_contig_run(r, steps[i].count, steps[i].align);
	}
	CHECK_EQ(fx.stats.exhausted, 1);
}

/* Plenty of free frames, but no two of them adjacent. */
static void contig_fragmented(void)
{
	CHECK_EQ(START_PMM(odd_tail), PMM_OK);
	while (pmm_alloc(&fx))
		;
	for (uint32_t f = 256; f < fx.nframes; f += 2)
		CHECK_EQ(pmm_free(&fx, f << FRAME_SHIFT), PMM_OK);
	uint32_t exhausted = fx.stats.exhausted;

	save_bitmap();
	CHECK_EQ(pmm_alloc_contig(&fx, 2, 1), 0);
	CHECK_EQ(pmm_alloc_contig(&fx, 1, 2), MIB); /* frame 256, even */
	CHECK_EQ(pmm_alloc_contig(&fx, 1, 4), MIB + 4 * FRAME_SIZE);
	CHECK_EQ(pmm_alloc_contig(&fx, 1, 64), 0);
	CHECK_EQ(fx.stats.exhausted, exhausted + 2);
	CHECK_EQ(warnings_seen(), 0);
}

/* ---- randomized comparison with a per-frame model ------------------------- */

#define MODEL_SEED 0x706d6d00u
#define MODEL_MAPS 16
#define MODEL_OPS 20000 /* 320k operations in all */
#define MODEL_MAX_FRAMES (16384 + 32)
#define MODEL_FULL_CHECK 2048 /* ops between checks of every frame */
#define MODEL_MAX_RANGES 6
#define MODEL_MAX_RUNS 4096

struct run {
	paddr_t start;
	uint32_t count;
};

/*
 * What the PMM should be.  `singles` and `runs` remember what was handed
 * out, to free it later; they may go stale (a frame freed through another
 * path), which only turns a later free into a refused one the model expects.
 */
static struct {
	uint8_t state[MODEL_MAX_FRAMES + 64]; /* enum pmm_frame_state per frame */
	struct pmm_stats stats;
	paddr_t singles[2 * MODEL_MAX_FRAMES];
	unsigned nsingles;
	struct run runs[MODEL_MAX_RUNS];
	unsigned nruns;
	/* Set by each operation for the checks that follow it. */
	unsigned warnings;     /* warnings it must have printed */
	bool unchanged;        /* it must not have touched the bitmap */
	uint64_t touched;      /* first frame whose state to compare */
	uint32_t ntouched;
	char warning[96];      /* text the warning must contain */
} md;

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)check_random_below(n);
}

static enum pmm_frame_state model_state(uint64_t addr)
{
	uint64_t frame = addr >> FRAME_SHIFT;

	return frame < fx.nframes ? md.state[frame] : FRAME_HOLE;
}

/* Move `count` frames from `from` to `to`, keeping the expected counts. */
static void model_move(uint32_t first, uint32_t count, enum pmm_frame_state to)
{
	uint32_t *counter[] = {
		[FRAME_FREE] = &md.stats.free_frames,
		[FRAME_ALLOCATED] = &md.stats.used_frames,
		[FRAME_RESERVED] = &md.stats.reserved_frames,
	};

	for (uint32_t f = first; f < first + count; f++) {
		(*counter[md.state[f]])--;
		(*counter[to])++;
		md.state[f] = to;
	}
}

/* What pmm_free(addr) must answer, per pmm.h. */
static enum pmm_result model_free_result(uint64_t addr)
{
	if (addr % FRAME_SIZE)
		return PMM_EALIGN;
	switch (model_state(addr)) {
	case FRAME_HOLE:      return PMM_ERANGE;
	case FRAME_RESERVED:  return PMM_ERESERVED;
	case FRAME_FREE:      return PMM_EDOUBLE;
	case FRAME_ALLOCATED: return PMM_OK;
	}
	return PMM_EINVAL;
}

static void model_refused(enum pmm_result why)
{
	switch (why) {
	case PMM_EALIGN:    md.stats.misaligned++; break;
	case PMM_ERANGE:    md.stats.out_of_range++; break;
	case PMM_ERESERVED: md.stats.reserved_frees++; break;
	case PMM_EDOUBLE:   md.stats.double_frees++; break;
	default:            md.stats.bad_requests++; break;
	}
	md.warnings = 1;
	md.unchanged = true;
}

/* First fit: the lowest aligned start of `count` free frames, or 0. */
static uint32_t model_first_fit(uint32_t count, uint32_t align)
{
	uint32_t run = 0;

	for (uint32_t f = 0; f < fx.nframes; f++) {
		if (md.state[f] != FRAME_FREE) {
			run = 0;
			continue;
		}
		if (run == 0 && f % align)
			continue;
		if (++run == count)
			return f + 1 - count;
	}
	return 0;
}

static void touch(uint64_t addr, uint32_t nframes)
{
	md.touched = addr >> FRAME_SHIFT;
	md.ntouched = nframes < 64 ? nframes : 64;
}

static void remember_single(paddr_t f)
{
	if (md.nsingles < ARRAY_SIZE(md.singles))
		md.singles[md.nsingles++] = f;
}

static void remember_run(paddr_t start, uint32_t count)
{
	if (md.nruns < MODEL_MAX_RUNS)
		md.runs[md.nruns++] = (struct run){ start, count };
}

static void op_alloc(void)
{
	paddr_t f = pmm_alloc(&fx);

	touch(f, 1);
	if (md.stats.free_frames == 0) {
		CHECK_EQ(f, 0);
		md.stats.exhausted++;
		md.unchanged = true;
		return;
	}
	CHECK(f != 0 && model_state(f) == FRAME_FREE,
	      "pmm_alloc gave 0x%x, model state %d", (unsigned)f, model_state(f));
	model_move(FRAME(f), 1, FRAME_ALLOCATED);
	remember_single(f);
}

static void do_free(paddr_t addr)
{
	enum pmm_result want = model_free_result(addr);

	touch(addr, 1);
	CHECK_EQ(pmm_free(&fx, addr), want);
	if (want == PMM_OK) {
		model_move(FRAME(addr), 1, FRAME_FREE);
		return;
	}
	model_refused(want);
	snprintf(md.warning, sizeof(md.warning), "pmm_free(0x%x) refused: %s", (unsigned)addr,
		 pmm_result_name(want));
}

static void do_free_contig(paddr_t start, uint32_t count)
{
	enum pmm_result want = PMM_OK;
	uint64_t addr = start;

	touch(start, count);
	if (count == 0 || count > fx.nframes) {
		CHECK_EQ(pmm_free_contig(&fx, start, count), PMM_EINVAL);
		model_refused(PMM_EINVAL);
		snprintf(md.warning, sizeof(md.warning), "pmm_free_contig(0x%x, %u frames) refused",
			 (unsigned)start, (unsigned)count);
		return;
	}
	for (uint32_t i = 0; i < count && want == PMM_OK; i++) {
		addr = (uint64_t)start + (uint64_t)i * FRAME_SIZE;
		want = model_free_result(addr);
	}
	CHECK_EQ(pmm_free_contig(&fx, start, count), want);
	if (want == PMM_OK) {
		model_move(FRAME(start), count, FRAME_FREE);
		return;
	}
	model_refused(want);
	snprintf(md.warning, sizeof(md.warning), "pmm_free_contig(0x%llx) refused: %s",
		 (unsigned long long)addr, pmm_result_name(want));
}

static uint32_t random_count(void)
{
	switch (rnd_below(16)) {
	case 0:  return 0;
	case 1:  return md.stats.total_frames + 1 + rnd_below(3);
	case 2:  return 256 + rnd_below(1024);
	case 3:
	case 4:  return 16 + rnd_below(240);
	default: return 1 + rnd_below(16);
	}
}

static uint32_t random_align(void)
{
	static const uint32_t bad[] = { 0, 3, 6, 12, 100, 0x80000001u };

	if (rnd_below(12) == 0)
		return bad[rnd_below(ARRAY_SIZE(bad))];
	return 1u << rnd_below(11);
}

static bool is_power_of_two(uint32_t x)
{
	return x && !(x & (x - 1));
}

static void op_alloc_contig(void)
{
	uint32_t count = random_count(), align = random_align();
	paddr_t got = pmm_alloc_contig(&fx, count, align);

	touch(got, count);
	if (count == 0 || count > md.stats.total_frames || !is_power_of_two(align)) {
		CHECK_EQ(got, 0);
		model_refused(PMM_EINVAL);
		snprintf(md.warning, sizeof(md.warning),
			 "pmm_alloc_contig(%u frames, align %u) refused", (unsigned)count,
			 (unsigned)align);
		return;
	}
	uint32_t want = model_first_fit(count, align);
	CHECK(got == (paddr_t)want << FRAME_SHIFT,
	      "pmm_alloc_contig(%u, %u) gave 0x%x, first fit is 0x%x", (unsigned)count,
	      (unsigned)align, (unsigned)got, (unsigned)want << FRAME_SHIFT);
	if (!got) {
		md.stats.exhausted++;
		md.unchanged = true;
		return;
	}
	model_move(want, count, FRAME_ALLOCATED);
	remember_run(got, count);
}

/* A remembered frame (possibly stale), swap-removed from the list. */
static void op_free_single(void)
{
	if (md.nsingles == 0) {
		op_alloc();
		return;
	}
	unsigned i = rnd_below(md.nsingles);
	paddr_t f = md.singles[i];

	md.singles[i] = md.singles[--md.nsingles];
	do_free(f);
}

static void op_free_run(void)
{
	if (md.nruns == 0) {
		op_alloc_contig();
		return;
	}
	unsigned i = rnd_below(md.nruns);
	struct run r = md.runs[i];

	md.runs[i] = md.runs[--md.nruns];
	do_free_contig(r.start, r.count);
}

/* Anywhere: mostly frames in range, some misaligned, some past the top. */
static paddr_t random_address(void)
{
	switch (rnd_below(8)) {
	case 0:
		return (md.nsingles ? md.singles[rnd_below(md.nsingles)] : 0) +
		       1 + rnd_below(FRAME_SIZE - 1);
	case 1:
		return rnd_below(2) ? 0xfffff000u : (fx.nframes + rnd_below(64)) << FRAME_SHIFT;
	default:
		return rnd_below(fx.nframes + 16) << FRAME_SHIFT;
	}
}

static void op_free_random(void)
{
	do_free(random_address());
}

static void op_free_contig_random(void)
{
	uint32_t count = rnd_below(16) ? 1 + rnd_below(40) : random_count();

	do_free_contig(random_address(), count);
}

static const struct check_op ops[] = {
	{ "alloc", op_alloc, 60, 15 },
	{ "alloc_contig", op_alloc_contig, 15, 5 },
	{ "free", op_free_single, 10, 50 },
	{ "free_contig", op_free_run, 5, 20 },
	{ "free (random address)", op_free_random, 5, 5 },
	{ "free_contig (random range)", op_free_contig_random, 5, 5 },
};

/* After every operation: results were checked by the op; now the rest. */
static void check_after_op(unsigned warnings_before)
{
	CHECK(stats_equal(&fx.stats, &md.stats), "statistics differ from the model");
	CHECK_EQ(warnings_seen() - warnings_before, md.warnings);
	if (md.warnings)
		CHECK_WARNED(md.warning);
	CHECK(!md.unchanged || bitmap_unchanged(), "a refused or failed call changed the bitmap");
	for (uint64_t f = md.touched; f < md.touched + md.ntouched; f++)
		CHECK(pmm_frame_state(&fx, f << FRAME_SHIFT) == model_state(f << FRAME_SHIFT),
		      "frame 0x%llx: state %d, model %d", (unsigned long long)f << FRAME_SHIFT,
		      pmm_frame_state(&fx, f << FRAME_SHIFT), model_state(f << FRAME_SHIFT));
}

/* Every frame's state and bit, and the model's own counts. */
static void check_every_frame(void)
{
	uint32_t count[4] = { 0 };

	for (uint32_t f = 0; f < fx.nframes + 32; f++) {
		uint64_t addr = (uint64_t)f << FRAME_SHIFT;
		enum pmm_frame_state want = model_state(addr);
		CHECK(pmm_frame_state(&fx, addr) == want, "frame 0x%llx: state %d, model %d",
		      (unsigned long long)addr, pmm_frame_state(&fx, addr), want);
		if (f >= fx.nframes)
			continue;
		bool bit = fx.bitmap[f / 32] & (1u << (f % 32));
		CHECK(bit == (want != FRAME_FREE), "frame 0x%llx: bit %d, model %d",
		      (unsigned long long)addr, bit, want);
		count[want]++;
	}
	CHECK_EQ(count[FRAME_FREE], md.stats.free_frames);
	CHECK_EQ(count[FRAME_ALLOCATED], md.stats.used_frames);
	CHECK_EQ(count[FRAME_RESERVED], md.stats.reserved_frames);
	CHECK_EQ(count[FRAME_FREE] + count[FRAME_ALLOCATED] + count[FRAME_RESERVED],
		 md.stats.total_frames);
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* 2k distinct frame numbers in [0, top], sorted: the edges of k ranges. */
static void random_edges(uint32_t *edge, unsigned k, uint32_t top)
{
	bool distinct = false;

	while (!distinct) {
		for (unsigned i = 0; i < 2 * k; i++)
			edge[i] = rnd_below(top + 1);
		if (rnd_below(2))
			edge[0] = 0; /* low memory, as on a PC */
		if (rnd_below(2))
			edge[1] = top;
		qsort(edge, 2 * k, sizeof(*edge), compare_u32);
		distinct = true;
		for (unsigned i = 1; i < 2 * k; i++)
			distinct &= edge[i] != edge[i - 1];
	}
}

/* 0 .. n-1 in random order. */
static void shuffle(unsigned *order, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	for (unsigned i = n; i > 1; i--) {
		unsigned j = rnd_below(i), t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
}

/* A random map of k ranges; the model starts with holes everywhere else. */
static void model_map(void)
{
	uint32_t edge[2 * MODEL_MAX_RANGES];
	unsigned order[MODEL_MAX_RANGES];
	unsigned k = 1 + rnd_below(MODEL_MAX_RANGES);
	uint32_t top = (2048u << rnd_below(4)) + rnd_below(32);

	random_edges(edge, k, top);
	shuffle(order, k); /* the map's entries come in any order */
	memmap_init(&fx_map);
	for (unsigned i = 0; i < k; i++) {
		unsigned r = order[i];
		memmap_add(&fx_map, (uint64_t)edge[2 * r] << FRAME_SHIFT,
			   (uint64_t)(edge[2 * r + 1] - edge[2 * r]) << FRAME_SHIFT,
			   MB_MEMORY_AVAILABLE);
	}
	memmap_normalize(&fx_map);
	CHECK_EQ(fx_map.count, k);
	CHECK_EQ(pmm_init(&fx, &fx_map, fx_bitmap, pmm_bitmap_bytes(&fx_map)), PMM_OK);

	memset(&md, 0, sizeof(md));
	memset(md.state, FRAME_HOLE, sizeof(md.state));
	for (unsigned i = 0; i < k; i++) {
		for (uint32_t f = edge[2 * i]; f < edge[2 * i + 1]; f++)
			md.state[f] = FRAME_FREE;
		md.stats.total_frames += edge[2 * i + 1] - edge[2 * i];
		md.stats.free_frames += edge[2 * i + 1] - edge[2 * i];
	}
}

/* The model's side of a reservation: free frames it touches are reserved. */
static void model_mark_reserved(uint64_t start, uint64_t end)
{
	uint64_t first = start >> FRAME_SHIFT;
	uint64_t last = (end + FRAME_SIZE - 1) >> FRAME_SHIFT;

	for (uint64_t f = first; f < last && f < fx.nframes; f++)
		if (md.state[f] == FRAME_FREE)
			model_move((uint32_t)f, 1, FRAME_RESERVED);
}

/* Reserve [start, end) in the PMM and in the model (before any allocation). */
static void model_reserve(uint64_t start, uint64_t end)
{
	CHECK_EQ(pmm_reserve(&fx, start, end, "random"), PMM_OK);
	model_mark_reserved(start, end);
}

static void model_reservations(void)
{
	model_mark_reserved(0, PMM_LOW_MEMORY_END); /* what pmm_init did */
	for (unsigned n = rnd_below(6); n > 0; n--) {
		uint64_t start = check_random_below(((uint64_t)fx.nframes + 64) << FRAME_SHIFT);
		model_reserve(start, start + 1 + rnd_below(2 * MIB));
	}
	if (rnd_below(4) == 0)
		model_reserve(0x140000000ull, 0x150000000ull);
	CHECK(stats_equal(&fx.stats, &md.stats), "statistics after the reservations");
}

/* One map, then MODEL_OPS operations in fill and drain phases. */
static void model_run(unsigned seed, unsigned long *exhausted)
{
	bool filling = false; /* flipped to filling before the first operation */
	unsigned phase_left = 0;

	check_seed(seed);
	model_map();
	if (!check_failed)
		model_reservations();
	for (unsigned n = 0; n < MODEL_OPS && !check_failed; n++) {
		if (phase_left-- == 0) {
			filling = !filling;
			phase_left = 500 + rnd_below(8000);
		}
		const struct check_op *op = check_pick_op(ops, ARRAY_SIZE(ops), filling);
		unsigned warnings = warnings_seen();
		md.warnings = 0;
		md.unchanged = false;
		md.ntouched = 0;
		save_bitmap();
		op->fn();
		if (!check_failed)
			check_after_op(warnings);
		if (!check_failed && (n + 1) % MODEL_FULL_CHECK == 0)
			check_every_frame();
		if (check_failed)
			printf("# seed 0x%x, operation %u (%s)\n", seed, n, op->name);
	}
	if (!check_failed)
		check_every_frame();
	*exhausted += md.stats.exhausted;
}

static void random_operations_match_model(void)
{
	unsigned long exhausted = 0;

	printf("# model: %u maps from seed 0x%x, %u operations each\n", MODEL_MAPS, MODEL_SEED,
	       MODEL_OPS);
	for (unsigned i = 0; i < MODEL_MAPS && !check_failed; i++)
		model_run(MODEL_SEED + i, &exhausted);
	printf("# %lu allocations found nothing\n", exhausted);
}

int main(void)
{
	RUN(init_counts);
	RUN(init_frame_states);
	RUN(init_4g_map);
	RUN(init_straddling_4g);
	RUN(init_refusals);
	RUN(reserve_kernel_image);
	RUN(reserve_outside_usable);
	RUN(reserve_overlaps_counted_once);
	RUN(reserve_refusals);
	RUN(reserve_over_allocated_frame);
	RUN(exhaust_qemu);
	RUN(exhaust_odd_tail);
	RUN(next_fit_order);
	RUN(bad_calls_refused);
	RUN(free_contig_hole_in_middle);
	RUN(contig_16_aligned_16);
	RUN(contig_4mib_blocks);
	RUN(contig_skips_holes_and_reservations);
	RUN(contig_fragmented);
	RUN(random_operations_match_model);
	return check_done();
}
