/*
 * pmm_index.h - the search index of the hbitmap frame allocator.
 *
 * For every block order k = 0 .. PMM_ORDERS - 1 the index keeps one
 * hierarchical bitmap (hbitmap.h) with a bit per aligned block of 2^k frames
 * -- 4 KiB up to 4 MiB -- set when the block is not entirely free.  Order 0
 * is the PMM's own frame bitmap, which stays the one truth about every
 * frame; the other orders are derived from it and answer "where is the
 * first free aligned block of 2^k frames at or after frame f?" in a few word
 * reads.  See pmm_index.c for the design and its costs.
 *
 * The PMM changes frame bits itself and then tells the index which frames
 * were taken or released.
 *
 * Portable C: kernel and host.  Not thread-safe.
 */
#ifndef MM_PMM_INDEX_H
#define MM_PMM_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "hbitmap.h"

#define PMM_ORDERS 11              /* blocks of 2^0 .. 2^10 frames */
#define PMM_INDEX_NONE UINT32_MAX  /* "no such block" */

struct pmm_index {
	/* order[k] bit i: frames [i << k, (i + 1) << k) are not all free. */
	struct hbitmap order[PMM_ORDERS];
	uint32_t *storage; /* pmm_index_words(nframes) words */
};

/* Words of storage the index needs for a bitmap of `nframes` frames (>= 1). */
uint32_t pmm_index_words(uint32_t nframes);

/*
 * Build the index of `bitmap` (nframes bits, set = not free, tail bits of
 * the last word set) in `storage`.  The bitmap is not copied: the index
 * keeps reading it as its order 0.
 */
void pmm_index_init(struct pmm_index *ix, uint32_t *bitmap, uint32_t nframes,
		    uint32_t *storage);

/* Frames [first, first + count) just stopped being free (their bits are set). */
void pmm_index_taken(struct pmm_index *ix, uint32_t first, uint32_t count);

/* Frames [first, first + count) just became free (their bits are clear). */
void pmm_index_released(struct pmm_index *ix, uint32_t first, uint32_t count);

/*
 * The first frame of the lowest free aligned block of 2^order frames that
 * starts at or after frame `from`, or PMM_INDEX_NONE.
 */
uint32_t pmm_index_find(const struct pmm_index *ix, unsigned order, uint32_t from);

/* Self-check: every order agrees with the one below it, every summary with its level. */
bool pmm_index_consistent(const struct pmm_index *ix);

#endif
