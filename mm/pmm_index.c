/*
 * pmm_index.c - the per-order index of the hbitmap frame allocator (see
 * pmm_index.h).
 *
 * Groups.  In one 32-bit word of a bitmap (set = not free), the free
 * aligned groups of 2^j bits, j = 0..5, come out of j shift-and-mask steps:
 * g_0 = ~word, g_(j+1) = g_j & (g_j >> 2^j) & M_j, where M_j keeps the
 * positions that are multiples of 2^(j+1).  Bit i of g_j is set when bits
 * [i, i + 2^j) are all free and i is a multiple of 2^j.  group_orders()
 * condenses a word into six bits: "holds a free group of 2^j", j = 0..5.
 *
 * Data.  Two layers of summaries, each order an hbitmap with one bit per
 * word of its source, set when that word holds no free group of the order:
 *   orders 0..5:  the source is the frame bitmap, groups of 2^k frames
 *                 (order 0: "the word is full"; order 5: "the word is not
 *                 entirely free");
 *   orders 6..10: the source is order 5's own bits, where a clear bit stands
 *                 for 32 free frames, so a clear group of 2^(k-5) bits there
 *                 is a free block of 2^k frames.
 * One more hbitmap, `fresh`, has a bit per bitmap word, clear when orders
 * 1..5 of that word are out of date (see Updates).  Memory: 7 bits per 32
 * frames, 5 more per 1024, and the hbitmaps' own summary levels (3% on
 * top): 0.23 bits per frame, 7.4 KiB per GiB of address space, 30 KiB for
 * 4 GiB (the bitmap itself: 32 KiB per GiB).  A buddy allocator with list
 * links in a per-frame array would need 8 bytes per frame (2 MiB per GiB);
 * it cannot keep them inside the free frames, since frames above 768 MiB
 * are not mapped.
 *
 * Search.  pmm_index_find(k, f): the order-k hbitmap gives the first source
 * word at or after f's that holds a group (at most 7 word reads), and the
 * group arithmetic on that word gives the group; in f's own word the groups
 * below f are masked off, which may leave none, and then one more hbitmap
 * search finds the next word.  O(1) in memory size.
 *
 * Updates.  Single frames are the common case and must stay cheap: a flip
 * keeps order 0 exact (next fit searches it) -- it changes only when the
 * word fills up or stops being full -- and marks the word stale in `fresh`.
 * Orders 1..5 of stale words are brought up to date by pmm_index_refresh(),
 * which the PMM calls before searching for a run: one condensation per
 * stale word, and for the words whose order 5 changed, the same one layer
 * up.  Amortized, that is O(1) per flip; the cost is the latency of the
 * first run search after a long stretch of single-frame traffic, which pays
 * for every word touched since (32768 words at most, for 4 GiB).  Keeping
 * orders 1..5 exact on every flip instead was measured at about 20 ns per
 * free+alloc pair at 50% occupancy, more than the pair itself (see
 * docs/design/pmm.md).  A run of frames is written eagerly: the words wholly
 * inside it become all used or all free, which answers every order for them
 * at once, so only its two end words are condensed.
 */
#include "pmm_index.h"

#include <string.h>

#include "bitops.h"

#define WORD_ORDERS 6 /* groups of 2^0 .. 2^5 bits fit in a word */
#define UPPER 5       /* order 5's bits are the source of orders 6..10 */

/* The step from groups of 2^j bits to groups of 2^(j+1): positions kept. */
static const uint32_t step_mask[WORD_ORDERS - 1] = {
	0x55555555u, 0x11111111u, 0x01010101u, 0x00010001u, 0x00000001u,
};

/* Bit i set: bits [i, i + 2^span) of `used` are clear, i a multiple of 2^span. */
static uint32_t free_groups(uint32_t used, unsigned span)
{
	uint32_t g = ~used;

	for (unsigned j = 0; j < span; j++)
		g &= (g >> (1u << j)) & step_mask[j];
	return g;
}

/*
 * Bit j set: `used` holds a clear aligned group of 2^j bits (j = 0..5).  The
 * steps of free_groups() written out, all sizes at once: a refresh runs this
 * on every stale word.
 */
static unsigned group_orders(uint32_t used)
{
	uint32_t g0 = ~used;
	uint32_t g1 = g0 & g0 >> 1 & 0x55555555u;
	uint32_t g2 = g1 & g1 >> 2 & 0x11111111u;
	uint32_t g3 = g2 & g2 >> 4 & 0x01010101u;
	uint32_t g4 = g3 & g3 >> 8 & 0x00010001u;
	uint32_t g5 = g4 & g4 >> 16;

	return (unsigned)(g0 != 0) | (unsigned)(g1 != 0) << 1 | (unsigned)(g2 != 0) << 2 |
	       (unsigned)(g3 != 0) << 3 | (unsigned)(g4 != 0) << 4 | (unsigned)(g5 != 0) << 5;
}

/* The bits order k summarizes, and the group size there (log2, in source bits). */
static const uint32_t *source(const struct pmm_index *ix, unsigned k)
{
	return k <= UPPER ? ix->bitmap : ix->order[UPPER].level[0];
}

static unsigned span(unsigned k)
{
	return k <= UPPER ? k : k - UPPER;
}

/* Bits in order k's hbitmap: one per word of its source. */
static uint32_t order_bits(uint32_t nframes, unsigned k)
{
	uint32_t words = bits_words(nframes);

	return k <= UPPER ? words : bits_words(words);
}

/* Words of storage for an hbitmap of n bits, and for the whole index. */
static uint32_t hbitmap_words(uint32_t n)
{
	return bits_words(n) + hbitmap_summary_words(n);
}

uint32_t pmm_index_words(uint32_t nframes)
{
	uint32_t words = hbitmap_words(bits_words(nframes)); /* fresh */

	for (unsigned k = 0; k < PMM_ORDERS; k++)
		words += hbitmap_words(order_bits(nframes, k));
	return words;
}

/* What order k's bit for source word w must be: set when it holds no group. */
static bool no_group(const struct pmm_index *ix, unsigned k, uint32_t w)
{
	return !(group_orders(source(ix, k)[w]) >> span(k) & 1);
}

/* Set up `h` over n bits at *storage, all set (or as `no_group` says for order k). */
static void build(struct pmm_index *ix, struct hbitmap *h, int k, uint32_t n, uint32_t **storage)
{
	uint32_t *bits = *storage;

	memset(bits, 0xFF, bits_words(n) * sizeof(uint32_t));
	for (uint32_t w = 0; k >= 0 && w < n; w++)
		if (!no_group(ix, (unsigned)k, w))
			bits[w / BITS_PER_WORD] &= ~(1u << (w % BITS_PER_WORD));
	hbitmap_init(h, bits, n, bits + bits_words(n));
	*storage += hbitmap_words(n);
}

void pmm_index_init(struct pmm_index *ix, const uint32_t *bitmap, uint32_t nframes,
		    uint32_t *storage)
{
	ix->bitmap = bitmap;
	ix->storage = storage;
	/* In increasing order: orders 6..10 read order 5's finished bits. */
	for (unsigned k = 0; k < PMM_ORDERS; k++)
		build(ix, &ix->order[k], (int)k, order_bits(nframes, k), &storage);
	build(ix, &ix->fresh, -1, bits_words(nframes), &storage);
}

/*
 * Bit `pos` of order 5 has just flipped.  Orders 6..10 see a word that
 * differs in that bit only, so only the groups holding it can differ: the
 * orders j whose group around pos is free with the bit clear, and which the
 * word with the bit set has no free group of.
 */
static void upper_bit_flipped(struct pmm_index *ix, uint32_t pos)
{
	const uint32_t *src = ix->order[UPPER].level[0];
	uint32_t now = src[pos / BITS_PER_WORD], bit = 1u << (pos % BITS_PER_WORD);
	uint32_t with = now & ~bit, without = now | bit;
	unsigned b = pos % BITS_PER_WORD;

	for (unsigned j = 1; j < WORD_ORDERS; j++) {
		uint32_t group = ALL_ONES >> (BITS_PER_WORD - (1u << j)) << (b & ~((1u << j) - 1));
		if (with & group)
			return; /* pos's group is free in neither word, nor any larger one */
		if (!free_groups(without, j))
			hbitmap_assign(&ix->order[UPPER + j], pos / BITS_PER_WORD, now & bit);
	}
}

/* Source word w of a layer: rewrite the orders whose stored answer is out of date. */
static void refresh_word(struct pmm_index *ix, bool upper, uint32_t w)
{
	unsigned lo = upper ? UPPER + 1 : 0, hi = upper ? PMM_ORDERS - 1 : UPPER;
	unsigned orders = group_orders(source(ix, lo)[w]);

	for (unsigned k = lo; k <= hi; k++) {
		bool used = !(orders >> span(k) & 1);
		if (bits_test(ix->order[k].level[0], w) == used)
			continue;
		hbitmap_assign(&ix->order[k], w, used);
		if (k == UPPER)
			upper_bit_flipped(ix, w);
	}
}

void pmm_index_frame_flipped(struct pmm_index *ix, uint32_t frame)
{
	uint32_t w = frame / BITS_PER_WORD, now = ix->bitmap[w];

	if ((now | 1u << (frame % BITS_PER_WORD)) == ALL_ONES) /* full now, or full before */
		hbitmap_assign(&ix->order[0], w, now == ALL_ONES);
	if (bits_test(ix->fresh.level[0], w))
		hbitmap_assign(&ix->fresh, w, false);
}

void pmm_index_refresh(struct pmm_index *ix)
{
	struct hbitmap *fresh = &ix->fresh;
	uint32_t w = 0;

	/* A word of `fresh` at a time: its clear bits are 32 bitmap words' worth. */
	while ((w = hbitmap_find_clear(fresh, w)) < fresh->nbits[0]) {
		uint32_t first = w / BITS_PER_WORD * BITS_PER_WORD;
		uint32_t *word = &fresh->level[0][w / BITS_PER_WORD];
		for (uint32_t stale = ~*word; stale; stale &= stale - 1)
			refresh_word(ix, false, first + (uint32_t)__builtin_ctz(stale));
		*word = ALL_ONES;
		hbitmap_sync(fresh, first, 1);
		w = first + BITS_PER_WORD;
	}
}

/*
 * Source bits [first, first + count) of a layer are now all `used`.  The
 * source words wholly inside the range are all ones or all zeros, which
 * answers every order for them at once (no group at all, or every group);
 * only the words at the two ends need condensing.  For the lower layer,
 * those whole words are also a run of order-5 bits that are now all `used`:
 * the upper layer's own run.
 */
static void run_flipped(struct pmm_index *ix, bool upper, uint32_t first, uint32_t count,
			bool used)
{
	unsigned lo = upper ? UPPER + 1 : 0, hi = upper ? PMM_ORDERS - 1 : UPPER;
	uint32_t end = first + count;
	uint32_t whole = (first + BITS_PER_WORD - 1) / BITS_PER_WORD, whole_end = end / BITS_PER_WORD;

	if (whole < whole_end) {
		for (unsigned k = lo; k <= hi; k++) {
			bits_fill(ix->order[k].level[0], whole, whole_end, used);
			hbitmap_sync(&ix->order[k], whole, whole_end - whole);
		}
		if (!upper)
			run_flipped(ix, true, whole, whole_end - whole, used);
	}
	if (first % BITS_PER_WORD)
		refresh_word(ix, upper, first / BITS_PER_WORD);
	if (end % BITS_PER_WORD)
		refresh_word(ix, upper, end / BITS_PER_WORD);
}

void pmm_index_run_flipped(struct pmm_index *ix, uint32_t first, uint32_t count, bool used)
{
	run_flipped(ix, false, first, count, used);
}

uint32_t pmm_index_free_word(const struct pmm_index *ix, uint32_t from)
{
	uint32_t w = hbitmap_find_clear(&ix->order[0], from);

	return w < ix->order[0].nbits[0] ? w : PMM_INDEX_NONE;
}

uint32_t pmm_index_find(const struct pmm_index *ix, unsigned order, uint32_t from)
{
	const struct hbitmap *h = &ix->order[order];
	const uint32_t *src = source(ix, order);
	unsigned j = span(order), unit = order > UPPER ? 5 : 0; /* log2 frames per source bit */
	/* The first source bit that may start a group: `from` rounded up. */
	uint64_t bit = ((((uint64_t)from + (1u << unit) - 1) >> unit) + (1u << j) - 1) &
		       ~(uint64_t)((1u << j) - 1);
	uint32_t w = (uint32_t)(bit / BITS_PER_WORD);

	if (bit >= (uint64_t)h->nbits[0] * BITS_PER_WORD)
		return PMM_INDEX_NONE;
	for (;; w++) {
		w = hbitmap_find_clear(h, w);
		if (w >= h->nbits[0])
			return PMM_INDEX_NONE;
		uint32_t groups = free_groups(src[w], j);
		if (w == bit / BITS_PER_WORD)
			groups &= ALL_ONES << (bit % BITS_PER_WORD);
		if (groups)
			return (w * BITS_PER_WORD + (uint32_t)__builtin_ctz(groups)) << unit;
	}
}

bool pmm_index_consistent(const struct pmm_index *ix)
{
	if (!hbitmap_consistent(&ix->fresh))
		return false;
	for (unsigned k = 0; k < PMM_ORDERS; k++) {
		const struct hbitmap *h = &ix->order[k];
		if (!hbitmap_consistent(h))
			return false;
		for (uint32_t w = 0; w < h->nbits[0]; w++) {
			bool stale = k >= 1 && k <= UPPER && !bits_test(ix->fresh.level[0], w);
			if (!stale && bits_test(h->level[0], w) != no_group(ix, k, w))
				return false;
		}
	}
	return true;
}
