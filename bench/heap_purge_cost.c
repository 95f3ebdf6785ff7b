/*
 * heap_purge_cost.c - the price of a purged page, in three parts (see
 * heap_purge_cost.h).
 *
 * Every row runs the same rounds from the same seed; the first runs them
 * without purging, and the others' rewrite and read times are counted
 * over it, so what is left is what the purge made those writes and reads
 * cost.  The region's pages are all written before the first round, so
 * no row pays for first faults.  MADV_DONTNEED is there for comparison:
 * its pages come back through a fault and a zeroed frame.
 */
#define _GNU_SOURCE
#include "heap_purge_cost.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "heap_workloads.h"

#define PAGE 4096u
#define REGION_PAGES 16384u /* 64 MiB: about mixed's live bytes */
#define READS 512u          /* per round, like the workload's touches between two purges */

struct phase_ns {
	uint64_t call, rewrite, others;
};

static bool run_rounds(volatile unsigned char *region, unsigned rounds, unsigned pages, int advice,
		       struct phase_ns *ns)
{
	struct rng r = { 0x5eed0c05u };

	*ns = (struct phase_ns){ 0 };
	for (unsigned k = 0; k < rounds; k++) {
		size_t at = (size_t)(rng_next(&r) % (REGION_PAGES - pages)) * PAGE;
		uint64_t t0 = now_ns();
		if (advice >= 0 && madvise((void *)(region + at), (size_t)pages * PAGE, advice) != 0) {
			fprintf(stderr, "purge cost: madvise: %s\n", strerror(errno));
			return false;
		}
		uint64_t t1 = now_ns();
		for (unsigned i = 0; i < pages; i++)
			region[at + (size_t)i * PAGE]++;
		uint64_t t2 = now_ns();
		for (unsigned i = 0; i < READS; i++)
			(void)region[(size_t)(rng_next(&r) % REGION_PAGES) * PAGE + 64];
		uint64_t t3 = now_ns();
		ns->call += t1 - t0;
		ns->rewrite += t2 - t1;
		ns->others += t3 - t2;
	}
	return true;
}

static struct purge_cost_row *add(struct purge_cost_table *t, const char *label, unsigned pages)
{
	struct purge_cost_row *row = &t->row[t->rows++];

	snprintf(row->label, sizeof(row->label), "%s", label);
	row->pages = pages;
	return row;
}

bool experiment_purge_cost(struct purge_cost_table *t, double scale)
{
	static const struct {
		const char *label;
		unsigned pages;
		int advice;
	} rows[] = {
		{ "MADV_FREE, 8 pages", 8, MADV_FREE },
		{ "MADV_FREE, 32 pages", 32, MADV_FREE },
		{ "MADV_FREE, 128 pages", 128, MADV_FREE },
		{ "MADV_DONTNEED, 32 pages", 32, MADV_DONTNEED },
	};
	unsigned char *region = mmap(NULL, (size_t)REGION_PAGES * PAGE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct phase_ns none, purged;
	bool ok = region != MAP_FAILED;

	t->rows = 0;
	t->rounds = (unsigned)(2000 * scale) + 10;
	if (!ok) {
		fprintf(stderr, "purge cost: mmap: %s\n", strerror(errno));
		return false;
	}
	memset(region, 1, (size_t)REGION_PAGES * PAGE);
	for (unsigned i = 0; ok && i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned pages = rows[i].pages;
		/* The same rounds without the purge, right before: the machine's speed drifts. */
		ok = run_rounds(region, t->rounds, pages, -1, &none) &&
		     run_rounds(region, t->rounds, pages, rows[i].advice, &purged);
		struct purge_cost_row *row = add(t, rows[i].label, pages);
		double per_page = (double)t->rounds * pages;
		row->call_ns = (double)purged.call / per_page;
		row->rewrite_ns = ((double)purged.rewrite - (double)none.rewrite) / per_page;
		row->others_ns = ((double)purged.others - (double)none.others) / per_page;
	}
	munmap(region, (size_t)REGION_PAGES * PAGE);
	return ok;
}
