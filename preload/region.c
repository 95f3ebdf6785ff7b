/*
 * region.c - reserve address space, commit and discard pages in it, and map
 * huge blocks (see region.h).
 *
 * Growing is mprotect(PROT_READ | PROT_WRITE) over the next pages of the
 * reservation: the kernel gives them zero-filled frames on first touch.
 * Shrinking and purging are madvise (below says which advice and why).
 * The calls leave errno alone when they succeed; a failure is reported to
 * the heap as "no memory" (grow) or ignored (shrink and purge: the pages
 * simply stay), with errno restored, since free() must not change it.
 */
#include "region.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

uintptr_t region_reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? 0 : (uintptr_t)p;
}

void *region_zeroed(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void region_release(uintptr_t base, size_t bytes)
{
	munmap((void *)base, bytes);
}

bool region_table_map(struct region_table *t, uintptr_t base, size_t region_bytes, size_t unit,
		      size_t entry)
{
	size_t bytes = region_bytes / unit * entry;
	void *p = mmap(NULL, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	*t = (struct region_table){ p == MAP_FAILED ? NULL : p, base, unit, entry, 0 };
	return t->entries != NULL;
}

/* Make t's entries for the region up to `end` writable. */
static bool table_covers(struct region_table *t, uintptr_t end)
{
	size_t need = (end - t->base + t->unit - 1) / t->unit * t->entry;

	need = (need + REGION_PAGE - 1) / REGION_PAGE * REGION_PAGE;
	if (need <= t->writable)
		return true;
	if (mprotect(t->entries + t->writable, need - t->writable, PROT_READ | PROT_WRITE) != 0)
		return false;
	t->writable = need;
	return true;
}

static bool region_grow(void *ctx, uintptr_t end, size_t bytes)
{
	return (!ctx || table_covers(ctx, end + bytes)) &&
	       mprotect((void *)end, bytes, PROT_READ | PROT_WRITE) == 0;
}

static void *huge_map(void *ctx, size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)ctx;
	return p == MAP_FAILED ? NULL : p;
}

static void huge_unmap(void *ctx, void *p, size_t bytes)
{
	int saved = errno;

	(void)ctx;
	munmap(p, bytes);
	errno = saved;
}

/*
 * Giving pages back, at the top (shrink) or inside (purging's decommit), is
 * madvise alone: the pages stay readable and writable, so committing them
 * again is nothing and a lock-free reader cannot fault on them (region.h).
 * Making purged pages PROT_NONE as well split the mapping into thousands
 * of areas and made `mixed` 4-8x slower; the tests' backends do it, to
 * prove the heap never touches a page it gave back.
 *
 * The top goes with MADV_DONTNEED: the frames return at once.  Purged
 * pages inside free blocks go lazily, with MADV_FREE: the kernel takes
 * their frames when it needs memory, without writing them anywhere, and
 * until then a write that reuses a page simply keeps it -- no fault, no
 * zeroing.  Free blocks on the host are reused within a few thousand
 * allocations, so most purged pages are written again before the kernel
 * wants them: on `mixed` eager purging faulted 6 000 pages more and took
 * 1.10x the time of lazy purging (docs/design/heap.md).  The price: the
 * process's RSS counts lazily freed pages until the kernel takes them
 * (/proc/PID/smaps shows them as LazyFree).  KHEAP_PURGE_EAGER=1 purges
 * with MADV_DONTNEED instead; so does a kernel without MADV_FREE.
 */
static int purge_advice = MADV_FREE;

void region_purge_eagerly(bool eager)
{
	purge_advice = eager ? MADV_DONTNEED : MADV_FREE;
}

static void discard(uintptr_t start, size_t bytes, int advice)
{
	int saved = errno;

	if (madvise((void *)start, bytes, advice) != 0 && advice == MADV_FREE && errno == EINVAL) {
		purge_advice = MADV_DONTNEED; /* a kernel before 4.5: no MADV_FREE */
		madvise((void *)start, bytes, MADV_DONTNEED);
	}
	errno = saved;
}

static void region_shrink(void *ctx, uintptr_t start, size_t bytes)
{
	(void)ctx;
	discard(start, bytes, MADV_DONTNEED);
}

static void region_decommit(void *ctx, uintptr_t start, size_t bytes)
{
	(void)ctx;
	discard(start, bytes, purge_advice);
}

static bool region_commit(void *ctx, uintptr_t start, size_t bytes)
{
	(void)ctx, (void)start, (void)bytes;
	return true;
}

const struct heap_backend region_heap_backend = { region_grow, region_shrink, NULL, region_commit,
						  region_decommit };
const struct huge_backend region_huge_backend = { huge_map, huge_unmap, NULL, REGION_PAGE, NULL };
