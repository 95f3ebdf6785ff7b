/*
 * bitops.h - ranges of bits in arrays of 32-bit words.
 *
 * The frame bitmap (pmm.c) and the hierarchical bitmaps of its index
 * (hbitmap.c) both keep one bit per thing in uint32_t words, bit i in word
 * i / 32 at position i % 32, and both work on ranges [first, end) of bits a
 * word at a time (first < end): a range touches (end - first) / 32 + 2 words
 * at most, and only the two end words need a mask (bits_head, bits_tail).
 * These helpers are that arithmetic, written once.
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

/* The bits of first / 32 from `first` on, and of (end - 1) / 32 below `end`. */
static inline uint32_t bits_head(uint32_t first)
{
	return ALL_ONES << (first % BITS_PER_WORD);
}

static inline uint32_t bits_tail(uint32_t end)
{
	return ALL_ONES >> (31 - (end - 1) % BITS_PER_WORD);
}

static inline bool bits_test(const uint32_t *words, uint32_t bit)
{
	return words[bit / BITS_PER_WORD] >> (bit % BITS_PER_WORD) & 1;
}

/* Set (or clear) bits [first, end). */
static inline void bits_fill(uint32_t *words, uint32_t first, uint32_t end, bool set)
{
	uint32_t w = first / BITS_PER_WORD, last = (end - 1) / BITS_PER_WORD;
	uint32_t head = bits_head(first), tail = bits_tail(end);

	if (w == last)
		head &= tail;
	words[w] = set ? words[w] | head : words[w] & ~head;
	if (w == last)
		return;
	while (++w < last)
		words[w] = set ? ALL_ONES : 0;
	words[last] = set ? words[last] | tail : words[last] & ~tail;
}

/* Are bits [first, end) all set? */
static inline bool bits_all_set(const uint32_t *words, uint32_t first, uint32_t end)
{
	uint32_t w = first / BITS_PER_WORD, last = (end - 1) / BITS_PER_WORD;
	uint32_t head = bits_head(first), tail = bits_tail(end);

	if (w == last)
		return (words[w] & head & tail) == (head & tail);
	if ((words[w] & head) != head)
		return false;
	while (++w < last)
		if (words[w] != ALL_ONES)
			return false;
	return (words[last] & tail) == tail;
}

/* The first set bit in [first, end), or `end` if there is none. */
static inline uint32_t bits_first_set(const uint32_t *words, uint32_t first, uint32_t end)
{
	uint32_t w = first / BITS_PER_WORD, last = (end - 1) / BITS_PER_WORD;
	uint32_t hit = words[w] & bits_head(first);

	while (!hit && w < last)
		hit = words[++w];
	if (w == last)
		hit &= bits_tail(end);
	return hit ? w * BITS_PER_WORD + (uint32_t)__builtin_ctz(hit) : end;
}

#endif
