/*
 * report.h - one line on stderr for each bad call the allocator refuses.
 *
 * A program that frees a pointer twice, or one it never got, keeps
 * running: the allocator refuses the call and says so, one line each, so
 * the bug is visible without killing a program that may well be otherwise
 * useful.  The line goes out with a single write(2): stdio allocates and
 * takes its own locks, and the report is made with the allocator's lock
 * held.
 */
#ifndef PRELOAD_REPORT_H
#define PRELOAD_REPORT_H

#include "mm/kmalloc.h"

/* Route every layer's error reports of `ka` (front, heap, caches) to stderr. */
void report_attach(struct kalloc *ka);

/* "kheap: WHAT at PTR: DETAIL; OUTCOME" on stderr, in one write. */
void report_line(const char *what, const void *ptr, const char *detail, const char *outcome);

#endif
