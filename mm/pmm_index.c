/*
 * pmm_index.c - the per-order index of the hbitmap frame allocator (see
 * pmm_index.h).
 *
 * Data.  order[k] has one bit per aligned block of 2^k frames, set when the
 * block holds at least one frame that is not free, so bit i of order k is
 * the OR of bits 2i and 2i + 1 of order k - 1, and order 0 is the frame
 * bitmap.  A block that runs past the last frame counts as not free (the
 * bitmap's tail bits are set).  Each order is an hbitmap, so "the first
 * clear bit at or after i" costs a few word reads at any order.
 *
 * Memory.  Orders 1..10 hold n/2 + n/4 + ... + n/1024 bits, just under one
 * bit per frame, and the summary levels of all eleven orders about 2n/31
 * more: 1.06 bits per frame on top of the bitmap's one, 34 KiB per GiB of
 * address space (the bitmap: 32 KiB per GiB), 136 KiB for 4 GiB.  A buddy
 * allocator with list links in a per-frame array would need 8 bytes per
 * frame (2 MiB per GiB); it cannot keep them inside the free frames
 * themselves here, since frames above 768 MiB are not mapped.
 *
 * Updates.  Taking frames (allocation, reservation) sets bits: at order k,
 * every block the range touches becomes "not free".  If none of those bits
 * changed, no higher order can change either (a not-free block lies inside
 * a not-free block), so the climb stops: freeing or allocating one frame at
 * high occupancy touches order 0 and order 1 only.  Releasing frames clears
 * the blocks that lie wholly inside the range and recomputes the (at most
 * two) blocks at its ends from the order below; again the climb stops at the
 * first order where nothing changed.  A 1024-frame run costs about
 * 2 * 1024 / 32 word writes over all orders.
 *
 * Building.  pmm_index_init() derives each order from the one below, a word
 * from two words: O(n / 32) word operations.
 */
#include "pmm_index.h"

#include "bitops.h"

/* Blocks of 2^order frames needed to cover `nframes` frames. */
static uint32_t blocks(uint32_t nframes, unsigned order)
{
	return (uint32_t)(((uint64_t)nframes + (1u << order) - 1) >> order);
}

uint32_t pmm_index_words(uint32_t nframes)
{
	uint32_t words = hbitmap_summary_words(nframes);

	for (unsigned k = 1; k < PMM_ORDERS; k++)
		words += bits_words(blocks(nframes, k)) + hbitmap_summary_words(blocks(nframes, k));
	return words;
}

/* Bit i (i < 16) of the result: bit 2i or bit 2i + 1 of w is set. */
static uint32_t pairs_or(uint32_t w)
{
	w = (w | w >> 1) & 0x55555555u;
	w = (w | w >> 1) & 0x33333333u;
	w = (w | w >> 2) & 0x0F0F0F0Fu;
	w = (w | w >> 4) & 0x00FF00FFu;
	w = (w | w >> 8) & 0x0000FFFFu;
	return w;
}

/* Word w of order k, computed from order k - 1. */
static uint32_t derived_word(const struct pmm_index *ix, unsigned k, uint32_t w)
{
	const struct hbitmap *below = &ix->order[k - 1];
	uint32_t nwords = bits_words(below->nbits[0]);
	uint32_t lo = 2 * w < nwords ? below->level[0][2 * w] : ALL_ONES;
	uint32_t hi = 2 * w + 1 < nwords ? below->level[0][2 * w + 1] : ALL_ONES;

	return pairs_or(lo) | pairs_or(hi) << 16;
}

void pmm_index_init(struct pmm_index *ix, uint32_t *bitmap, uint32_t nframes,
		    uint32_t *storage)
{
	ix->storage = storage;
	hbitmap_init(&ix->order[0], bitmap, nframes, storage);
	storage += hbitmap_summary_words(nframes);
	for (unsigned k = 1; k < PMM_ORDERS; k++) {
		uint32_t nbits = blocks(nframes, k), *bits = storage;
		for (uint32_t w = 0; w < bits_words(nbits); w++)
			bits[w] = derived_word(ix, k, w);
		storage += bits_words(nbits);
		hbitmap_init(&ix->order[k], bits, nbits, storage);
		storage += hbitmap_summary_words(nbits);
	}
}

void pmm_index_taken(struct pmm_index *ix, uint32_t first, uint32_t count)
{
	uint32_t last = first + count - 1;

	hbitmap_sync(&ix->order[0], first, count);
	for (unsigned k = 1; k < PMM_ORDERS; k++)
		if (!hbitmap_fill(&ix->order[k], first >> k, (last >> k) - (first >> k) + 1, true))
			return;
}

/* Recompute block i of order k from its two halves; returns whether it changed. */
static bool refresh_block(struct pmm_index *ix, unsigned k, uint32_t i)
{
	bool used = hbitmap_test(&ix->order[k - 1], 2 * i) ||
		    hbitmap_test(&ix->order[k - 1], 2 * i + 1);

	if (used == hbitmap_test(&ix->order[k], i))
		return false;
	return hbitmap_fill(&ix->order[k], i, 1, used);
}

void pmm_index_released(struct pmm_index *ix, uint32_t first, uint32_t count)
{
	uint32_t end = first + count;

	hbitmap_sync(&ix->order[0], first, count);
	for (unsigned k = 1; k < PMM_ORDERS; k++) {
		/* Blocks [inner, outer) lie inside the range; lo and hi are its end blocks. */
		uint32_t inner = (uint32_t)(((uint64_t)first + (1u << k) - 1) >> k);
		uint32_t outer = end >> k, lo = first >> k, hi = (end - 1) >> k;
		bool changed = false;

		if (inner < outer)
			changed |= hbitmap_fill(&ix->order[k], inner, outer - inner, false);
		if (lo < inner)
			changed |= refresh_block(ix, k, lo);
		if (hi >= outer)
			changed |= refresh_block(ix, k, hi);
		if (!changed)
			return;
	}
}

uint32_t pmm_index_find(const struct pmm_index *ix, unsigned order, uint32_t from)
{
	const struct hbitmap *h = &ix->order[order];
	uint32_t i = hbitmap_find_clear(h, blocks(from, order));

	return i < h->nbits[0] ? i << order : PMM_INDEX_NONE;
}

bool pmm_index_consistent(const struct pmm_index *ix)
{
	for (unsigned k = 0; k < PMM_ORDERS; k++) {
		const struct hbitmap *h = &ix->order[k];
		if (!hbitmap_consistent(h))
			return false;
		for (uint32_t w = 0; k > 0 && w < bits_words(h->nbits[0]); w++)
			if (h->level[0][w] != derived_word(ix, k, w))
				return false;
	}
	return true;
}
