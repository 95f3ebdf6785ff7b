/*
 * bitops.h - ranges of bits in arrays of 32-bit words.
 *
 * The frame bitmap (pmm.c) and the hierarchical bitmaps of its index
 * (hbitmap.c) both keep one bit per thing in uint32_t words, bit i in word
 * i / 32 at position i % 32, and both work on ranges [first, end) of bits a
 * word at a time: a range touches (end - first) / 32 + 2 words at most, and
 * only the two end words need a mask.  These helpers are that arithmetic,
 * written once.
 *
 * Portable C: kernel and host.
 */
#ifndef MM_BITOPS_H
#define MM_BITOPS_H

#include <stdbool.h>
#include <stdint.h>

#define BITS_PER_WORD 32u
#define ALL_ONES 0xFFFFFFFFu

static inline uint32_t bits_words(uint32_t nbits)
{
	return (nbits + BITS_PER_WORD - 1) / BITS_PER_WORD;
}

/* The bits of word `w` that lie inside [first, end) (first < end, w in range). */
static inline uint32_t bits_mask(uint32_t w, uint32_t first, uint32_t end)
{
	uint32_t lo = w == first / BITS_PER_WORD ? first % BITS_PER_WORD : 0;
	uint32_t hi = w == (end - 1) / BITS_PER_WORD ? (end - 1) % BITS_PER_WORD : 31;

	return (ALL_ONES << lo) & (ALL_ONES >> (31 - hi));
}

static inline bool bits_test(const uint32_t *words, uint32_t bit)
{
	return words[bit / BITS_PER_WORD] >> (bit % BITS_PER_WORD) & 1;
}

/* Set (or clear) bits [first, end); returns whether any bit changed. */
static inline bool bits_fill(uint32_t *words, uint32_t first, uint32_t end, bool set)
{
	uint32_t changed = 0;

	for (uint32_t w = first / BITS_PER_WORD; w <= (end - 1) / BITS_PER_WORD; w++) {
		uint32_t m = bits_mask(w, first, end), old = words[w];
		words[w] = set ? old | m : old & ~m;
		changed |= old ^ words[w];
	}
	return changed != 0;
}

/* Are bits [first, end) all set? */
static inline bool bits_all_set(const uint32_t *words, uint32_t first, uint32_t end)
{
	for (uint32_t w = first / BITS_PER_WORD; w <= (end - 1) / BITS_PER_WORD; w++) {
		uint32_t m = bits_mask(w, first, end);
		if ((words[w] & m) != m)
			return false;
	}
	return true;
}

/* The first set bit in [first, end), or `end` if there is none. */
static inline uint32_t bits_first_set(const uint32_t *words, uint32_t first, uint32_t end)
{
	for (uint32_t w = first / BITS_PER_WORD; w <= (end - 1) / BITS_PER_WORD; w++) {
		uint32_t hit = words[w] & bits_mask(w, first, end);
		if (hit)
			return w * BITS_PER_WORD + (uint32_t)__builtin_ctz(hit);
	}
	return end;
}

#endif
