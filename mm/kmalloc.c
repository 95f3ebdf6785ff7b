/*
 * kmalloc.c - route each request to the layer that serves it best (see
 * kmalloc.h), and each free back to the layer that owns the pointer.
 *
 * Ownership is decided by address, most specific first: a pointer inside
 * the heap region whose slab-aligned page starts with a slab header
 * belongs to that slab's cache; any other pointer in the heap region is
 * the heap's (which validates it further); outside the region it must be
 * on the list of huge allocations.  Only after a layer recognises the
 * pointer does that layer touch it, so wild pointers are refused without
 * being dereferenced outside memory the allocator knows is mapped.
 *
 * One sequence counter (the heap's) numbers every allocation in every
 * layer, so one leak mark covers them all.
 */
#include "kmalloc.h"

#include <string.h>

struct huge_alloc {
	void *ptr;
	size_t size, requested;
	const void *caller;
	uint32_t seq;
	struct huge_alloc *next;
};

static const size_t class_sizes[KMALLOC_CLASSES] = { 16, 32, 64, 128, 256, 512, 1024 };
static const char *const class_names[KMALLOC_CLASSES] = {
	"kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-128",
	"kmalloc-256", "kmalloc-512", "kmalloc-1024",
};

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
	return heap_alloc(&ka->heap, ka->slab_pages.bytes, SLAB_SIZE, __builtin_return_address(0));
}

static void slab_page_put(void *ctx, void *page)
{
	struct kalloc *ka = ctx;
	heap_free(&ka->heap, page, __builtin_return_address(0));
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
	memset(ka, 0, sizeof(*ka));
	if (!heap_init(&ka->heap, base, limit, cfg, heap_backend))
		return false;
	ka->slab_pages = (struct slab_source){ slab_page_get, slab_page_put, ka,
					       SLAB_SIZE - heap_overhead_per_block(&ka->heap) };
	ka->huge = *huge;
	ka->huge_min = 64 * 1024;
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		slab_cache_init(&ka->classes[i], class_names[i], class_sizes[i], 0, NULL, cfg->debug,
				&ka->slab_pages, &ka->heap.seq);
	slab_cache_init(&ka->huge_records, "huge-records", sizeof(struct huge_alloc), 0, NULL, false,
			&ka->slab_pages, NULL);
	return true;
}

static struct kmem_cache *class_for(struct kalloc *ka, size_t size)
{
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		if (size <= class_sizes[i])
			return &ka->classes[i];
	return NULL;
}

static void *huge_alloc(struct kalloc *ka, size_t size, const void *caller)
{
	size_t bytes = (size + ka->huge.page_size - 1) & ~(ka->huge.page_size - 1);
	struct huge_alloc *rec;
	void *p;

	if (bytes < size || !(rec = slab_alloc(&ka->huge_records, 0, caller)))
		return NULL;
	if (!(p = ka->huge.alloc(ka->huge.ctx, bytes))) {
		slab_free(&ka->huge_records, rec, caller);
		return NULL;
	}
	*rec = (struct huge_alloc){ p, bytes, size, caller, ka->heap.seq++, ka->huge_list };
	ka->huge_list = rec;
	ka->stats.huge_live++;
	ka->stats.huge_bytes += bytes;
	return p;
}

static struct huge_alloc **huge_find(struct kalloc *ka, const void *p)
{
	for (struct huge_alloc **r = &ka->huge_list; *r; r = &(*r)->next)
		if ((*r)->ptr == p)
			return r;
	return NULL;
}

static void *count_failure(struct kalloc *ka, void *p)
{
	if (!p)
		ka->stats.failed++;
	return p;
}

void *kalloc_aligned(struct kalloc *ka, size_t size, size_t align, const void *caller)
{
	if (align & (align - 1))
		return count_failure(ka, NULL);
	if (size >= ka->huge_min && align <= ka->huge.page_size)
		return count_failure(ka, huge_alloc(ka, size, caller));
	struct kmem_cache *c = align <= HEAP_ALIGN ? class_for(ka, size) : NULL;
	if (c)
		return count_failure(ka, slab_alloc(c, size, caller));
	return count_failure(ka, heap_alloc(&ka->heap, size, align, caller));
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

static bool page_in_heap(void *ctx, const void *page)
{
	const struct heap *h = ctx;
	return (uintptr_t)page >= h->base && (uintptr_t)page < h->end;
}

static bool in_heap(const struct kalloc *ka, const void *p)
{
	return (uintptr_t)p >= ka->heap.base && (uintptr_t)p < ka->heap.end;
}

static struct kmem_cache *cache_of(struct kalloc *ka, const void *p)
{
	return in_heap(ka, p) ? slab_cache_of(p, page_in_heap, &ka->heap) : NULL;
}

bool kalloc_free(struct kalloc *ka, void *p, const void *caller)
{
	if (!p)
		return true;
	struct kmem_cache *c = cache_of(ka, p);
	if (c)
		return slab_free(c, p, caller);
	if (in_heap(ka, p))
		return heap_free(&ka->heap, p, caller);
	struct huge_alloc **r = huge_find(ka, p);
	if (!r) {
		report(ka, HEAP_ERR_INVALID_FREE, p, "not a pointer this allocator returned");
		return false;
	}
	struct huge_alloc *rec = *r;
	*r = rec->next;
	ka->huge.free(ka->huge.ctx, rec->ptr, rec->size);
	ka->stats.huge_live--;
	ka->stats.huge_bytes -= rec->size;
	slab_free(&ka->huge_records, rec, caller);
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
	struct huge_alloc **r = huge_find(ka, p);
	return r ? (*r)->size : 0;
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
	if (fits_in_place(ka, size, old))
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

/* Heap blocks that hold slabs are the caches' business, not allocations. */
static void heap_block_visit(void *arg, const struct heap_block_info *b)
{
	struct live_filter *f = arg;
	bool slab = (uintptr_t)b->ptr % SLAB_SIZE == 0 && cache_of(f->ka, b->ptr);

	if (!slab)
		f->fn(f->arg, b);
}

void kalloc_for_each_live(struct kalloc *ka, uint32_t since,
			  void (*fn)(void *arg, const struct heap_block_info *b), void *arg)
{
	struct live_filter f = { ka, fn, arg };

	heap_for_each_live(&ka->heap, since, heap_block_visit, &f);
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		slab_for_each_live(&ka->classes[i], since, fn, arg);
	for (struct huge_alloc *r = ka->huge_list; r; r = r->next) {
		struct heap_block_info info = { r->ptr, r->requested, r->size, r->caller, r->seq };
		if (r->seq >= since)
			fn(arg, &info);
	}
}

unsigned kalloc_check(struct kalloc *ka, char *why, size_t why_size)
{
	unsigned problems = heap_check(&ka->heap, why, why_size);

	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		problems += slab_cache_check(&ka->classes[i], problems ? NULL : why, why_size);
	problems += slab_cache_check(&ka->huge_records, problems ? NULL : why, why_size);
	return problems;
}

void kalloc_trim(struct kalloc *ka)
{
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		slab_cache_shrink(&ka->classes[i]);
	slab_cache_shrink(&ka->huge_records);
	heap_trim(&ka->heap);
}
