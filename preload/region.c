/*
 * region.c - reserve address space, commit and discard pages in it, and map
 * huge blocks (see region.h).
 *
 * Growing is mprotect(PROT_READ | PROT_WRITE) over the next pages of the
 * reservation: the kernel gives them zero-filled frames on first touch.
 * Shrinking is madvise(MADV_DONTNEED), which frees the frames at once (a
 * later touch would get zero pages), then mprotect(PROT_NONE), so the
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

void region_release(uintptr_t base, size_t bytes)
{
	munmap((void *)base, bytes);
}

static bool region_grow(void *ctx, uintptr_t end, size_t bytes)
{
	(void)ctx;
	return mprotect((void *)end, bytes, PROT_READ | PROT_WRITE) == 0;
}

static void region_shrink(void *ctx, uintptr_t start, size_t bytes)
{
	int saved = errno;

	(void)ctx;
	madvise((void *)start, bytes, MADV_DONTNEED);
	mprotect((void *)start, bytes, PROT_NONE);
	errno = saved;
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

const struct heap_backend region_heap_backend = { region_grow, region_shrink, NULL };
const struct huge_backend region_huge_backend = { huge_map, huge_unmap, NULL, REGION_PAGE, NULL };
