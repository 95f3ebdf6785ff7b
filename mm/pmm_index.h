/*
 * pmm_index.h - the search index of the hbitmap frame allocator.
 *
 * For every block order k = 0 .. PMM_ORDERS - 1 (blocks of 2^k frames, 4 KiB
 * up to 4 MiB, aligned to their size) the index answers "where is the first
 * free block of order k at or after frame f?" in a few word reads.  It
 * never holds the truth about a frame -- the PMM's bitmap does -- only
 * per-word summaries of it: one hierarchical bitmap (hbitmap.h) per order,
 * with a bit per word of the frame bitmap (orders 0..5) or per word of the
 * order-5 summary (orders 6..10).  See pmm_index.c for the design.
 *
 * The PMM writes frame bits itself and then tells the index which frames
 * flipped.  Order 0 is always exact; orders 1..10 may lag behind single
 * flips until pmm_index_refresh(), which must come before searching them.
 *
 * Portable C: kernel and host.  Not thread-safe.
 */
#ifndef MM_PMM_INDEX_H
#define MM_PMM_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "hbitmap.h"

#define PMM_ORDERS 11             /* blocks of 2^0 .. 2^10 frames */
#define PMM_INDEX_NONE UINT32_MAX /* "no such block" */

struct pmm_index {
	/*
	 * order[k] bit w: word w of the source holds no free aligned group of
	 * 2^k bits (k <= 5: the source is the frame bitmap) or of 2^(k-5) bits
	 * (k > 5: the source is order[5]'s own bits, one per 32 frames).
	 */
	struct hbitmap order[PMM_ORDERS];
	struct hbitmap fresh;   /* bit per bitmap word, clear: orders 1..5 lag */
	const uint32_t *bitmap; /* the PMM's frame bitmap: set = not free */
	uint32_t *storage;      /* pmm_index_words(nframes) words */
};

/* Words of storage the index needs for a bitmap of `nframes` frames (>= 1). */
uint32_t pmm_index_words(uint32_t nframes);

/*
 * Build the index of `bitmap` (nframes bits, set = not free, the bits past
 * nframes in its last word set) in `storage`.  The bitmap is not copied:
 * the index reads it from now on.
 */
void pmm_index_init(struct pmm_index *ix, const uint32_t *bitmap, uint32_t nframes,
		    uint32_t *storage);

/*
 * The bit of frame `frame` has just flipped (either way): O(1).  Order 0 is
 * updated now, orders 1..10 at the next pmm_index_refresh().
 */
void pmm_index_frame_flipped(struct pmm_index *ix, uint32_t frame);

/* The bits of frames [first, first + count) are now all `used`: every order updated. */
void pmm_index_run_flipped(struct pmm_index *ix, uint32_t first, uint32_t count, bool used);

/* Bring orders 1..10 up to date with every single flip so far: O(words flipped since). */
void pmm_index_refresh(struct pmm_index *ix);

/* The first bitmap word at or after word `from` with a free frame, or PMM_INDEX_NONE. */
uint32_t pmm_index_free_word(const struct pmm_index *ix, uint32_t from);

/*
 * The first frame of the lowest free block of 2^order frames (aligned to
 * its size) that starts at or after frame `from`, or PMM_INDEX_NONE.  For
 * order >= 1, call pmm_index_refresh() first.
 */
uint32_t pmm_index_find(const struct pmm_index *ix, unsigned order, uint32_t from);

/*
 * Self-check: every summary bit is what the bitmap says it should be, except
 * orders 1..5 of words marked as lagging (orders 6..10 must then agree with
 * order 5 as it stands).
 */
bool pmm_index_consistent(const struct pmm_index *ix);

#endif
