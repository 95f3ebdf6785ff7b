/*
 * hbitmap.c - the hierarchical bitmap (see hbitmap.h).
 *
 * Data.  level[0] holds n bits; level[l + 1] holds one bit per word of
 * level[l], set when that word is all ones; the levels stop at the first one
 * that fits in a single word.  Storage above level 0 is n/31 bits in all
 * (n/32 + n/1024 + ...): 3% on top of the bitmap it summarizes.
 *
 * Search.  hbitmap_find_clear(from) looks at the rest of from's word; if it
 * has no clear bit, it climbs one level and looks at the rest of the word
 * that summarizes it, and so on, until some level shows a clear bit to the
 * right; then it descends, taking the lowest clear bit of each word on the
 * way down.  That is at most 2 * levels - 1 word reads (7 for 2^20 bits)
 * wherever the clear bit is, against up to n/32 for a flat scan -- the whole
 * point of the structure.  The common case, a clear bit in from's own word,
 * is one read.
 *
 * Update.  Changing bits in a level-0 word can only change that word's bit
 * in level 1, which can only change its word's bit in level 2, and so on; a
 * level whose bits did not change stops the climb.  So flipping one bit
 * costs one word write plus, only when the word becomes all ones or stops
 * being so, one more per level; syncing a range of count bits costs
 * count/32 + levels words.
 *
 * The bits past the end of each level stay set from hbitmap_init() on: no
 * search can return them and no word is "not full" because of them.
 */
#include "hbitmap.h"

#include <string.h>

#include "bitops.h"

uint32_t hbitmap_summary_words(uint32_t nbits)
{
	uint32_t words = 0;

	for (uint32_t n = nbits; n > BITS_PER_WORD; n = bits_words(n))
		words += bits_words(bits_words(n));
	return words;
}

/*
 * Words [w0, w1] of level l may have changed: recompute their bits in the
 * level above, and climb while anything changes.
 */
static void propagate(struct hbitmap *h, unsigned l, uint32_t w0, uint32_t w1)
{
	for (; l + 1 < h->nlevels; l++) {
		const uint32_t *below = h->level[l];
		uint32_t *above = h->level[l + 1];
		uint32_t changed = 0;

		for (uint32_t w = w0; w <= w1; w++) {
			uint32_t bit = 1u << (w % BITS_PER_WORD), old = above[w / BITS_PER_WORD];
			uint32_t now = below[w] == ALL_ONES ? old | bit : old & ~bit;
			above[w / BITS_PER_WORD] = now;
			changed |= old ^ now;
		}
		if (!changed)
			return;
		w0 /= BITS_PER_WORD;
		w1 /= BITS_PER_WORD;
	}
}

void hbitmap_init(struct hbitmap *h, uint32_t *bits, uint32_t nbits, uint32_t *summary)
{
	unsigned l = 0;

	h->level[0] = bits;
	h->nbits[0] = nbits;
	while (h->nbits[l] > BITS_PER_WORD) {
		uint32_t n = bits_words(h->nbits[l]);
		h->level[++l] = summary;
		h->nbits[l] = n;
		memset(summary, 0xFF, bits_words(n) * sizeof(uint32_t));
		summary += bits_words(n);
	}
	h->nlevels = l + 1;
	/* Every summary bit starts set; clear the ones over words with a clear bit. */
	propagate(h, 0, 0, bits_words(nbits) - 1);
}

void hbitmap_sync(struct hbitmap *h, uint32_t first, uint32_t count)
{
	propagate(h, 0, first / BITS_PER_WORD, (first + count - 1) / BITS_PER_WORD);
}

void hbitmap_assign(struct hbitmap *h, uint32_t bit, bool set)
{
	for (unsigned l = 0; l < h->nlevels; l++) {
		uint32_t *word = &h->level[l][bit / BITS_PER_WORD], old = *word;
		uint32_t mask = 1u << (bit % BITS_PER_WORD);
		*word = set ? old | mask : old & ~mask;
		if ((old == ALL_ONES) == (*word == ALL_ONES))
			return; /* the word is as full as before: nothing above changes */
		bit /= BITS_PER_WORD; /* its bit one level up: set when it is full */
		set = *word == ALL_ONES;
	}
}

uint32_t hbitmap_find_clear(const struct hbitmap *h, uint32_t from)
{
	unsigned l = 0;
	uint32_t i = from; /* a bit position in level l */

	for (;;) {
		if (i >= h->nbits[l])
			return h->nbits[0];
		uint32_t clear = ~h->level[l][i / BITS_PER_WORD] & (ALL_ONES << (i % BITS_PER_WORD));
		if (clear) {
			i = i / BITS_PER_WORD * BITS_PER_WORD + (uint32_t)__builtin_ctz(clear);
			break;
		}
		if (++l == h->nlevels)
			return h->nbits[0];
		i = i / BITS_PER_WORD + 1; /* the next word of the level below */
	}
	for (; l > 0; l--)
		i = i * BITS_PER_WORD + (uint32_t)__builtin_ctz(~h->level[l - 1][i]);
	return i;
}

bool hbitmap_consistent(const struct hbitmap *h)
{
	for (unsigned l = 0; l < h->nlevels; l++) {
		uint32_t n = h->nbits[l], last = bits_words(n) - 1;
		uint32_t tail = n % BITS_PER_WORD ? ALL_ONES << (n % BITS_PER_WORD) : 0;

		if ((h->level[l][last] & tail) != tail)
			return false;
		for (uint32_t w = 0; l + 1 < h->nlevels && w <= last; w++)
			if (bits_test(h->level[l + 1], w) != (h->level[l][w] == ALL_ONES))
				return false;
	}
	return true;
}
