/*
 * test_memmap.c - host tests for mm/memmap.c, the memory-map normalizer.
 *
 * Everything the PMM later trusts comes from memmap_from_multiboot(), so the
 * tests feed it raw Multiboot buffers built byte by byte, exactly as a loader
 * lays them out: the maps QEMU really hands over, then each kind of damage a
 * firmware map can carry (unsorted, overlapping, zero-length, odd `size`
 * fields, truncated buffers, 2^64 overflow, too many entries), then the
 * fallbacks when there is no map.  The normalized `usable` list, the totals
 * and the warnings are checked against hand-computed values.
 *
 * A randomized property test closes the gaps: thousands of random maps are
 * compared, page by page, with a brute-force model of the rule memmap.h
 * promises -- a page is usable iff every byte of it is covered by an
 * available entry and no byte by any other entry.  The seed is fixed and
 * printed, so a failure names the map that caused it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "qemu_maps.h"
#include "mm/memmap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KIB 0x400ull
#define MIB 0x100000ull

/* ---- building raw Multiboot maps ---------------------------------------- */

#define MB_MAP_BYTES 8192

/* A loader's memory-map buffer, filled entry by entry. */
struct mb_map {
	uint8_t bytes[MB_MAP_BYTES];
	uint32_t len;
};

/* A row of a map table: one entry as the loader would report it. */
static void put_bytes(struct mb_map *m, const void *p, uint32_t n)
{
	if (m->len + n > MB_MAP_BYTES) {
		fprintf(stderr, "test_memmap: map buffer too small\n");
		abort();
	}
	memcpy(m->bytes + m->len, p, n);
	m->len += n;
}

/*
 * One entry with an explicit `size` field.  Sizes above 20 get filler bytes
 * after the entry (the extra fields a loader may add); a malformed smaller
 * size still gets the full 24-byte body, so only the field is wrong.
 */
static void put_sized(struct mb_map *m, uint32_t size, uint64_t base, uint64_t length,
		      uint32_t type)
{
	struct multiboot_mmap_entry e = { size, base, length, type };
	static const uint8_t filler[64] = { [0 ... 63] = 0xA5 };

	put_bytes(m, &e, sizeof(e));
	if (size > MB_MMAP_ENTRY_MIN_SIZE)
		put_bytes(m, filler, size - MB_MMAP_ENTRY_MIN_SIZE);
}

static void put(struct mb_map *m, uint64_t base, uint64_t length, uint32_t type)
{
	put_sized(m, MB_MMAP_ENTRY_MIN_SIZE, base, length, type);
}

static void put_table(struct mb_map *m, const struct raw *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put(m, t[i].base, t[i].length, t[i].type);
}

/* Hand `m` to memmap_from_multiboot() the way the kernel does. */
static int load(struct memmap *map, const struct mb_map *m)
{
	struct multiboot_info mbi = { .flags = MB_INFO_MMAP, .mmap_length = m->len };

	return memmap_from_multiboot(map, &mbi, m->bytes);
}

static int load_table(struct memmap *map, const struct raw *t, unsigned n)
{
	static struct mb_map m;

	m.len = 0;
	put_table(&m, t, n);
	return load(map, &m);
}

/* ---- checking the result ------------------------------------------------ */

static void dump_usable(const struct memmap *map)
{
	printf("# usable (%u ranges):", map->count);
	for (unsigned i = 0; i < map->count; i++)
		printf(" 0x%llx-0x%llx", (unsigned long long)map->usable[i].start,
		       (unsigned long long)map->usable[i].end);
	printf("\n");
}

static bool usable_equals(const struct memmap *map, const struct mem_range *want, unsigned n)
{
	bool same = map->count == n;

	for (unsigned i = 0; same && i < n; i++)
		same = map->usable[i].start == want[i].start && map->usable[i].end == want[i].end;
	if (!same)
		dump_usable(map);
	return same;
}

/* EXPECT_USABLE(&map, { start, end }, ...): the exact normalized list. */
#define EXPECT_USABLE(map, ...)                                                        \
	do {                                                                           \
		static const struct mem_range want_[] = { __VA_ARGS__ };               \
		CHECK(usable_equals((map), want_, ARRAY_SIZE(want_)),                  \
		      "normalized list differs from %s", #__VA_ARGS__);                 \
	} while (0)

/* ---- the maps QEMU hands over ------------------------------------------- */


static const struct raw qemu_32m[] = {
	QEMU_LOW,
	{ 0x100000, 0x1ee0000, MB_MEMORY_AVAILABLE },
	{ 0x1fe0000, 0x20000, MB_MEMORY_RESERVED },
	QEMU_BIOS,
};

static const struct raw qemu_3g[] = {
	QEMU_LOW,
	{ 0x100000, 0xbfee0000, MB_MEMORY_AVAILABLE },
	{ 0xbffe0000, 0x20000, MB_MEMORY_RESERVED },
	QEMU_BIOS,
};

static const struct raw qemu_4g[] = {
	QEMU_LOW,
	{ 0x100000, 0xbfee0000, MB_MEMORY_AVAILABLE },
	{ 0xbffe0000, 0x20000, MB_MEMORY_RESERVED },
	QEMU_BIOS,
	{ 0x100000000, 0x40000000, MB_MEMORY_AVAILABLE },
};

/* Checks every clean map shares: no repairs, no warnings, no fallback. */
static void expect_clean(const struct memmap *map, unsigned raw_count)
{
	CHECK_EQ(map->raw_count, raw_count);
	CHECK_EQ(map->ignored, 0);
	CHECK_EQ(map->warnings, 0);
	CHECK_EQ(warnings_seen(), 0);
	CHECK(!map->from_fallback, "a real map must not use the fallback");
}

static void qemu_32m_map(void)
{
	struct memmap map;

	CHECK_EQ(load_table(&map, qemu_32m, ARRAY_SIZE(qemu_32m)), 0);
	EXPECT_USABLE(&map, { 0, 0x9f000 }, { 0x100000, 0x1fe0000 });
	CHECK_EQ(map.usable_below_4g, 0x9f000 + 0x1ee0000);
	CHECK_EQ(map.usable_above_4g, 0);
	CHECK_EQ(memmap_top_below_4g(&map), 0x1fe0000);
	expect_clean(&map, ARRAY_SIZE(qemu_32m));
}

static void qemu_3g_map(void)
{
	struct memmap map;

	CHECK_EQ(load_table(&map, qemu_3g, ARRAY_SIZE(qemu_3g)), 0);
	EXPECT_USABLE(&map, { 0, 0x9f000 }, { 0x100000, 0xbffe0000 });
	CHECK_EQ(map.usable_below_4g, 0x9f000 + 0xbfee0000);
	CHECK_EQ(map.usable_above_4g, 0);
	CHECK_EQ(memmap_top_below_4g(&map), 0xbffe0000);
	expect_clean(&map, ARRAY_SIZE(qemu_3g));
}

static void qemu_4g_map(void)
{
	struct memmap map;

	CHECK_EQ(load_table(&map, qemu_4g, ARRAY_SIZE(qemu_4g)), 0);
	EXPECT_USABLE(&map, { 0, 0x9f000 }, { 0x100000, 0xbffe0000 },
		      { 0x100000000, 0x140000000 });
	CHECK_EQ(map.usable_below_4g, 0x9f000 + 0xbfee0000);
	CHECK_EQ(map.usable_above_4g, 0x40000000);
	CHECK_EQ(memmap_top_below_4g(&map), 0xbffe0000);
	CHECK(memmap_is_usable(&map, 0x13fffffff), "last byte above 4 GiB");
	CHECK(!memmap_is_usable(&map, 0x140000000), "one past the top");
	expect_clean(&map, ARRAY_SIZE(qemu_4g));
}

/* The raw table keeps the entries as handed over, in order. */
static void raw_entries_kept_in_order(void)
{
	struct memmap map;

	CHECK_EQ(load_table(&map, qemu_4g, ARRAY_SIZE(qemu_4g)), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(qemu_4g); i++) {
		CHECK_EQ(map.raw[i].base, qemu_4g[i].base);
		CHECK_EQ(map.raw[i].length, qemu_4g[i].length);
		CHECK_EQ(map.raw[i].type, qemu_4g[i].type);
	}
}

/* ---- damaged maps -------------------------------------------------------- */

static void unsorted_entries(void)
{
	static const struct raw t[] = {
		QEMU_BIOS,
		{ 0x1fe0000, 0x20000, MB_MEMORY_RESERVED },
		{ 0x100000, 0x1ee0000, MB_MEMORY_AVAILABLE },
		{ 0xf0000, 0x10000, MB_MEMORY_RESERVED },
		{ 0x9fc00, 0x400, MB_MEMORY_RESERVED },
		{ 0, 0x9fc00, MB_MEMORY_AVAILABLE },
	};
	struct memmap map;

	CHECK_EQ(load_table(&map, t, ARRAY_SIZE(t)), 0);
	EXPECT_USABLE(&map, { 0, 0x9f000 }, { 0x100000, 0x1fe0000 });
	expect_clean(&map, ARRAY_SIZE(t));
}

static void overlapping_available_merged(void)
{
	static const struct raw t[] = {
		{ 0x100000, 0x300000, MB_MEMORY_AVAILABLE }, /* 1-4 MiB */
		{ 0x200000, 0x400000, MB_MEMORY_AVAILABLE }, /* 2-6 MiB */
		{ 0x180000, 0x10000, MB_MEMORY_AVAILABLE },  /* inside the first */
		{ 0x600000, 0x100000, MB_MEMORY_AVAILABLE }, /* touches the second */
	};
	struct memmap map;

	CHECK_EQ(load_table(&map, t, ARRAY_SIZE(t)), 0);
	EXPECT_USABLE(&map, { 0x100000, 0x700000 });
	CHECK_EQ(map.usable_below_4g, 0x600000);
}

/* A page split between two unaligned available entries is still whole. */
static void page_spanning_two_entries(void)
{
	static const struct raw t[] = {
		{ 0x1000, 0x1800, MB_MEMORY_AVAILABLE }, /* 0x1000-0x2800 */
		{ 0x2800, 0x1800, MB_MEMORY_AVAILABLE }, /* 0x2800-0x4000 */
	};
	struct memmap map;

	CHECK_EQ(load_table(&map, t, ARRAY_SIZE(t)), 0);
	EXPECT_USABLE(&map, { 0x1000, 0x4000 });
}

static void check_reserved_wins(const struct raw *t, unsigned n)
{
	struct memmap map;

	CHECK_EQ(load_table(&map, t, n), 0);
	EXPECT_USABLE(&map, { 0, 0x3000 }, { 0x4000, 0x8000 }, { 0xa000, 0x10000 });
	CHECK_EQ(map.usable_below_4g, 0x3000 + 0x4000 + 0x6000);
	CHECK(!memmap_is_usable(&map, 0x3fff), "page touched by a reservation");
	CHECK(!memmap_is_usable(&map, 0x9000), "page inside a reservation");
}

/* Reserved wins over available, whichever comes first in the map. */
static void reserved_wins_either_order(void)
{
	static const struct raw after[] = {
		{ 0, 0x10000, MB_MEMORY_AVAILABLE },
		{ 0x3800, 0x100, MB_MEMORY_RESERVED },
		{ 0x8000, 0x2000, MB_MEMORY_NVS },
	};
	static const struct raw before[] = {
		{ 0x8000, 0x2000, MB_MEMORY_NVS },
		{ 0x3800, 0x100, MB_MEMORY_RESERVED },
		{ 0, 0x10000, MB_MEMORY_AVAILABLE },
	};

	check_reserved_wins(after, ARRAY_SIZE(after));
	if (check_failed)
		return;
	check_reserved_wins(before, ARRAY_SIZE(before));
}

/* Every type but "available" (including unknown ones) takes memory away. */
static void other_types_not_usable(void)
{
	static const uint32_t types[] = {
		MB_MEMORY_RESERVED, MB_MEMORY_ACPI_RECLAIMABLE, MB_MEMORY_NVS,
		MB_MEMORY_BADRAM, 0, 7, 0xffffffff,
	};
	static struct mb_map m;
	struct memmap map;

	m.len = 0;
	put(&m, 0, 0x100000, MB_MEMORY_AVAILABLE);
	for (unsigned i = 0; i < ARRAY_SIZE(types); i++)
		put(&m, (i + 1) * 0x10000, 0x1000, types[i]);
	CHECK_EQ(load(&map, &m), 0);
	CHECK_EQ(map.count, ARRAY_SIZE(types) + 1);
	for (unsigned i = 0; i < ARRAY_SIZE(types); i++)
		CHECK(!memmap_is_usable(&map, (i + 1) * 0x10000),
		      "type %u must not be usable", (unsigned)types[i]);
	CHECK_EQ(map.usable_below_4g, 0x100000 - ARRAY_SIZE(types) * 0x1000);
}

static void zero_length_ignored(void)
{
	static const struct raw t[] = {
		{ 0x100000, 0, MB_MEMORY_AVAILABLE },
		{ 0x100000, 0x100000, MB_MEMORY_AVAILABLE },
		{ 0x180000, 0, MB_MEMORY_RESERVED }, /* would split it if it counted */
		{ 0, 0, 0 },
	};
	struct memmap map;

	CHECK_EQ(load_table(&map, t, ARRAY_SIZE(t)), 0);
	EXPECT_USABLE(&map, { 0x100000, 0x200000 });
	CHECK_EQ(map.ignored, 3);
	CHECK_EQ(map.raw_count, 1);
	CHECK_EQ(map.warnings, 0);
}

/* size 24: the four extra bytes are skipped, the next entry still read. */
static void larger_size_honoured(void)
{
	static struct mb_map m;
	struct memmap map;

	m.len = 0;
	put_sized(&m, 24, 0x100000, 0x100000, MB_MEMORY_AVAILABLE);
	put_sized(&m, 20, 0x300000, 0x100000, MB_MEMORY_AVAILABLE);
	put_sized(&m, 44, 0x180000, 0x1000, MB_MEMORY_RESERVED);
	put_sized(&m, 24, 0x500000, 0x100000, MB_MEMORY_AVAILABLE);
	CHECK_EQ(load(&map, &m), 0);
	EXPECT_USABLE(&map, { 0x100000, 0x180000 }, { 0x181000, 0x200000 },
		      { 0x300000, 0x400000 }, { 0x500000, 0x600000 });
	expect_clean(&map, 4);
}

/* size < 20 is malformed: what came before is kept, the rest ignored. */
static void small_size_stops_parsing(void)
{
	static struct mb_map m;
	struct memmap map;

	m.len = 0;
	put(&m, 0x100000, 0x100000, MB_MEMORY_AVAILABLE);
	put_sized(&m, 16, 0x300000, 0x100000, MB_MEMORY_AVAILABLE);
	put(&m, 0x500000, 0x100000, MB_MEMORY_AVAILABLE);
	CHECK_EQ(load(&map, &m), 0);
	EXPECT_USABLE(&map, { 0x100000, 0x200000 });
	CHECK_EQ(map.raw_count, 1);
	CHECK_EQ(map.warnings, 1);
	CHECK_WARNED("offset 24 has size 16");
}

/* An entry whose `size` reaches past mmap_length is not read. */
static void entry_past_buffer_end(void)
{
	static struct mb_map m;
	struct memmap map;

	m.len = 0;
	put(&m, 0x100000, 0x100000, MB_MEMORY_AVAILABLE);
	put_sized(&m, 28, 0x300000, 0x100000, MB_MEMORY_AVAILABLE);
	m.len -= 4; /* the loader's length stops 4 bytes short of it */
	CHECK_EQ(load(&map, &m), 0);
	EXPECT_USABLE(&map, { 0x100000, 0x200000 });
	CHECK_EQ(map.raw_count, 1);
	CHECK_EQ(map.warnings, 1);
	CHECK_WARNED("runs past the map's end");
}

/* Fewer bytes than one entry left over: reported, entries before kept. */
static void stray_trailing_bytes(void)
{
	static struct mb_map m;
	static const uint8_t junk[23] = { 0x14 };
	struct memmap map;

	for (uint32_t n = 1; n <= sizeof(junk); n++) {
		m.len = 0;
		put(&m, 0x100000, 0x100000, MB_MEMORY_AVAILABLE);
		put_bytes(&m, junk, n);
		reset_warnings();
		CHECK_EQ(load(&map, &m), 0);
		EXPECT_USABLE(&map, { 0x100000, 0x200000 });
		CHECK_EQ(map.warnings, 1);
		CHECK_WARNED("stray bytes");
	}
}

static void unaligned_ranges_shrink_inward(void)
{
	static const struct raw t[] = {
		{ 0x1800, 0x3000, MB_MEMORY_AVAILABLE },   /* 0x1800-0x4800 */
		{ 0x10100, 0xe00, MB_MEMORY_AVAILABLE },   /* inside one page */
		{ 0x20001, 0x1ffe, MB_MEMORY_AVAILABLE },  /* crosses one boundary */
		{ 0x30fff, 0x1002, MB_MEMORY_AVAILABLE },  /* one whole page inside */
	};
	struct memmap map;

	CHECK_EQ(load_table(&map, t, ARRAY_SIZE(t)), 0);
	EXPECT_USABLE(&map, { 0x2000, 0x4000 }, { 0x31000, 0x32000 });
	CHECK_EQ(map.usable_below_4g, 0x3000);
}

static void end_past_2_64_clipped(void)
{
	static const struct raw t[] = {
		{ 0, 0x2000000, MB_MEMORY_AVAILABLE },
		{ 0x1000000, UINT64_MAX, MB_MEMORY_RESERVED },
		{ 0xffffffff00000000, 0x200000000, MB_MEMORY_AVAILABLE },
	};
	struct memmap map;

	CHECK_EQ(load_table(&map, t, ARRAY_SIZE(t)), 0);
	CHECK_EQ(map.warnings, 2);
	CHECK_WARNED("runs past 2^64, clipped");
	CHECK_EQ(map.raw[1].base + map.raw[1].length, UINT64_MAX);
	CHECK_EQ(map.raw[2].base + map.raw[2].length, UINT64_MAX);
	/* The clipped reservation still covers everything from 16 MiB up. */
	EXPECT_USABLE(&map, { 0, 0x1000000 });
	CHECK_EQ(map.usable_above_4g, 0);
}

static void clipped_available_at_the_top(void)
{
	static const struct raw t[] = {
		{ 0xffffffff00000000, 0x200000000, MB_MEMORY_AVAILABLE },
	};
	struct memmap map;

	CHECK_EQ(load_table(&map, t, ARRAY_SIZE(t)), 0);
	CHECK_EQ(map.warnings, 1);
	EXPECT_USABLE(&map, { 0xffffffff00000000, 0xfffffffffffff000 });
	CHECK_EQ(map.usable_above_4g, 0xfffff000);
	CHECK_EQ(map.usable_below_4g, 0);
	CHECK_EQ(memmap_top_below_4g(&map), 0);
}

static void range_straddling_4g(void)
{
	static const struct raw t[] = {
		{ 0x100000, 0x1000000, MB_MEMORY_AVAILABLE },
		{ 0xf0000000, 0x20000000, MB_MEMORY_AVAILABLE },
	};
	struct memmap map;

	CHECK_EQ(load_table(&map, t, ARRAY_SIZE(t)), 0);
	EXPECT_USABLE(&map, { 0x100000, 0x1100000 }, { 0xf0000000, 0x110000000 });
	CHECK_EQ(map.usable_below_4g, 0x1000000 + 0x10000000);
	CHECK_EQ(map.usable_above_4g, 0x10000000);
	CHECK_EQ(memmap_top_below_4g(&map), FOUR_GIB);
}

/* GRUB's cutmem 16M 32M leaves two available entries with a gap between. */
static void cut_hole_stays_a_hole(void)
{
	static const struct raw t[] = {
		{ 0, 0x9fc00, MB_MEMORY_AVAILABLE },
		{ 0x100000, 0xf00000, MB_MEMORY_AVAILABLE },
		{ 0x2000000, 0x6000000, MB_MEMORY_AVAILABLE },
	};
	struct memmap map;

	CHECK_EQ(load_table(&map, t, ARRAY_SIZE(t)), 0);
	EXPECT_USABLE(&map, { 0, 0x9f000 }, { 0x100000, 0x1000000 }, { 0x2000000, 0x8000000 });
	CHECK(!memmap_is_usable(&map, 0x1000000), "start of the cut");
	CHECK(!memmap_is_usable(&map, 0x1ffffff), "end of the cut");
	CHECK(memmap_is_usable(&map, 0xffffff), "just below the cut");
	CHECK(memmap_is_usable(&map, 0x2000000), "just above the cut");
}

/*
 * Fill the raw table with small available entries, then give a reservation:
 * it must evict an available entry rather than be dropped.  Available
 * entries past the limit are dropped; both events are reported.
 */
static void too_many_entries_reservation_wins(void)
{
	static struct mb_map m;
	struct memmap map;

	m.len = 0;
	for (unsigned i = 0; i < MEMMAP_MAX_RAW - 1; i++)
		put(&m, MIB + i * 0x2000, 0x1000, MB_MEMORY_AVAILABLE);
	put(&m, 16 * MIB, 16 * MIB, MB_MEMORY_AVAILABLE);
	put(&m, 20 * MIB, MIB, MB_MEMORY_RESERVED);  /* table full: evicts */
	put(&m, 64 * MIB, MIB, MB_MEMORY_AVAILABLE); /* table full: dropped */
	CHECK_EQ(load(&map, &m), 0);
	CHECK_EQ(map.raw_count, MEMMAP_MAX_RAW);
	CHECK_EQ(map.ignored, 2);
	CHECK_EQ(map.warnings, 2);
	CHECK_EQ(warnings_seen(), 2);
	CHECK_WARNED("dropped one at 0x4000000");
	CHECK(!memmap_is_usable(&map, 20 * MIB), "the late reservation is honoured");
	CHECK(!memmap_is_usable(&map, 21 * MIB - 1), "the late reservation is honoured");
	CHECK(memmap_is_usable(&map, 20 * MIB - 1), "below the reservation");
	CHECK(memmap_is_usable(&map, 21 * MIB), "above the reservation");
	CHECK(!memmap_is_usable(&map, 64 * MIB), "the dropped available entry");
	CHECK_EQ(map.usable_below_4g, (MEMMAP_MAX_RAW - 2) * 0x1000ull + 15 * MIB);
}

static void eviction_is_reported(void)
{
	struct memmap map;

	memmap_init(&map);
	for (unsigned i = 0; i < MEMMAP_MAX_RAW; i++)
		memmap_add(&map, MIB + i * 0x4000, 0x2000 + (i == 7 ? 0 : 0x1000),
			   MB_MEMORY_AVAILABLE);
	memmap_add(&map, 0, 0x1000, MB_MEMORY_BADRAM);
	CHECK_WARNED("dropped available 0x11c000 to keep a reservation");
	memmap_normalize(&map);
	CHECK(!memmap_is_usable(&map, MIB + 7 * 0x4000), "the smallest entry was evicted");
	CHECK_EQ(map.count, MEMMAP_MAX_RAW - 1);
}

/* ---- no usable map: the mem_lower/mem_upper fallback --------------------- */

static void fallback_without_map(void)
{
	struct multiboot_info mbi = {
		.flags = MB_INFO_MEMORY, .mem_lower = 639, .mem_upper = 31 * 1024,
		.mmap_length = 48, /* not trusted: the flag is clear */
	};
	static struct mb_map m;
	struct memmap map;

	m.len = 0;
	put(&m, 0, 64 * MIB, MB_MEMORY_AVAILABLE);
	CHECK_EQ(memmap_from_multiboot(&map, &mbi, m.bytes), 0);
	CHECK(map.from_fallback, "built from mem_lower/mem_upper");
	EXPECT_USABLE(&map, { 0, 0x9f000 }, { 0x100000, 0x2000000 });
	CHECK_EQ(map.warnings, 0);
}

/* A map without any available entry: fallback, but its reservations stay. */
static void fallback_keeps_reservations(void)
{
	struct multiboot_info mbi = { .flags = MB_INFO_MEMORY | MB_INFO_MMAP,
				      .mem_lower = 639, .mem_upper = 31 * 1024 };
	static struct mb_map m;
	struct memmap map;

	m.len = 0;
	put(&m, 0x9fc00, 0x400, MB_MEMORY_RESERVED);
	put(&m, 16 * MIB, MIB, MB_MEMORY_ACPI_RECLAIMABLE);
	put(&m, 20 * MIB, 0, MB_MEMORY_AVAILABLE);
	mbi.mmap_length = m.len;
	CHECK_EQ(memmap_from_multiboot(&map, &mbi, m.bytes), 0);
	CHECK(map.from_fallback, "built from mem_lower/mem_upper");
	CHECK_WARNED("no usable entry");
	EXPECT_USABLE(&map, { 0, 0x9f000 }, { 0x100000, 0x1000000 }, { 0x1100000, 0x2000000 });
}

/* MB_INFO_MMAP set, but the kernel had no buffer to pass: fallback. */
static void fallback_null_buffer(void)
{
	struct multiboot_info mbi = { .flags = MB_INFO_MEMORY | MB_INFO_MMAP,
				      .mem_lower = 640, .mem_upper = 1024,
				      .mmap_length = 240 };
	struct memmap map;

	CHECK_EQ(memmap_from_multiboot(&map, &mbi, NULL), 0);
	CHECK(map.from_fallback, "built from mem_lower/mem_upper");
	EXPECT_USABLE(&map, { 0, 0xa0000 }, { 0x100000, 0x200000 });
}

static void no_memory_information(void)
{
	struct multiboot_info none = { .flags = 0, .mem_lower = 639, .mem_upper = 1024 };
	struct multiboot_info reserved_only = { .flags = MB_INFO_MMAP };
	static struct mb_map m;
	struct memmap map;

	CHECK_EQ(memmap_from_multiboot(&map, &none, NULL), -1);
	CHECK_EQ(map.count, 0);
	CHECK_WARNED("neither a memory map nor mem_lower/mem_upper");

	m.len = 0;
	put(&m, 0, 64 * MIB, MB_MEMORY_RESERVED);
	reserved_only.mmap_length = m.len;
	CHECK_EQ(memmap_from_multiboot(&map, &reserved_only, m.bytes), -1);
	CHECK_EQ(map.count, 0);
	CHECK_EQ(map.usable_below_4g, 0);
	CHECK_EQ(memmap_top_below_4g(&map), 0);
}

/* ---- queries -------------------------------------------------------------- */

static void is_usable_edges(void)
{
	static const struct { uint64_t addr; bool usable; } probes[] = {
		{ 0, true }, { 0x9efff, true }, { 0x9f000, false }, { 0xfffff, false },
		{ 0x100000, true }, { 0x1fdffff, true }, { 0x1fe0000, false },
		{ 0xffffffff, false }, { FOUR_GIB, false }, { UINT64_MAX, false },
	};
	struct memmap map;

	CHECK_EQ(load_table(&map, qemu_32m, ARRAY_SIZE(qemu_32m)), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(probes); i++)
		CHECK(memmap_is_usable(&map, probes[i].addr) == probes[i].usable,
		      "memmap_is_usable(0x%llx) should be %d",
		      (unsigned long long)probes[i].addr, probes[i].usable);
}

static void top_below_4g(void)
{
	static const struct raw above_only[] = { { 0x100000000, MIB, MB_MEMORY_AVAILABLE } };
	struct memmap map;

	memmap_init(&map);
	memmap_normalize(&map);
	CHECK_EQ(memmap_top_below_4g(&map), 0);
	CHECK_EQ(load_table(&map, above_only, ARRAY_SIZE(above_only)), 0);
	CHECK_EQ(memmap_top_below_4g(&map), 0);
	CHECK_EQ(map.usable_above_4g, MIB);
	CHECK_EQ(load_table(&map, qemu_4g, ARRAY_SIZE(qemu_4g)), 0);
	CHECK_EQ(memmap_top_below_4g(&map), 0xbffe0000);
}

static void normalize_again_is_stable(void)
{
	struct memmap map, again;

	CHECK_EQ(load_table(&map, qemu_4g, ARRAY_SIZE(qemu_4g)), 0);
	again = map;
	memmap_normalize(&again);
	CHECK(usable_equals(&again, map.usable, map.count), "second normalize changed the list");
	CHECK_EQ(again.usable_below_4g, map.usable_below_4g);
	CHECK_EQ(again.usable_above_4g, map.usable_above_4g);
}

static void find_free_basics(void)
{
	struct memmap map;

	CHECK_EQ(load_table(&map, qemu_32m, ARRAY_SIZE(qemu_32m)), 0);
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0x10000, MIB, FOUR_GIB), MIB);
	/* min is rounded up to a page; limit bounds the end of the place. */
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0x1000, 0x123456, FOUR_GIB), 0x124000);
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0x1ee0000, MIB, 0x1fe0000), MIB);
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0x1ee1000, MIB, FOUR_GIB), 0);
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0x60000, MIB, 0x150000), 0);
	/* Too big for low memory: the next range. */
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0xa0000, 0x1000, FOUR_GIB), MIB);
	/* Degenerate requests. */
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0, MIB, FOUR_GIB), 0);
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0x1000, MIB, MIB), 0);
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0x1000, 2 * MIB, MIB), 0);
}

/* Low memory starts at 0, but 0 is not a place: the next page is. */
static void find_free_range_at_zero(void)
{
	struct memmap map;

	CHECK_EQ(load_table(&map, qemu_32m, ARRAY_SIZE(qemu_32m)), 0);
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0x1000, 0, 0x9f000), 0x1000);
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0x9e000, 0, MIB), 0x1000);
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 0x9f000, 0, MIB), 0);
}

static void find_free_avoids(void)
{
	/* Given out of order, so one pass over the list is not enough. */
	static const struct mem_range chain[] = {
		{ 0x180000, 0x200000 }, { 0x100000, 0x180000 }, { 0x200000, 0x200123 },
	};
	static const struct mem_range low[] = { { 0, 0xa0000 } };
	static const struct mem_range everything[] = { { 0, FOUR_GIB } };
	struct memmap map;

	CHECK_EQ(load_table(&map, qemu_32m, ARRAY_SIZE(qemu_32m)), 0);
	CHECK_EQ(memmap_find_free(&map, chain, 1, 0x1000, MIB, FOUR_GIB), MIB);
	CHECK_EQ(memmap_find_free(&map, chain, 1, 0x81000, MIB, FOUR_GIB), 0x200000);
	CHECK_EQ(memmap_find_free(&map, chain, ARRAY_SIZE(chain), 0x1000, MIB, FOUR_GIB),
		 0x201000);
	CHECK_EQ(memmap_find_free(&map, everything, 1, 0x1000, 0, FOUR_GIB), 0);
	/* Avoiding the whole first range moves the search to the next one. */
	CHECK_EQ(memmap_find_free(&map, low, 1, 0x1000, 0, FOUR_GIB), MIB);
	CHECK_EQ(memmap_find_free(&map, chain, 2, 0x100000, 0x1000, 0x1fe0000), 0x200000);
}

/* Bounds near 2^64 must neither wrap around to low memory nor loop forever. */
static void find_free_near_2_64(void)
{
	static const struct mem_range to_the_top[] = { { 0x200000, UINT64_MAX } };
	static const struct mem_range low[] = { { 0, 0x300000 } };
	struct memmap map;

	CHECK_EQ(load_table(&map, qemu_32m, ARRAY_SIZE(qemu_32m)), 0);
	CHECK_EQ(memmap_find_free(&map, NULL, 0, 1, UINT64_MAX - 100, UINT64_MAX), 0);
	CHECK_EQ(memmap_find_free(&map, low, 1, 1, UINT64_MAX - 100, UINT64_MAX), 0);
	CHECK_EQ(memmap_find_free(&map, to_the_top, 1, 0x100000, MIB, FOUR_GIB), MIB);
	/* Used to hang: the avoided range's end rounded up to 0. */
	CHECK_EQ(memmap_find_free(&map, to_the_top, 1, 0x300000, MIB, FOUR_GIB), 0);
}

static void type_names(void)
{
	CHECK(!strcmp(memmap_type_name(MB_MEMORY_AVAILABLE), "available"), "type 1");
	CHECK(!strcmp(memmap_type_name(MB_MEMORY_RESERVED), "reserved"), "type 2");
	CHECK(!strcmp(memmap_type_name(MB_MEMORY_BADRAM), "bad RAM"), "type 5");
	CHECK(!strcmp(memmap_type_name(7), "unknown"), "type 7");
	CHECK(!strcmp(memmap_type_name(0), "unknown"), "type 0");
}

/* ---- randomized comparison with a brute-force model ----------------------- */

/*
 * Entries live in two windows: low memory and a span around 4 GiB (so ranges
 * straddle it).  Bases and lengths are multiples of 256 bytes, so the model
 * tracks 256-byte chunks: how many available and how many other entries
 * cover each one, via difference arrays.
 */
#define RANDOM_SEED 0x6d656d6dU
#define RANDOM_MAPS 2000
#define CHUNK 256u
#define CHUNKS_PER_PAGE (PAGE_SIZE / CHUNK)
#define MAX_RANDOM_ENTRIES 24

struct window {
	uint64_t base, size;
};

static const struct window windows[] = {
	{ 0, 32 * MIB },
	{ FOUR_GIB - 4 * MIB, 8 * MIB },
};
#define NWINDOWS ARRAY_SIZE(windows)

struct model {
	int32_t *avail[NWINDOWS]; /* per chunk: available entries covering it */
	int32_t *other[NWINDOWS]; /* per chunk: other entries covering it */
	uint64_t below, above;    /* usable bytes per the model */
	uint64_t top;             /* one past the last usable byte below 4 GiB */
	unsigned zero_length;     /* entries the map must ignore */
	bool any_available;
};

#define rnd_below check_random_below

static uint32_t random_type(void)
{
	static const uint32_t others[] = { MB_MEMORY_RESERVED, MB_MEMORY_ACPI_RECLAIMABLE,
					   MB_MEMORY_NVS, MB_MEMORY_BADRAM, 0, 7 };

	return rnd_below(5) < 3 ? MB_MEMORY_AVAILABLE : others[rnd_below(ARRAY_SIZE(others))];
}

/* Lengths in chunks: mostly small or medium, sometimes anything, sometimes 0. */
static uint64_t random_chunks(uint64_t room)
{
	switch (rnd_below(8)) {
	case 0:
		return 0;
	case 1: case 2:
		return rnd_below(room < 48 ? room + 1 : 48);
	case 3: case 4: case 5:
		return rnd_below(room < 8192 ? room + 1 : 8192);
	default:
		return rnd_below(room + 1);
	}
}

static void model_add(struct model *md, unsigned w, uint64_t first, uint64_t n, uint32_t type)
{
	int32_t *diff = type == MB_MEMORY_AVAILABLE ? md->avail[w] : md->other[w];

	if (n == 0) {
		md->zero_length++;
		return;
	}
	md->any_available |= type == MB_MEMORY_AVAILABLE;
	diff[first]++;
	diff[first + n]--;
}

/* One random entry, written to the buffer and to the model. */
static void random_entry(struct mb_map *m, struct model *md)
{
	unsigned w = rnd_below(7) == 0;
	uint64_t nchunks = windows[w].size / CHUNK;
	uint64_t first = rnd_below(nchunks);

	if (rnd_below(4) == 0)
		first &= ~(uint64_t)(CHUNKS_PER_PAGE - 1);
	uint64_t n = random_chunks(nchunks - first);
	uint32_t type = random_type();

	model_add(md, w, first, n, type);
	put_sized(m, rnd_below(4) ? 20 : 24, windows[w].base + first * CHUNK, n * CHUNK, type);
}

/* Every byte of page p of window w available, and none claimed otherwise. */
static bool model_page_usable(const struct model *md, unsigned w, uint64_t p)
{
	for (uint64_t c = p * CHUNKS_PER_PAGE; c < (p + 1) * CHUNKS_PER_PAGE; c++)
		if (md->avail[w][c] == 0 || md->other[w][c] != 0)
			return false;
	return true;
}

/* Turn the difference arrays into counts, then decide page by page. */
static void model_finish(struct model *md, bool *usable[NWINDOWS])
{
	md->below = md->above = md->top = 0;
	for (unsigned w = 0; w < NWINDOWS; w++) {
		uint64_t nchunks = windows[w].size / CHUNK;
		for (uint64_t c = 1; c < nchunks; c++) {
			md->avail[w][c] += md->avail[w][c - 1];
			md->other[w][c] += md->other[w][c - 1];
		}
		for (uint64_t p = 0; p < nchunks / CHUNKS_PER_PAGE; p++) {
			bool ok = md->any_available && model_page_usable(md, w, p);
			usable[w][p] = ok;
			uint64_t addr = windows[w].base + p * PAGE_SIZE;
			if (ok && addr < FOUR_GIB) {
				md->below += PAGE_SIZE;
				md->top = addr + PAGE_SIZE;
			} else if (ok) {
				md->above += PAGE_SIZE;
			}
		}
	}
}

static bool inside_a_window(const struct mem_range *r)
{
	for (unsigned w = 0; w < NWINDOWS; w++)
		if (r->start >= windows[w].base && r->end <= windows[w].base + windows[w].size)
			return true;
	return false;
}

/* Sorted, separated, page aligned, non-empty, and where entries could be. */
static void check_list_shape(const struct memmap *map)
{
	for (unsigned i = 0; i < map->count; i++) {
		const struct mem_range *r = &map->usable[i];
		CHECK(r->start < r->end, "range %u is empty", i);
		CHECK(r->start % PAGE_SIZE == 0 && r->end % PAGE_SIZE == 0,
		      "range %u 0x%llx-0x%llx not page aligned", i,
		      (unsigned long long)r->start, (unsigned long long)r->end);
		CHECK(i == 0 || map->usable[i - 1].end < r->start,
		      "range %u not after range %u (unsorted, overlapping or touching)", i, i - 1);
		CHECK(inside_a_window(r), "range %u 0x%llx-0x%llx outside every entry", i,
		      (unsigned long long)r->start, (unsigned long long)r->end);
	}
}

/* Every page of every window, against is_usable and a walk of the list. */
static void check_pages(const struct memmap *map, bool *usable[NWINDOWS])
{
	unsigned next = 0; /* first range not wholly below the current page */

	for (unsigned w = 0; w < NWINDOWS; w++) {
		for (uint64_t p = 0; p < windows[w].size / PAGE_SIZE; p++) {
			uint64_t addr = windows[w].base + p * PAGE_SIZE;
			while (next < map->count && map->usable[next].end <= addr)
				next++;
			bool listed = next < map->count && map->usable[next].start <= addr;
			CHECK(listed == usable[w][p], "page 0x%llx: list says %d, model %d",
			      (unsigned long long)addr, listed, usable[w][p]);
			CHECK(memmap_is_usable(map, addr) == usable[w][p] &&
				      memmap_is_usable(map, addr + PAGE_SIZE - 1) == usable[w][p],
			      "page 0x%llx: memmap_is_usable disagrees with the model %d",
			      (unsigned long long)addr, usable[w][p]);
		}
	}
}

static void check_against_model(const struct memmap *map, int rc, const struct model *md,
				bool *usable[NWINDOWS])
{
	CHECK_EQ(rc, md->any_available ? 0 : -1);
	CHECK_EQ(map->ignored, md->zero_length);
	CHECK_EQ(map->warnings, md->any_available ? 0 : 1);
	check_list_shape(map);
	if (check_failed)
		return;
	check_pages(map, usable);
	if (check_failed)
		return;
	CHECK_EQ(map->usable_below_4g, md->below);
	CHECK_EQ(map->usable_above_4g, md->above);
	CHECK_EQ(memmap_top_below_4g(map), md->top);
}

static void model_reset(struct model *md)
{
	for (unsigned w = 0; w < NWINDOWS; w++) {
		size_t n = windows[w].size / CHUNK + 1;
		memset(md->avail[w], 0, n * sizeof(int32_t));
		memset(md->other[w], 0, n * sizeof(int32_t));
	}
	md->zero_length = 0;
	md->any_available = false;
}

/* How much the random maps exercised, printed so a vacuous run shows. */
static unsigned long random_ranges, random_maps_above_4g, random_fallbacks;

static void one_random_map(struct model *md, bool *usable[NWINDOWS])
{
	static struct mb_map m;
	static struct memmap map;
	unsigned n = rnd_below(MAX_RANDOM_ENTRIES + 1);

	model_reset(md);
	m.len = 0;
	for (unsigned i = 0; i < n; i++)
		random_entry(&m, md);
	model_finish(md, usable);
	int rc = load(&map, &m);
	check_against_model(&map, rc, md, usable);
	if (check_failed)
		dump_usable(&map);
	random_ranges += map.count;
	random_maps_above_4g += map.usable_above_4g != 0;
	random_fallbacks += rc != 0;
}

static void random_maps_match_model(void)
{
	struct model md = { 0 };
	bool *usable[NWINDOWS];

	for (unsigned w = 0; w < NWINDOWS; w++) {
		md.avail[w] = calloc(windows[w].size / CHUNK + 1, sizeof(int32_t));
		md.other[w] = calloc(windows[w].size / CHUNK + 1, sizeof(int32_t));
		usable[w] = calloc(windows[w].size / PAGE_SIZE, sizeof(bool));
		CHECK(md.avail[w] && md.other[w] && usable[w], "out of memory");
	}
	printf("# random maps: seed 0x%x + iteration, %u maps\n", RANDOM_SEED, RANDOM_MAPS);
	for (unsigned i = 0; i < RANDOM_MAPS && !check_failed; i++) {
		check_seed(RANDOM_SEED + i);
		one_random_map(&md, usable);
		if (check_failed)
			printf("# failing map: seed 0x%x + %u\n", RANDOM_SEED, i);
	}
	printf("# %lu usable ranges, %lu maps with memory above 4 GiB, %lu without any\n",
	       random_ranges, random_maps_above_4g, random_fallbacks);
	for (unsigned w = 0; w < NWINDOWS; w++) {
		free(md.avail[w]);
		free(md.other[w]);
		free(usable[w]);
	}
}

int main(void)
{
	RUN(qemu_32m_map);
	RUN(qemu_3g_map);
	RUN(qemu_4g_map);
	RUN(raw_entries_kept_in_order);
	RUN(unsorted_entries);
	RUN(overlapping_available_merged);
	RUN(page_spanning_two_entries);
	RUN(reserved_wins_either_order);
	RUN(other_types_not_usable);
	RUN(zero_length_ignored);
	RUN(larger_size_honoured);
	RUN(small_size_stops_parsing);
	RUN(entry_past_buffer_end);
	RUN(stray_trailing_bytes);
	RUN(unaligned_ranges_shrink_inward);
	RUN(end_past_2_64_clipped);
	RUN(clipped_available_at_the_top);
	RUN(range_straddling_4g);
	RUN(cut_hole_stays_a_hole);
	RUN(too_many_entries_reservation_wins);
	RUN(eviction_is_reported);
	RUN(fallback_without_map);
	RUN(fallback_keeps_reservations);
	RUN(fallback_null_buffer);
	RUN(no_memory_information);
	RUN(is_usable_edges);
	RUN(top_below_4g);
	RUN(normalize_again_is_stable);
	RUN(find_free_basics);
	RUN(find_free_range_at_zero);
	RUN(find_free_avoids);
	RUN(find_free_near_2_64);
	RUN(type_names);
	RUN(random_maps_match_model);
	return check_done();
}
