/*
 * kheap_preload.h - what libkheap.so offers besides the malloc family.
 *
 * The benchmark (bench/) looks this up with dlsym() in a process running
 * on the library, to read the heap's own view of its fragmentation: peak
 * region size against peak bytes requested from the heap layer.
 */
#ifndef PRELOAD_KHEAP_PRELOAD_H
#define PRELOAD_KHEAP_PRELOAD_H

#include <stdbool.h>

#include "mm/kmalloc.h"

#define KHEAP_PRELOAD_STATS "kheap_preload_stats" /* the symbol's name, for dlsym */

/* Copy the heap's and the front's statistics; false before the first allocation. */
bool kheap_preload_stats(struct heap_stats *heap, struct kalloc_stats *front);

#endif
