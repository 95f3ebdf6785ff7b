/*
 * test_pmm.c - the frame allocator on the real machine's memory map.
 *
 * The central test takes every free frame, checks each against the map and
 * the reservations, writes into it, and gives them all back: the count must
 * equal what the boot summary line reported, and nothing may be refused.
 * The frames are chained through their own first word, so a frame handed
 * out twice breaks the chain and the count, and a frame that is not really
 * RAM loses its link.  Whole frames are pattern-tested only on small
 * machines (TCG writes slowly); on large ones the last word of each frame.
 */
#include <string.h>

#include "arch/x86/memlayout.h"
#include "arch/x86/physmem.h"
#include "kernel/bootinfo.h"
#include "kernel/ktest.h"
#include "kernel/memory.h"

#define WHOLE_FRAME_LIMIT (128ull << 20) /* pattern every byte up to this much RAM */
#define WORDS_PER_FRAME (FRAME_SIZE / 4)

static uint32_t pattern(paddr_t frame, unsigned word)
{
	return frame ^ (word * 0x9E3779B9u);
}

/* Parse "hole=START-END" (hex, or decimal with an M suffix) from the command line. */
static bool parse_size(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	bool hex = s[0] == '0' && s[1] == 'x', any = false;

	for (s += hex ? 2 : 0;; s++, any = true) {
		char c = *s;
		if (c >= '0' && c <= '9')
			v = v * (hex ? 16 : 10) + (uint64_t)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else
			break;
	}
	if (*s == 'M') {
		v <<= 20;
		s++;
	}
	*end = s;
	*out = v;
	return any;
}

static bool hole_from_cmdline(struct mem_range *hole)
{
	char arg[48];
	const char *p;

	return cmdline_get("hole", arg, sizeof(arg)) && parse_size(arg, &p, &hole->start) &&
	       *p == '-' && parse_size(p + 1, &p, &hole->end) && *p == '\0' &&
	       hole->start < hole->end;
}

static uint32_t refused_calls(void)
{
	const struct pmm_stats *s = &kpmm.stats;
	return s->misaligned + s->out_of_range + s->reserved_frees + s->double_frees +
	       s->bad_requests;
}

/* Why `f` must not have been handed out, or NULL if it is a fine frame. */
static const char *bad_frame(paddr_t f, const struct mem_range *hole)
{
	if (f % FRAME_SIZE)
		return "not frame-aligned";
	if (!memmap_is_usable(&kmemmap, f))
		return "not usable RAM in the memory map";
	if (pmm_reservation_at(&kpmm, f))
		return pmm_reservation_at(&kpmm, f)->what;
	if (hole && f >= hole->start && f < hole->end)
		return "inside the hole= range";
	return NULL;
}

static void fill_frame(paddr_t f, paddr_t next, bool whole)
{
	uint32_t *w = phys_ptr(f);

	w[0] = next;
	if (whole)
		for (unsigned i = 1; i < WORDS_PER_FRAME; i++)
			w[i] = pattern(f, i);
	else
		w[WORDS_PER_FRAME - 1] = pattern(f, WORDS_PER_FRAME - 1);
}

static bool frame_intact(paddr_t f, bool whole)
{
	const uint32_t *w = phys_ptr(f);

	for (unsigned i = whole ? 1 : WORDS_PER_FRAME - 1; i < WORDS_PER_FRAME; i++)
		if (w[i] != pattern(f, i))
			return false;
	return true;
}

KTEST(pmm_alloc_every_frame)
{
	struct mem_range hole;
	bool has_hole = hole_from_cmdline(&hole);
	bool whole = kmemmap.usable_below_4g <= WHOLE_FRAME_LIMIT;
	uint32_t before = kpmm.stats.free_frames, refused = refused_calls(), n = 0;
	uint32_t in_use = kpmm.stats.used_frames; /* page tables, stacks: the kernel's own */
	paddr_t head = 0, f;

	KEXPECT(before + in_use == boot_free_frames,
		"%u free + %u in use at test start, but %u free at boot", before, in_use,
		boot_free_frames);
	while ((f = pmm_alloc(&kpmm)) != 0) {
		const char *why = bad_frame(f, has_hole ? &hole : NULL);
		KEXPECT(!why, "frame 0x%x handed out: %s", f, why);
		fill_frame(f, head, whole);
		head = f;
		n++;
	}
	kprintf("    # allocated %u frames = %uK (%s pattern), kernel holds %u frames = %uK\n",
		n, n * 4, whole ? "whole-frame" : "last-word", in_use, in_use * 4);
	KEXPECT(n == before, "allocated %u frames, but %u were free", n, before);
	KEXPECT(pmm_alloc(&kpmm) == 0, "allocation after exhaustion succeeded");

	uint32_t freed = 0;
	while (head && freed < n) {
		paddr_t next = *(uint32_t *)phys_ptr(head);
		KEXPECT(frame_intact(head, whole), "frame 0x%x lost its pattern", head);
		KEXPECT(pmm_free(&kpmm, head) == PMM_OK, "freeing frame 0x%x refused", head);
		head = next;
		freed++;
	}
	KEXPECT(freed == n && head == 0, "freed %u of %u frames, chain broken at 0x%x", freed, n, head);
	KEXPECT(kpmm.stats.free_frames == before, "free count %u after freeing all, expected %u",
		kpmm.stats.free_frames, before);
	KEXPECT(refused_calls() == refused, "%u calls refused during the test",
		refused_calls() - refused);
}

KTEST(pmm_reservations_held)
{
	paddr_t kernel = V2P(__kernel_start), bitmap = V2P(kpmm.bitmap);

	KEXPECT(pmm_frame_state(&kpmm, 0) == FRAME_RESERVED, "frame 0 not reserved");
	KEXPECT(pmm_frame_state(&kpmm, 0x9F000 - FRAME_SIZE) != FRAME_FREE,
		"frame in the first MiB is free");
	for (paddr_t a = kernel; a < V2P(__kernel_end); a += FRAME_SIZE)
		KEXPECT(pmm_frame_state(&kpmm, a) == FRAME_RESERVED, "kernel frame 0x%x not reserved", a);
	KEXPECT(pmm_frame_state(&kpmm, bitmap) == FRAME_RESERVED, "bitmap frame 0x%x not reserved",
		bitmap);
	for (unsigned i = 0; i < boot_info.nregions; i++) {
		const struct mem_range *r = &boot_info.regions[i].range;
		for (uint64_t a = r->start & ~(uint64_t)(FRAME_SIZE - 1); a < r->end; a += FRAME_SIZE)
			KEXPECT(pmm_frame_state(&kpmm, a) != FRAME_FREE, "%s frame 0x%llx is free",
				boot_info.regions[i].what, (unsigned long long)a);
	}
}

KTEST(pmm_hole_never_handed_out)
{
	struct mem_range hole;

	if (!hole_from_cmdline(&hole)) {
		ktest_skip("no hole=START-END on the command line");
		return;
	}
	for (uint64_t a = hole.start; a < hole.end; a += FRAME_SIZE) {
		KEXPECT(!memmap_is_usable(&kmemmap, a), "hole address 0x%llx is in the usable map",
			(unsigned long long)a);
		KEXPECT(pmm_frame_state(&kpmm, a) == FRAME_HOLE, "hole frame 0x%llx is not a hole",
			(unsigned long long)a);
	}
	kprintf("    # hole 0x%llx-0x%llx absent from the map\n", (unsigned long long)hole.start,
		(unsigned long long)hole.end);
}

static void check_run(uint32_t count, uint32_t align)
{
	uint32_t before = kpmm.stats.free_frames;
	paddr_t run = pmm_alloc_contig(&kpmm, count, align);

	KEXPECT(run != 0, "no run of %u frames aligned %u (%u free)", count, align, before);
	KEXPECT((run >> FRAME_SHIFT) % align == 0, "run at 0x%x not aligned to %u frames", run, align);
	for (uint32_t i = 0; i < count; i++) {
		paddr_t f = run + i * FRAME_SIZE;
		KEXPECT(!bad_frame(f, NULL), "run frame 0x%x: %s", f, bad_frame(f, NULL));
		KEXPECT(pmm_frame_state(&kpmm, f) == FRAME_ALLOCATED, "run frame 0x%x not allocated", f);
	}
	*(volatile uint32_t *)phys_ptr(run + (count - 1) * FRAME_SIZE) = 0xC0FFEE;
	KEXPECT(pmm_free_contig(&kpmm, run, count) == PMM_OK, "freeing the run refused");
	KEXPECT(kpmm.stats.free_frames == before, "free count %u after the run, expected %u",
		kpmm.stats.free_frames, before);
}

KTEST(pmm_contiguous_aligned)
{
	check_run(1, 1);
	if (ktest_failed())
		return;
	check_run(16, 16);
	if (ktest_failed())
		return;
	check_run(1024, 1024); /* a 4 MiB-aligned 4 MiB block, as for a large page */
}

KTEST(pmm_bad_calls_refused)
{
	struct pmm_stats s = kpmm.stats;
	paddr_t f = pmm_alloc(&kpmm);

	KEXPECT(f != 0, "no frame to test with");
	KEXPECT(pmm_free(&kpmm, f) == PMM_OK, "first free refused");
	KEXPECT(pmm_free(&kpmm, f) == PMM_EDOUBLE, "double free not refused");
	KEXPECT(pmm_free(&kpmm, f + 12) == PMM_EALIGN, "misaligned free not refused");
	KEXPECT(pmm_free(&kpmm, V2P(__kernel_start)) == PMM_ERESERVED, "kernel frame free not refused");
	KEXPECT(pmm_free(&kpmm, 0) == PMM_ERESERVED, "frame 0 free not refused");
	KEXPECT(pmm_free(&kpmm, 0xFFFFF000) == PMM_ERANGE, "free above RAM not refused");
	KEXPECT(pmm_alloc_contig(&kpmm, 0, 1) == 0, "zero-size run not refused");
	KEXPECT(pmm_alloc_contig(&kpmm, kpmm.stats.total_frames + 1, 1) == 0,
		"run larger than RAM not refused");
	KEXPECT(pmm_alloc_contig(&kpmm, 4, 3) == 0, "non-power-of-two alignment not refused");
	KEXPECT(kpmm.stats.double_frees == s.double_frees + 1, "double free not counted");
	KEXPECT(kpmm.stats.misaligned == s.misaligned + 1, "misaligned free not counted");
	KEXPECT(kpmm.stats.reserved_frees == s.reserved_frees + 2, "reserved frees not counted");
	KEXPECT(kpmm.stats.out_of_range == s.out_of_range + 1, "out-of-range free not counted");
	KEXPECT(kpmm.stats.bad_requests == s.bad_requests + 3, "bad requests not counted");
	KEXPECT(kpmm.stats.free_frames == s.free_frames, "free count changed: %u -> %u",
		s.free_frames, kpmm.stats.free_frames);
}

/*
 * The allocator is the one the command line asked for (pmm=bitmap, else the
 * default hbitmap), its storage is reserved, and an index agrees with its
 * bitmap.
 */
KTEST(pmm_allocator_as_asked)
{
	char choice[16];
	const char *want = cmdline_get("pmm", choice, sizeof(choice)) && !strcmp(choice, "bitmap")
				   ? "bitmap" : "hbitmap";

	kprintf("    # allocator: %s\n", pmm_allocator_name(&kpmm));
	KEXPECT(!strcmp(pmm_allocator_name(&kpmm), want), "allocator %s, the command line asks for %s",
		pmm_allocator_name(&kpmm), want);
	if (!kpmm.indexed)
		return;
	paddr_t index = V2P(kpmm.index.storage);
	for (paddr_t a = index & ~(FRAME_SIZE - 1); a < index + pmm_index_bytes(&kmemmap);
	     a += FRAME_SIZE)
		KEXPECT(pmm_frame_state(&kpmm, a) == FRAME_RESERVED, "index frame 0x%x not reserved", a);
	KEXPECT(pmm_index_agrees(&kpmm), "the index disagrees with the bitmap");
}

/* Is the aligned group of 1024 frames starting at frame `first` entirely free? */
static bool block_free_in_bitmap(uint32_t first)
{
	if (first + 1024 > kpmm.nframes)
		return false;
	for (uint32_t w = first / 32; w < (first + 1024) / 32; w++)
		if (kpmm.bitmap[w])
			return false;
	return true;
}

/*
 * Every free 4 MiB-aligned 4 MiB block of the machine, as the bitmap shows
 * them, is handed out by first fit in address order, and nothing else.
 */
KTEST(pmm_every_4mib_block)
{
	static paddr_t blocks[1024];
	uint32_t n = 0, before = kpmm.stats.free_frames, next = 0;

	for (;;) {
		while (next < kpmm.nframes && !block_free_in_bitmap(next))
			next += 1024;
		paddr_t b = pmm_alloc_contig(&kpmm, 1024, 1024);
		if (next >= kpmm.nframes) {
			KEXPECT(b == 0, "block at 0x%x, but the bitmap shows none free", b);
			break;
		}
		KEXPECT(b == next << FRAME_SHIFT, "block %u at 0x%x, first fit is 0x%x", n, b,
			next << FRAME_SHIFT);
		*(volatile uint32_t *)phys_ptr(b + 1023 * FRAME_SIZE) = b;
		blocks[n++] = b;
		next += 1024;
	}
	kprintf("    # %u free 4 MiB blocks\n", n);
	KEXPECT(pmm_index_agrees(&kpmm), "the index disagrees with the bitmap");
	for (uint32_t i = 0; i < n; i++) {
		KEXPECT(*(volatile uint32_t *)phys_ptr(blocks[i] + 1023 * FRAME_SIZE) == blocks[i],
			"block 0x%x lost its mark", blocks[i]);
		KEXPECT(pmm_free_contig(&kpmm, blocks[i], 1024) == PMM_OK, "freeing 0x%x refused",
			blocks[i]);
	}
	KEXPECT(kpmm.stats.free_frames == before, "free count %u, expected %u",
		kpmm.stats.free_frames, before);
	KEXPECT(pmm_index_agrees(&kpmm), "the index disagrees with the bitmap after freeing");
}

/*
 * Single frames, blocks of every order and runs of odd lengths and
 * alignments, freed in a scrambled order; the index (if any) must agree with
 * the bitmap, and everything must come back.
 */
KTEST(pmm_churn_all_orders)
{
	enum { ROUNDS = 3000, HELD = 256 };
	static struct { paddr_t at; uint32_t count; } held[HELD];
	uint32_t nheld = 0, before = kpmm.stats.free_frames, refused = refused_calls();
	uint32_t seed = 0x9E3779B9u;

	for (unsigned r = 0; r < ROUNDS; r++) {
		seed = seed * 1664525u + 1013904223u; /* a fixed sequence: the run repeats */
		uint32_t pick = seed >> 8;
		if (nheld == HELD || (nheld && pick % 3 == 0)) {
			uint32_t i = pick % nheld;
			KEXPECT(pmm_free_contig(&kpmm, held[i].at, held[i].count) == PMM_OK,
				"freeing 0x%x (%u frames) refused", held[i].at, held[i].count);
			held[i] = held[--nheld];
			continue;
		}
		uint32_t count = 1, align = 1;
		if (pick & 0x800)
			count = align = 1u << (pick % PMM_ORDERS);
		else if (pick & 0x400)
			count = 1 + pick % 3000, align = 1u << (pick >> 12) % 12;
		paddr_t at = count == 1 && align == 1 ? pmm_alloc(&kpmm)
						       : pmm_alloc_contig(&kpmm, count, align);
		if (at) {
			KEXPECT(!bad_frame(at, NULL), "frame 0x%x: %s", at, bad_frame(at, NULL));
			held[nheld].at = at;
			held[nheld++].count = count;
		}
	}
	KEXPECT(pmm_index_agrees(&kpmm), "the index disagrees with the bitmap");
	while (nheld) {
		nheld--;
		KEXPECT(pmm_free_contig(&kpmm, held[nheld].at, held[nheld].count) == PMM_OK,
			"freeing 0x%x refused", held[nheld].at);
	}
	KEXPECT(kpmm.stats.free_frames == before, "free count %u, expected %u",
		kpmm.stats.free_frames, before);
	KEXPECT(refused_calls() == refused, "%u calls refused", refused_calls() - refused);
	KEXPECT(pmm_index_agrees(&kpmm), "the index disagrees with the bitmap after freeing");
}
