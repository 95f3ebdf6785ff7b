/*
 * heap_purge_cost.h - what one purged page costs the host library.
 *
 * The heap's purging (mm/heap.c) gives back the pages inside big free
 * blocks; on the host that is madvise(MADV_FREE) (preload/region.c).  A
 * cache simulation does not see its price, and on `mixed` nearly every
 * purged page is written again soon after, so the price is the call and
 * the next write to the page (no fault: the page is still mapped, but
 * the kernel cleared its dirty and accessed bits and its TLB entry).
 * This measures the two, per page, in this process: a region written
 * once, then rounds of "purge a run of pages at a random place, write
 * each of them again, read random pages of the region", each phase
 * timed, alternating with the same rounds without the purge.
 */
#ifndef BENCH_HEAP_PURGE_COST_H
#define BENCH_HEAP_PURGE_COST_H

#include <stdbool.h>
#include <stddef.h>

#define PURGE_COST_ROWS 4

struct purge_cost_row {
	char label[48];
	unsigned pages;      /* purged per round */
	bool measured;       /* false: this kernel refused the advice */
	double call_ns;      /* per purged page: in madvise */
	double rewrite_ns;   /* per purged page: writing it again, over the rounds without purging */
};

struct purge_cost_table {
	size_t region_bytes;
	unsigned rounds, reads; /* rounds per row; random pages read in each */
	unsigned rows;
	struct purge_cost_row row[PURGE_COST_ROWS];
};

/*
 * Measure at `scale` (1: 2000 rounds per row).  A row whose advice the
 * kernel refuses is left unmeasured; with no region at all, no rows.
 */
void experiment_purge_cost(struct purge_cost_table *t, double scale);

#endif
