/*
 * kmalloc.c - route each request to the layer that serves it best (see
 * kmalloc.h), and each free back to the layer that owns the pointer.
 *
 * Ownership is decided by address, most specific first: a pointer inside
 * the heap region whose slab-aligned page starts with a slab header
 * belongs to that slab's cache; any other pointer in the heap region is
 * the heap's (which validates it further); outside the region it must be
 * in the table of huge allocations.  Only after a layer recognises the
 * pointer does that layer touch it, so wild pointers are refused without
 * being dereferenced outside memory the allocator knows is mapped.
 *
 * One sequence counter (the heap's) numbers every allocation in every
 * layer, so one leak mark covers them all.
 *
 * Huge allocations have a record each, found by the pointer's hash in a
 * table of chains: O(1) on average however many are live.  The table
 * starts inside struct kalloc and doubles (a heap block) when the records
 * outnumber its buckets; if the heap cannot give it one, the chains just
 * grow longer.  Sampled allocations (kalloc.sample_every) are records of
 * the same kind, on guarded pages, so free and ksize find them the same
 * way.
 */
#include "kmalloc.h"

#include <string.h>

#include "invariant.h"

struct huge_alloc {
	void *ptr;          /* what the caller got */
	void *area;         /* the pages: ptr itself, or for a sampled block below it */
	size_t size, requested; /* size: bytes of the area */
	const void *caller;
	uint32_t seq;
	bool sampled;       /* placed to end at a guard page; canary after `requested` */
	struct huge_alloc *next; /* in its bucket */
};

#define CANARY_BYTE 0xFD

static const size_t class_sizes[KMALLOC_CLASSES] = { 16, 32, 48, 64, 96, 128, 192, 256,
							 384, 512, 768, 1024 };
static const char *const class_names[KMALLOC_CLASSES] = {
	"kmalloc-16", "kmalloc-32", "kmalloc-48", "kmalloc-64", "kmalloc-96", "kmalloc-128",
	"kmalloc-192", "kmalloc-256", "kmalloc-384", "kmalloc-512", "kmalloc-768", "kmalloc-1024",
};

/*
 * The caller recorded for the general heap's blocks that are this layer's
 * own -- slab pages, the huge table -- rather than allocations: the heap
 * refuses to free them for anyone else (heap.h, own_caller), and leak
 * reports leave them out.  A free of a slab's first object whose header
 * has been damaged would otherwise reach the heap as a free of the whole
 * slab page, which starts at the same address.  An address in data, never
 * a return address.
 */
static const char own_block;
#define OWN ((const void *)&own_block)

/*
 * A slab is a heap block aligned to SLAB_SIZE that ends where the next
 * page's block header must start: so a heap block takes exactly one page
 * and slab pages can lie back to back.  Were it a whole page, the header
 * of the next block would have to sit in the last bytes of this one, and
 * every slab would leave a gap of a page less a header behind it.
 */
static void *slab_page_get(void *ctx)
{
	struct kalloc *ka = ctx;
	return heap_alloc(&ka->heap, ka->slab_pages.bytes, SLAB_SIZE, OWN);
}

static void slab_page_put(void *ctx, void *page)
{
	struct kalloc *ka = ctx;
	heap_free(&ka->heap, page, OWN);
}

static void report(struct kalloc *ka, enum heap_error e, const void *p, const char *detail)
{
	ka->stats.bad_frees++;
	if (ka->report)
		ka->report(ka, e, p, detail);
}

bool kalloc_init(struct kalloc *ka, uintptr_t base, uintptr_t limit, const struct heap_config *cfg,
		 const struct heap_backend *heap_backend, const struct huge_backend *huge)
{
	/*
	 * The general heap gets slab pages, aligned requests and sizes above
	 * the largest class: a free block of 1 KiB or less left by a split
	 * could serve only the aligned ones.  On the host's `mixed` benchmark
	 * such rests were two fifths of all the heap's free-list inserts and
	 * nine tenths of their walking (docs/design/heap.md).
	 */
	struct heap_config general = *cfg;

	if (!general.split_min)
		general.split_min = class_sizes[KMALLOC_CLASSES - 1] + 1;
	if (cfg->slab_records && base % SLAB_SIZE)
		return false; /* a table entry per slab-aligned page: the pages must be those */
	memset(ka, 0, sizeof(*ka));
	if (!heap_init(&ka->heap, base, limit, &general, heap_backend))
		return false;
	ka->heap.own_caller = OWN;
	ka->slab_pages = (struct slab_source){
		.get = slab_page_get, .put = slab_page_put, .ctx = ka,
		.bytes = SLAB_SIZE - heap_overhead_per_block(&ka->heap),
		.records = cfg->slab_records, .records_base = base,
		.records_count = (limit - base) / SLAB_SIZE,
	};
	ka->huge = *huge;
	ka->huge_min = 64 * 1024;
	ka->huge_table = ka->huge_table0;
	ka->huge_buckets = KALLOC_HUGE_BUCKETS0;
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++) {
		slab_cache_init(&ka->classes[i], class_names[i], class_sizes[i], 0, NULL, cfg->debug,
				&ka->slab_pages, &ka->heap.seq);
		slab_cache_tag(&ka->classes[i], kalloc_class_tag(i));
	}
	slab_cache_init(&ka->huge_records, "huge-records", sizeof(struct huge_alloc), 0, NULL, false,
			&ka->slab_pages, NULL);
	return true;
}

bool kalloc_big_heap(struct kalloc *ka, uintptr_t base, uintptr_t limit, size_t big_min,
		     const struct heap_config *cfg, const struct heap_backend *backend)
{
	if (!cfg->page_size || cfg->page_size & (cfg->page_size - 1) || base % cfg->page_size ||
	    limit <= base || !big_min)
		return false;
	ka->big_setup = (struct kalloc_big_setup){ base, limit, *cfg, *backend };
	ka->big_min = big_min;
	return true;
}

/*
 * The big heap, set up now if this is its first block; NULL if it cannot
 * be (the caller then uses the general heap).  It reports through the
 * general heap's reporter.
 */
static struct heap *big_heap(struct kalloc *ka)
{
	const struct kalloc_big_setup *b = &ka->big_setup;

	if (!ka->big_ready) {
		if (!heap_init(&ka->big, b->base, b->limit, &b->cfg, &b->backend))
			return NULL;
		ka->big.report = ka->heap.report;
		ka->big_ready = true;
	}
	return &ka->big;
}

/* A block of the big heap, numbered by the one sequence counter (the general heap's). */
static void *big_alloc(struct kalloc *ka, struct heap *big, size_t size, size_t align,
		       const void *caller)
{
	big->seq = ka->heap.seq;
	void *p = heap_alloc(big, size, align, caller);
	ka->heap.seq = big->seq;
	return p;
}

static bool in_big(const struct kalloc *ka, const void *p)
{
	return ka->big_ready && (uintptr_t)p >= ka->big.base && (uintptr_t)p < ka->big.end;
}

/* Both heaps' peaks of committed and requested bytes (they rise only on allocation). */
static void note_peaks(struct kalloc *ka)
{
	size_t size = ka->heap.stats.committed, requested = ka->heap.stats.requested;

	if (ka->big_ready) {
		size += ka->big.stats.committed;
		requested += ka->big.stats.requested;
	}
	if (size > ka->stats.peak_heaps_size)
		ka->stats.peak_heaps_size = size;
	if (requested > ka->stats.peak_heaps_requested)
		ka->stats.peak_heaps_requested = requested;
}

/* The smallest class for `size`, or NULL (the heaps' requests: one compare). */
static struct kmem_cache *class_for(struct kalloc *ka, size_t size)
{
	if (size > class_sizes[KMALLOC_CLASSES - 1])
		return NULL;
	for (unsigned i = 0;; i++)
		if (size <= class_sizes[i])
			return &ka->classes[i];
}

/* ---- the huge table -------------------------------------------------------- */

static size_t bucket_of(size_t buckets, const void *p)
{
	uint32_t x = (uint32_t)((uintptr_t)p >> 4) ^ (uint32_t)((uint64_t)(uintptr_t)p >> 32);

	x ^= x >> 16; /* the low bits of a page-aligned pointer say little: mix */
	x *= 0x45D9F3Bu;
	x ^= x >> 16;
	return x & (buckets - 1);
}

/* Twice the buckets, when the heap has room; the old table goes back unless it is the first. */
static void huge_table_grow(struct kalloc *ka)
{
	size_t n = ka->huge_buckets * 2;
	struct huge_alloc **t = n <= SIZE_MAX / sizeof(*t) ?
		heap_alloc(&ka->heap, n * sizeof(*t), 0, OWN) : NULL;

	if (!t)
		return;
	memset(t, 0, n * sizeof(*t));
	for (size_t i = 0; i < ka->huge_buckets; i++) {
		while (ka->huge_table[i]) {
			struct huge_alloc *r = ka->huge_table[i];
			ka->huge_table[i] = r->next;
			r->next = t[bucket_of(n, r->ptr)];
			t[bucket_of(n, r->ptr)] = r;
		}
	}
	if (ka->huge_table != ka->huge_table0)
		heap_free(&ka->heap, ka->huge_table, OWN);
	ka->huge_table = t;
	ka->huge_buckets = n;
}

static void huge_insert(struct kalloc *ka, struct huge_alloc *rec)
{
	if (ka->stats.huge_live >= ka->huge_buckets)
		huge_table_grow(ka);
	struct huge_alloc **head = &ka->huge_table[bucket_of(ka->huge_buckets, rec->ptr)];
	rec->next = *head;
	*head = rec;
	ka->stats.huge_live++;
	ka->stats.huge_bytes += rec->size;
}

/* Where the link to p's record is (for unlinking), or NULL if p is none. */
static struct huge_alloc **huge_find(struct kalloc *ka, const void *p)
{
	struct huge_alloc **r = &ka->huge_table[bucket_of(ka->huge_buckets, p)];

	for (; *r; r = &(*r)->next)
		if ((*r)->ptr == p)
			return r;
	return NULL;
}

/* `area` (`bytes` of pages) holding `size` bytes at `p`: its record, or NULL (nothing kept). */
static void *huge_record(struct kalloc *ka, void *p, void *area, size_t bytes, size_t size,
			 bool sampled, const void *caller)
{
	struct huge_alloc *rec = slab_alloc(&ka->huge_records, 0, caller);

	if (!rec) {
		ka->huge.free(ka->huge.ctx, area, bytes);
		return NULL;
	}
	*rec = (struct huge_alloc){ p, area, bytes, size, caller, ka->heap.seq++, sampled, NULL };
	huge_insert(ka, rec);
	return p;
}

static size_t round_to_pages(const struct kalloc *ka, size_t size)
{
	size_t bytes = (size + ka->huge.page_size - 1) & ~(ka->huge.page_size - 1);

	return bytes < size ? 0 : bytes;
}

static void *huge_alloc(struct kalloc *ka, size_t size, const void *caller)
{
	size_t bytes = round_to_pages(ka, size);
	void *p = bytes ? ka->huge.alloc(ka->huge.ctx, bytes) : NULL;

	return p ? huge_record(ka, p, p, bytes, size, false, caller) : NULL;
}

/*
 * A sampled allocation: alone on its pages, placed as late as its
 * alignment lets it, so its end is (within align - 1 bytes) the guard
 * page's start.  The bytes in between hold a canary, checked on free.
 */
static void *sampled_alloc(struct kalloc *ka, size_t size, size_t align, const void *caller)
{
	size_t bytes = round_to_pages(ka, size ? size : 1);
	char *area = bytes ? ka->huge.alloc_guarded(ka->huge.ctx, bytes) : NULL;

	if (!area)
		return NULL;
	char *p = (char *)(((uintptr_t)area + bytes - (size ? size : 1)) & ~(uintptr_t)(align - 1));
	memset(p + size, CANARY_BYTE, (size_t)(area + bytes - p - size));
	ka->stats.sampled++;
	return huge_record(ka, p, area, bytes, size, true, caller);
}

static bool canary_intact(const struct huge_alloc *r)
{
	const unsigned char *c = (const unsigned char *)r->ptr + r->requested;
	const unsigned char *end = (const unsigned char *)r->area + r->size;

	for (; c < end; c++)
		if (*c != CANARY_BYTE)
			return false;
	return true;
}

/* Is this allocation's turn to be sampled? */
static bool sample_now(struct kalloc *ka, size_t size, size_t align)
{
	if (!ka->sample_every || !ka->huge.alloc_guarded || size >= ka->huge_min ||
	    align > ka->huge.page_size || ++ka->sample_count < ka->sample_every)
		return false;
	ka->sample_count = 0;
	return true;
}

static void *count_failure(struct kalloc *ka, void *p)
{
	if (!p)
		ka->stats.failed++;
	note_peaks(ka);
	return p;
}

void *kalloc_aligned(struct kalloc *ka, size_t size, size_t align, const void *caller)
{
	if (align & (align - 1))
		return count_failure(ka, NULL);
	if (size >= ka->huge_min && align <= ka->huge.page_size)
		return count_failure(ka, huge_alloc(ka, size, caller));
	if (sample_now(ka, size, align)) {
		void *p = sampled_alloc(ka, size, align > HEAP_ALIGN ? align : HEAP_ALIGN, caller);
		if (p)
			return p;
	}
	struct kmem_cache *c = align <= HEAP_ALIGN ? class_for(ka, size) : NULL;
	if (c)
		return count_failure(ka, slab_alloc(c, size, caller));
	struct heap *big = ka->big_min && size >= ka->big_min ? big_heap(ka) : NULL;
	void *p = big ? big_alloc(ka, big, size, align, caller) : NULL;
	return count_failure(ka, p ? p : heap_alloc(&ka->heap, size, align, caller));
}

void *kalloc_alloc(struct kalloc *ka, size_t size, const void *caller)
{
	return kalloc_aligned(ka, size, HEAP_ALIGN, caller);
}

void *kalloc_calloc(struct kalloc *ka, size_t n, size_t size, const void *caller)
{
	if (size && n > SIZE_MAX / size)
		return count_failure(ka, NULL);
	void *p = kalloc_alloc(ka, n * size, caller);
	if (p)
		memset(p, 0, n * size);
	return p;
}

/* May `page` be read as a slab header: in the heap, and not purged (a stale pointer's page may be). */
static bool page_in_heap(void *ctx, const void *page)
{
	const struct heap *h = ctx;
	return (uintptr_t)page >= h->base && (uintptr_t)page < h->end &&
	       !heap_page_purged(h, (uintptr_t)page);
}

static bool in_heap(const struct kalloc *ka, const void *p)
{
	return (uintptr_t)p >= ka->heap.base && (uintptr_t)p < ka->heap.end;
}

/*
 * The cache of the slab holding p, or NULL.  Most frees are of size-class
 * objects: their slab's cache pointer is checked against the classes in
 * place; only other caches (huge records, and in the kernel the
 * kmem_cache_create ones) take slab_cache_of's walk of all caches.
 */
static struct kmem_cache *cache_of(struct kalloc *ka, const void *p)
{
	uintptr_t page = (uintptr_t)p & ~(uintptr_t)(SLAB_SIZE - 1);
	struct slab *s;

	if (!in_heap(ka, p) || !page_in_heap(&ka->heap, (const void *)page) ||
	    !(s = slab_header(&ka->slab_pages, p)) || !slab_header_valid(s))
		return NULL;
	unsigned i = kalloc_class_index(ka, s->cache);
	return i < KMALLOC_CLASSES ? &ka->classes[i]
				   : slab_cache_of(&ka->slab_pages, p, page_in_heap, &ka->heap);
}

/* `frees` frees that `except` (a heap, or NULL) did not see: the other heaps' peaks sink. */
static void decay_heaps(struct kalloc *ka, const struct heap *except, unsigned frees)
{
	if (&ka->heap != except)
		heap_decay(&ka->heap, frees);
	if (ka->big_ready && &ka->big != except)
		heap_decay(&ka->big, frees);
}

void kalloc_decay(struct kalloc *ka, unsigned frees)
{
	decay_heaps(ka, NULL, frees);
}

/* Free p in whichever layer owns it; *freed_in is the heap that took it, if one did. */
static bool free_in_owner(struct kalloc *ka, void *p, const void *caller, struct heap **freed_in)
{
	struct kmem_cache *c = cache_of(ka, p);
	if (c)
		return slab_free(c, p, caller);
	if (in_heap(ka, p))
		return heap_free(*freed_in = &ka->heap, p, caller);
	if (in_big(ka, p))
		return heap_free(*freed_in = &ka->big, p, caller);
	struct huge_alloc **r = huge_find(ka, p);
	if (!r) {
		report(ka, HEAP_ERR_INVALID_FREE, p, "not a pointer this allocator returned");
		return false;
	}
	struct huge_alloc *rec = *r;
	if (rec->sampled && !canary_intact(rec)) {
		report(ka, HEAP_ERR_OVERRUN, p, "bytes written past the end of a sampled block");
		return false;
	}
	*r = rec->next;
	ka->huge.free(ka->huge.ctx, rec->area, rec->size);
	ka->stats.huge_live--;
	ka->stats.huge_bytes -= rec->size;
	slab_free(&ka->huge_records, rec, caller);
	return true;
}

bool kalloc_free(struct kalloc *ka, void *p, const void *caller)
{
	struct heap *freed_in = NULL;

	if (!p)
		return true;
	if (!free_in_owner(ka, p, caller, &freed_in))
		return false;
	decay_heaps(ka, freed_in, 1);
	return true;
}

size_t kalloc_usable_size(struct kalloc *ka, const void *p)
{
	struct heap_block_info info;
	struct kmem_cache *c = cache_of(ka, p);

	if (c)
		return slab_object_info(c, p, &info) ? info.usable : 0;
	if (in_heap(ka, p))
		return heap_usable_size(&ka->heap, p);
	if (in_big(ka, p))
		return heap_usable_size(&ka->big, p);
	struct huge_alloc **r = huge_find(ka, p);
	return !r ? 0 : (*r)->sampled ? (*r)->requested : (*r)->size;
}

/*
 * A block of `old` usable bytes can stay where it is if `size` fits and
 * would not leave more than half of it unused.  Debug mode always moves:
 * the red zone must start right after the new size.
 */
static bool fits_in_place(const struct kalloc *ka, size_t size, size_t old)
{
	return !ka->heap.debug && size <= old && size >= old / 2;
}

void *kalloc_realloc(struct kalloc *ka, void *p, size_t size, const void *caller)
{
	if (!p)
		return kalloc_alloc(ka, size, caller);
	if (size == 0) {
		kalloc_free(ka, p, caller);
		return NULL;
	}
	size_t old = kalloc_usable_size(ka, p);
	if (old == 0) {
		report(ka, HEAP_ERR_INVALID_FREE, p, "realloc of a pointer this allocator did not return");
		return NULL;
	}
	struct huge_alloc **r = in_heap(ka, p) || in_big(ka, p) ? NULL : huge_find(ka, p);
	if (fits_in_place(ka, size, old) && !(r && (*r)->sampled)) /* sampled: the canary must follow */
		return p;
	void *q = kalloc_alloc(ka, size, caller);
	if (!q)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	kalloc_free(ka, p, caller);
	return q;
}

uint32_t kalloc_mark(const struct kalloc *ka)
{
	return ka->heap.seq;
}

struct live_filter {
	struct kalloc *ka;
	void (*fn)(void *arg, const struct heap_block_info *b);
	void *arg;
};

/* Heap blocks that hold slabs or the huge table are the allocator's own, not allocations. */
static void heap_block_visit(void *arg, const struct heap_block_info *b)
{
	struct live_filter *f = arg;

	if (b->caller != OWN)
		f->fn(f->arg, b);
}

void kalloc_for_each_live(struct kalloc *ka, uint32_t since,
			  void (*fn)(void *arg, const struct heap_block_info *b), void *arg)
{
	struct live_filter f = { ka, fn, arg };

	heap_for_each_live(&ka->heap, since, heap_block_visit, &f);
	if (ka->big_ready)
		heap_for_each_live(&ka->big, since, fn, arg);
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		slab_for_each_live(&ka->classes[i], since, fn, arg);
	for (size_t i = 0; i < ka->huge_buckets; i++) {
		for (struct huge_alloc *r = ka->huge_table[i]; r; r = r->next) {
			struct heap_block_info info = { r->ptr, r->requested,
							r->sampled ? r->requested : r->size, r->caller,
							r->seq };
			if (r->seq >= since)
				fn(arg, &info);
		}
	}
}

/* Every record in the bucket its pointer hashes to, the counts right, canaries intact. */
static void check_huge(struct kalloc *ka, struct invariant_check *c)
{
	size_t live = 0, bytes = 0;

	for (size_t i = 0; i < ka->huge_buckets; i++) {
		for (struct huge_alloc *r = ka->huge_table[i]; r; r = r->next) {
			if (bucket_of(ka->huge_buckets, r->ptr) != i)
				invariant_broken(c, "a huge record is in the wrong bucket");
			if (r->sampled && !canary_intact(r))
				invariant_broken(c, "canary after a sampled block written (overrun)");
			if (++live > ka->stats.huge_live) {
				invariant_broken(c, "more huge records than live huge blocks (a cycle?)");
				return;
			}
			bytes += r->size;
		}
	}
	if (live != ka->stats.huge_live || bytes != ka->stats.huge_bytes)
		invariant_broken(c, "huge statistics disagree with the records");
}

static void big_block_visit(void *arg, const struct heap_block_info *b)
{
	struct live_filter *f = arg;

	if (b->usable < f->ka->big_min)
		(*(unsigned *)f->arg)++;
}

/*
 * The big heap: its own invariants (heap_check), a region apart from the
 * general heap's, and only blocks of at least big_min (a block a realloc
 * shrank in place keeps its size, so `usable` is what is checked).
 */
static unsigned check_big(struct kalloc *ka, char *why, size_t why_size)
{
	struct invariant_check c;
	unsigned small = 0;
	struct live_filter f = { ka, NULL, &small };

	if (!ka->big_ready)
		return 0;
	unsigned problems = heap_check(&ka->big, why, why_size);
	invariant_check_start(&c, problems ? NULL : why, why_size);
	if (ka->big.base < ka->heap.limit && ka->heap.base < ka->big.limit)
		invariant_broken(&c, "the big heap's region overlaps the general heap's");
	heap_for_each_live(&ka->big, 0, big_block_visit, &f);
	if (small)
		invariant_broken(&c, "a block below big_min in the big heap");
	return problems + c.problems;
}

unsigned kalloc_check(struct kalloc *ka, char *why, size_t why_size)
{
	unsigned problems = heap_check(&ka->heap, why, why_size);

	problems += check_big(ka, problems ? NULL : why, why_size);

	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		problems += slab_cache_check(&ka->classes[i], problems ? NULL : why, why_size);
	problems += slab_cache_check(&ka->huge_records, problems ? NULL : why, why_size);
	struct invariant_check c;
	invariant_check_start(&c, problems ? NULL : why, why_size);
	check_huge(ka, &c);
	return problems + c.problems;
}

void kalloc_trim(struct kalloc *ka)
{
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		slab_cache_shrink(&ka->classes[i]);
	slab_cache_shrink(&ka->huge_records);
	heap_trim(&ka->heap);
	if (ka->big_ready)
		heap_trim(&ka->big);
}
