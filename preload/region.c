/*
 * region.c - reserve address space, commit and discard pages in it, and map
 * huge blocks (see region.h).
 *
 * Growing is mprotect(PROT_READ | PROT_WRITE) over the next pages of the
 * reservation: the kernel gives them zero-filled frames on first touch.
 * Shrinking is madvise(MADV_DONTNEED), which
 * frees the frames at once (a later touch would get zero pages), then
 * mprotect(PROT_NONE), so the
 * pages are inaccessible as in the kernel's heap, where unmapped pages
 * fault.  Both calls leave errno alone when they succeed; a failure is
 * reported to the heap as "no memory" (grow) or ignored (shrink: the pages
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

static bool region_grow(void *ctx, uintptr_t end, size_t bytes)
{
	(void)ctx;
	return mprotect((void *)end, bytes, PROT_READ | PROT_WRITE) == 0;
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
 * madvise(MADV_DONTNEED) alone: the frames go back at once, and the pages
 * stay readable and writable, so committing them again is nothing (the
 * first touch gets a zero page) and a lock-free reader cannot fault on
 * them (region.h).  Making purged pages PROT_NONE as well split the
 * mapping into thousands of areas and made `mixed` 4-8x slower; the tests'
 * backends do it, to prove the heap never touches a page it gave back.
 */
static void region_discard(void *ctx, uintptr_t start, size_t bytes)
{
	int saved = errno;

	(void)ctx;
	madvise((void *)start, bytes, MADV_DONTNEED);
	errno = saved;
}

static bool region_commit(void *ctx, uintptr_t start, size_t bytes)
{
	(void)ctx, (void)start, (void)bytes;
	return true;
}

const struct heap_backend region_heap_backend = { region_grow, region_discard, NULL, region_commit,
						  region_discard };
const struct huge_backend region_huge_backend = { huge_map, huge_unmap, NULL, REGION_PAGE, NULL };
