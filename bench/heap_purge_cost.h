/*
 * heap_purge_cost.h - what one purged page costs the host library.
 *
 * The heap's purging (mm/heap.c) gives back the pages inside big free
 * blocks; on the host that is madvise(MADV_FREE) (preload/region.c).  A
 * cache simulation does not see its price, and on `mixed` nearly every
 * purged page is written again soon after, so the price is the call, the
 * next write to the page (no fault: the page is still mapped, but the
 * kernel cleared its dirty and accessed bits and flushed its TLB entry)
 * and whatever the flushed TLB costs the program's other accesses.  This
 * measures the three, per page, in this process: a 64 MiB region written
 * once, then rounds of "purge a run of pages at a random place, write
 * each of them again, read 512 random pages of the region", timed per
 * phase, against the same rounds without the purge.
 */
#ifndef BENCH_HEAP_PURGE_COST_H
#define BENCH_HEAP_PURGE_COST_H

#include <stdbool.h>

struct purge_cost_row {
	char label[48];
	unsigned pages;      /* purged per round */
	double call_ns;      /* per purged page: in madvise */
	double rewrite_ns;   /* per purged page: writing it again, over the rounds without purging */
	double others_ns;    /* per purged page: the other reads of the round, likewise */
};

struct purge_cost_table {
	unsigned rounds, rows;
	struct purge_cost_row row[6];
};

/* Measure at `scale` (1: 2000 rounds per row); false (and why on stderr) if mmap or madvise failed. */
bool experiment_purge_cost(struct purge_cost_table *t, double scale);

#endif
