/*
 * kheap.c - the kernel's instance of the allocator (see kheap.h).
 *
 * The backends are three lines each because the VMM already does the work:
 * growing the heap is vmm_map_anon over the next pages of the region,
 * shrinking is vmm_unmap_free, huge blocks are vmalloc areas.  The initial
 * reserve and the growth step are set here; docs/design/heap.md says how
 * they were chosen.
 *
 * Sampling.  With KHEAP_SAMPLE=N at build time, or kheap.sample=N on the
 * command line, one allocation in N (below the huge size) gets a vmalloc
 * area of its own and is placed to end where the area's guard page
 * begins: a write past it faults at the very instruction, and the fault
 * report names the guard.  Off by default: each sample costs a frame, two
 * pages of address space and one of vmalloc's few area slots (when those
 * run out, allocations simply are not sampled).
 */
#include "kheap.h"

#include "arch/x86/memlayout.h"
#include "kernel/bootinfo.h"
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "vmalloc.h"
#include "vmm.h"

#define KHEAP_INITIAL   (64 * 1024)
#define KHEAP_GROW_STEP (64 * 1024)
/*
 * Purging (mm/heap.c): once more than one growth step of free blocks is
 * committed, the biggest free blocks with at least 32 KiB of whole pages
 * inside them give those back to the PMM.  The kernel's blocks stop at
 * 64 KiB (bigger ones are vmalloc areas), so only merged blocks get that
 * big.  No share of the peak (the host's rule): the heap is the
 * machine's memory, so it goes back after every burst, and taking it
 * again maps frames with no fault to follow.
 */
#define KHEAP_PURGE_MIN      (32 * 1024)
#define KHEAP_PURGE_KEEP     KHEAP_GROW_STEP
#define KHEAP_PURGE_PEAK_PCT 0

#ifndef KHEAP_SAMPLE
#define KHEAP_SAMPLE 0
#endif

struct kalloc kheap;
static struct kmem_cache caches_cache; /* where kmem_cache_create gets its caches */
static unsigned char purge_map[(KHEAP_END - KHEAP_START) / PAGE_SIZE / 8]; /* 4 KiB */

static bool grow(void *ctx, uintptr_t end, size_t bytes)
{
	(void)ctx;
	return vmm_map_anon(&kernel_space, end, bytes, PTE_RW | PTE_G) == VM_OK;
}

/*
 * The top of the heap goes back; pages in it that were purged are
 * unmapped already, and vmm_unmap_free takes only mapped runs, so each
 * run of mapped pages goes on its own.
 */
static void shrink(void *ctx, uintptr_t start, size_t bytes)
{
	struct pt_mapping m;
	uintptr_t run = start, end = start + bytes;

	(void)ctx;
	for (uintptr_t va = start; va <= end; va += PAGE_SIZE) {
		if (va < end && pt_query(&kernel_space.pt, va, &m))
			continue;
		if (va > run)
			vmm_unmap_free(&kernel_space, run, va - run);
		run = va + PAGE_SIZE;
	}
}

/* Purging: the pages inside a big free block go back to the PMM, and come back on use. */
static bool commit(void *ctx, uintptr_t start, size_t bytes)
{
	return grow(ctx, start, bytes);
}

static void decommit(void *ctx, uintptr_t start, size_t bytes)
{
	(void)ctx;
	vmm_unmap_free(&kernel_space, start, bytes);
}

static void *huge_alloc(void *ctx, size_t bytes)
{
	(void)ctx;
	return bytes > UINT32_MAX ? NULL : vmalloc((uint32_t)bytes);
}

static void *huge_alloc_guarded(void *ctx, size_t bytes)
{
	(void)ctx;
	return bytes > UINT32_MAX ? NULL : vmalloc_sampled((uint32_t)bytes);
}

static void huge_free(void *ctx, void *p, size_t bytes)
{
	(void)ctx;
	(void)bytes;
	vfree(p);
}

/* What the heap knows of the block at `p`: who allocated it, or who freed it. */
static void describe(const void *p)
{
	struct heap_block_info info;

	for (unsigned i = 0; i < KMALLOC_CLASSES; i++) {
		if (slab_object_info(&kheap.classes[i], p, &info))
			goto live;
		if (slab_freed_info(&kheap.classes[i], p, &info))
			goto freed;
	}
	if (heap_block_info(&kheap.heap, p, &info))
		goto live;
	if (heap_freed_info(&kheap.heap, p, &info))
		goto freed;
	return;
live:
	kprintf("  block %p: %u bytes asked, allocated by %p (allocation #%u)\n", info.ptr,
		(unsigned)info.requested, info.caller, info.seq);
	return;
freed:
	kprintf("  block %p (%u bytes): allocation #%u, already freed by %p\n", info.ptr,
		(unsigned)info.usable, info.seq, info.caller);
}

/* A write after free is found when the block is handed out again: too late to refuse. */
static const char *outcome(enum heap_error e)
{
	return e == HEAP_ERR_USE_AFTER_FREE ? "reported" : "refused";
}

static void report_heap(struct heap *h, enum heap_error e, const void *p, const char *detail)
{
	(void)h;
	kprintf("kheap: %s at %p: %s; %s\n", heap_error_name(e), p, detail, outcome(e));
	describe(p);
}

static void report_slab(struct kmem_cache *c, enum heap_error e, const void *p, const char *detail)
{
	kprintf("kheap: %s at %p in cache %s (%u-byte objects): %s; %s\n", heap_error_name(e),
		p, c->name, (unsigned)c->size, detail, outcome(e));
	describe(p);
}

static void report_front(struct kalloc *ka, enum heap_error e, const void *p, const char *detail)
{
	(void)ka;
	kprintf("kheap: %s at %p: %s; refused\n", heap_error_name(e), p, detail);
}

/* kheap.sample=N from the command line, else KHEAP_SAMPLE. */
static unsigned sample_setting(void)
{
	char v[12];
	unsigned n = 0;

	if (!cmdline_get("kheap.sample", v, sizeof(v)))
		return KHEAP_SAMPLE;
	for (const char *c = v; *c >= '0' && *c <= '9' && n < 100000000u; c++)
		n = n * 10 + (unsigned)(*c - '0');
	return n;
}

void kheap_init(void)
{
	static const struct heap_backend heap_backend = { grow, shrink, NULL, commit, decommit };
	static const struct huge_backend huge = { huge_alloc, huge_free, NULL, PAGE_SIZE,
						  huge_alloc_guarded };
	const struct heap_config cfg = {
		.page_size = PAGE_SIZE, .initial = KHEAP_INITIAL, .grow_step = KHEAP_GROW_STEP,
		.keep = KHEAP_INITIAL, .fit = HEAP_FIRST_FIT, .debug = KHEAP_DEBUG,
		.purge_min = KHEAP_PURGE_MIN, .purge_keep = KHEAP_PURGE_KEEP, .purge_map = purge_map,
		.purge_peak_pct = KHEAP_PURGE_PEAK_PCT,
	};

	if (!kalloc_init(&kheap, KHEAP_START, KHEAP_END, &cfg, &heap_backend, &huge))
		panic("kheap: cannot map the initial %u KiB", KHEAP_INITIAL / 1024);
	kheap.sample_every = sample_setting();
	kheap.report = report_front;
	kheap.heap.report = report_heap;
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		kheap.classes[i].report = report_slab;
	slab_cache_init(&caches_cache, "kmem_cache", sizeof(struct kmem_cache), 0, NULL, KHEAP_DEBUG,
			&kheap.slab_pages, &kheap.heap.seq);
	caches_cache.report = report_slab;
}

#define CALLER __builtin_return_address(0)

void *kmalloc(size_t size)
{
	return kalloc_alloc(&kheap, size, CALLER);
}

void *kmalloc_aligned(size_t size, size_t align)
{
	return kalloc_aligned(&kheap, size, align, CALLER);
}

void *kcalloc(size_t n, size_t size)
{
	return kalloc_calloc(&kheap, n, size, CALLER);
}

void *krealloc(void *p, size_t size)
{
	return kalloc_realloc(&kheap, p, size, CALLER);
}

void kfree(void *p)
{
	kalloc_free(&kheap, p, CALLER);
}

size_t ksize(const void *p)
{
	return kalloc_usable_size(&kheap, p);
}

struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
				     void (*ctor)(void *obj))
{
	struct kmem_cache *c = slab_alloc(&caches_cache, 0, CALLER);

	if (!c)
		return NULL;
	if (!slab_cache_init(c, name, size, align, ctor, KHEAP_DEBUG, &kheap.slab_pages,
			     &kheap.heap.seq)) {
		slab_free(&caches_cache, c, CALLER);
		return NULL;
	}
	c->report = report_slab;
	return c;
}

void *kmem_cache_alloc(struct kmem_cache *c)
{
	return slab_alloc(c, 0, CALLER);
}

void kmem_cache_free(struct kmem_cache *c, void *obj)
{
	slab_free(c, obj, CALLER);
}

bool kmem_cache_destroy(struct kmem_cache *c)
{
	if (!slab_cache_destroy(c))
		return false;
	slab_free(&caches_cache, c, CALLER);
	return true;
}

struct kmem_cache *kheap_named_cache_next(struct kmem_cache *c)
{
	for (c = c ? c->next : slab_caches(); c && kalloc_own_cache(&kheap, c); c = c->next)
		;
	return c;
}

void kheap_for_each_live(uint32_t since, void (*fn)(void *arg, const struct heap_block_info *b),
			 void *arg)
{
	kalloc_for_each_live(&kheap, since, fn, arg);
	for (struct kmem_cache *c = kheap_named_cache_next(NULL); c; c = kheap_named_cache_next(c))
		slab_for_each_live(c, since, fn, arg);
}

unsigned kheap_check(void)
{
	char why[96];
	unsigned n = kalloc_check(&kheap, why, sizeof(why));

	for (struct kmem_cache *c = kheap_named_cache_next(NULL); c; c = kheap_named_cache_next(c))
		n += slab_cache_check(c, n ? NULL : why, sizeof(why));
	if (n)
		kprintf("kheap: heap_check found %u problem(s), first: %s\n", n, why);
	return n;
}
