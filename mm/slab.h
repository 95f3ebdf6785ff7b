/*
 * slab.h - object caches: many objects of one size, packed in slabs.
 *
 * A cache hands out objects of a fixed size from slabs: one page each,
 * holding a small header and as many objects as fit.  Allocation and free
 * are a pop and a push on the slab's free list; a slab's objects never move,
 * so a cache has no per-object header and no external fragmentation.  Slabs
 * come from a page source (the kernel heap, or the host's arena) and go back
 * to it when empty, keeping one empty slab per cache against churn.
 *
 * Safety is always on where it is cheap: a per-slab bitmap of live objects
 * refuses double frees and pointers that are not object starts.  In debug
 * mode each object also has a red zone and a record of its allocator and
 * sequence number, and free objects are poisoned and checked when reused.
 *
 * Portable C; not thread-safe (the caller serializes).
 */
#ifndef MM_SLAB_H
#define MM_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h" /* struct heap_block_info, enum heap_error: one vocabulary */

#define SLAB_SIZE 4096u          /* bytes per slab, aligned to its size */
#define SLAB_MAX_OBJECT 1024u    /* larger objects belong in the general heap */
#define SLAB_MAX_OBJECTS 256u    /* objects per slab at most (bitmap size) */

union slab_record;

/*
 * Where slabs come from.  A slab starts at a SLAB_SIZE-aligned address
 * and may use `bytes` of it (at most SLAB_SIZE): a source that keeps the
 * end of each page for itself -- the heap puts the next block's header
 * there, so that slab pages can lie back to back -- says so here.
 *
 * Where the slab's header lives is the source's choice too.  With no
 * `records`, it starts the slab's page (the kernel).  With them, the
 * header of the slab at page P is records[(P - records_base) / SLAB_SIZE]
 * and the page holds nothing but objects (the host library).  Headers in
 * their pages all lie at the same offset in a page, so the ones a run of
 * frees reads compete for the single cache set that offset maps to (a
 * set holds 8 lines on common processors); in a table they lie side by
 * side.  docs/design/heap.md has the measurement.  The table must cover
 * every page the source can hand out and read as zeros where no slab is.
 */
struct slab_source {
	void *(*get)(void *ctx);           /* a slab's memory, or NULL */
	void (*put)(void *ctx, void *page);
	void *ctx;
	size_t bytes;
	union slab_record *records; /* NULL: headers in their pages */
	uintptr_t records_base;     /* the page records[0] describes */
	size_t records_count;
};

#define SLAB_MAGIC 0x51AB51ABu

/*
 * A slab's header, at the start of its page or in its source's table.  It
 * is laid out here, not in
 * slab.c, so that the checks of a free (slab_index_of, slab_is_live) can be
 * inlined into fast paths elsewhere -- the host's per-thread magazines --
 * and exist once; only slab.c writes it.  The fields a free checks come
 * first, so that on a 64-bit host they share one cache line.
 *
 * Those fast paths read a header without the allocator's lock, while
 * another thread may give the slab back and build a new one, of another
 * cache, on the same page.  So each header carries an identity word made
 * for them (union slab_ident): a check value, the header's address XORed
 * with its cache's salt, and the slab's generation number, different from
 * the page's earlier slabs'.  A reader loads the word at once, checks it,
 * reads the live bit, and loads the word again: unchanged, the bit was
 * this slab's (a sequence lock).  The salt's low SLAB_TAG_BITS bits are
 * the cache's tag (slab_cache_tag) and a header's address has those bits
 * clear, so the check names the tag too: one load tells a reader that
 * the entry is a live slab header and which of its caches it belongs to.
 * slab.c publishes a new header's check last, with release order, clears
 * it first when the slab goes, and sets and clears live bits with
 * release order; under the lock these are plain stores on x86.
 */
#define SLAB_TAG_BITS 4
#define SLAB_TAGS (1u << SLAB_TAG_BITS)
#define SLAB_SALT 0x1DE57A50u /* the salt of untagged caches; its low SLAB_TAG_BITS bits clear */

union slab_ident {
	uint64_t word; /* on a 64-bit host, both halves in one load */
	struct {
		uint32_t check;      /* (uint32_t)header address ^ cache->salt; 0: no slab */
		uint32_t generation; /* this slab's number */
	} half;
};

struct slab {
	union slab_ident ident;
	uint32_t magic; /* SLAB_MAGIC ^ the slab's address: a slab, not stray bytes */
	unsigned inuse;
	struct kmem_cache *cache;
	uint32_t live[SLAB_MAX_OBJECTS / 32]; /* bit i: object i is allocated */
	struct slab *next, *prev;
	void *free; /* free objects, linked through their link word */
};

struct kmem_cache {
	const char *name;
	size_t size;       /* what callers asked for */
	size_t stride;     /* bytes per object in a slab: size, red zone, record */
	uint32_t index_mul; /* ceil(2^32 / stride): offset / stride as a multiply */
	unsigned per_slab; /* objects per slab */
	size_t first;      /* offset of the first object in a slab */
	size_t link_offset; /* where a free object holds the free-list link */
	uint32_t salt;     /* SLAB_SALT ^ the cache's tag: its slabs' ident check (slab_cache_tag) */
	void (*ctor)(void *obj);
	bool debug;
	struct slab *partial, *full, *empty;
	const struct slab_source *source;
	void (*report)(struct kmem_cache *c, enum heap_error e, const void *ptr, const char *detail);
	uint32_t *seq;     /* shared sequence counter (leak marks span caches) */
	struct kmem_cache_stats {
		uint64_t allocs, frees, failed;
		size_t live, slabs, empty_slabs;
		uint64_t errors[HEAP_ERR_COUNT];
	} stats;
	struct kmem_cache *next; /* all caches, for slabinfo */
};

/* A header in a source's table: a line of its own, the fields a free reads in the first half. */
union slab_record {
	struct slab slab;
	char line[128];
} __attribute__((aligned(64)));

/* In a table or at a page's start, a header's address has the tag bits clear. */
_Static_assert(sizeof(union slab_record) % SLAB_TAGS == 0, "a record's address must leave the tag bits clear");

/*
 * Where the header of the slab holding p would be, if p is in one: slabs
 * are aligned to their size.  NULL if the source keeps a table and p lies
 * outside the pages it covers.
 */
static inline struct slab *slab_header(const struct slab_source *src, const void *p)
{
	uintptr_t page = (uintptr_t)p & ~(uintptr_t)(SLAB_SIZE - 1);
	size_t n = (page - src->records_base) / SLAB_SIZE;

	if (!src->records)
		return (struct slab *)page;
	return n < src->records_count ? &src->records[n].slab : NULL;
}

/* The first byte of slab s's page. */
static inline char *slab_page(const struct slab_source *src, const struct slab *s)
{
	if (!src->records)
		return (char *)s;
	return (char *)(src->records_base + (size_t)((const union slab_record *)s - src->records) * SLAB_SIZE);
}

/* Does the page at s start with a slab header (the magic matches its address)? */
static inline bool slab_header_valid(const struct slab *s)
{
	return __atomic_load_n(&s->magic, __ATOMIC_ACQUIRE) == (SLAB_MAGIC ^ (uint32_t)(uintptr_t)s);
}

/*
 * The index of the object that starts `offset` bytes into a slab's page,
 * for a cache of this geometry, or -1 if no object starts there (an
 * interior pointer, the header, past the last object).  The division by the stride is a multiply by its reciprocal
 * (index_mul), exact for every offset within a slab: with m = ceil(2^32/d)
 * = (2^32 + e)/d, e < d, (off * m) >> 32 is off/d plus off*e/(d * 2^32),
 * and off * e < SLAB_SIZE * d < 2^32 keeps that below the next integer.
 * An offset below `first` wraps to a huge one and gives an index past the
 * last object.  A free pays this on every call, so it is a multiply and a
 * compare, not a divide (tens of cycles) and a remainder.
 */
static inline int slab_index_at(uint32_t offset, uint32_t first, uint32_t stride, uint32_t index_mul,
				uint32_t per_slab)
{
	uint32_t off = offset - first;
	uint32_t i = (uint32_t)(((uint64_t)off * index_mul) >> 32);

	return i < per_slab && i * stride == off ? (int)i : -1;
}

/* The same, for p's offset in its page and c's geometry. */
static inline int slab_index_of(const struct kmem_cache *c, const void *p)
{
	return slab_index_at((uint32_t)((uintptr_t)p % SLAB_SIZE), (uint32_t)c->first,
			     (uint32_t)c->stride, c->index_mul, c->per_slab);
}

static inline bool slab_is_live(const struct slab *s, unsigned i)
{
	return __atomic_load_n(&s->live[i / 32], __ATOMIC_RELAXED) & (1u << (i % 32));
}

/* The check value of slab s's identity, for a cache of this salt. */
static inline uint32_t slab_ident_check(const struct slab *s, uint32_t salt)
{
	return (uint32_t)(uintptr_t)s ^ salt;
}

/*
 * Set up cache `c` for objects of `size` bytes aligned to `align` (a power
 * of two up to 64; 0 means the natural 16), with an optional constructor
 * run on each object when its slab is created.  Returns false for a size
 * of 0 or above SLAB_MAX_OBJECT.
 */
bool slab_cache_init(struct kmem_cache *c, const char *name, size_t size, size_t align,
		     void (*ctor)(void *obj), bool debug, const struct slab_source *source,
		     uint32_t *seq);

/*
 * Give cache c a tag, 1 .. SLAB_TAGS - 1, before its first slab: what its
 * slabs' identity names (slab.h, union slab_ident).  Untagged caches have
 * tag 0.  Tags are for readers without the lock, which must tell a few
 * caches apart from one word (the host's size classes); false if out of
 * range or too late.
 */
bool slab_cache_tag(struct kmem_cache *c, unsigned tag);

/*
 * An object, or NULL when the page source is exhausted (counted).  `size`
 * (0 or at most the cache's size) is what the caller will use: in debug mode
 * the red zone starts right after it.
 */
void *slab_alloc(struct kmem_cache *c, size_t size, const void *caller);

/* Free an object of this cache; refused (false, reported) if it is not one, or is free. */
bool slab_free(struct kmem_cache *c, void *obj, const void *caller);

/* Give every slab back; false (and nothing freed) while objects are live. */
bool slab_cache_destroy(struct kmem_cache *c);

/* Give back empty slabs (all of them). */
void slab_cache_shrink(struct kmem_cache *c);

/*
 * If `p` lies in a slab from `src`, of any cache, the cache, else NULL.
 * `page_mapped(p)` must say whether the slab-aligned page holding p is
 * one of the source's (so that its header may be read).
 */
struct kmem_cache *slab_cache_of(const struct slab_source *src, const void *p,
				 bool (*page_mapped)(void *ctx, const void *page), void *ctx);

/* Info on a live object (debug records caller and sequence). */
bool slab_object_info(struct kmem_cache *c, const void *obj, struct heap_block_info *info);

/* For a free object (debug mode): who freed it, and its allocation's sequence. */
bool slab_freed_info(struct kmem_cache *c, const void *obj, struct heap_block_info *info);

/* Call fn for each live object with sequence >= since (debug mode records them). */
void slab_for_each_live(struct kmem_cache *c, uint32_t since,
			      void (*fn)(void *arg, const struct heap_block_info *b), void *arg);

/* Check every slab: counts, lists, bitmaps, free lists, red zones, poison. */
unsigned slab_cache_check(struct kmem_cache *c, char *why, size_t why_size);

/* Every cache set up and not destroyed, newest first, linked by `next` (slabinfo, checks). */
struct kmem_cache *slab_caches(void);

#endif
