/*
 * vma.c - a process's regions, kept as a sorted, merged array.
 *
 * Every change that can split or merge regions (insert, remove, protect,
 * and the pieces of a resize) is one "edit" of a range [lo, hi): add a
 * region there, remove what is there, or set prot on what is there.  One
 * routine, rebuild(), applies any edit by walking the old regions in order
 * and emitting the new list piece by piece:
 *
 *   for each old region: its part before lo (unchanged), its part inside
 *   [lo, hi) (changed, or dropped), its part from hi on (unchanged);
 *   the added region goes in at its place in the order.
 *
 * emit() appends a piece, or extends the previous one when the two touch
 * and have identical attributes, so the output is merged by construction
 * and splits are nothing special: a region that straddles lo or hi simply
 * yields two or three pieces.  The same walk runs twice: first only
 * counting the regions the result would have (more than max: EFULL, and
 * nothing has changed), then writing them.
 *
 * Writing in place.  Before the second walk the old list is moved to the
 * top of the array (slots cap - n ..), and the new list is written from
 * slot 0 up, each old region being copied out before its pieces are
 * emitted.  A write never lands on an old region not yet read: extra pieces
 * come only from the regions straddling lo and hi (at most two extra in
 * all), emit() holds the newest piece back until the next one arrives, and
 * past hi nothing merges (the old list was merged).  So when the extra
 * pieces outrun the reads, the result has grown by that much, and the free
 * slots at the top of the array (cap - n of them) absorb it -- which the
 * count walk has checked, growing the array first if the result needs more
 * room than it has.  So an edit needs no scratch copy on the kernel stack,
 * and the only memory it may ask for is a bigger array, before anything
 * has changed.
 */
#include "vma.h"

#include <stddef.h>
#include <string.h>

#define PAGE_MASK (VMA_PAGE_SIZE - 1)
#define FOUR_GIB 0x100000000ull

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static uint32_t max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static bool valid_range(uint32_t start, uint32_t end)
{
	return !(start & PAGE_MASK) && !(end & PAGE_MASK) && start < end;
}

static bool has_file(const struct vma *v)
{
	return v->file_start != v->file_end;
}

/* Same kind, prot and file fields: two such regions that touch are one. */
static bool same_attrs(const struct vma *a, const struct vma *b)
{
	if (a->kind != b->kind || a->prot != b->prot || has_file(a) != has_file(b))
		return false;
	return !has_file(a) || (a->file_start == b->file_start && a->file_end == b->file_end &&
				a->file_pa == b->file_pa);
}

/* Index of the first region ending after addr (s->n if none). */
static unsigned first_ending_after(const struct vma_set *s, uint32_t addr)
{
	unsigned lo = 0, hi = s->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (s->v[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static bool overlaps_any(const struct vma_set *s, uint32_t start, uint32_t end)
{
	unsigned i = first_ending_after(s, start);

	return i < s->n && s->v[i].start < end;
}

/* ---- edits ----------------------------------------------------------------- */

enum edit_kind { EDIT_ADD, EDIT_REMOVE, EDIT_PROTECT };

struct edit {
	enum edit_kind what;
	uint32_t lo, hi;
	uint32_t prot;         /* EDIT_PROTECT: the new prot */
	const struct vma *add; /* EDIT_ADD: the attributes of [lo, hi) */
};

/* The new list as it is emitted; `out` NULL only counts. */
struct builder {
	struct vma *out;
	unsigned n;      /* regions finished */
	struct vma last; /* the newest piece, still growing */
	bool open;
};

/* Append [start, end) with r's attributes (nothing if empty), merging with the newest piece. */
static void emit(struct builder *b, const struct vma *r, uint32_t start, uint32_t end)
{
	if (start >= end)
		return;
	if (b->open && b->last.end == start && same_attrs(&b->last, r)) {
		b->last.end = end;
		return;
	}
	if (b->open) {
		if (b->out)
			b->out[b->n] = b->last;
		b->n++;
	}
	b->last = *r;
	b->last.start = start;
	b->last.end = end;
	b->open = true;
}

static void rebuild(const struct vma *old, unsigned n, const struct edit *e, struct builder *b)
{
	bool add_pending = e->what == EDIT_ADD;

	for (unsigned i = 0; i < n; i++) {
		struct vma r = old[i]; /* copied before any write can reach it */
		if (add_pending && r.start >= e->hi) {
			emit(b, e->add, e->lo, e->hi);
			add_pending = false;
		}
		emit(b, &r, r.start, min32(r.end, e->lo));
		if (e->what == EDIT_PROTECT) {
			struct vma changed = r;
			changed.prot = e->prot;
			emit(b, &changed, max32(r.start, e->lo), min32(r.end, e->hi));
		}
		emit(b, &r, max32(r.start, e->hi), r.end);
	}
	if (add_pending)
		emit(b, e->add, e->lo, e->hi);
	if (b->open) {
		if (b->out)
			b->out[b->n] = b->last;
		b->n++;
	}
}

/* The smallest array a set gets: room for a program's usual handful of regions. */
#define FIRST_CAP 8u

/* Make room for `need` regions (need <= s->max): false, nothing changed, if there is no memory. */
static bool make_room(struct vma_set *s, unsigned need)
{
	unsigned cap = s->cap ? s->cap : FIRST_CAP;
	struct vma *v;

	if (need <= s->cap)
		return true;
	while (cap < need)
		cap *= 2;
	if (cap > s->max)
		cap = s->max;
	if (!(v = s->mem->alloc(cap * sizeof(*v))))
		return false;
	if (s->n)
		memcpy(v, s->v, s->n * sizeof(*v));
	if (s->v)
		s->mem->free(s->v);
	s->v = v;
	s->cap = cap;
	return true;
}

/* Count, then (if it fits) write in place: see the top of the file. */
static enum vma_result apply(struct vma_set *s, const struct edit *e)
{
	struct builder count = { 0 }, write = { 0 };
	unsigned top;

	rebuild(s->v, s->n, e, &count);
	if (count.n > s->max)
		return VMA_EFULL;
	if (!make_room(s, count.n))
		return VMA_ENOMEM;
	if (!s->v)
		return VMA_OK; /* an empty set that stays empty needs no array */
	top = s->cap - s->n;
	write.out = s->v;
	memmove(s->v + top, s->v, s->n * sizeof(s->v[0]));
	rebuild(s->v + top, s->n, e, &write);
	s->n = write.n;
	return VMA_OK;
}

/* ---- the calls --------------------------------------------------------------- */

void vma_init(struct vma_set *s, const struct vma_memory *mem)
{
	*s = (struct vma_set){ .max = VMA_MAX, .mem = mem };
}

void vma_release(struct vma_set *s)
{
	if (s->v)
		s->mem->free(s->v);
	vma_init(s, s->mem);
}

enum vma_result vma_copy(struct vma_set *dst, const struct vma_set *src)
{
	if (src->n > dst->max)
		return VMA_EFULL;
	if (!make_room(dst, src->n))
		return VMA_ENOMEM;
	if (src->n)
		memcpy(dst->v, src->v, src->n * sizeof(src->v[0]));
	dst->n = src->n;
	return VMA_OK;
}

struct vma *vma_find(struct vma_set *s, uint32_t addr)
{
	unsigned i = first_ending_after(s, addr);

	return i < s->n && s->v[i].start <= addr ? &s->v[i] : NULL;
}

bool vma_range_ok(const struct vma_set *s, uint32_t start, uint32_t len, uint32_t prot)
{
	uint64_t at = start, end = (uint64_t)start + len;

	if (len == 0)
		return true;
	if (end > FOUR_GIB)
		return false;
	for (unsigned i = first_ending_after(s, start); at < end; i++) {
		if (i == s->n || s->v[i].start > at || (s->v[i].prot & prot) != prot)
			return false;
		at = s->v[i].end;
	}
	return true;
}

enum vma_result vma_insert(struct vma_set *s, const struct vma *v)
{
	struct vma add = *v;

	if (!valid_range(v->start, v->end) || (v->prot & ~VMA_PROT_ALL) ||
	    (unsigned)v->kind >= VMA_KINDS || v->file_start > v->file_end ||
	    (uint64_t)v->file_pa + (v->file_end - v->file_start) > FOUR_GIB)
		return VMA_EINVAL;
	if (overlaps_any(s, v->start, v->end))
		return VMA_EEXIST;
	if (!has_file(&add))
		add.file_start = add.file_end = add.file_pa = 0;
	return apply(s, &(struct edit){ EDIT_ADD, v->start, v->end, 0, &add });
}

enum vma_result vma_remove(struct vma_set *s, uint32_t start, uint32_t end)
{
	if (!valid_range(start, end))
		return VMA_EINVAL;
	return apply(s, &(struct edit){ EDIT_REMOVE, start, end, 0, NULL });
}

enum vma_result vma_protect(struct vma_set *s, uint32_t start, uint32_t end, uint32_t prot)
{
	if (!valid_range(start, end) || (prot & ~VMA_PROT_ALL))
		return VMA_EINVAL;
	if (!vma_range_ok(s, start, end - start, 0))
		return VMA_ENOENT;
	return apply(s, &(struct edit){ EDIT_PROTECT, start, end, prot, NULL });
}

/* Does [lo, hi) come within `gap` bytes of (or overlap) a region other than `self`? */
static bool near_other(const struct vma_set *s, const struct vma *self, uint32_t lo, uint32_t hi,
		       uint32_t gap)
{
	for (unsigned i = 0; i < s->n; i++) {
		const struct vma *o = &s->v[i];
		if (o != self && (uint64_t)o->start < (uint64_t)hi + gap &&
		    (uint64_t)lo < (uint64_t)o->end + gap)
			return true;
	}
	return false;
}

/*
 * Resize = remove the pages `v` loses, then add the pages it gains with its
 * attributes (they merge with what is left of it).  Neither step needs a
 * slot: removals start or end at v's edge (no split), and an addition
 * either extends v or, when the new range is disjoint from the old, takes
 * the slot the removal of all of v freed.
 */
enum vma_result vma_resize(struct vma_set *s, struct vma *v, uint32_t start, uint32_t end,
			   uint32_t gap)
{
	struct span { uint32_t lo, hi; } lose[2], gain[2];
	unsigned nlose = 0, ngain = 0;
	struct vma r;

	if (!s->n || v < s->v || v >= s->v + s->n || !valid_range(start, end))
		return VMA_EINVAL;
	r = *v;
	if (end <= r.start || start >= r.end) {
		lose[nlose++] = (struct span){ r.start, r.end };
		gain[ngain++] = (struct span){ start, end };
	} else {
		if (start > r.start)
			lose[nlose++] = (struct span){ r.start, start };
		if (end < r.end)
			lose[nlose++] = (struct span){ end, r.end };
		if (start < r.start)
			gain[ngain++] = (struct span){ start, r.start };
		if (end > r.end)
			gain[ngain++] = (struct span){ r.end, end };
	}
	for (unsigned i = 0; i < ngain; i++)
		if (near_other(s, v, gain[i].lo, gain[i].hi, gap))
			return VMA_EEXIST;
	for (unsigned i = 0; i < nlose; i++)
		apply(s, &(struct edit){ EDIT_REMOVE, lose[i].lo, lose[i].hi, 0, NULL });
	for (unsigned i = 0; i < ngain; i++)
		apply(s, &(struct edit){ EDIT_ADD, gain[i].lo, gain[i].hi, 0, &r });
	return VMA_OK;
}

bool vma_find_free(const struct vma_set *s, uint32_t len, uint32_t lo, uint32_t hi,
		   uint32_t *start)
{
	if (len == 0)
		return false;
	/* Gaps from the top: gap i lies between region i - 1 and region i. */
	for (unsigned i = s->n + 1; i-- > 0;) {
		uint64_t gap_lo = i > 0 ? s->v[i - 1].end : 0;
		uint64_t gap_hi = i < s->n ? s->v[i].start : FOUR_GIB;
		uint64_t a = gap_lo > lo ? gap_lo : lo, b = gap_hi < hi ? gap_hi : hi;
		if (b >= a + len && ((b - len) & ~(uint64_t)PAGE_MASK) >= a) {
			*start = (uint32_t)((b - len) & ~(uint64_t)PAGE_MASK);
			return true;
		}
		if (gap_lo <= lo)
			break; /* every lower gap lies below lo */
	}
	return false;
}

const char *vma_check(const struct vma_set *s)
{
	if (s->max > VMA_MAX || s->n > s->max)
		return "more regions than the set's max";
	if (s->n > s->cap || s->cap > s->max || !s->v != !s->cap)
		return "the array is smaller than the set, or missing";
	for (unsigned i = 0; i < s->n; i++) {
		const struct vma *v = &s->v[i];
		if (!valid_range(v->start, v->end))
			return "a region is unaligned or empty";
		if ((v->prot & ~VMA_PROT_ALL) || (unsigned)v->kind >= VMA_KINDS)
			return "a region has a bad prot or kind";
		if (v->file_start > v->file_end)
			return "a region's file range is reversed";
		if (i > 0 && s->v[i - 1].end > v->start)
			return "regions out of order or overlapping";
		if (i > 0 && s->v[i - 1].end == v->start && same_attrs(&s->v[i - 1], v))
			return "two touching regions are identical (not merged)";
	}
	return NULL;
}

const char *vma_kind_name(enum vma_kind k)
{
	static const char *const names[VMA_KINDS] = { "text", "data", "bss", "heap", "stack", "anon" };

	return (unsigned)k < VMA_KINDS ? names[k] : "?";
}

const char *vma_result_name(enum vma_result r)
{
	static const char *const names[] = { "VMA_OK", "VMA_EINVAL", "VMA_EEXIST", "VMA_ENOENT",
					     "VMA_EFULL", "VMA_ENOMEM" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}
