/*
 * memmap.h - the machine's physical memory, as the boot loader described it,
 * turned into one clean list of usable ranges.
 *
 * Firmware maps are messy: entries come unsorted, overlap, have zero length,
 * odd `size` fields, or reach past 4 GiB.  memmap keeps the raw entries for
 * display and derives `usable`: sorted, non-overlapping, page-aligned inward,
 * where any byte claimed by a non-available entry is not usable ("reserved
 * wins").  Everything after boot (the PMM, the monitor, the tests) reads only
 * the normalized list.
 *
 * Portable C: compiled into the kernel and into the host tests and fuzzers.
 */
#ifndef MM_MEMMAP_H
#define MM_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "multiboot.h"

#define PAGE_SIZE 4096u
#define MEMMAP_MAX_RAW    128 /* raw entries kept; more are merged away */
#define MEMMAP_MAX_RANGES 128 /* normalized usable ranges */
#define FOUR_GIB 0x100000000ull

/* A physical address range [start, end). */
struct mem_range {
	uint64_t start;
	uint64_t end;
};

struct memmap_entry {
	uint64_t base;
	uint64_t length;
	uint32_t type; /* MB_MEMORY_* */
};

struct memmap {
	struct memmap_entry raw[MEMMAP_MAX_RAW]; /* as handed over, in order */
	unsigned raw_count;
	struct mem_range usable[MEMMAP_MAX_RANGES]; /* normalized, sorted */
	unsigned count;
	uint64_t usable_below_4g; /* bytes of `usable` below 4 GiB */
	uint64_t usable_above_4g; /* bytes at or above 4 GiB: reported, unused */
	unsigned ignored;         /* raw entries dropped (zero length, overflow) */
	unsigned warnings;        /* problems reported through mm_warn */
	bool from_fallback;       /* built from mem_lower/mem_upper, no map */
};

/* Start an empty map. */
void memmap_init(struct memmap *map);

/*
 * Record one raw entry.  Zero-length entries are counted in `ignored`; an
 * entry whose end would pass 2^64 is clipped.  When the raw table is full, a
 * non-available entry evicts an available one (dropping usable memory is
 * safe, dropping a reservation is not).
 */
void memmap_add(struct memmap *map, uint64_t base, uint64_t length, uint32_t type);

/*
 * Derive `usable` and the totals from the raw entries.  Call after the last
 * memmap_add(); calling it again recomputes from scratch.
 */
void memmap_normalize(struct memmap *map);

/*
 * Build the map from a Multiboot information structure.  `mmap` points at a
 * copy of the loader's memory-map buffer (mbi->mmap_length bytes), or is
 * NULL when there is none.  When the map is missing or has no available
 * entry, mem_lower/mem_upper supply the usable ranges (from_fallback set),
 * and any reservations the map did give still apply: a fallback never
 * hands out what the map called reserved.  Returns 0, or -1 when the loader
 * gave no memory information at all.  Reservations can still leave nothing
 * usable (count 0): the caller must check.
 */
int memmap_from_multiboot(struct memmap *map, const struct multiboot_info *mbi,
			  const void *mmap);

/* Is the byte at `addr` inside a normalized usable range? */
bool memmap_is_usable(const struct memmap *map, uint64_t addr);

/* One past the last usable byte below 4 GiB (0 when there is none). */
uint64_t memmap_top_below_4g(const struct memmap *map);

/*
 * Find `size` bytes of usable memory, page-aligned, in [min, limit), that
 * overlap none of the `navoid` ranges in `avoid`.  Returns the start address,
 * or 0 when there is no such place (0 itself is never returned as a place).
 */
uint64_t memmap_find_free(const struct memmap *map, const struct mem_range *avoid,
			  unsigned navoid, uint64_t size, uint64_t min, uint64_t limit);

/* A short name for an entry type ("available", "reserved", "ACPI", ...). */
const char *memmap_type_name(uint32_t type);

#endif
