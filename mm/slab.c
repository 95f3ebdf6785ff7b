/*
 * slab.c - object caches (see slab.h).
 *
 * A slab is one SLAB_SIZE-aligned page, or the first source->bytes of it:
 *
 *     +--------------+--------+--------+--------+-----+--------+
 *     | struct slab  | obj 0  | obj 1  | obj 2  | ... | obj n-1|
 *     | magic, cache |        |        |        |     |        |
 *     | free list,   |  each obj: [caller's bytes][red zone][record]
 *     | live bitmap  |  (red zone and record in debug mode only)
 *     +--------------+--------+--------+--------+-----+--------+
 *
 * or, when the source keeps the headers in a table (slab.h), objects from
 * the page's first byte and the header in the page's table entry.
 *
 * Because slabs are aligned to their size, the slab of any object is found
 * from its address rounded down (slab_header): freeing needs no search, and
 * slab_cache_of() can tell a slab object from any other pointer by the
 * header's magic (the state XORed with the header's address, as in
 * heap.c).
 *
 * Each cache keeps three lists -- partial, full, empty -- and allocates
 * from a partial slab first, so live objects gather in few slabs and empty
 * ones can go back.  Free objects are linked through their first word; the
 * live bitmap is the ground truth, so a free-list link damaged by a write
 * after free is detected and the list rebuilt from the bitmap.
 *
 * With a constructor, objects keep their constructed state while free
 * (Bonwick's rule), so such caches are not poisoned.
 */
#include "slab.h"

#include <string.h>

#include "invariant.h"

#define REDZONE      8
#define REDZONE_BYTE 0xFD
#define POISON_BYTE  0xDB
#define DEFAULT_ALIGN 16

/* What debug mode keeps at the end of each object's stride. */
struct object_record {
	const void *caller;
	uint32_t seq;
	uint32_t requested; /* the red zone starts here */
};

static struct kmem_cache *all_caches;
static uint32_t generations; /* slabs made so far: the next one's generation */

static uintptr_t align_up(uintptr_t x, uintptr_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static char *object(const struct kmem_cache *c, const struct slab *s, unsigned i)
{
	return slab_page(c->source, s) + c->first + (size_t)i * c->stride;
}

static struct slab *header_of(const struct kmem_cache *c, const void *obj)
{
	return slab_header(c->source, obj);
}

static struct object_record *record(const struct kmem_cache *c, const void *obj)
{
	return (struct object_record *)((char *)obj + c->stride - sizeof(struct object_record));
}

/* The red zone: from the bytes asked for to the record (debug mode). */
static size_t redzone_len(const struct kmem_cache *c, const void *obj)
{
	return c->stride - record(c, obj)->requested - sizeof(struct object_record);
}

static char *redzone(const struct kmem_cache *c, const void *obj)
{
	return (char *)obj + record(c, obj)->requested;
}

/* Free objects are linked through a word at link_offset: after the
 * object when a constructor's state must survive, else its first word. */
static void **link_of(const struct kmem_cache *c, const void *obj)
{
	return (void **)((char *)obj + c->link_offset);
}

static bool poisoned(const struct kmem_cache *c)
{
	return c->debug && !c->ctor;
}

static void report(struct kmem_cache *c, enum heap_error e, const void *p, const char *detail)
{
	c->stats.errors[e]++;
	if (c->report)
		c->report(c, e, p, detail);
}

/* ---- the three slab lists ----------------------------------------------------- */

static void list_del(struct slab **head, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

static void list_add(struct slab **head, struct slab *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

static struct slab **list_for(struct kmem_cache *c, unsigned inuse)
{
	return inuse == 0 ? &c->empty : inuse == c->per_slab ? &c->full : &c->partial;
}

/*
 * s's use count was `was`: put it at the head of the list for its count
 * now.  Most of the time it is there already -- a partial slab allocated
 * from, or freed into, stays the partial list's head -- and the move is
 * skipped.
 */
static void relist(struct kmem_cache *c, struct slab *s, unsigned was)
{
	struct slab **from = list_for(c, was), **to = list_for(c, s->inuse);

	if (from == to && *to == s)
		return;
	list_del(from, s);
	list_add(to, s);
}

/* ---- slabs ----------------------------------------------------------------------- */

static void poison_free_object(const struct kmem_cache *c, void *obj)
{
	if (poisoned(c))
		memset((char *)obj + sizeof(void *), POISON_BYTE, c->size - sizeof(void *));
}

static bool poison_intact(const struct kmem_cache *c, const void *obj)
{
	return !poisoned(c) || bytes_are((const char *)obj + sizeof(void *), POISON_BYTE,
					 c->size - sizeof(void *));
}

/* Link every object whose live bit is clear, in address order. */
static void rebuild_free_list(const struct kmem_cache *c, struct slab *s)
{
	void **tail = &s->free;

	for (unsigned i = 0; i < c->per_slab; i++) {
		if (slab_is_live(s, i))
			continue;
		*tail = object(c, s, i);
		tail = link_of(c, *tail);
	}
	*tail = NULL;
}

static struct slab *new_slab(struct kmem_cache *c)
{
	void *page = c->source->get(c->source->ctx);

	if (!page)
		return NULL;
	struct slab *s = slab_header(c->source, page);
	if (!s) { /* a page the source's table does not cover: a broken source */
		c->source->put(c->source->ctx, page);
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->ident.half.generation = ++generations;
	s->cache = c;
	__atomic_store_n(&s->magic, SLAB_MAGIC ^ (uint32_t)(uintptr_t)s, __ATOMIC_RELEASE);
	__atomic_store_n(&s->ident.half.check, slab_ident_check(s, c->salt), __ATOMIC_RELEASE);
	for (unsigned i = 0; i < c->per_slab; i++) {
		char *obj = object(c, s, i);
		if (c->ctor)
			c->ctor(obj);
		poison_free_object(c, obj);
	}
	rebuild_free_list(c, s);
	list_add(&c->empty, s);
	c->stats.slabs++;
	c->stats.empty_slabs++;
	return s;
}

static void release_slab(struct kmem_cache *c, struct slab *s)
{
	list_del(&c->empty, s);
	__atomic_store_n(&s->ident.half.check, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->magic, 0, __ATOMIC_RELAXED);
	/* No store that follows (the page's next owner's, the header's next
	 * slab's) may be seen before the cleared check and magic: readers
	 * without the lock trust what they read between two looks at a valid
	 * identity.  A plain store order on x86; a barrier on weaker
	 * processors. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	c->stats.slabs--;
	c->stats.empty_slabs--;
	c->source->put(c->source->ctx, slab_page(c->source, s));
}

/* ---- the cache --------------------------------------------------------------------- */

bool slab_cache_init(struct kmem_cache *c, const char *name, size_t size, size_t align,
		     void (*ctor)(void *obj), bool debug, const struct slab_source *source,
		     uint32_t *seq)
{
	if (align == 0)
		align = DEFAULT_ALIGN;
	if (size == 0 || size > SLAB_MAX_OBJECT || (align & (align - 1)) || align > 64)
		return false;
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->size = size < sizeof(void *) ? sizeof(void *) : size;
	c->debug = debug;
	c->ctor = ctor;
	c->source = source;
	c->seq = seq;
	c->link_offset = ctor ? align_up(c->size, sizeof(void *)) : 0;
	c->stride = align_up(c->link_offset + (ctor ? sizeof(void *) : c->size) +
				     (debug ? REDZONE + sizeof(struct object_record) : 0), align);
	c->salt = SLAB_SALT;
	c->first = source->records ? 0 : align_up(sizeof(struct slab), align);
	c->index_mul = (uint32_t)((((uint64_t)1 << 32) + c->stride - 1) / c->stride);
	c->per_slab = (unsigned)((source->bytes - c->first) / c->stride);
	if (c->per_slab > SLAB_MAX_OBJECTS)
		c->per_slab = SLAB_MAX_OBJECTS;
	c->next = all_caches;
	all_caches = c;
	return true;
}

struct kmem_cache *slab_caches(void)
{
	return all_caches;
}

bool slab_cache_tag(struct kmem_cache *c, unsigned tag)
{
	if (tag >= SLAB_TAGS || c->stats.slabs)
		return false;
	c->salt = SLAB_SALT | tag;
	return true;
}

void *slab_alloc(struct kmem_cache *c, size_t size, const void *caller)
{
	struct slab *s = c->partial ? c->partial : c->empty ? c->empty : new_slab(c);

	if (!s) {
		c->stats.failed++;
		return NULL;
	}
	char *obj = s->free;
	int i = obj && header_of(c, obj) == s ? slab_index_of(c, obj) : -1;
	if (i < 0 || slab_is_live(s, (unsigned)i)) {
		report(c, HEAP_ERR_USE_AFTER_FREE, obj, "slab free list overwritten; rebuilt");
		rebuild_free_list(c, s);
		obj = s->free;
		i = slab_index_of(c, obj);
	}
	s->free = *link_of(c, obj);
	if (!poison_intact(c, obj))
		report(c, HEAP_ERR_USE_AFTER_FREE, obj, "freed object written after free");

	if (s->inuse == 0)
		c->stats.empty_slabs--;
	s->inuse++;
	__atomic_store_n(&s->live[i / 32], s->live[i / 32] | 1u << (i % 32), __ATOMIC_RELEASE);
	relist(c, s, s->inuse - 1);
	if (c->debug) {
		*record(c, obj) = (struct object_record){ caller, c->seq ? (*c->seq)++ : 0,
							  (uint32_t)(size && size < c->size ? size : c->size) };
		memset(redzone(c, obj), REDZONE_BYTE, redzone_len(c, obj));
	}
	c->stats.allocs++;
	c->stats.live++;
	return obj;
}

/* Why `obj` cannot be freed into `c` (an enum heap_error), or -1. */
static int free_problem(struct kmem_cache *c, const void *obj, unsigned *index, const char **detail)
{
	struct slab *s = header_of(c, obj);
	int i;

	if (!s || !slab_header_valid(s) || s->cache != c) {
		*detail = "not an object of this cache";
		return HEAP_ERR_INVALID_FREE;
	}
	if ((i = slab_index_of(c, obj)) < 0) {
		*detail = "points into the middle of an object";
		return HEAP_ERR_INVALID_FREE;
	}
	*index = (unsigned)i;
	if (!slab_is_live(s, *index)) {
		*detail = "object is already free";
		return HEAP_ERR_DOUBLE_FREE;
	}
	if (c->debug && !bytes_are(redzone(c, obj), REDZONE_BYTE, redzone_len(c, obj))) {
		*detail = "bytes written past the end of the object";
		return HEAP_ERR_OVERRUN;
	}
	return -1;
}

bool slab_free(struct kmem_cache *c, void *obj, const void *caller)
{
	const char *detail;
	unsigned i;
	int problem = free_problem(c, obj, &i, &detail);

	if (problem >= 0) {
		report(c, (enum heap_error)problem, obj, detail);
		return false;
	}
	struct slab *s = header_of(c, obj);
	bool spare = s->inuse == 1 && c->empty; /* keep one empty slab, give the rest back */
	s->inuse--;
	__atomic_store_n(&s->live[i / 32], s->live[i / 32] & ~(1u << (i % 32)), __ATOMIC_RELEASE);
	if (c->debug)
		record(c, obj)->caller = caller; /* now: who freed it */
	poison_free_object(c, obj);
	*link_of(c, obj) = s->free;
	s->free = obj;
	c->stats.frees++;
	c->stats.live--;
	if (s->inuse == 0)
		c->stats.empty_slabs++;
	relist(c, s, s->inuse + 1);
	if (spare)
		release_slab(c, s);
	return true;
}

void slab_cache_shrink(struct kmem_cache *c)
{
	while (c->empty)
		release_slab(c, c->empty);
}

bool slab_cache_destroy(struct kmem_cache *c)
{
	if (c->stats.live)
		return false;
	slab_cache_shrink(c);
	for (struct kmem_cache **p = &all_caches; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	return true;
}

struct kmem_cache *slab_cache_of(const struct slab_source *src, const void *p,
				 bool (*page_mapped)(void *ctx, const void *page), void *ctx)
{
	const void *page = (const void *)((uintptr_t)p & ~(uintptr_t)(SLAB_SIZE - 1));

	if (!page_mapped(ctx, page))
		return NULL;
	struct slab *s = slab_header(src, p);
	if (!s || !slab_header_valid(s))
		return NULL;
	for (struct kmem_cache *c = all_caches; c; c = c->next)
		if (c == s->cache)
			return c;
	return NULL;
}

bool slab_object_info(struct kmem_cache *c, const void *obj, struct heap_block_info *info)
{
	const char *detail;
	unsigned i;
	int problem = free_problem(c, obj, &i, &detail);

	if (problem >= 0 && problem != HEAP_ERR_OVERRUN) /* an overrun object is still live */
		return false;
	*info = (struct heap_block_info){ (void *)obj, c->size, c->size, NULL, 0 };
	if (c->debug) {
		info->caller = record(c, obj)->caller;
		info->seq = record(c, obj)->seq;
		info->requested = record(c, obj)->requested;
		info->usable = info->requested; /* the red zone starts right after */
	}
	return true;
}

bool slab_freed_info(struct kmem_cache *c, const void *obj, struct heap_block_info *info)
{
	const char *detail;
	unsigned i;

	if (!c->debug || free_problem(c, obj, &i, &detail) != HEAP_ERR_DOUBLE_FREE)
		return false;
	*info = (struct heap_block_info){ (void *)obj, 0, c->size, record(c, obj)->caller,
					  record(c, obj)->seq };
	return true;
}

static void for_each_live_in(struct kmem_cache *c, struct slab *list, uint32_t since,
			     void (*fn)(void *arg, const struct heap_block_info *b), void *arg)
{
	for (struct slab *s = list; s; s = s->next) {
		for (unsigned i = 0; i < c->per_slab; i++) {
			struct heap_block_info info;
			if (slab_is_live(s, i) && slab_object_info(c, object(c, s, i), &info) && info.seq >= since)
				fn(arg, &info);
		}
	}
}

void slab_for_each_live(struct kmem_cache *c, uint32_t since,
			      void (*fn)(void *arg, const struct heap_block_info *b), void *arg)
{
	for_each_live_in(c, c->partial, since, fn, arg);
	for_each_live_in(c, c->full, since, fn, arg);
}

/* ---- checking ---------------------------------------------------------------------------- */

static void check_objects(const struct kmem_cache *c, const struct slab *s, struct invariant_check *k)
{
	unsigned live = 0, free = 0;

	for (unsigned i = 0; i < c->per_slab; i++) {
		const char *obj = object(c, s, i);
		if (slab_is_live(s, i)) {
			live++;
			if (c->debug && !bytes_are(redzone(c, obj), REDZONE_BYTE, redzone_len(c, obj)))
				invariant_broken(k, "red zone after a live object written (overrun)");
		} else if (!poison_intact(c, obj)) {
			invariant_broken(k, "poison of a free object disturbed (write after free)");
		}
	}
	for (const char *f = s->free; f && free <= c->per_slab; f = *link_of(c, f)) {
		size_t off = (size_t)(f - slab_page(c->source, s));
		if (header_of(c, f) != s || off < c->first || (off - c->first) % c->stride ||
		    slab_is_live(s, (unsigned)((off - c->first) / c->stride))) {
			invariant_broken(k, "slab free list holds something that is not a free object");
			return;
		}
		free++;
	}
	if (live != s->inuse || free != c->per_slab - live)
		invariant_broken(k, "slab counts disagree with its bitmap or free list");
}

static size_t check_list(const struct kmem_cache *c, const struct slab *list, struct slab *const *head,
			 size_t *live, struct invariant_check *k)
{
	size_t n = 0;

	for (const struct slab *s = list; s; s = s->next, n++) {
		if (!slab_header_valid(s) || s->cache != c) {
			invariant_broken(k, "a slab's header is damaged");
			return n;
		}
		if (list_for((struct kmem_cache *)c, s->inuse) != head)
			invariant_broken(k, "a slab is on the wrong list for its use count");
		check_objects(c, s, k);
		*live += s->inuse;
	}
	return n;
}

unsigned slab_cache_check(struct kmem_cache *c, char *why, size_t why_size)
{
	struct invariant_check k;
	size_t live = 0, slabs = 0, empty;

	invariant_check_start(&k, why, why_size);
	if (c->index_mul != (uint32_t)((((uint64_t)1 << 32) + c->stride - 1) / c->stride))
		invariant_broken(&k, "a cache's stride reciprocal is not ceil(2^32 / stride)");
	slabs += check_list(c, c->partial, &c->partial, &live, &k);
	slabs += check_list(c, c->full, &c->full, &live, &k);
	slabs += empty = check_list(c, c->empty, &c->empty, &live, &k);
	if (slabs != c->stats.slabs || live != c->stats.live || empty != c->stats.empty_slabs)
		invariant_broken(&k, "cache statistics disagree with its slabs");
	return k.problems;
}
