/*
 * pageref.h - reference counts of the frames that user pages map.
 *
 * After fork, parent and child map the same frames until one of them
 * writes (copy-on-write), and read-only program pages stay shared for good.
 * A frame is therefore freed not when one space unmaps it but when the last
 * one does: each user frame carries a count of the page-table entries that
 * map it.  Frames the kernel uses for itself are not counted (0).
 *
 * One 16-bit counter per frame below the top of RAM (2 bytes per 4 KiB,
 * 0.05%); a count cannot overflow because a frame is mapped at most once
 * per address space and there are far fewer spaces (PROC_MAX).
 */
#ifndef MM_PAGEREF_H
#define MM_PAGEREF_H

#include <stdint.h>

/* Allocate the counters; after the heap is up.  Panics without memory. */
void pageref_init(void);

/* A fresh zeroed frame with count 1, or 0 when memory is exhausted. */
uint32_t page_alloc_zeroed(void);

/* A fresh frame with count 1 holding a copy of frame `src`, or 0. */
uint32_t page_alloc_copy(uint32_t src);

/* One more mapping of `pa`. */
void page_ref_get(uint32_t pa);

/* One mapping less; the frame is freed when the count reaches 0. */
void page_ref_put(uint32_t pa);

uint32_t page_ref_count(uint32_t pa);

/* User frames currently counted (a frame shared by many counts once), and the most ever. */
extern uint32_t user_frames, user_frames_peak;

#endif
