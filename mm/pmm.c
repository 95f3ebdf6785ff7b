/*
 * pmm.c - the frame allocators: one bitmap, searched by a scan ("bitmap",
 * the reference) or through an index ("hbitmap").
 *
 * The truth.  One bit per 4 KiB frame, from physical address 0 up to the top
 * of usable RAM below 4 GiB: 32 KiB of bitmap per GiB, 128 KiB for a full
 * 4 GiB.  A set bit means "not free": the bits of holes, of reservations
 * and of allocated frames are all set, so the searches only ever look for
 * clear bits.  Telling those three kinds of set bit apart is only needed
 * when a frame is freed, and there the map and the small sorted reservation
 * table answer it.
 *
 * The policy, the same for both allocators.  A single frame: next fit, the
 * lowest clear bit of the first word at or after the word where the
 * previous single frame was found, wrapping around.  A run: first fit, the
 * lowest aligned start of `count` free frames.  Because the policy is
 * exact, both allocators hand out the same frames for the same sequence of
 * calls, the reference can check the hbitmap allocator call by call
 * (tests/host/test_pmm_diff.c), and booting with pmm=bitmap reproduces a
 * run of the default kernel frame for frame.
 *
 * Search, bitmap.  A single frame scans words from the hint: O(1) while free
 * frames lie ahead, up to frames / 32 words when the only free frame sits
 * just behind the hint.  A run tries aligned candidates from address 0,
 * jumping past the first used frame of each: the cost grows with the number
 * of candidates below the answer, i.e. with memory size.
 *
 * Search, hbitmap.  The index (pmm_index.c) summarizes the bitmap, for each
 * order k = 0..10, as "which words hold a free aligned block of 2^k
 * frames", each summary a hierarchical bitmap.  A single frame: the hint
 * word if it has a free frame (as for the bitmap), else order 0's summary
 * gives the next word that has one in at most 7 word reads.  A run of
 * `count` frames aligned to `align` must contain a free aligned block of
 * some order j (skip_order()); the first such block at or after the current
 * candidate bounds where the fit can start, so the search jumps there
 * instead of walking candidates, then checks the run in the bitmap.  When
 * count and align are the same power of two up to 1024 the first block
 * found is the answer.  The index costs 0.23 bits per frame; a single-frame
 * change updates only order 0 at once, the other orders are brought up to
 * date before the next run search (pmm_index.c, "Updates").
 *
 * Freeing.  A run is validated completely before any bit changes.  The quick
 * test -- all bits set, inside one usable range, no reservation overlapping
 * -- costs count / 32 word reads, a binary search and a pass over the
 * reservations; only when it fails is each frame examined, to name the first
 * offender and the reason.  A refused call leaves bitmap and index as they
 * were.
 */
#include "pmm.h"

#include <string.h>

#include "bitops.h"
#include "mm_log.h"

#define NONE PMM_INDEX_NONE /* no such frame, word or block */

static uint32_t frames_below_4g(const struct memmap *map)
{
	return (uint32_t)(memmap_top_below_4g(map) >> FRAME_SHIFT);
}

size_t pmm_bitmap_bytes(const struct memmap *map)
{
	return (size_t)bits_words(frames_below_4g(map)) * sizeof(uint32_t);
}

size_t pmm_index_bytes(const struct memmap *map)
{
	uint32_t nframes = frames_below_4g(map);

	return nframes ? (size_t)pmm_index_words(nframes) * sizeof(uint32_t) : 0;
}

enum pmm_result pmm_init(struct pmm *pmm, const struct memmap *map, uint32_t *bitmap,
			 size_t bitmap_bytes)
{
	memset(pmm, 0, sizeof(*pmm));
	pmm->nframes = frames_below_4g(map);
	pmm->nwords = bits_words(pmm->nframes);
	if (pmm->nframes == 0 || bitmap_bytes < pmm->nwords * sizeof(uint32_t)) {
		mm_warn("pmm: %s", pmm->nframes == 0 ? "no usable memory below 4 GiB"
						      : "bitmap storage too small");
		return PMM_EINVAL;
	}
	pmm->bitmap = bitmap;
	pmm->map = map;
	memset(bitmap, 0xFF, pmm->nwords * sizeof(uint32_t));

	for (unsigned i = 0; i < map->count && map->usable[i].start < FOUR_GIB; i++) {
		uint32_t first = (uint32_t)(map->usable[i].start >> FRAME_SHIFT);
		uint64_t end = map->usable[i].end < FOUR_GIB ? map->usable[i].end : FOUR_GIB;
		uint32_t count = (uint32_t)(end >> FRAME_SHIFT) - first;
		bits_fill(bitmap, first, first + count, false);
		pmm->stats.total_frames += count;
	}
	pmm->stats.free_frames = pmm->stats.total_frames;
	return pmm_reserve(pmm, 0, PMM_LOW_MEMORY_END, "low memory (BIOS, real mode)");
}

enum pmm_result pmm_attach_index(struct pmm *pmm, uint32_t *storage, size_t bytes)
{
	if (!pmm->bitmap || bytes < pmm_index_words(pmm->nframes) * sizeof(uint32_t)) {
		mm_warn("pmm: %s", !pmm->bitmap ? "no bitmap to index" : "index storage too small");
		return PMM_EINVAL;
	}
	pmm_index_init(&pmm->index, pmm->bitmap, pmm->nframes, storage);
	pmm->indexed = true;
	return PMM_OK;
}

const char *pmm_allocator_name(const struct pmm *pmm)
{
	return pmm->indexed ? "hbitmap" : "bitmap";
}

bool pmm_index_agrees(const struct pmm *pmm)
{
	return !pmm->indexed ||
	       (pmm->index.bitmap == pmm->bitmap && pmm_index_consistent(&pmm->index));
}

/* ---- reservations ---------------------------------------------------------- */

static void insert_reservation(struct pmm *pmm, struct pmm_reservation r)
{
	unsigned i = pmm->nreservations++;

	for (; i > 0 && pmm->reservations[i - 1].start > r.start; i--)
		pmm->reservations[i] = pmm->reservations[i - 1];
	pmm->reservations[i] = r;
}

const struct pmm_reservation *pmm_reservation_at(const struct pmm *pmm, uint64_t addr)
{
	/* A handful of entries, possibly overlapping: a linear scan is right. */
	for (unsigned i = 0; i < pmm->nreservations; i++)
		if (addr >= pmm->reservations[i].start && addr < pmm->reservations[i].end)
			return &pmm->reservations[i];
	return NULL;
}

/* Frame addresses [start, end) clipped to the frames the bitmap covers. */
static uint64_t clip_to_bitmap(const struct pmm *pmm, uint64_t end)
{
	uint64_t top = (uint64_t)pmm->nframes << FRAME_SHIFT;
	return end < top ? end : top;
}

/* Is a usable, unreserved frame of [start, end) allocated? (its address, or 1 if none) */
static uint64_t allocated_in(const struct pmm *pmm, uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < clip_to_bitmap(pmm, end); a += FRAME_SIZE)
		if (pmm_frame_state(pmm, a) == FRAME_ALLOCATED)
			return a;
	return 1;
}

/* Frame f goes from free to not free or back; the index hears of it. */
static void flip_frame(struct pmm *pmm, uint32_t f)
{
	pmm->bitmap[f / BITS_PER_WORD] ^= 1u << (f % BITS_PER_WORD);
	if (pmm->indexed)
		pmm_index_frame_flipped(&pmm->index, f);
}

/* Frames [first, first + count) become `used` (none of them was). */
static void set_frames(struct pmm *pmm, uint32_t first, uint32_t count, bool used)
{
	if (count == 1) {
		flip_frame(pmm, first);
		return;
	}
	bits_fill(pmm->bitmap, first, first + count, used);
	if (pmm->indexed)
		pmm_index_run_flipped(&pmm->index, first, count, used);
}

/* Set the bits of the free frames in [start, end) and count them as reserved. */
static void reserve_frames(struct pmm *pmm, uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < clip_to_bitmap(pmm, end); a += FRAME_SIZE) {
		if (pmm_frame_state(pmm, a) != FRAME_FREE)
			continue; /* a hole, or already reserved */
		flip_frame(pmm, (uint32_t)(a >> FRAME_SHIFT));
		pmm->stats.free_frames--;
		pmm->stats.reserved_frames++;
	}
}

enum pmm_result pmm_reserve(struct pmm *pmm, uint64_t start, uint64_t end, const char *what)
{
	if (end <= start) {
		mm_warn("pmm: empty reservation 0x%llx-0x%llx (%s) refused",
			(unsigned long long)start, (unsigned long long)end, what);
		pmm->stats.bad_requests++;
		return PMM_EINVAL;
	}
	if (pmm->nreservations == PMM_MAX_RESERVATIONS) {
		mm_warn("pmm: reservation table full, cannot reserve %s", what);
		return PMM_EFULL;
	}
	start &= ~(uint64_t)(FRAME_SIZE - 1);
	end = end > UINT64_MAX - FRAME_SIZE ? UINT64_MAX & ~(uint64_t)(FRAME_SIZE - 1)
					    : (end + FRAME_SIZE - 1) & ~(uint64_t)(FRAME_SIZE - 1);
	/* Reserving a frame someone holds would make their free fail forever. */
	uint64_t held = allocated_in(pmm, start, end);
	if (held != 1) {
		mm_warn("pmm: reservation %s refused: frame 0x%llx is allocated", what,
			(unsigned long long)held);
		pmm->stats.bad_requests++;
		return PMM_EINVAL;
	}
	reserve_frames(pmm, start, end);
	insert_reservation(pmm, (struct pmm_reservation){ start, end, what });
	return PMM_OK;
}

/* ---- taking and giving back ------------------------------------------------ */

/* Frames [first, first + count), all free, are handed out. */
static void take(struct pmm *pmm, uint32_t first, uint32_t count)
{
	set_frames(pmm, first, count, true);
	pmm->stats.free_frames -= count;
	pmm->stats.used_frames += count;
}

/* Frames [first, first + count), all allocated, come back. */
static void give_back(struct pmm *pmm, uint32_t first, uint32_t count)
{
	set_frames(pmm, first, count, false);
	pmm->stats.free_frames += count;
	pmm->stats.used_frames -= count;
}

/* ---- single frames --------------------------------------------------------- */

/* The first word in [from, to) with a clear bit, or `to`. */
static uint32_t scan_words(const uint32_t *bitmap, uint32_t from, uint32_t to)
{
	while (from < to && bitmap[from] == ALL_ONES)
		from++;
	return from;
}

/* Next fit by scanning: the first word with a free frame from the hint on, wrapping. */
static uint32_t next_word_scan(const struct pmm *pmm)
{
	uint32_t w = scan_words(pmm->bitmap, pmm->hint, pmm->nwords);

	if (w == pmm->nwords && (w = scan_words(pmm->bitmap, 0, pmm->hint)) == pmm->hint)
		return NONE;
	return w;
}

/* Next fit through the index: the same word, found in a few word reads. */
static uint32_t next_word_indexed(const struct pmm *pmm)
{
	uint32_t w = pmm_index_free_word(&pmm->index, pmm->hint);

	return w != NONE ? w : pmm_index_free_word(&pmm->index, 0);
}

/* Next fit: the hint word if it has a free frame (the common case), else search. */
static uint32_t next_fit(const struct pmm *pmm)
{
	uint32_t w = pmm->hint;

	if (pmm->bitmap[w] == ALL_ONES) {
		w = pmm->indexed ? next_word_indexed(pmm) : next_word_scan(pmm);
		if (w == NONE)
			return NONE;
	}
	return w * BITS_PER_WORD + (uint32_t)__builtin_ctz(~pmm->bitmap[w]);
}

paddr_t pmm_alloc(struct pmm *pmm)
{
	if (pmm->stats.free_frames == 0) {
		pmm->stats.exhausted++;
		return 0;
	}
	uint32_t frame = next_fit(pmm);
	if (frame == NONE) {
		/* Unreachable while free_frames is right; say so rather than corrupt. */
		mm_warn("pmm: free count says %u but the bitmap has no free frame",
			(unsigned)pmm->stats.free_frames);
		pmm->stats.exhausted++;
		return 0;
	}
	pmm->hint = frame / BITS_PER_WORD;
	take(pmm, frame, 1);
	return (paddr_t)frame << FRAME_SHIFT;
}

/* ---- frame states and freeing ---------------------------------------------- */

enum pmm_frame_state pmm_frame_state(const struct pmm *pmm, uint64_t addr)
{
	if ((addr >> FRAME_SHIFT) >= pmm->nframes || !memmap_is_usable(pmm->map, addr))
		return FRAME_HOLE;
	if (pmm_reservation_at(pmm, addr))
		return FRAME_RESERVED;
	return bits_test(pmm->bitmap, (uint32_t)(addr >> FRAME_SHIFT)) ? FRAME_ALLOCATED
								       : FRAME_FREE;
}

/* Why `addr` cannot be freed, or PMM_OK if it is an allocated frame. */
static enum pmm_result check_freeable(const struct pmm *pmm, uint64_t addr)
{
	if (addr % FRAME_SIZE)
		return PMM_EALIGN;
	switch (pmm_frame_state(pmm, addr)) {
	case FRAME_HOLE:      return PMM_ERANGE;
	case FRAME_RESERVED:  return PMM_ERESERVED;
	case FRAME_FREE:      return PMM_EDOUBLE;
	case FRAME_ALLOCATED: return PMM_OK;
	}
	return PMM_EINVAL;
}

static enum pmm_result refuse(struct pmm *pmm, enum pmm_result why, uint64_t addr,
			      const char *call)
{
	switch (why) {
	case PMM_EALIGN:    pmm->stats.misaligned++; break;
	case PMM_ERANGE:    pmm->stats.out_of_range++; break;
	case PMM_ERESERVED: pmm->stats.reserved_frees++; break;
	case PMM_EDOUBLE:   pmm->stats.double_frees++; break;
	default:            pmm->stats.bad_requests++; break;
	}
	const struct pmm_reservation *r = why == PMM_ERESERVED ? pmm_reservation_at(pmm, addr) : NULL;
	mm_warn("pmm: %s(0x%llx) refused: %s%s%s%s", call, (unsigned long long)addr,
		pmm_result_name(why), r ? " (" : "", r ? r->what : "", r ? ")" : "");
	return why;
}

/* Does [start, end) lie inside one usable range of the map? */
static bool in_one_range(const struct memmap *map, uint64_t start, uint64_t end)
{
	unsigned lo = 0, hi = map->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (start < map->usable[mid].start)
			hi = mid;
		else if (start >= map->usable[mid].end)
			lo = mid + 1;
		else
			return end <= map->usable[mid].end;
	}
	return false;
}

/* Does a reservation overlap [start, end)?  The table is sorted by start. */
static bool reserved_in(const struct pmm *pmm, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < pmm->nreservations && pmm->reservations[i].start < end; i++)
		if (start < pmm->reservations[i].end)
			return true;
	return false;
}

/*
 * The quick test: true means every frame of the run is allocated (aligned,
 * bits set, RAM, not reserved); false means "look frame by frame".
 */
static bool surely_allocated(const struct pmm *pmm, paddr_t start, uint32_t count)
{
	uint32_t first = start >> FRAME_SHIFT;
	uint64_t end = (uint64_t)start + (uint64_t)count * FRAME_SIZE;

	return start % FRAME_SIZE == 0 && first + (uint64_t)count <= pmm->nframes &&
	       bits_all_set(pmm->bitmap, first, first + count) &&
	       in_one_range(pmm->map, start, end) && !reserved_in(pmm, start, end);
}

/*
 * Free `count` (>= 1) frames from `start` for `call`, or refuse at the first
 * bad one.  Inline, so that pmm_free's count of 1 simplifies the checks.
 */
static inline enum pmm_result free_run(struct pmm *pmm, paddr_t start, uint32_t count, const char *call)
{
	if (!surely_allocated(pmm, start, count)) {
		for (uint32_t i = 0; i < count; i++) {
			uint64_t addr = (uint64_t)start + (uint64_t)i * FRAME_SIZE;
			enum pmm_result why = check_freeable(pmm, addr);
			if (why != PMM_OK)
				return refuse(pmm, why, addr, call);
		}
	}
	give_back(pmm, start >> FRAME_SHIFT, count);
	return PMM_OK;
}

enum pmm_result pmm_free(struct pmm *pmm, paddr_t frame)
{
	return free_run(pmm, frame, 1, "pmm_free");
}

enum pmm_result pmm_free_contig(struct pmm *pmm, paddr_t start, uint32_t count)
{
	if (count == 0 || count > pmm->nframes) {
		pmm->stats.bad_requests++;
		mm_warn("pmm: pmm_free_contig(0x%x, %u frames) refused: %s", (unsigned)start,
			(unsigned)count, count ? "more frames than the machine has" : "zero size");
		return PMM_EINVAL;
	}
	return free_run(pmm, start, count, "pmm_free_contig");
}

/* ---- contiguous runs ------------------------------------------------------- */

static bool is_power_of_two(uint32_t x)
{
	return x && !(x & (x - 1));
}

static unsigned floor_log2(uint32_t x)
{
	return 31u - (unsigned)__builtin_clz(x);
}

static uint64_t align_up(uint64_t x, uint32_t align)
{
	return (x + align - 1) & ~(uint64_t)(align - 1);
}

/*
 * The largest order j (at most PMM_ORDERS - 1) such that every run this
 * request accepts contains a free aligned block of 2^j frames:
 *  - an aligned start is a multiple of 2^j when 2^j <= align, and the block
 *    at the start fits when 2^j <= count;
 *  - any count consecutive frames hold an aligned block of 2^j when
 *    count >= 2^(j+1) - 1, wherever they start.
 */
static unsigned skip_order(uint32_t count, uint32_t align)
{
	unsigned by_count = floor_log2(count), by_align = floor_log2(align);
	unsigned at_start = by_count < by_align ? by_count : by_align;
	unsigned anywhere = floor_log2(count + 1) - 1;
	unsigned j = at_start > anywhere ? at_start : anywhere;

	return j < PMM_ORDERS ? j : PMM_ORDERS - 1;
}

/*
 * The lowest aligned candidate at or after `c` that the index does not rule
 * out: a fit must end at or after the end of the first free block of
 * 2^order frames that starts at or after c.  UINT64_MAX when there is none.
 */
static uint64_t skip(const struct pmm *pmm, uint64_t c, uint32_t count, uint32_t align,
		     unsigned order)
{
	uint32_t block = pmm_index_find(&pmm->index, order, (uint32_t)c);

	if (block == NONE)
		return UINT64_MAX;
	uint64_t block_end = (uint64_t)block + (1u << order);
	uint64_t lowest = block_end > count ? align_up(block_end - count, align) : 0;
	return lowest > c ? lowest : c;
}

/* First fit: the lowest multiple of `align` starting `count` free frames, or NONE. */
static uint32_t find_run(const struct pmm *pmm, uint32_t count, uint32_t align)
{
	unsigned order = skip_order(count, align);
	uint64_t c = 0;

	if (count > pmm->stats.free_frames)
		return NONE;
	while (c <= pmm->nframes - count) {
		if (pmm->indexed && (c = skip(pmm, c, count, align, order)) > pmm->nframes - count)
			break;
		uint32_t used = bits_first_set(pmm->bitmap, (uint32_t)c, (uint32_t)c + count);
		if (used == c + count)
			return (uint32_t)c;
		/* Nothing starting at or before `used` can fit: skip past it. */
		c = align_up((uint64_t)used + 1, align);
	}
	return NONE;
}

paddr_t pmm_alloc_contig(struct pmm *pmm, uint32_t count, uint32_t align)
{
	if (count == 0 || count > pmm->stats.total_frames || !is_power_of_two(align)) {
		mm_warn("pmm: pmm_alloc_contig(%u frames, align %u) refused: %s",
			(unsigned)count, (unsigned)align,
			count == 0 ? "zero size" : count > pmm->stats.total_frames
							   ? "more frames than the machine has"
							   : "alignment not a power of two");
		pmm->stats.bad_requests++;
		return 0;
	}
	if (pmm->indexed)
		pmm_index_refresh(&pmm->index);
	uint32_t first = find_run(pmm, count, align);
	if (first == NONE) {
		pmm->stats.exhausted++;
		return 0;
	}
	take(pmm, first, count);
	return (paddr_t)first << FRAME_SHIFT;
}

const char *pmm_result_name(enum pmm_result r)
{
	switch (r) {
	case PMM_OK:        return "ok";
	case PMM_EALIGN:    return "address not frame-aligned";
	case PMM_ERANGE:    return "not RAM managed by the PMM";
	case PMM_ERESERVED: return "frame is reserved";
	case PMM_EDOUBLE:   return "double free";
	case PMM_EINVAL:    return "invalid request";
	case PMM_ENOMEM:    return "out of memory";
	case PMM_EFULL:     return "table full";
	}
	return "?";
}
