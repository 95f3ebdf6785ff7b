/*
 * heapcmds.c - monitor commands for the kernel heap: heap, slabinfo, leaks.
 */
#include <string.h>

#include "mm/kheap.h"
#include "monitor.h"
#include "printf.h"

static void cmd_heap(int argc, char **argv)
{
	const struct heap_stats *s = &kheap.heap.stats;
	(void)argc;
	(void)argv;
	heap_largest_free(&kheap.heap);
	kprintf("  region %p-%p (%uK of addresses, peak %uK, limit %uK)\n", (void *)kheap.heap.base,
		(void *)kheap.heap.end, (unsigned)(s->heap_size >> 10), (unsigned)(s->peak_heap_size >> 10),
		(unsigned)((kheap.heap.limit - kheap.heap.base) >> 10));
	/* What the heap really holds: the region less the pages purged inside free blocks. */
	kprintf("  committed %uK (peak %uK); %uK purged in free blocks (%llu purges, %llu commits)\n",
		(unsigned)(s->committed >> 10), (unsigned)(s->peak_committed >> 10),
		(unsigned)(s->purged >> 10), (unsigned long long)s->purges,
		(unsigned long long)s->commits);
	kprintf("  general heap: %u live blocks, %u bytes asked, %u in blocks (peak %u); "
		"%u bytes of metadata per block\n", (unsigned)s->live_blocks, (unsigned)s->requested,
		(unsigned)s->in_use, (unsigned)s->peak_in_use, (unsigned)heap_overhead_per_block(&kheap.heap));
	kprintf("  free: %u blocks, %u bytes, largest %u; external fragmentation %u%%\n",
		(unsigned)s->free_blocks, (unsigned)s->free_bytes, (unsigned)s->largest_free,
		s->free_bytes ? (unsigned)(100 - s->largest_free * 100 / s->free_bytes) : 0);
	kprintf("  %llu allocations, %llu frees, %llu grows, %llu shrinks, %llu failed\n",
		(unsigned long long)s->allocs, (unsigned long long)s->frees, (unsigned long long)s->grows,
		(unsigned long long)s->shrinks, (unsigned long long)(s->failed + kheap.stats.failed));
	kprintf("  huge (vmalloc): %u live, %uK\n", (unsigned)kheap.stats.huge_live,
		(unsigned)(kheap.stats.huge_bytes >> 10));
	kprintf("  errors refused: %llu double free, %llu invalid free, %llu smashed header, "
		"%llu overrun, %llu write after free\n",
		(unsigned long long)s->errors[HEAP_ERR_DOUBLE_FREE],
		(unsigned long long)(s->errors[HEAP_ERR_INVALID_FREE] + kheap.stats.bad_frees),
		(unsigned long long)s->errors[HEAP_ERR_SMASHED_HEADER],
		(unsigned long long)s->errors[HEAP_ERR_OVERRUN],
		(unsigned long long)s->errors[HEAP_ERR_USE_AFTER_FREE]);
}
MONITOR_COMMAND(heap, "", "kernel heap statistics", cmd_heap);

static void print_cache(const struct kmem_cache *c)
{
	unsigned long long errors = 0;

	for (unsigned e = 0; e < HEAP_ERR_COUNT; e++)
		errors += c->stats.errors[e];
	kprintf("  %-14s %8u %8u %7u %7u %6u %6u %6llu\n", c->name, (unsigned)c->stats.live,
		(unsigned)(c->stats.slabs * c->per_slab), (unsigned)c->size, (unsigned)c->stride,
		c->per_slab, (unsigned)c->stats.slabs, errors);
}

static void cmd_slabinfo(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kprintf("  name           active   total  objsize  stride perslab  slabs errors\n");
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		print_cache(&kheap.classes[i]);
	print_cache(&kheap.huge_records);
	for (struct kmem_cache *c = kheap_named_cache_next(NULL); c; c = kheap_named_cache_next(c))
		print_cache(c);
}
MONITOR_COMMAND(slabinfo, "", "object caches, like /proc/slabinfo", cmd_slabinfo);

/* ---- leaks: live allocations since a mark, grouped by caller ---------------- */

#define LEAK_CALLERS 32

struct leak_group {
	const void *caller;
	unsigned count;
	size_t bytes;
};

struct leak_report {
	struct leak_group groups[LEAK_CALLERS];
	unsigned ngroups, dropped;
};

static uint32_t leak_mark;

static void group_block(void *arg, const struct heap_block_info *b)
{
	struct leak_report *r = arg;
	unsigned i = 0;

	while (i < r->ngroups && r->groups[i].caller != b->caller)
		i++;
	if (i == r->ngroups) {
		if (i == LEAK_CALLERS) {
			r->dropped++;
			return;
		}
		r->groups[r->ngroups++] = (struct leak_group){ b->caller, 0, 0 };
	}
	r->groups[i].count++;
	r->groups[i].bytes += b->requested;
}

static void leaks_collect(uint32_t since, struct leak_report *r)
{
	memset(r, 0, sizeof(*r));
	kheap_for_each_live(since, group_block, r);
}

static void cmd_leaks(int argc, char **argv)
{
	static struct leak_report r;

	if (argc > 1 && !strcmp(argv[1], "mark")) {
		leak_mark = kalloc_mark(&kheap);
		kprintf("  mark set at allocation #%u\n", leak_mark);
		return;
	}
	leaks_collect(leak_mark, &r);
	kprintf("  live allocations since #%u, by caller (addr2line -e build/kernel.elf ADDR):\n",
		leak_mark);
	for (unsigned i = 0; i < r.ngroups; i++)
		kprintf("  %p  %5u blocks %8u bytes\n", r.groups[i].caller, r.groups[i].count,
			(unsigned)r.groups[i].bytes);
	if (r.dropped)
		kprintf("  (%u blocks from further callers not listed)\n", r.dropped);
}
MONITOR_COMMAND(leaks, "[mark]", "live allocations since the mark, by caller", cmd_leaks);
