/*
 * heap_experiments.h - the general heap measured from the inside.
 *
 * The LD_PRELOAD comparison (bench_heap.c) can only see a process from the
 * outside: time and resident size.  The design questions -- first, next or
 * best fit; slab caches or the heap for small objects; what a buddy
 * allocator would cost; how much to map at start and how to grow -- need
 * the heap's own counters, so these experiments run mm/heap.c and
 * mm/kmalloc.c in this process, over a region of their own (preload/
 * region.h: real mprotect and madvise calls, as the library makes), and
 * replay one fixed trace of allocations and frees on each configuration.
 */
#ifndef BENCH_HEAP_EXPERIMENTS_H
#define BENCH_HEAP_EXPERIMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct experiment_row {
	char label[64];
	double x;               /* the configuration's parameter, for plots (growth: KiB) */
	size_t peak_heap;       /* the most bytes the region had mapped */
	size_t peak_requested;  /* the most bytes live in heap blocks at once */
	size_t peak_live;       /* the trace's own peak of live bytes (what callers asked) */
	double mean_heap;       /* mapped bytes, averaged over the trace's steps */
	uint64_t grows, shrinks, ops, ns;
};

struct experiment_table {
	const char *title;
	const char *note;
	unsigned rows;
	struct experiment_row row[8];
};

/*
 * Run the experiments at `scale` (1: full, smaller: the smoke test) into
 * the tables; false (and a message on stderr) if the heap misbehaved:
 * a failed allocation, a refused free, or heap_check finding a problem.
 */
bool experiment_fits(struct experiment_table *t, double scale);
bool experiment_small_objects(struct experiment_table *t, double scale);
bool experiment_growth(struct experiment_table *t, double scale);

#endif
