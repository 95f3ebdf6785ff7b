/*
 * memmap.c - normalize the boot loader's memory map.
 *
 * The algorithm works on byte ranges and only aligns at the very end:
 *
 *   1. every available entry goes into one list, sorted and merged;
 *   2. every other entry (reserved, ACPI, NVS, bad RAM, unknown types) is
 *      subtracted from that list, so where the two overlap reserved wins;
 *   3. each surviving range is shrunk to whole pages (start rounded up, end
 *      rounded down) and dropped if nothing is left.
 *
 * Aligning last matters: a page is usable exactly when every byte of it is
 * available and none is reserved, whatever order the entries came in.
 * Lists are small (a real map has a dozen entries), so the sorting and
 * subtraction are simple quadratic loops over fixed arrays: no allocation,
 * which is what boot code can afford.
 */
#include "memmap.h"

#include <string.h>

#include "mm_log.h"

#define MEMMAP_MAX_END UINT64_MAX

void memmap_init(struct memmap *map)
{
	memset(map, 0, sizeof(*map));
}

static bool is_available(uint32_t type)
{
	return type == MB_MEMORY_AVAILABLE;
}

/* Index of the smallest available raw entry, or -1 when there is none. */
static int smallest_available(const struct memmap *map)
{
	int best = -1;

	for (unsigned i = 0; i < map->raw_count; i++)
		if (is_available(map->raw[i].type) &&
		    (best < 0 || map->raw[i].length < map->raw[best].length))
			best = (int)i;
	return best;
}

void memmap_add(struct memmap *map, uint64_t base, uint64_t length, uint32_t type)
{
	if (length == 0) {
		map->ignored++;
		return;
	}
	if (length > MEMMAP_MAX_END - base) {
		mm_warn("memmap: entry at 0x%llx runs past 2^64, clipped",
			(unsigned long long)base);
		map->warnings++;
		length = MEMMAP_MAX_END - base;
		if (length == 0) {
			map->ignored++;
			return;
		}
	}

	struct memmap_entry e = { base, length, type };
	if (map->raw_count < MEMMAP_MAX_RAW) {
		map->raw[map->raw_count++] = e;
		return;
	}
	map->warnings++;
	int victim = is_available(type) ? -1 : smallest_available(map);
	if (victim < 0) {
		mm_warn("memmap: more than %d entries, dropped one at 0x%llx",
			MEMMAP_MAX_RAW, (unsigned long long)base);
		map->ignored++;
		return;
	}
	mm_warn("memmap: more than %d entries, dropped available 0x%llx to keep a reservation",
		MEMMAP_MAX_RAW, (unsigned long long)map->raw[victim].base);
	map->raw[victim] = e;
	map->ignored++;
}

static void remove_range(struct memmap *map, unsigned i)
{
	memmove(&map->usable[i], &map->usable[i + 1],
		(map->count - i - 1) * sizeof(map->usable[0]));
	map->count--;
}

static void sort_ranges(struct mem_range *r, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct mem_range key = r[i];
		unsigned j = i;
		while (j > 0 && r[j - 1].start > key.start) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = key;
	}
}

/* Step 1: the union of all available entries, sorted and merged. */
static void collect_available(struct memmap *map)
{
	map->count = 0;
	for (unsigned i = 0; i < map->raw_count; i++) {
		const struct memmap_entry *e = &map->raw[i];
		if (is_available(e->type))
			map->usable[map->count++] =
				(struct mem_range){ e->base, e->base + e->length };
	}
	sort_ranges(map->usable, map->count);

	unsigned out = 0;
	for (unsigned i = 0; i < map->count; i++) {
		if (out > 0 && map->usable[i].start <= map->usable[out - 1].end) {
			if (map->usable[i].end > map->usable[out - 1].end)
				map->usable[out - 1].end = map->usable[i].end;
		} else {
			map->usable[out++] = map->usable[i];
		}
	}
	map->count = out;
}

/* Step 2: take [start, end) out of every usable range it touches. */
static void subtract(struct memmap *map, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < map->count; i++) {
		struct mem_range *u = &map->usable[i];
		if (end <= u->start || start >= u->end)
			continue;
		bool keep_left = start > u->start, keep_right = end < u->end;
		if (!keep_left && !keep_right) {
			remove_range(map, i--);
		} else if (keep_left && keep_right) {
			struct mem_range right = { end, u->end };
			u->end = start;
			if (map->count == MEMMAP_MAX_RANGES) {
				mm_warn("memmap: too many ranges, dropped usable 0x%llx-0x%llx",
					(unsigned long long)right.start,
					(unsigned long long)right.end);
				map->warnings++;
				continue;
			}
			memmove(u + 2, u + 1, (map->count - i - 1) * sizeof(*u));
			u[1] = right;
			map->count++;
			i++;
		} else if (keep_left) {
			u->end = start;
		} else {
			u->start = end;
		}
	}
}

/* Step 3: whole pages only. */
static void align_inward(struct memmap *map)
{
	for (unsigned i = 0; i < map->count; i++) {
		struct mem_range *u = &map->usable[i];
		uint64_t start = u->start > MEMMAP_MAX_END - (PAGE_SIZE - 1)
					 ? MEMMAP_MAX_END
					 : (u->start + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
		uint64_t end = u->end & ~(uint64_t)(PAGE_SIZE - 1);
		if (start >= end) {
			remove_range(map, i--);
			continue;
		}
		u->start = start;
		u->end = end;
	}
}

static void count_totals(struct memmap *map)
{
	map->usable_below_4g = map->usable_above_4g = 0;
	for (unsigned i = 0; i < map->count; i++) {
		const struct mem_range *u = &map->usable[i];
		uint64_t split = u->end < FOUR_GIB ? u->end : FOUR_GIB;
		if (u->start < split)
			map->usable_below_4g += split - u->start;
		map->usable_above_4g += (u->end - u->start) -
					(u->start < split ? split - u->start : 0);
	}
}

void memmap_normalize(struct memmap *map)
{
	collect_available(map);
	for (unsigned i = 0; i < map->raw_count; i++) {
		const struct memmap_entry *e = &map->raw[i];
		if (!is_available(e->type))
			subtract(map, e->base, e->base + e->length);
	}
	align_inward(map);
	count_totals(map);
}

/* Walk the loader's buffer entry by entry; stop at the first malformed one. */
static void add_multiboot_entries(struct memmap *map, const uint8_t *buf, uint32_t len)
{
	uint32_t off = 0;

	while (off < len) {
		if (len - off < 4 + MB_MMAP_ENTRY_MIN_SIZE) {
			mm_warn("memmap: %u stray bytes at the end of the map, ignored",
				(unsigned)(len - off));
			map->warnings++;
			return;
		}
		struct multiboot_mmap_entry e;
		memcpy(&e, buf + off, sizeof(e));
		if (e.size < MB_MMAP_ENTRY_MIN_SIZE) {
			mm_warn("memmap: entry at offset %u has size %u (< %u), rest of map ignored",
				(unsigned)off, (unsigned)e.size, MB_MMAP_ENTRY_MIN_SIZE);
			map->warnings++;
			return;
		}
		if (e.size > len - off - 4) {
			mm_warn("memmap: entry at offset %u (size %u) runs past the map's end, ignored",
				(unsigned)off, (unsigned)e.size);
			map->warnings++;
			return;
		}
		memmap_add(map, e.base, e.length, e.type);
		off += 4 + e.size;
	}
}

static bool has_available(const struct memmap *map)
{
	for (unsigned i = 0; i < map->raw_count; i++)
		if (is_available(map->raw[i].type))
			return true;
	return false;
}

int memmap_from_multiboot(struct memmap *map, const struct multiboot_info *mbi,
			  const void *mmap)
{
	memmap_init(map);
	if ((mbi->flags & MB_INFO_MMAP) && mmap && mbi->mmap_length > 0)
		add_multiboot_entries(map, mmap, mbi->mmap_length);

	if (!has_available(map)) {
		if (!(mbi->flags & MB_INFO_MEMORY)) {
			mm_warn("memmap: the boot loader gave neither a memory map nor mem_lower/mem_upper");
			map->warnings++;
			memmap_normalize(map);
			return -1;
		}
		if (mbi->flags & MB_INFO_MMAP) {
			mm_warn("memmap: memory map has no usable entry, using mem_lower/mem_upper");
			map->warnings++;
		}
		/* Keep any reservations the map did give; add the two classic ranges. */
		memmap_add(map, 0, (uint64_t)mbi->mem_lower * 1024, MB_MEMORY_AVAILABLE);
		memmap_add(map, 0x100000, (uint64_t)mbi->mem_upper * 1024, MB_MEMORY_AVAILABLE);
		map->from_fallback = true;
	}
	memmap_normalize(map);
	return 0;
}

bool memmap_is_usable(const struct memmap *map, uint64_t addr)
{
	unsigned lo = 0, hi = map->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (addr < map->usable[mid].start)
			hi = mid;
		else if (addr >= map->usable[mid].end)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t memmap_top_below_4g(const struct memmap *map)
{
	uint64_t top = 0;

	for (unsigned i = 0; i < map->count; i++)
		if (map->usable[i].start < FOUR_GIB)
			top = map->usable[i].end < FOUR_GIB ? map->usable[i].end : FOUR_GIB;
	return top;
}

/* First byte at or after `at` that is clear of every avoided range. */
static uint64_t skip_avoided(uint64_t at, uint64_t size, const struct mem_range *avoid,
			     unsigned navoid)
{
	bool moved = true;

	while (moved) {
		moved = false;
		for (unsigned i = 0; i < navoid; i++) {
			if (at < avoid[i].end && at + size > avoid[i].start) {
				if (avoid[i].end > MEMMAP_MAX_END - (PAGE_SIZE - 1))
					return 0; /* clear of it only past 2^64: no place */
				at = (avoid[i].end + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
				moved = true;
			}
		}
	}
	return at;
}

uint64_t memmap_find_free(const struct memmap *map, const struct mem_range *avoid,
			  unsigned navoid, uint64_t size, uint64_t min, uint64_t limit)
{
	if (min < PAGE_SIZE)
		min = PAGE_SIZE; /* 0 is not a place, but the page after it is */
	if (size == 0 || limit <= min || size > limit - min ||
	    min > MEMMAP_MAX_END - (PAGE_SIZE - 1)) /* no page starts at or after min */
		return 0;
	for (unsigned i = 0; i < map->count; i++) {
		const struct mem_range *u = &map->usable[i];
		uint64_t at = u->start > min ? u->start : (min + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
		uint64_t end = u->end < limit ? u->end : limit;
		at = skip_avoided(at, size, avoid, navoid);
		if (at != 0 && at < end && size <= end - at)
			return at;
	}
	return 0;
}

const char *memmap_type_name(uint32_t type)
{
	switch (type) {
	case MB_MEMORY_AVAILABLE:        return "available";
	case MB_MEMORY_RESERVED:         return "reserved";
	case MB_MEMORY_ACPI_RECLAIMABLE: return "ACPI data";
	case MB_MEMORY_NVS:              return "ACPI NVS";
	case MB_MEMORY_BADRAM:           return "bad RAM";
	default:                         return "unknown";
	}
}
