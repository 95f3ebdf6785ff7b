/*
 * pageref.c - frame reference counts (see pageref.h).
 *
 * The counters live in one vmalloc'd array indexed by frame number: a
 * lookup is one load, which matters because fork touches the count of
 * every page a process has.  Counts only exist for user frames; the PMM
 * still owns the frames and this file is the only one that frees a user
 * frame.
 */
#include "pageref.h"

#include <string.h>

#include "arch/x86/paging.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "vmalloc.h"
#include "vmm.h"

static uint16_t *refs;
static uint32_t nframes;
uint32_t user_frames, user_frames_peak;

void pageref_init(void)
{
	nframes = kpmm.nframes;
	refs = vmalloc((nframes * sizeof(*refs) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1));
	if (!refs)
		panic("pageref: no memory for %u frame counts", nframes);
	memset(refs, 0, nframes * sizeof(*refs));
}

static uint16_t *ref_of(uint32_t pa)
{
	uint32_t frame = pa >> PAGE_SHIFT;

	KASSERT(frame < nframes);
	return &refs[frame];
}

static uint32_t counted(uint32_t pa)
{
	if (pa) {
		KASSERT(*ref_of(pa) == 0);
		*ref_of(pa) = 1;
		if (++user_frames > user_frames_peak)
			user_frames_peak = user_frames;
	}
	return pa;
}

uint32_t page_alloc_zeroed(void)
{
	uint32_t pa = pmm_alloc(&kpmm);

	if (pa)
		memset(kmap_frame(KMAP_ZERO, pa), 0, PAGE_SIZE);
	return counted(pa);
}

uint32_t page_alloc_copy(uint32_t src)
{
	uint32_t pa = pmm_alloc(&kpmm);

	if (pa)
		memcpy(kmap_frame(KMAP_COPY_DST, pa), kmap_frame(KMAP_COPY_SRC, src), PAGE_SIZE);
	return counted(pa);
}

void page_ref_get(uint32_t pa)
{
	uint16_t *r = ref_of(pa);

	KASSERT(*r > 0 && *r < UINT16_MAX);
	(*r)++;
}

void page_ref_put(uint32_t pa)
{
	uint16_t *r = ref_of(pa);

	KASSERT(*r > 0);
	if (--*r == 0) {
		pmm_free(&kpmm, pa);
		user_frames--;
	}
}

uint32_t page_ref_count(uint32_t pa)
{
	return *ref_of(pa);
}
