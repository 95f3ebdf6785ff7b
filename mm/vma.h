/*
 * vma.h - a process's regions of user address space.
 *
 * A region (VMA, "virtual memory area") is a page-aligned range of virtual
 * addresses with one protection and one kind: what the page-fault handler
 * consults to decide whether a fault is a demand-zero page, a page of the
 * program file, stack growth, or a bad access.  The set is a small sorted
 * array: a process has a handful of regions, and a sorted array keeps
 * lookups a binary search and every invariant visible in one place.
 *
 * The array comes from an allocator the set is given (struct vma_memory:
 * kmalloc in the kernel, so a process's regions live in the slab cache of
 * the array's size) and grows as the set does, doubling, up to `max`
 * regions (VMA_MAX unless lowered).  A process with five regions holds an
 * array of eight (224 bytes), not room for the limit.  It never shrinks:
 * vma_release gives it back when the process ends.
 *
 * Rules every call follows:
 *   - ranges are page-aligned, non-empty and do not wrap (end 0 would mean
 *     4 GiB and is refused): otherwise VMA_EINVAL, and so is a prot with
 *     bits other than VMA_READ | VMA_WRITE | VMA_EXEC;
 *   - a refused call changes nothing (the array is not even moved);
 *   - the set stays sorted, non-overlapping and merged: two regions that
 *     touch never have identical kind, prot and file fields (inserting,
 *     reprotecting or resizing next to an identical region extends it), so
 *     the set is exactly the maximal runs of pages with equal attributes;
 *   - any successful change may move regions in the array: a `struct vma *`
 *     is valid until the next change of the set.
 * Not thread-safe: the caller serializes.
 */
#ifndef MM_VMA_H
#define MM_VMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A process's regions of user address space (the kernel's page-fault handler looks them up). */
#define VMA_READ  1u
#define VMA_WRITE 2u
#define VMA_EXEC  4u
#define VMA_PROT_ALL (VMA_READ | VMA_WRITE | VMA_EXEC)
#define VMA_PAGE_SIZE 4096u

enum vma_kind { VMA_TEXT, VMA_DATA, VMA_BSS, VMA_HEAP, VMA_STACK, VMA_ANON };
#define VMA_KINDS (VMA_ANON + 1)

struct vma {
	uint32_t start, end;  /* page-aligned, start < end */
	uint32_t prot;        /* VMA_READ | VMA_WRITE | VMA_EXEC */
	enum vma_kind kind;
	/*
	 * File-backed pages: the bytes of [file_start, file_end) (virtual
	 * addresses) come from physical address file_pa onward; the rest of
	 * the region is zero.  file_start == file_end for none.  Absolute, so
	 * splitting a region needs no adjustment.  (vma_insert stores "none"
	 * as all three 0.)  The file range need not lie inside the region.
	 */
	uint32_t file_start, file_end, file_pa;
};

/*
 * Where a set's array comes from.  alloc returns NULL when there is no
 * memory; the call that needed the room is then refused with VMA_ENOMEM.
 */
struct vma_memory {
	void *(*alloc)(size_t bytes);
	void (*free)(void *p);
};

#define VMA_MAX 1024 /* regions per set at most, as Linux's vm.max_map_count bounds a process */

struct vma_set {
	unsigned n;   /* regions, in v[0 .. n): sorted by start, non-overlapping */
	unsigned cap; /* room in v (0: no array yet) */
	unsigned max; /* regions at most: VMA_MAX, or lowered (tests) */
	struct vma *v;
	const struct vma_memory *mem;
};

enum vma_result {
	VMA_OK,
	VMA_EINVAL, /* unaligned, empty or wrapping */
	VMA_EEXIST, /* overlaps */
	VMA_ENOENT, /* not covered */
	VMA_EFULL,  /* the result would have more than max regions */
	VMA_ENOMEM, /* the array could not grow */
};

/* An empty set whose array will come from `mem` (nothing is allocated yet). */
void vma_init(struct vma_set *s, const struct vma_memory *mem);

/* Give the array back: the set is empty again. */
void vma_release(struct vma_set *s);

/*
 * Empty set `dst` (vma_init'ed) gets a copy of src's regions: VMA_OK, or
 * VMA_EFULL (more than dst's max) or VMA_ENOMEM, and dst stays empty.
 */
enum vma_result vma_copy(struct vma_set *dst, const struct vma_set *src);

/* The region containing addr, or NULL. */
struct vma *vma_find(struct vma_set *s, uint32_t addr);

/* Is every byte of [start, start+len) inside regions that all allow `prot`? (len 0: true; wrap: false) - for copy-in/copy-out checks. */
bool vma_range_ok(const struct vma_set *s, uint32_t start, uint32_t len, uint32_t prot);

/*
 * Add a region; refuses overlap (EEXIST), bad ranges (EINVAL, also for a bad
 * kind, prot, file_start > file_end, or file_pa + file length past 4 GiB), a
 * full set (EFULL), an array that cannot grow (ENOMEM). Merges with an
 * adjacent region of identical kind, prot and file fields (then no slot is
 * needed).  Every call below that may need a slot may also say ENOMEM.
 */
enum vma_result vma_insert(struct vma_set *s, const struct vma *v);

/* Remove [start, end) from whatever regions it covers, splitting partial ones (holes are fine, like munmap). EFULL (and no change) if a split needs a slot that is not there. */
enum vma_result vma_remove(struct vma_set *s, uint32_t start, uint32_t end);

/*
 * Set prot on [start, end); every page must be covered (else ENOENT, no
 * change); splits as needed (EFULL, no change, if no slot), and merges
 * pieces that become identical to their neighbours, so EFULL means the
 * resulting set would really have more than max regions.
 */
enum vma_result vma_protect(struct vma_set *s, uint32_t start, uint32_t end, uint32_t prot);

/*
 * Move the bounds of region `v` (a pointer from vma_find or the set) to
 * [start, end) - for brk and stack growth; refuses (EEXIST) if it would
 * overlap or come within `gap` bytes of another region, EINVAL if
 * empty/unaligned (or `v` is not in the set).  Only the pages it gains are
 * held to the gap, so shrinking always works.  `v` may be stale afterwards
 * (the region may have merged with an identical neighbour): find it again
 * with vma_find.  Never needs a slot.
 */
enum vma_result vma_resize(struct vma_set *s, struct vma *v, uint32_t start, uint32_t end, uint32_t gap);

/*
 * The highest page-aligned start such that [start, start+len) lies in [lo, hi) and touches no region: for mmap placement (top-down, like Linux).  false if none.
 * "Touches" means shares a byte: the range may be adjacent to a region.  len 0 finds nothing.
 */
bool vma_find_free(const struct vma_set *s, uint32_t len, uint32_t lo, uint32_t hi, uint32_t *start);

/* NULL if the set keeps every rule above (sorted, aligned, valid fields, merged), else what is wrong. */
const char *vma_check(const struct vma_set *s);

const char *vma_kind_name(enum vma_kind k);       /* "text", "data", "bss", "heap", "stack", "anon" */
const char *vma_result_name(enum vma_result r);

#endif
