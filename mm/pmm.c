/*
 * pmm.c - the bitmap frame allocator.
 *
 * Design.  One bit per 4 KiB frame, from physical address 0 up to the top of
 * usable RAM below 4 GiB: 32 KiB of bitmap per GiB, 128 KiB for a full 4 GiB
 * (0.003% of the memory it describes).  A set bit means "not free": the bits
 * of holes, of reservations and of allocated frames are all set, so the
 * allocation paths only ever look for clear bits and need no other table.
 * Telling those three kinds of set bit apart is only needed when a frame is
 * freed, and there the map (binary search) and the small sorted reservation
 * table answer it.
 *
 * Cost.  A single allocation scans 32 frames per word, starting at the word
 * where the previous one succeeded (next fit), so it is O(1) while free frames
 * lie ahead and O(frames / 32) when the only free frame sits just behind the
 * hint -- the worst case the benchmark measures.  A contiguous request is a
 * first-fit scan that skips whole used words.  Freeing is O(log ranges).
 *
 * Safety.  Every freeing call is validated completely before any bit changes,
 * so a refused call leaves the bitmap exactly as it was.
 */
#include "pmm.h"

#include <string.h>

#include "mm_log.h"

#define BITS_PER_WORD 32u
#define ALL_USED 0xFFFFFFFFu

static inline bool test_bit(const struct pmm *pmm, uint32_t frame)
{
	return pmm->bitmap[frame / BITS_PER_WORD] & (1u << (frame % BITS_PER_WORD));
}

static inline void set_bit(struct pmm *pmm, uint32_t frame)
{
	pmm->bitmap[frame / BITS_PER_WORD] |= 1u << (frame % BITS_PER_WORD);
}

static inline void clear_bit(struct pmm *pmm, uint32_t frame)
{
	pmm->bitmap[frame / BITS_PER_WORD] &= ~(1u << (frame % BITS_PER_WORD));
}

/* Set or clear the bits of frames [first, first + count). */
static void fill_bits(struct pmm *pmm, uint32_t first, uint32_t count, bool used)
{
	uint32_t f = first, end = first + count;

	for (; f < end && f % BITS_PER_WORD; f++)
		used ? set_bit(pmm, f) : clear_bit(pmm, f);
	for (; end - f >= BITS_PER_WORD; f += BITS_PER_WORD)
		pmm->bitmap[f / BITS_PER_WORD] = used ? ALL_USED : 0;
	for (; f < end; f++)
		used ? set_bit(pmm, f) : clear_bit(pmm, f);
}

/* First frame in [first, end) whose bit is set, or `end` if there is none. */
static uint32_t first_used(const struct pmm *pmm, uint32_t first, uint32_t end)
{
	uint32_t f = first;

	while (f < end) {
		uint32_t word = pmm->bitmap[f / BITS_PER_WORD] >> (f % BITS_PER_WORD);
		if (word) {
			f += (uint32_t)__builtin_ctz(word);
			return f < end ? f : end;
		}
		f = (f / BITS_PER_WORD + 1) * BITS_PER_WORD;
	}
	return end;
}

static uint32_t frames_below_4g(const struct memmap *map)
{
	return (uint32_t)(memmap_top_below_4g(map) >> FRAME_SHIFT);
}

size_t pmm_bitmap_bytes(const struct memmap *map)
{
	return ((size_t)frames_below_4g(map) + BITS_PER_WORD - 1) / BITS_PER_WORD *
	       sizeof(uint32_t);
}

enum pmm_result pmm_init(struct pmm *pmm, const struct memmap *map, uint32_t *bitmap,
			 size_t bitmap_bytes)
{
	memset(pmm, 0, sizeof(*pmm));
	pmm->nframes = frames_below_4g(map);
	pmm->nwords = (pmm->nframes + BITS_PER_WORD - 1) / BITS_PER_WORD;
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
		fill_bits(pmm, first, count, false);
		pmm->stats.total_frames += count;
	}
	pmm->stats.free_frames = pmm->stats.total_frames;
	return pmm_reserve(pmm, 0, PMM_LOW_MEMORY_END, "low memory (BIOS, real mode)");
}

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

	for (uint64_t a = start; a < clip_to_bitmap(pmm, end); a += FRAME_SIZE) {
		if (pmm_frame_state(pmm, a) != FRAME_FREE)
			continue; /* a hole, or already reserved */
		set_bit(pmm, (uint32_t)(a >> FRAME_SHIFT));
		pmm->stats.free_frames--;
		pmm->stats.reserved_frames++;
	}
	insert_reservation(pmm, (struct pmm_reservation){ start, end, what });
	return PMM_OK;
}

paddr_t pmm_alloc(struct pmm *pmm)
{
	if (pmm->stats.free_frames == 0) {
		pmm->stats.exhausted++;
		return 0;
	}
	for (uint32_t i = 0, w = pmm->hint; i < pmm->nwords; i++, w++) {
		if (w == pmm->nwords)
			w = 0;
		if (pmm->bitmap[w] == ALL_USED)
			continue;
		uint32_t frame = w * BITS_PER_WORD + (uint32_t)__builtin_ctz(~pmm->bitmap[w]);
		set_bit(pmm, frame);
		pmm->hint = w;
		pmm->stats.free_frames--;
		pmm->stats.used_frames++;
		return (paddr_t)frame << FRAME_SHIFT;
	}
	/* Unreachable while free_frames is right; say so rather than corrupt. */
	mm_warn("pmm: free count says %u but the bitmap has no free frame",
		(unsigned)pmm->stats.free_frames);
	pmm->stats.exhausted++;
	return 0;
}

enum pmm_frame_state pmm_frame_state(const struct pmm *pmm, uint64_t addr)
{
	if ((addr >> FRAME_SHIFT) >= pmm->nframes || !memmap_is_usable(pmm->map, addr))
		return FRAME_HOLE;
	if (pmm_reservation_at(pmm, addr))
		return FRAME_RESERVED;
	return test_bit(pmm, (uint32_t)(addr >> FRAME_SHIFT)) ? FRAME_ALLOCATED : FRAME_FREE;
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

static void release(struct pmm *pmm, uint32_t frame, uint32_t count)
{
	fill_bits(pmm, frame, count, false);
	pmm->stats.free_frames += count;
	pmm->stats.used_frames -= count;
}

enum pmm_result pmm_free(struct pmm *pmm, paddr_t frame)
{
	enum pmm_result why = check_freeable(pmm, frame);

	if (why != PMM_OK)
		return refuse(pmm, why, frame, "pmm_free");
	release(pmm, frame >> FRAME_SHIFT, 1);
	return PMM_OK;
}

static bool is_power_of_two(uint32_t x)
{
	return x && !(x & (x - 1));
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
	uint32_t f = 0;
	while (count <= pmm->stats.free_frames && f <= pmm->nframes - count) {
		uint32_t used = first_used(pmm, f, f + count);
		if (used == f + count) {
			fill_bits(pmm, f, count, true);
			pmm->stats.free_frames -= count;
			pmm->stats.used_frames += count;
			return (paddr_t)f << FRAME_SHIFT;
		}
		/* Nothing starting at or before `used` can fit: skip past it. */
		f = (used + align) & ~(align - 1);
		if (f <= used)
			break; /* wrapped past 2^32 frames */
	}
	pmm->stats.exhausted++;
	return 0;
}

enum pmm_result pmm_free_contig(struct pmm *pmm, paddr_t start, uint32_t count)
{
	if (count == 0 || count > pmm->nframes) {
		pmm->stats.bad_requests++;
		mm_warn("pmm: pmm_free_contig(0x%x, %u frames) refused: %s", (unsigned)start,
			(unsigned)count, count ? "more frames than the machine has" : "zero size");
		return PMM_EINVAL;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint64_t addr = (uint64_t)start + (uint64_t)i * FRAME_SIZE;
		enum pmm_result why = check_freeable(pmm, addr);
		if (why != PMM_OK)
			return refuse(pmm, why, addr, "pmm_free_contig");
	}
	release(pmm, start >> FRAME_SHIFT, count);
	return PMM_OK;
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
