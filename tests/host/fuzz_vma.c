/*
 * fuzz_vma.c - libFuzzer target for mm/vma.c.
 *
 * The input is a program of calls on one region set, 6 bytes each:
 *
 *   byte 0      the call (insert, remove, protect, resize, lookups) and
 *               a spoiler (bit 7: an unaligned start, bit 6: an end past
 *               the window's top, which at the top of 4 GiB wraps to 0)
 *   bytes 1-2   first page and length in pages (within the window)
 *   byte 3      attributes: prot (bits 0-2, with bit 3 an invalid bit),
 *               kind (bits 4-5), file part (bits 6-7: none or one of three)
 *   byte 4      resize: which region; lookups: a byte offset; bit 6, for
 *               every call: the array allocator fails during the call
 *   byte 5      resize: the gap in pages; lookups: length in pages, and
 *               with bit 7 the set is replaced by a copy of itself (fork's
 *               vma_copy, whose array is only as big as it must be)
 *
 * and a first byte choosing the window: NPAGES pages at address 0, at the
 * top of 4 GiB, or in between.  Every region stays in the window, so the
 * pages of the window, read through vma_find before and after each call,
 * are the whole state.  From the page view before a call and the rules in
 * vma.h alone, the target works out what the pages must be after it and
 * which result the call must give (EFULL exactly when the maximal runs of
 * equal pages would outnumber the set's max, TEST_MAX; ENOMEM when they
 * would not fit its array and the allocator fails); a refused call must
 * leave the set byte for byte as it was, and vma_check() must pass after
 * every call.  No array may be left allocated once the set is released.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "mm/mm_log.h"
#include "mm/vma.h"
#include "vma_memory.h"

void mm_warn(const char *fmt, ...) /* the memory-manager core linked in reports here */
{
	(void)fmt;
}

#define NPAGES 160u
#define PAGE VMA_PAGE_SIZE
#define FOUR_GIB 0x100000000ull
#define TEST_MAX 64u

struct page {
	bool used;
	struct vma a; /* start and end zero */
};

static struct vma_set set;
static uint64_t base;
static struct page now[NPAGES], want[NPAGES];

static uint64_t addr(uint64_t p)
{
	return base + p * PAGE;
}

static void read_pages(struct page *pages)
{
	for (unsigned p = 0; p < NPAGES; p++) {
		const struct vma *v = vma_find(&set, (uint32_t)addr(p));
		pages[p] = (struct page){ v != NULL, v ? *v : (struct vma){ 0 } };
		pages[p].a.start = pages[p].a.end = 0;
	}
}

static bool same_page(const struct page *x, const struct page *y)
{
	return x->used == y->used && (!x->used || memcmp(&x->a, &y->a, sizeof(x->a)) == 0);
}

static unsigned count_runs(const struct page *pages)
{
	unsigned n = 0;

	for (unsigned p = 0; p < NPAGES; p++)
		n += pages[p].used && !(p > 0 && pages[p - 1].used && same_page(&pages[p - 1], &pages[p]));
	return n;
}

static struct vma attrs(uint8_t b)
{
	static const enum vma_kind kinds[] = { VMA_ANON, VMA_HEAP, VMA_TEXT, VMA_STACK };
	struct vma a = { .prot = b & 15u, .kind = kinds[b >> 4 & 3] };
	unsigned f = b >> 6;

	if (f) {
		a.file_start = (uint32_t)addr(f * 8) + f;
		a.file_end = a.file_start + f * 3 * PAGE;
		a.file_pa = f * 0x100000;
	}
	return a;
}

/* The range a call works on; *bad when vma.h says it must be refused (EINVAL). */
static void call_range(uint8_t op, uint8_t first, uint8_t len, uint32_t *start, uint32_t *end,
		       unsigned *p0, unsigned *p1, bool *bad)
{
	uint64_t s, e;

	*p0 = first % NPAGES;
	*p1 = *p0 + len % 48 > NPAGES ? NPAGES : *p0 + len % 48;
	s = addr(*p0) + (op & 0x80 ? 0x10 : 0);
	e = op & 0x40 ? addr(NPAGES) : addr(*p1);
	if (op & 0x40)
		*p1 = NPAGES;
	*start = (uint32_t)s;
	*end = (uint32_t)e;
	*bad = (s | e) % PAGE || s >= e || e >= FOUR_GIB;
}

/* The call's result must be `expected` (EFULL or ENOMEM instead of OK, as the top of the file says). */
static void settle(enum vma_result got, enum vma_result expected, const struct vma_snapshot *before)
{
	if (expected == VMA_OK && count_runs(want) > TEST_MAX)
		expected = VMA_EFULL;
	else if (expected == VMA_OK && count_runs(want) > before->head.cap && vma_alloc_fails)
		expected = VMA_ENOMEM;
	EXPECT(got == expected);
	EXPECT(vma_check(&set) == NULL);
	if (expected != VMA_OK) {
		EXPECT(vma_unchanged(before, &set));
		return;
	}
	read_pages(now);
	for (unsigned p = 0; p < NPAGES; p++)
		EXPECT(same_page(&now[p], &want[p]));
	EXPECT(set.n == count_runs(now));
}

static void do_resize(const uint8_t *c, const struct vma_snapshot *before)
{
	uint32_t start, end, gap = (uint32_t)(c[5] % 6) * PAGE + (c[5] & 0x80 ? 100 : 0);
	unsigned p0, p1, o0, o1;
	bool bad, near = false;

	if (set.n == 0)
		return;
	struct vma *v = &set.v[c[4] % set.n];
	o0 = (unsigned)((v->start - base) / PAGE);
	o1 = (unsigned)(((uint64_t)v->end - base) / PAGE);
	call_range(c[0], c[1], c[2], &start, &end, &p0, &p1, &bad);
	memcpy(want, now, sizeof(want));
	for (unsigned p = o0; p < o1; p++)
		want[p].used = false;
	for (unsigned p = p0; p < p1; p++) {
		bool gained = p < o0 || p >= o1 || p1 <= o0 || p0 >= o1;
		for (unsigned q = 0; gained && q < NPAGES; q++)
			near |= now[q].used && (q < o0 || q >= o1) && addr(q) < addr(p + 1) + gap &&
				addr(p) < addr(q + 1) + gap;
		want[p] = now[o0];
	}
	settle(vma_resize(&set, v, start, end, gap),
	       bad ? VMA_EINVAL : near ? VMA_EEXIST : VMA_OK, before);
}

static bool pages_free(uint64_t start, uint64_t len)
{
	for (uint64_t a = start & ~(uint64_t)(PAGE - 1); a < start + len; a += PAGE)
		if (a >= base && a < addr(NPAGES) && now[(a - base) / PAGE].used)
			return false;
	return true;
}

static void do_lookups(const uint8_t *c)
{
	uint64_t start = addr(c[1] % NPAGES) + c[4] * 16u, len = (uint64_t)(c[5] % 8) * PAGE + c[2];
	uint32_t prot = c[3] & 7u, at = 0;
	bool ok = start + len <= FOUR_GIB, found = false;
	uint64_t hi = addr(NPAGES) > 0xffffffffu ? 0xffffffffu : addr(NPAGES), fit = 0;

	for (uint64_t a = start & ~(uint64_t)(PAGE - 1); ok && len && a < start + len; a += PAGE)
		ok = a >= base && a < addr(NPAGES) && now[(a - base) / PAGE].used &&
		     (now[(a - base) / PAGE].a.prot & prot) == prot;
	EXPECT(vma_range_ok(&set, (uint32_t)start, (uint32_t)len, prot) == ok);

	/* find_free over [start, top of window), scanning down page by page. */
	for (uint64_t a = hi >= len ? (hi - len) & ~(uint64_t)(PAGE - 1) : 0;
	     len && hi >= len && a >= start && !found; a -= PAGE) {
		if (pages_free(a, len))
			found = true, fit = a;
		if (a < PAGE)
			break;
	}
	EXPECT(vma_find_free(&set, (uint32_t)len, (uint32_t)start, (uint32_t)hi, &at) == found);
	EXPECT(!found || at == fit);
}

/* Replace the set by a copy of itself; a copy refused for lack of memory changes nothing. */
static void copy_set(const struct vma_snapshot *before)
{
	struct vma_set copy;

	vma_init(&copy, &vma_test_memory);
	copy.max = TEST_MAX;
	enum vma_result r = vma_copy(&copy, &set);
	EXPECT(r == (vma_alloc_fails && set.n ? VMA_ENOMEM : VMA_OK));
	EXPECT(copy.n == (r == VMA_OK ? set.n : 0) && vma_unchanged(before, &set));
	if (r == VMA_OK) {
		vma_release(&set);
		set = copy;
	}
}

static void run_call(const uint8_t *c)
{
	static struct vma_snapshot before;
	uint32_t start, end;
	unsigned p0, p1;
	bool bad, overlap = false, hole = false;
	struct vma a = attrs(c[3]);

	vma_snap(&before, &set);
	vma_alloc_fails = c[4] & 0x40;
	read_pages(now);
	memcpy(want, now, sizeof(want));
	call_range(c[0], c[1], c[2], &start, &end, &p0, &p1, &bad);
	switch (c[0] % 5) {
	case 0:
		a.start = start, a.end = end;
		for (unsigned p = p0; p < p1; p++) {
			overlap |= now[p].used;
			want[p] = (struct page){ true, attrs(c[3]) };
		}
		bad |= a.prot > VMA_PROT_ALL;
		settle(vma_insert(&set, &a), bad ? VMA_EINVAL : overlap ? VMA_EEXIST : VMA_OK, &before);
		break;
	case 1:
		for (unsigned p = p0; p < p1; p++)
			want[p].used = false;
		settle(vma_remove(&set, start, end), bad ? VMA_EINVAL : VMA_OK, &before);
		break;
	case 2:
		for (unsigned p = p0; p < p1; p++) {
			hole |= !now[p].used;
			want[p].a.prot = a.prot;
		}
		bad |= a.prot > VMA_PROT_ALL;
		settle(vma_protect(&set, start, end, a.prot),
		       bad ? VMA_EINVAL : hole ? VMA_ENOENT : VMA_OK, &before);
		break;
	case 3:
		do_resize(c, &before);
		break;
	default:
		do_lookups(c);
		if (c[5] & 0x80)
			copy_set(&before);
		break;
	}
	vma_alloc_fails = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: base = 0; break;
	case 1: base = FOUR_GIB - NPAGES * PAGE; break;
	default: base = (uint64_t)data[0] << 20; break;
	}
	vma_init(&set, &vma_test_memory);
	set.max = TEST_MAX;
	for (size_t i = 1; i + 6 <= size; i += 6)
		run_call(data + i);
	vma_release(&set);
	EXPECT(vma_arrays_out == 0);
	return 0;
}
