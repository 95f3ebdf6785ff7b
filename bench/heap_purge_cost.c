/*
 * heap_purge_cost.c - the price of a purged page, in two parts (see
 * heap_purge_cost.h).
 *
 * A round with the purge and one without, at other random places,
 * alternate, so that the machine's drift hits both alike; the rewrite
 * column is what the purged rounds' writes took over the plain rounds'
 * writes to as many pages, which are as cold (the reads in between see
 * to that).  A first pass of plain rounds, not counted, warms the code
 * and the page tables.  The region's pages are all written before, so no
 * round pays for first faults.  MADV_DONTNEED is there for comparison:
 * its pages come back through a fault and a zeroed frame.
 *
 * What this leaves out is the flush's effect on a program's other
 * accesses: reads spread over 64 MiB miss the TLB anyway, so here it
 * drowns in their noise; a program whose hot set fits the TLB pays it.
 */
#define _GNU_SOURCE
#include "heap_purge_cost.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "heap_workloads.h"

#define PAGE 4096u
#define REGION_PAGES 16384u /* 64 MiB: about mixed's live bytes */
#define READS 512u

struct phase_ns {
	uint64_t call, rewrite;
};

/* One round at a random place; false if the kernel refused the advice (-1: no purge). */
static bool round_at(volatile unsigned char *region, struct rng *r, unsigned pages, int advice,
		     struct phase_ns *ns)
{
	size_t at = (size_t)(rng_next(r) % (REGION_PAGES - pages)) * PAGE;
	uint64_t t0 = now_ns();
	if (advice >= 0 && madvise((void *)(region + at), (size_t)pages * PAGE, advice) != 0)
		return false;
	uint64_t t1 = now_ns();
	for (unsigned i = 0; i < pages; i++)
		region[at + (size_t)i * PAGE]++;
	uint64_t t2 = now_ns();
	for (unsigned i = 0; i < READS; i++)
		(void)region[(size_t)(rng_next(r) % REGION_PAGES) * PAGE + 64];
	ns->call += t1 - t0;
	ns->rewrite += t2 - t1;
	return true;
}

static void measure_row(volatile unsigned char *region, unsigned rounds, struct purge_cost_row *row,
			int advice)
{
	struct rng r = { 0x5eed0c05u };
	struct phase_ns plain = { 0 }, purged = { 0 }, warm = { 0 };

	for (unsigned k = 0; k < rounds / 4; k++)
		round_at(region, &r, row->pages, -1, &warm);
	row->measured = true;
	for (unsigned k = 0; k < rounds && row->measured; k++)
		row->measured = round_at(region, &r, row->pages, -1, &plain) &&
				round_at(region, &r, row->pages, advice, &purged);
	double per_page = (double)rounds * row->pages;
	row->call_ns = (double)purged.call / per_page;
	row->rewrite_ns = ((double)purged.rewrite - (double)plain.rewrite) / per_page;
}

void experiment_purge_cost(struct purge_cost_table *t, double scale)
{
	static const struct {
		const char *label;
		unsigned pages;
		int advice;
	} rows[PURGE_COST_ROWS] = {
		{ "MADV_FREE, 8 pages", 8, MADV_FREE },
		{ "MADV_FREE, 32 pages", 32, MADV_FREE },
		{ "MADV_FREE, 128 pages", 128, MADV_FREE },
		{ "MADV_DONTNEED, 32 pages", 32, MADV_DONTNEED },
	};
	unsigned char *region = mmap(NULL, (size_t)REGION_PAGES * PAGE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*t = (struct purge_cost_table){ .region_bytes = (size_t)REGION_PAGES * PAGE,
					.rounds = (unsigned)(2000 * scale) + 10, .reads = READS };
	if (region == MAP_FAILED)
		return;
	memset(region, 1, t->region_bytes);
	for (unsigned i = 0; i < PURGE_COST_ROWS; i++) {
		struct purge_cost_row *row = &t->row[t->rows++];
		*row = (struct purge_cost_row){ .pages = rows[i].pages };
		strcpy(row->label, rows[i].label);
		measure_row(region, t->rounds, row, rows[i].advice);
	}
	munmap(region, t->region_bytes);
}
