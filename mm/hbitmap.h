/*
 * hbitmap.h - a hierarchical bitmap: an array of bits that finds its first
 * clear bit at or after any position in a few word reads, however far away
 * that bit is.
 *
 * Level 0 is the array itself.  Every level above has one bit per word of the
 * level below, set when that word is all ones ("nothing clear under here"),
 * and the top level is a single word.  2^20 bits (a frame per bit for 4 GiB)
 * take 4 levels: 32768, 1024, 32 and 1 words.  See hbitmap.c for the costs.
 *
 * Bits past the end of every level are kept set, so a search never returns
 * them.  The owner may write level-0 words itself (the PMM's frame bitmap is
 * level 0 of one of these) and then calls hbitmap_sync() on what it changed.
 *
 * Portable C: kernel and host.  Not thread-safe.
 */
#ifndef MM_HBITMAP_H
#define MM_HBITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HBITMAP_MAX_LEVELS 4 /* up to 32^4 = 2^20 bits */

struct hbitmap {
	uint32_t *level[HBITMAP_MAX_LEVELS]; /* level[0]: the bits themselves */
	uint32_t nbits[HBITMAP_MAX_LEVELS];  /* bits in each level */
	unsigned nlevels;
};

/* Words of storage the summary levels (1 and up) need for `nbits` bits. */
uint32_t hbitmap_summary_words(uint32_t nbits);

/*
 * Set `h` up over `bits` (level 0: nbits bits, 1 <= nbits <= 2^20;
 * any bits past nbits in its last word must be set) with `summary` as storage
 * for the levels above (hbitmap_summary_words(nbits) words), which are
 * computed from `bits`.  Neither array is copied: both must stay alive.
 */
void hbitmap_init(struct hbitmap *h, uint32_t *bits, uint32_t nbits, uint32_t *summary);

/* The owner changed level-0 bits [first, first + count) (count > 0): update the summaries. */
void hbitmap_sync(struct hbitmap *h, uint32_t first, uint32_t count);

/* Set (set = true) or clear level-0 bit `bit` (< nbits), and update the summaries. */
void hbitmap_assign(struct hbitmap *h, uint32_t bit, bool set);

/* The first clear bit at or after `from`, or nbits when there is none. */
uint32_t hbitmap_find_clear(const struct hbitmap *h, uint32_t from);

/* Self-check: every summary bit and every bit past the end is what it should be. */
bool hbitmap_consistent(const struct hbitmap *h);

#endif
