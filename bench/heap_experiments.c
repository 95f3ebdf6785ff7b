/*
 * heap_experiments.c - fit policies, slabs against the heap, growth steps
 * (see heap_experiments.h).
 *
 * Traces.  A trace is a fixed list of steps, each "allocate N bytes into
 * slot S" or "free slot S", generated once and replayed on every
 * configuration, so they all see exactly the same requests.  A *phased*
 * trace fills the heap to a random 70..100% of a peak (freeing one block
 * for every three allocated on the way, so holes appear), then frees random
 * blocks down to 20..50% of it, over and over: the live set swings, which
 * is what makes a heap fragment and makes growth and trimming happen.  A
 * *steady* trace fills a fixed number of slots and then replaces random
 * ones.  Every trace ends by freeing everything.
 *
 * Instances.  Each replay gets a fresh allocator over a fresh reserved
 * region, torn down afterwards (its caches unregistered, the region given
 * back), so one replay cannot warm the next one's memory.
 *
 * Buddy.  No buddy allocator is run; the "buddy" row is what one would
 * need at best for the same trace: every block rounded up to a power of
 * two, with no header and no external fragmentation at all.  A real buddy
 * heap does worse, so if first fit beats this bound it beats buddy.
 */
#include "heap_experiments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_workloads.h"
#include "mm/kmalloc.h"
#include "preload/region.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define REGION_BYTES ((size_t)1 << 30)

/* ---- traces ------------------------------------------------------------------ */

struct step {
	uint32_t slot;
	uint32_t size; /* 0: free the slot */
};

struct trace {
	struct step *step;
	size_t n, cap;
	uint32_t slots;  /* slot numbers are below this */
	size_t peak_live;
	size_t peak_buddy; /* the live bytes, each rounded up to a power of two */
};

/* The slots in use, for picking a random one to free, and the free ones. */
struct slot_pool {
	uint32_t *live, *spare, *size, *where; /* where[s]: index of s in live */
	uint32_t nlive, nspare, cap;
	size_t bytes, buddy_bytes;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "bench_heap: out of memory building a trace\n");
		exit(1);
	}
	return p;
}

static size_t round_pow2(size_t n)
{
	size_t p = 1;

	while (p < n)
		p *= 2;
	return p;
}

static void push(struct trace *t, uint32_t slot, uint32_t size)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 4096;
		t->step = xrealloc(t->step, t->cap * sizeof(*t->step));
	}
	t->step[t->n++] = (struct step){ slot, size };
}

static uint32_t take_slot(struct slot_pool *p)
{
	if (p->nspare)
		return p->spare[--p->nspare];
	if (p->cap == p->nlive + p->nspare) {
		uint32_t cap = p->cap ? 2 * p->cap : 1024;
		p->live = xrealloc(p->live, cap * sizeof(uint32_t));
		p->spare = xrealloc(p->spare, cap * sizeof(uint32_t));
		p->size = xrealloc(p->size, cap * sizeof(uint32_t));
		p->where = xrealloc(p->where, cap * sizeof(uint32_t));
		for (uint32_t s = cap; s > p->cap; s--)
			p->spare[p->nspare++] = s - 1;
		p->cap = cap;
	}
	return p->spare[--p->nspare];
}

static void trace_alloc(struct trace *t, struct slot_pool *p, size_t size)
{
	uint32_t s = take_slot(p);

	p->where[s] = p->nlive;
	p->live[p->nlive++] = s;
	p->size[s] = (uint32_t)size;
	p->bytes += size;
	p->buddy_bytes += round_pow2(size);
	if (p->bytes > t->peak_live)
		t->peak_live = p->bytes;
	if (p->buddy_bytes > t->peak_buddy)
		t->peak_buddy = p->buddy_bytes;
	if (s >= t->slots)
		t->slots = s + 1;
	push(t, s, (uint32_t)size);
}

/* Free the i-th live slot. */
static void trace_free(struct trace *t, struct slot_pool *p, uint32_t i)
{
	uint32_t s = p->live[i], last = p->live[--p->nlive];

	p->live[i] = last;
	p->where[last] = i;
	p->bytes -= p->size[s];
	p->buddy_bytes -= round_pow2(p->size[s]);
	p->spare[p->nspare++] = s;
	push(t, s, 0);
}

static void trace_free_random(struct trace *t, struct slot_pool *p, struct rng *g)
{
	trace_free(t, p, (uint32_t)(rng_next(g) % p->nlive));
}

static void pool_drain(struct trace *t, struct slot_pool *p)
{
	while (p->nlive)
		trace_free(t, p, p->nlive - 1);
	free(p->live);
	free(p->spare);
	free(p->size);
	free(p->where);
}

static void phased_trace(struct trace *t, size_t (*pick)(struct rng *), size_t peak, unsigned phases)
{
	struct slot_pool p = { 0 };
	struct rng g = { 0xA0761D6478BD642Full };

	for (unsigned k = 0; k < phases; k++) {
		size_t high = peak * rng_between(&g, 70, 100) / 100;
		size_t low = peak * rng_between(&g, 20, 50) / 100;
		for (unsigned i = 0; p.bytes < high; i++) {
			trace_alloc(t, &p, pick(&g));
			if (i % 3 == 2)
				trace_free_random(t, &p, &g);
		}
		while (p.bytes > low)
			trace_free_random(t, &p, &g);
	}
	pool_drain(t, &p);
}

static void steady_trace(struct trace *t, size_t (*pick)(struct rng *), unsigned live, size_t steps)
{
	struct slot_pool p = { 0 };
	struct rng g = { 0xE7037ED1A0B428DBull };

	for (unsigned i = 0; i < live; i++)
		trace_alloc(t, &p, pick(&g));
	for (size_t i = 0; i < steps; i++) {
		trace_free_random(t, &p, &g);
		trace_alloc(t, &p, pick(&g));
	}
	pool_drain(t, &p);
}

static size_t heap_sized(struct rng *g)
{
	return rng_log(g, KIB + 1, 64 * KIB - 1);
}

/* What a kernel asks for: mostly small objects, some buffers, few big ones. */
static size_t kernel_mix(struct rng *g)
{
	unsigned kind = (unsigned)rng_between(g, 0, 99);

	return kind < 70 ? rng_log(g, 16, KIB) : kind < 95 ? rng_log(g, KIB, 16 * KIB)
							   : rng_log(g, 16 * KIB, 64 * KIB - 1);
}

static size_t small_object(struct rng *g)
{
	return rng_between(g, 16, 128);
}

/* ---- instances and replay ------------------------------------------------------- */

struct instance {
	bool front;        /* kalloc (slabs, heap, huge) or the bare heap */
	struct kalloc ka;  /* ka.heap is the bare heap when !front */
	uintptr_t base;
	unsigned char purge_map[REGION_BYTES / REGION_PAGE / 8];
};

static const struct heap *heap_of(const struct instance *in)
{
	return &in->ka.heap;
}

/* The kernel's purging (mm/kheap.c): from 32 KiB inside a free block, keeping 64 KiB
 * (and no share of the peak). */
#define KERNEL_PURGE_MIN  (32 * KIB)
#define KERNEL_PURGE_KEEP (64 * KIB)

static bool instance_start(struct instance *in, bool front, enum heap_fit fit, size_t step,
			   bool purge)
{
	const struct heap_config cfg = {
		.page_size = REGION_PAGE, .initial = step, .grow_step = step, .keep = step, .fit = fit,
		.purge_min = purge ? KERNEL_PURGE_MIN : 0, .purge_keep = KERNEL_PURGE_KEEP,
		.purge_map = purge ? in->purge_map : NULL,
	};

	memset(in, 0, sizeof(*in));
	region_purge_eagerly(true); /* as the kernel does: it has no lazy free */
	in->front = front;
	in->base = region_reserve(REGION_BYTES);
	if (!in->base)
		return false;
	if (front)
		return kalloc_init(&in->ka, in->base, in->base + REGION_BYTES, &cfg,
				   &region_heap_backend, &region_huge_backend);
	return heap_init(&in->ka.heap, in->base, in->base + REGION_BYTES, &cfg, &region_heap_backend);
}

/*
 * Unregister the caches (slab.c keeps a list of them all) and give the
 * region back.  False if a cache still has live objects (a replay that
 * failed half-way): it stays registered, so the instance must stay too.
 */
static bool instance_end(struct instance *in)
{
	bool gone = true;

	for (unsigned i = 0; in->front && i < KMALLOC_CLASSES; i++)
		gone &= slab_cache_destroy(&in->ka.classes[i]);
	if (in->front)
		gone &= slab_cache_destroy(&in->ka.huge_records);
	if (gone)
		region_release(in->base, REGION_BYTES);
	return gone;
}

static void *instance_alloc(struct instance *in, size_t size)
{
	return in->front ? kalloc_alloc(&in->ka, size, NULL)
			 : heap_alloc(&in->ka.heap, size, 0, NULL);
}

static bool instance_free(struct instance *in, void *p)
{
	return in->front ? kalloc_free(&in->ka, p, NULL) : heap_free(&in->ka.heap, p, NULL);
}

static unsigned instance_check(struct instance *in, char *why, size_t n)
{
	return in->front ? kalloc_check(&in->ka, why, n) : heap_check(&in->ka.heap, why, n);
}

/* Replay `t` on a new instance; the row gets its counters.  False: the heap misbehaved. */
static bool replay(const struct trace *t, bool front, enum heap_fit fit, size_t step, bool purge,
		   struct experiment_row *row)
{
	struct instance *in = calloc(1, sizeof(*in));
	void **slot = calloc(t->slots, sizeof(void *));
	double heap_sum = 0;
	char why[128] = "";
	bool ok = in && slot && instance_start(in, front, fit, step, purge);
	uint64_t t0 = now_ns();

	for (size_t i = 0; ok && i < t->n; i++) {
		const struct step *s = &t->step[i];
		if (s->size)
			ok = (slot[s->slot] = instance_alloc(in, s->size)) != NULL;
		else
			ok = instance_free(in, slot[s->slot]);
		heap_sum += (double)heap_of(in)->stats.committed; /* what the heap holds */
	}
	row->ns = now_ns() - t0;
	if (ok && instance_check(in, why, sizeof(why)))
		ok = false;
	if (!ok)
		fprintf(stderr, "bench_heap: %s misbehaved on its trace %s\n", row->label, why);
	row->peak_heap = heap_of(in)->stats.peak_committed; /* heap size without purging */
	row->peak_requested = heap_of(in)->stats.peak_requested;
	row->peak_live = t->peak_live;
	row->mean_heap = heap_sum / (double)t->n;
	row->grows = heap_of(in)->stats.grows;
	row->shrinks = heap_of(in)->stats.shrinks;
	row->ops = t->n;
	if (in && (!in->base || instance_end(in)))
		free(in);
	free(slot);
	return ok;
}

static struct experiment_row *add_row(struct experiment_table *t, const char *fmt, const char *arg)
{
	struct experiment_row *r = &t->row[t->rows++];

	memset(r, 0, sizeof(*r));
	snprintf(r->label, sizeof(r->label), fmt, arg);
	return r;
}

static void trace_end(struct trace *t)
{
	free(t->step);
}

/* ---- the experiments ---------------------------------------------------------------- */

bool experiment_fits(struct experiment_table *t, double scale)
{
	static const struct { const char *name; enum heap_fit fit; } fits[] = {
		{ "first fit (address-ordered)", HEAP_FIRST_FIT },
		{ "next fit", HEAP_NEXT_FIT },
		{ "best fit", HEAP_BEST_FIT },
	};
	struct trace tr = { 0 };
	bool ok = true;

	phased_trace(&tr, heap_sized, 8 * MIB, (unsigned)(100 * scale) + 1);
	t->title = "General heap: fit policy and fragmentation (sizes 1 KiB..64 KiB, phased, peak live 8 MiB)";
	t->note = "the bare heap (mm/heap.c), grow step 64 KiB; buddy: power-of-two rounding alone, a bound";
	t->rows = 0;
	for (unsigned i = 0; i < 3; i++)
		ok &= replay(&tr, false, fits[i].fit, 64 * KIB, false, add_row(t, "%s", fits[i].name));
	struct experiment_row *b = add_row(t, "%s", "buddy (lower bound)");
	b->peak_heap = tr.peak_buddy;
	b->peak_requested = b->peak_live = tr.peak_live;
	b->ops = tr.n;
	trace_end(&tr);
	return ok;
}

bool experiment_small_objects(struct experiment_table *t, double scale)
{
	struct trace tr = { 0 };
	bool ok;

	steady_trace(&tr, small_object, 4096, (size_t)(2e6 * scale));
	t->title = "Small objects (16..128 B, 4096 live): slab caches vs the general heap";
	t->note = "in-process, no lock; peak heap includes the slabs' pages";
	t->rows = 0;
	ok = replay(&tr, true, HEAP_FIRST_FIT, 64 * KIB, false, add_row(t, "%s", "kalloc: slab caches"));
	ok &= replay(&tr, false, HEAP_FIRST_FIT, 64 * KIB, false, add_row(t, "%s", "heap: first fit"));
	trace_end(&tr);
	return ok;
}

bool experiment_growth(struct experiment_table *t, double scale)
{
	static const size_t steps[] = { 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB };
	struct trace tr = { 0 };
	bool ok = true;
	char name[32];

	phased_trace(&tr, kernel_mix, 8 * MIB, (unsigned)(100 * scale) + 1);
	t->title = "Growth: initial reserve = grow step = kept minimum (kernel-like mix 16 B..64 KiB, phased, peak live 8 MiB)";
	t->note = "kalloc, first fit; each grow is one mprotect, each shrink one madvise + mprotect";
	t->rows = 0;
	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct experiment_row *r;
		snprintf(name, sizeof(name), "%zu KiB", steps[i] / KIB);
		r = add_row(t, "%s", name);
		r->x = (double)(steps[i] / KIB);
		ok &= replay(&tr, true, HEAP_FIRST_FIT, steps[i], false, r);
	}
	/* The kernel's configuration: 64 KiB steps and purging. */
	ok &= replay(&tr, true, HEAP_FIRST_FIT, 64 * KIB, true, add_row(t, "%s", "64 KiB, purging"));
	trace_end(&tr);
	return ok;
}
