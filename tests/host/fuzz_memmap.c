/*
 * fuzz_memmap.c - libFuzzer target for memmap_from_multiboot().
 *
 * The memory map is the one input the kernel takes from outside before it
 * can defend itself, so the parser and the normalizer must survive any
 * bytes and still never call reserved memory usable.  The input is:
 *
 *   byte 0     bit 0: MB_INFO_MEMORY, bit 1: MB_INFO_MMAP, bit 2: pass no
 *              buffer at all, bit 3: "compact" entries (below)
 *   bytes 1-2  mem_lower (KiB), bytes 3-6 mem_upper (KiB), little endian
 *   the rest   the memory-map buffer as the loader would hand it over; in
 *              compact mode, 6-byte records expanded into real entries
 *              first, so that random inputs produce overlapping ranges
 *
 * The result is compared with a model built independently: the buffer is
 * parsed again, and a sweep over sorted entry boundaries computes the bytes
 * that are available and not claimed by any other entry.  With at most
 * MEMMAP_MAX_RAW entries the normalized list must be exactly those bytes
 * aligned inward; with more (entries were dropped) it must lie inside them.
 * Any disagreement traps.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mm/memmap.h"
#include "mm/mm_log.h"

void mm_warn(const char *fmt, ...)
{
	(void)fmt;
}


#define HEADER_BYTES 7
#define FLAG_MEMORY  0x01
#define FLAG_MMAP    0x02
#define FLAG_NO_BUF  0x04
#define FLAG_COMPACT 0x08
#define COMPACT_RECORD 6
#define COMPACT_MAX 256

static uint32_t get_le(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/*
 * Compact record: type and size selector, base and length in 256-byte
 * units, and a byte of scale (how far to shift each, and whether to move
 * the entry next to 4 GiB or next to 2^64).
 */
static void expand_record(const uint8_t *rec, struct multiboot_mmap_entry *e)
{
	static const uint32_t types[8] = { 1, 1, 1, 2, 3, 4, 5, 7 };
	static const uint64_t bases[4] = { 0, FOUR_GIB - 0x1000000, 0x100000000000ull,
					   UINT64_MAX - 0xffffff };
	uint8_t scale = rec[5];

	e->size = rec[0] & 0x08 ? 24 : 20;
	e->type = types[rec[0] & 7];
	e->base = bases[rec[0] >> 4 & 3] + ((uint64_t)get_le(rec + 1, 2) << (8 + (scale & 7)));
	e->length = (uint64_t)get_le(rec + 3, 2) << (8 + (scale >> 3 & 7));
	if (scale & 0x80)
		e->length = UINT64_MAX - e->length; /* huge: runs past 2^64 */
}

/* Build a real map buffer from compact records (caller frees it). */
static uint8_t *expand_compact(const uint8_t *data, size_t size, uint32_t *len)
{
	size_t n = size / COMPACT_RECORD;
	uint8_t *buf, *p;

	if (n > COMPACT_MAX)
		n = COMPACT_MAX;
	buf = p = malloc(n * 28 + 1);
	EXPECT(buf != NULL);
	for (size_t i = 0; i < n; i++) {
		struct multiboot_mmap_entry e;
		expand_record(data + i * COMPACT_RECORD, &e);
		memcpy(p, &e, sizeof(e));
		memset(p + sizeof(e), 0xee, e.size + 4 - sizeof(e));
		p += e.size + 4;
	}
	*len = (uint32_t)(p - buf);
	return buf;
}

/* ---- the model ----------------------------------------------------------- */

struct entry {
	uint64_t start, end; /* end clipped to UINT64_MAX */
	bool available;
};

struct model {
	struct entry *e;
	unsigned n;        /* entries stored (non-zero length) */
	unsigned zero;     /* zero-length entries: ignored */
	bool any_available;
	struct mem_range *good; /* available and not claimed: maximal ranges */
	unsigned ngood;
};

static void model_add(struct model *m, uint64_t base, uint64_t length, uint32_t type)
{
	uint64_t end = length > UINT64_MAX - base ? UINT64_MAX : base + length;

	/* Nothing left once clipped at 2^64 - 1 (base = UINT64_MAX): ignored too. */
	if (end == base) {
		m->zero++;
		return;
	}
	m->e[m->n++] = (struct entry){ base, end, type == MB_MEMORY_AVAILABLE };
	m->any_available |= type == MB_MEMORY_AVAILABLE;
}

/* Read the buffer again, by the rules of the Multiboot spec. */
static void model_parse(struct model *m, const uint8_t *buf, uint32_t len)
{
	uint32_t off = 0;

	while (len - off >= sizeof(struct multiboot_mmap_entry)) {
		struct multiboot_mmap_entry e;
		memcpy(&e, buf + off, sizeof(e));
		if (e.size < MB_MMAP_ENTRY_MIN_SIZE || e.size > len - off - 4)
			return;
		model_add(m, e.base, e.length, e.type);
		off += e.size + 4;
	}
}

struct event {
	uint64_t at;
	int avail, other; /* change in coverage at `at` */
};

static int compare_events(const void *a, const void *b)
{
	uint64_t x = ((const struct event *)a)->at, y = ((const struct event *)b)->at;

	return (x > y) - (x < y);
}

/* Sweep the sorted boundaries; keep the stretches covered only by available. */
static void model_sweep(struct model *m)
{
	struct event *ev = malloc((2 * m->n + 1) * sizeof(*ev));
	unsigned nev = 0;
	int avail = 0, other = 0;

	EXPECT(ev != NULL);
	for (unsigned i = 0; i < m->n; i++) {
		int a = m->e[i].available, o = !a;
		ev[nev++] = (struct event){ m->e[i].start, a, o };
		ev[nev++] = (struct event){ m->e[i].end, -a, -o };
	}
	qsort(ev, nev, sizeof(*ev), compare_events);
	m->ngood = 0;
	for (unsigned i = 0; i < nev; i++) {
		avail += ev[i].avail;
		other += ev[i].other;
		if (i + 1 < nev && ev[i + 1].at == ev[i].at)
			continue;
		if (avail <= 0 || other > 0 || i + 1 == nev)
			continue;
		struct mem_range *last = m->ngood ? &m->good[m->ngood - 1] : NULL;
		if (last && last->end == ev[i].at)
			last->end = ev[i + 1].at;
		else
			m->good[m->ngood++] = (struct mem_range){ ev[i].at, ev[i + 1].at };
	}
	EXPECT(avail == 0 && other == 0);
	free(ev);
}

/* ---- checks --------------------------------------------------------------- */

static uint64_t page_up(uint64_t x)
{
	return x > UINT64_MAX - (PAGE_SIZE - 1) ? UINT64_MAX & ~(uint64_t)(PAGE_SIZE - 1)
						 : (x + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

/* The list is well formed, its totals add up, and lookups agree with it. */
static void check_shape(const struct memmap *map)
{
	uint64_t below = 0, above = 0, top = 0;

	EXPECT(map->count <= MEMMAP_MAX_RANGES);
	for (unsigned i = 0; i < map->count; i++) {
		const struct mem_range *r = &map->usable[i];
		EXPECT(r->start < r->end);
		EXPECT(r->start % PAGE_SIZE == 0 && r->end % PAGE_SIZE == 0);
		EXPECT(i == 0 || map->usable[i - 1].end < r->start);
		EXPECT(memmap_is_usable(map, r->start) && memmap_is_usable(map, r->end - 1));
		EXPECT(r->start == 0 || !memmap_is_usable(map, r->start - 1));
		EXPECT(!memmap_is_usable(map, r->end));
		if (r->end <= FOUR_GIB) {
			below += r->end - r->start;
		} else if (r->start >= FOUR_GIB) {
			above += r->end - r->start;
		} else {
			below += FOUR_GIB - r->start;
			above += r->end - FOUR_GIB;
		}
		if (r->start < FOUR_GIB)
			top = r->end < FOUR_GIB ? r->end : FOUR_GIB;
	}
	EXPECT(map->usable_below_4g == below);
	EXPECT(map->usable_above_4g == above);
	EXPECT(memmap_top_below_4g(map) == top);
}

/* Every usable range lies inside one stretch of good bytes. */
static void check_inside_good(const struct memmap *map, const struct model *m)
{
	unsigned g = 0;

	for (unsigned i = 0; i < map->count; i++) {
		const struct mem_range *r = &map->usable[i];
		while (g < m->ngood && m->good[g].end <= r->start)
			g++;
		EXPECT(g < m->ngood);
		EXPECT(m->good[g].start <= r->start && r->end <= m->good[g].end);
	}
}

/* Nothing was dropped: the list is exactly the good bytes, in whole pages. */
static void check_exact(const struct memmap *map, const struct model *m)
{
	unsigned n = 0;

	for (unsigned g = 0; g < m->ngood; g++) {
		uint64_t start = page_up(m->good[g].start);
		uint64_t end = m->good[g].end & ~(uint64_t)(PAGE_SIZE - 1);
		if (start >= end)
			continue;
		EXPECT(n < map->count);
		EXPECT(map->usable[n].start == start && map->usable[n].end == end);
		n++;
	}
	EXPECT(n == map->count);
	EXPECT(map->raw_count == m->n);
	EXPECT(map->ignored == m->zero);
	for (unsigned i = 0; i < m->n; i++) {
		const struct memmap_entry *r = &map->raw[i];
		EXPECT(r->base == m->e[i].start && r->base + r->length == m->e[i].end);
		EXPECT((r->type == MB_MEMORY_AVAILABLE) == m->e[i].available);
	}
}

/* The two classic ranges memmap falls back to, as entries of the model. */
static void model_add_fallback(struct model *m, const struct multiboot_info *mbi)
{
	model_add(m, 0, (uint64_t)mbi->mem_lower * 1024, MB_MEMORY_AVAILABLE);
	model_add(m, 0x100000, (uint64_t)mbi->mem_upper * 1024, MB_MEMORY_AVAILABLE);
}

static void check(const struct memmap *map, int rc, const struct multiboot_info *mbi,
		  struct model *m)
{
	bool no_info = !m->any_available && !(mbi->flags & MB_INFO_MEMORY);

	check_shape(map);
	if (m->n <= MEMMAP_MAX_RAW) {
		EXPECT(rc == (no_info ? -1 : 0));
		EXPECT(map->from_fallback == (!m->any_available && !no_info));
	}
	/* Otherwise entries were dropped, possibly every available one. */
	EXPECT(rc == 0 || (rc == -1 && map->count == 0));
	if (map->from_fallback) {
		EXPECT(mbi->flags & MB_INFO_MEMORY);
		model_add_fallback(m, mbi);
	}
	model_sweep(m);
	if (m->n <= MEMMAP_MAX_RAW)
		check_exact(map, m);
	else
		check_inside_good(map, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct memmap map;
	struct multiboot_info mbi = { 0 };
	const uint8_t *buf = data + HEADER_BYTES;
	uint8_t *expanded = NULL;
	uint32_t len;

	if (size < HEADER_BYTES || size - HEADER_BYTES > UINT32_MAX / 2)
		return 0;
	mbi.flags = (data[0] & FLAG_MEMORY ? MB_INFO_MEMORY : 0) |
		    (data[0] & FLAG_MMAP ? MB_INFO_MMAP : 0);
	mbi.mem_lower = get_le(data + 1, 2);
	mbi.mem_upper = get_le(data + 3, 4);
	len = (uint32_t)(size - HEADER_BYTES);
	if (data[0] & FLAG_COMPACT)
		buf = expanded = expand_compact(buf, len, &len);
	if (data[0] & FLAG_NO_BUF)
		buf = NULL;
	mbi.mmap_length = len;

	struct model m = { 0 };
	m.e = malloc((len / 24 + 3) * sizeof(*m.e));
	m.good = malloc((2 * (len / 24) + 4) * sizeof(*m.good));
	EXPECT(m.e && m.good);
	if (buf && (mbi.flags & MB_INFO_MMAP))
		model_parse(&m, buf, len);

	int rc = memmap_from_multiboot(&map, &mbi, buf);
	check(&map, rc, &mbi, &m);

	free(m.e);
	free(m.good);
	free(expanded);
	return 0;
}
