/*
 * pmm.h - the physical memory manager: who owns each 4 KiB frame of RAM.
 *
 * The truth about every frame is a bitmap, one bit per frame from address 0
 * to the top of usable memory below 4 GiB: a set bit means "not free"
 * (allocated, reserved, or not RAM at all).  Two allocators search it, with
 * the same policy and therefore the same results call for call:
 *
 *   bitmap   the reference: searches by scanning the bitmap (pmm_init alone);
 *   hbitmap  the bitmap plus an index of per-word summaries, kept in
 *            hierarchical bitmaps, that finds any frame or aligned run in a
 *            few word reads (pmm_attach_index after pmm_init).  The
 *            kernel's default.
 *
 * See pmm.c for the designs and their costs, docs/design/pmm.md for the
 * measurements behind the choice.
 *
 * Frames are named by their physical address (paddr_t, always a multiple of
 * FRAME_SIZE).  Address 0 is never handed out, since frame 0 is always
 * reserved, so 0 doubles as the failure value of the allocation calls, the
 * way NULL does for pointers.
 *
 * Bad calls (double free, freeing a reserved frame or a hole, a misaligned or
 * out-of-range address, a zero-size or impossible request) are refused with a
 * message through mm_warn() and counted in pmm_stats; the bitmap is never
 * changed by a refused call.  Running out of frames is not an error: the
 * allocation returns 0 and `exhausted` is counted.
 *
 * Portable C: compiled into the kernel and into host tests and benchmarks.
 * Not thread-safe: the caller serializes.
 */
#ifndef MM_PMM_H
#define MM_PMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memmap.h"
#include "pmm_index.h"

typedef uint32_t paddr_t; /* a physical address below 4 GiB */

#define FRAME_SIZE 4096u
#define FRAME_SHIFT 12
#define PMM_MAX_RESERVATIONS 32
#define PMM_LOW_MEMORY_END 0x100000u /* the first MiB is always reserved */

enum pmm_result {
	PMM_OK = 0,
	PMM_EALIGN,    /* address not a multiple of FRAME_SIZE */
	PMM_ERANGE,    /* address outside the RAM the PMM manages (a hole) */
	PMM_ERESERVED, /* the frame belongs to a reservation */
	PMM_EDOUBLE,   /* the frame is already free */
	PMM_EINVAL,    /* zero-size, impossible size, or bad alignment */
	PMM_ENOMEM,    /* no free frame / no free run of that shape */
	PMM_EFULL,     /* no room left in the reservation table */
};

/* Why a range of physical memory is not handed out. */
struct pmm_reservation {
	uint64_t start, end; /* [start, end), rounded out to whole frames */
	const char *what;    /* "kernel image", "multiboot info", ... */
};

struct pmm_stats {
	uint32_t total_frames;    /* usable frames below 4 GiB, per the map */
	uint32_t reserved_frames; /* usable frames taken by reservations */
	uint32_t free_frames;     /* can be allocated now */
	uint32_t used_frames;     /* handed out and not yet freed */
	/* Refused calls, by reason. */
	uint32_t misaligned, out_of_range, reserved_frees, double_frees;
	uint32_t bad_requests;
	uint32_t exhausted; /* allocations that found nothing (not an error) */
};

struct pmm {
	uint32_t *bitmap; /* bit set: frame not free */
	uint32_t nframes; /* frames covered: 0 .. top of usable memory */
	uint32_t nwords;
	uint32_t hint; /* word where the last single-frame allocation was found */
	const struct memmap *map;
	struct pmm_reservation reservations[PMM_MAX_RESERVATIONS]; /* sorted */
	unsigned nreservations;
	struct pmm_stats stats;
	bool indexed;           /* the hbitmap allocator: `index` is in use */
	struct pmm_index index; /* built by pmm_attach_index() */
};

enum pmm_frame_state { FRAME_FREE, FRAME_ALLOCATED, FRAME_RESERVED, FRAME_HOLE };

/* Bytes of bitmap needed to cover every usable frame below 4 GiB of `map`. */
size_t pmm_bitmap_bytes(const struct memmap *map);

/* Bytes of index storage pmm_attach_index() needs for `map` (besides the bitmap). */
size_t pmm_index_bytes(const struct memmap *map);

/*
 * Set up `pmm` over the usable ranges of `map` (which must stay alive), with
 * `bitmap` as storage (at least pmm_bitmap_bytes(map) bytes).  Every usable
 * frame starts free except the first MiB, which is reserved.  Returns PMM_OK,
 * or PMM_EINVAL if the storage is too small or the map has no memory.
 */
enum pmm_result pmm_init(struct pmm *pmm, const struct memmap *map, uint32_t *bitmap,
			 size_t bitmap_bytes);

/*
 * Make `pmm` (set up by pmm_init, at any point after) the hbitmap allocator:
 * build the index of the bitmap in `storage` (at least pmm_index_bytes(map)
 * bytes, kept by the PMM from now on).  Every call then returns what it
 * would have returned without the index; only the searches get faster.
 * Returns PMM_OK, or PMM_EINVAL (and changes nothing) if the storage is too
 * small or pmm_init has not succeeded.
 */
enum pmm_result pmm_attach_index(struct pmm *pmm, uint32_t *storage, size_t bytes);

/* Which allocator `pmm` runs: "bitmap" or "hbitmap". */
const char *pmm_allocator_name(const struct pmm *pmm);

/* Self-check: true when `pmm` has no index or its index agrees with the bitmap. */
bool pmm_index_agrees(const struct pmm *pmm);

/*
 * Take [start, end) out of circulation for good, e.g. the kernel image.  Call
 * before handing out frames: a frame in the range that is already allocated
 * is reported and left alone.  Ranges outside usable memory are recorded (so
 * the monitor can draw them) but change no count.
 */
enum pmm_result pmm_reserve(struct pmm *pmm, uint64_t start, uint64_t end, const char *what);

/*
 * One free frame, or 0 when none is left.  Next fit: the lowest free frame of
 * the first bitmap word with one, starting at the word of the previous
 * single-frame allocation and wrapping around.  bitmap: O(1) typically,
 * O(frames / 32) worst; hbitmap: at most 7 word reads to find it.
 */
paddr_t pmm_alloc(struct pmm *pmm);

/* Give back a frame from pmm_alloc().  Refuses and counts bad calls. */
enum pmm_result pmm_free(struct pmm *pmm, paddr_t frame);

/*
 * `count` physically contiguous free frames whose first frame number is a
 * multiple of `align` (a power of two, in frames; 1 for none), e.g. count
 * 1024, align 1024 for a 4 MiB page.  Returns the first frame's address, or
 * 0 on failure (bad request, or no such run: first fit from address 0).
 * bitmap: cost in proportion to the aligned candidates below the answer;
 * hbitmap: one index search when count and align are the same power of two
 * up to 1024, and a few when not.
 */
paddr_t pmm_alloc_contig(struct pmm *pmm, uint32_t count, uint32_t align);

/*
 * Free `count` frames from `start`; all are checked before any is freed, a
 * whole word of frames at a time, so a refused call changes nothing.
 */
enum pmm_result pmm_free_contig(struct pmm *pmm, paddr_t start, uint32_t count);

/* What the PMM thinks of the frame holding `addr` (no side effects). */
enum pmm_frame_state pmm_frame_state(const struct pmm *pmm, uint64_t addr);

/* The reservation holding `addr`, or NULL. */
const struct pmm_reservation *pmm_reservation_at(const struct pmm *pmm, uint64_t addr);

/* A word for a result code ("double free", ...). */
const char *pmm_result_name(enum pmm_result r);

#endif
