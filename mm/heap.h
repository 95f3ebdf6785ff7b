/*
 * heap.h - the general-purpose heap: variable-size blocks with boundary tags.
 *
 * One heap manages one contiguous region that grows at its top end through a
 * backend (the kernel maps fresh pages; host tests use an mmap'd arena) and
 * gives whole free pages at the top back.  Blocks are split on allocation
 * and coalesced with both neighbours on free.  The fit policy is chosen per
 * heap: address-ordered first fit (the default), next fit, or best fit.
 *
 * Every block records who allocated it (a return address) and a sequence
 * number, for leak reports.  With `debug` on, each block also carries a red
 * zone after the caller's bytes and freed blocks are poisoned; the heap then
 * reports buffer overruns, writes after free, double and invalid frees and
 * smashed headers, and refuses the bad operation, so the heap stays
 * consistent.  heap_check() verifies every invariant.
 *
 * Portable C: the kernel's kmalloc and the host's LD_PRELOAD library both
 * sit on it.  Not thread-safe: the caller serializes.
 */
#ifndef MM_HEAP_H
#define MM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_ALIGN 16 /* every pointer the heap returns is a multiple of this */

enum heap_fit { HEAP_FIRST_FIT, HEAP_NEXT_FIT, HEAP_BEST_FIT };

struct heap_backend {
	/*
	 * Make [end, end + bytes) usable (bytes is a multiple of the page size)
	 * and return true, or false when no memory (or address space) is left.
	 */
	bool (*grow)(void *ctx, uintptr_t end, size_t bytes);
	/* [start, start + bytes), the top of the region, is no longer used:
	 * give its pages back (some may have been decommitted already). */
	void (*shrink)(void *ctx, uintptr_t start, size_t bytes);
	void *ctx;
	/*
	 * Optional, both or neither (purging, see heap.c).  decommit: the
	 * pages [start, start + bytes), inside the region, hold nothing the
	 * heap needs: give their memory back but keep the addresses (the
	 * kernel unmaps them and frees their frames; the host library
	 * discards them and keeps them readable, the host tests make them
	 * inaccessible).  commit: make such pages usable again
	 * (their contents are then undefined), or return false and change
	 * nothing when there is no memory.
	 */
	bool (*commit)(void *ctx, uintptr_t start, size_t bytes);
	void (*decommit)(void *ctx, uintptr_t start, size_t bytes);
};

/* What went wrong, for reports and counters. */
enum heap_error {
	HEAP_ERR_DOUBLE_FREE,
	HEAP_ERR_INVALID_FREE,   /* not a pointer the heap returned (or an interior one) */
	HEAP_ERR_SMASHED_HEADER, /* the block's header was overwritten */
	HEAP_ERR_OVERRUN,        /* the red zone after the block was written */
	HEAP_ERR_USE_AFTER_FREE, /* a freed block's poison was disturbed */
	HEAP_ERR_COUNT
};

struct heap_stats {
	size_t requested;     /* bytes asked for by live allocations */
	size_t in_use;        /* bytes of live blocks, headers included */
	size_t peak_in_use, peak_requested;
	size_t heap_size;     /* bytes of the region's address range [base, end) */
	size_t peak_heap_size;
	/* What the heap really holds: heap_size less the pages decommitted
	 * inside free blocks (purged).  Without purging, equal to heap_size. */
	size_t purged, committed, peak_committed;
	size_t free_bytes, free_blocks, largest_free;
	size_t live_blocks;
	uint64_t allocs, frees, grows, shrinks;
	uint64_t purges, commits; /* decommit and commit calls */
	uint64_t failed;      /* allocations that returned NULL */
	uint64_t errors[HEAP_ERR_COUNT];
};

struct heap_block;

/*
 * Free blocks are sorted by size into bins (heap.c says how): 32 bins of
 * 16 bytes each below 512, then 2^HEAP_BIN_SUB_BITS per power of two, as
 * many as size_t needs.
 */
#ifndef HEAP_BIN_SUB_BITS
#define HEAP_BIN_SUB_BITS 4
#endif
#define HEAP_BINS_NEEDED (32 + (8 * sizeof(size_t) - 9) * (1u << HEAP_BIN_SUB_BITS))
#define HEAP_BINS (HEAP_BINS_NEEDED <= 256 ? 256 : HEAP_BINS_NEEDED <= 512 ? 512 : \
		   HEAP_BINS_NEEDED <= 1024 ? 1024 : 2048)

/*
 * A set of bins: a bit per bin, and a bit per word of them that is not 0.
 * Words are the machine's (`unsigned long`), so that finding a member is
 * one bit-scan instruction on the i386 kernel as on the 64-bit host.
 */
#define HEAP_BIN_WORD_BITS (8 * sizeof(unsigned long))
struct heap_bin_set {
	unsigned long word[HEAP_BINS / HEAP_BIN_WORD_BITS];
	unsigned long words;
};

struct heap {
	uintptr_t base, end, limit; /* mapped [base, end); may grow to limit */
	struct heap_block *bin[HEAP_BINS]; /* each bin's free blocks, in address order */
	/* A tree over the bins: node n (1 <= n < HEAP_BINS) holds the lowest
	 * head address of the bins below it (UINTPTR_MAX: none); its
	 * children are 2n and 2n + 1, and node HEAP_BINS + i is bin i. */
	uintptr_t lowest[HEAP_BINS];
	struct heap_bin_set nonempty; /* the bins that hold a block: searches skip the rest */
	uintptr_t rover;     /* next fit: where the last allocation ended */
	unsigned rebuilds;   /* times damaged links made the bins be rebuilt */
	enum heap_fit fit;
	bool debug;          /* red zones and poisoning */
	size_t grow_step;    /* grow by at least this much (a page multiple) */
	size_t page_size;
	unsigned page_shift;          /* log2 of page_size: a page's number is a shift, not a division */
	size_t keep;         /* never shrink the region below this many bytes */
	size_t purge_min, purge_keep; /* see struct heap_config */
	uint32_t purge_share;         /* purge_peak_pct, in 65536ths (a multiply, not a division, per free) */
	unsigned purge_decay;         /* the config's, or HEAP_PURGE_DECAY (0 where purging is off) */
	size_t purge_ref;             /* the share's base: the peak in use, decaying (over_cap) */
	struct heap_bin_set purge_dirty; /* bins that may hold a block worth purging */
	size_t split_rest;            /* the smallest rest split off as a free block */
	unsigned char *purge_map;     /* a bit per page of [base, limit): purged */
	uint32_t seq;        /* sequence number of the next allocation */
	struct heap_backend backend;
	/* Set by the layer above (kmalloc: slab pages): blocks allocated with this
	 * caller are its own, and only a free with the same caller may take them. */
	const void *own_caller;
	struct heap_stats stats;
	/* Called for each detected error (after it is counted); may be NULL. */
	void (*report)(struct heap *h, enum heap_error e, const void *ptr, const char *detail);
};

/* Information about one live block, for leak reports and debugging. */
struct heap_block_info {
	void *ptr;          /* what the caller got */
	size_t requested;   /* what the caller asked for */
	size_t usable;      /* what it may use (>= requested) */
	const void *caller; /* return address of the allocating call */
	uint32_t seq;       /* allocation sequence number */
};

union slab_record;

/*
 * The default purge_decay: a peak that sinks over about two million frees.
 * At 2^14 the host's `mixed` benchmark, whose live set wanders below its
 * peak, made four times the purging madvise calls and purged three times
 * the pages, for a heap ratio 0.2-0.4 points lower; 2^21 rather than 2^20
 * since the frees its magazines take count too (docs/design/heap.md, *A
 * slower sink*, *Frees no heap sees*).
 */
#define HEAP_PURGE_DECAY 21

/* How a heap behaves; fixed at heap_init. */
struct heap_config {
	size_t page_size;   /* the backend's unit, a power of two */
	size_t initial;     /* bytes mapped at once (the initial reserve) */
	size_t grow_step;   /* grow by at least this much */
	size_t keep;        /* never shrink below this many bytes */
	enum heap_fit fit;
	bool debug;         /* red zones and poisoning */
	/*
	 * Purging (needs the backend's commit and decommit and a purge_map;
	 * purge_min 0: off).  The heap may hold this much committed memory
	 * in free blocks: purge_keep bytes, or, when purge_peak_pct is not
	 * 0, as much as keeps all it holds within that many percent above
	 * its peak of bytes in use, whichever is more.  Past that, after a
	 * free or an allocation that committed memory, the whole pages
	 * inside its biggest free blocks are decommitted until it is within
	 * again; a block is purged only if at least purge_min bytes of them
	 * are committed.
	 */
	size_t purge_min, purge_keep;
	/* Zeroed storage for a bit per page of the region (limit - base) /
	 * page_size / 8 bytes, rounded up): the heap marks its purged pages
	 * there, so that a stale pointer into one is refused without being
	 * read.  Purging needs it. */
	unsigned char *purge_map;
	unsigned purge_peak_pct; /* the share of the peak, with purge_keep above (0: none; at most 1000) */
	/*
	 * How slowly that peak sinks to the bytes in use: each free moves it
	 * 1/2^purge_decay of the way down (0: HEAP_PURGE_DECAY; at most 48), so
	 * a live set that fell for good lets its holes go after some
	 * 2^purge_decay frees.
	 */
	unsigned purge_decay;
	/*
	 * The smallest request the heap expects, aligned ones aside (0: any).
	 * A free block too small for it could serve only an aligned request,
	 * yet it would lengthen every walk of its bin; so when an allocation
	 * would leave such a rest, the rest stays with the allocated block.
	 */
	size_t split_min;
	/*
	 * For kalloc_init, which passes it to its slab source (slab.h): zeroed
	 * storage for (limit - base) / SLAB_SIZE slab headers, so that slab
	 * pages hold only objects and their headers lie side by side (base
	 * must then be SLAB_SIZE-aligned); NULL keeps each header in its page.
	 * The storage an entry lies in must be writable by the time the heap
	 * has grown over its page.  The heap itself does not use it.
	 */
	union slab_record *slab_records;
};

/*
 * Set up a heap over [base, limit) (page-aligned), mapping cfg->initial
 * bytes right away.  Returns false if the backend cannot provide them.
 */
bool heap_init(struct heap *h, uintptr_t base, uintptr_t limit, const struct heap_config *cfg,
	       const struct heap_backend *backend);

/*
 * `size` bytes aligned to `align` (a power of two; at most HEAP_ALIGN means
 * the default), or NULL when the heap cannot grow enough or the size is
 * impossible.  size 0 is served as a minimal block (a unique pointer).
 * `caller` is recorded for leak reports.
 */
void *heap_alloc(struct heap *h, size_t size, size_t align, const void *caller);

/*
 * Free `p` (NULL is ignored).  Returns true, or false when the call was
 * refused: p is not a live block of this heap, or its red zone or header is
 * damaged, or it is one of the layer above's own blocks (allocated with
 * `caller` h->own_caller) and this call is not from that layer (passing
 * the same caller): reported through h->report and counted.
 */
bool heap_free(struct heap *h, void *p, const void *caller);

/* Bytes usable at `p` (a live block), or 0 if `p` is not one. */
size_t heap_usable_size(struct heap *h, const void *p);

/* Is `p` the start of a live block of this heap? (no report if not) */
bool heap_owns(struct heap *h, const void *p);

/* Fill `info` for live block `p`; false if `p` is not one. */
bool heap_block_info(struct heap *h, const void *p, struct heap_block_info *info);

/*
 * Walk every block and check every invariant: sizes, boundary tags, flags,
 * headers, red zones and poison (debug), no two free neighbours, the free
 * list in address order and holding exactly the free blocks, and the
 * statistics.  Returns the number of problems found; each is reported in
 * `why` (the first one) if it is not NULL.
 */
unsigned heap_check(struct heap *h, char *why, size_t why_size);

/*
 * If `p` is the start of a free block, fill `info` with who freed it (in
 * `caller`) and the sequence number it had when it was allocated.
 */
bool heap_freed_info(struct heap *h, const void *p, struct heap_block_info *info);

/* Call fn for every live block with sequence number >= since, in address order. */
void heap_for_each_live(struct heap *h, uint32_t since,
			void (*fn)(void *arg, const struct heap_block_info *b), void *arg);

/* Update stats.largest_free (a walk of the free list). */
void heap_largest_free(struct heap *h);

/* Give free pages at the top back to the backend, down to h->keep. */
void heap_trim(struct heap *h);

/*
 * `frees` frees happened elsewhere (another heap's, slab objects): let
 * the peak the purge share is taken of sink as if they had been this
 * heap's, and purge what is then over the cap.  heap_free does this for
 * its own frees; a front over several layers calls it for the others.
 */
void heap_decay(struct heap *h, unsigned frees);

/* Is the page holding `addr` (inside the region) purged: must it not be read? */
static inline bool heap_page_purged(const struct heap *h, uintptr_t addr)
{
	size_t page = (addr - h->base) >> h->page_shift;
	return h->purge_map && (h->purge_map[page / 8] >> (page % 8) & 1);
}

/* Per-block metadata in bytes (header plus red zone), for the statistics. */
size_t heap_overhead_per_block(const struct heap *h);

const char *heap_error_name(enum heap_error e);

#endif
