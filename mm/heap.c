/*
 * heap.c - a boundary-tag heap with selectable fit (see heap.h).
 *
 * Layout.  The region [base, end) is a sequence of blocks, each starting
 * with a header, ending with a zero-size "fence" block that is always in
 * use.  A header holds the block's size, two flags -- IN_USE, and
 * PREV_IN_USE for the block before it -- a magic word, the allocation's
 * sequence number, caller and requested size.  The first word of a header,
 * `prev_size`, belongs to the block *before* it: it is that block's size
 * when it is free.  That is the boundary tag: from any block the heap can
 * step to the next (add size) and, when the previous one is free, to it
 * (subtract prev_size), which is all coalescing needs.
 *
 *     +-----------+----------------------------+-----------+-------
 *     | header    | payload (caller's bytes,   | header    |
 *     | prev_size | red zone in debug mode;    | prev_size | ...
 *     | size|flags| free: list links + poison) | = size if |
 *     | magic ... |                            | free      |
 *     +-----------+----------------------------+-----------+-------
 *
 * Free blocks are linked in address order (the links live in their
 * payload).  Address order makes first fit prefer low addresses, which
 * keeps the top of the heap free so it can be given back, and makes
 * heap_check able to prove the list holds exactly the free blocks.
 *
 * The magic word is the block state XORed with the block's address, so a
 * header copied elsewhere, a pointer into the middle of a block, or bytes
 * written over a header do not pass for a valid one.  When a block is
 * absorbed by a neighbour's coalescing, its old header is marked MERGED, so
 * freeing that pointer again is still recognised as a double free.
 *
 * Purging.  A big free block's memory is useless until it is handed out
 * again, but only its whole pages *inside* it can be given back: its first
 * page holds its header and links (and later maybe a split's), the page
 * at its end the next block's header with the boundary tag.  A free block
 * keeps one run of decommitted pages among those, [purged_from,
 * purged_to).  One run is all the operations need: an allocation out of
 * a purged block commits the pages the new block and the rest's header
 * land on, and what it leaves on each side keeps its share of the run; a
 * merge keeps the run of the one purged neighbour as it is, and only
 * when both neighbours have one does it decommit the pages between them
 * (the freed block's, mostly), to make one run of the two.  (With a
 * suffix instead of a run, every merge beside a purged block decommitted
 * the block just freed: more than half of all purged pages on the host's
 * `mixed` benchmark, each to fault in again soon.)
 *
 * When to purge is a cap on the committed free memory (over_cap): more
 * than purge_keep bytes, and, with purge_peak_pct, more than that share
 * above the heap's peak of bytes in use -- a peak that decays with every
 * free, so that a live set that fell for good lets its holes go.  Over
 * it, the biggest free blocks are purged whole until it holds again;
 * best fit meanwhile prefers blocks it need not commit.  The kernel
 * keeps 64 KiB and no share, so it gives memory back after every burst;
 * the host keeps a share of its peak, so it purges only what would raise
 * its footprint above its own high-water mark (docs/design/heap.md has
 * the figures).
 * The heap never reads or writes a purged page (the host's tests make
 * them inaccessible, so a test run proves it), heap_check verifies the
 * runs and the cap, and stats.committed is the memory the heap holds.
 *
 * Trust.  Headers can be damaged by the heap's users; the free list's links
 * even more so (they live where a use-after-free writes).  Every link is
 * checked before it is followed, and when one is bad the list is rebuilt
 * from a walk of the headers, which is the ground truth.  Poison (debug)
 * is written once, when memory becomes free, and checked where an
 * allocation hands memory out (and by heap_check), so a write after free
 * is reported when the memory is reused, however it was split or merged.
 */
#include "heap.h"

#include <string.h>

#include "invariant.h"

#define FLAG_IN_USE      0x1u
#define FLAG_PREV_IN_USE 0x2u
#define FLAGS_MASK       (HEAP_ALIGN - 1)

#define MAGIC_USED   0xA110CA7Eu
#define MAGIC_FREE   0xF2EEB10Cu
#define MAGIC_MERGED 0x3E26EDu
#define MAGIC_FENCE  0xFE2CEu

#define REDZONE      16   /* at least this many canary bytes after each block (debug) */
#define REDZONE_BYTE 0xFD
#define POISON_BYTE  0xDB

struct heap_block {
	size_t prev_size;   /* size of the block before, when that block is free */
	size_t size;        /* whole block in bytes | FLAG_* */
	uint32_t magic;     /* MAGIC_* ^ address */
	uint32_t seq;       /* allocation sequence number */
	const void *caller; /* who allocated it (in use) or freed it (free) */
	union {
		size_t requested;      /* in use: bytes the caller asked for */
		uintptr_t purged_from; /* free: its decommitted pages start here (0: none) */
	};
	uintptr_t purged_to;        /* free, when purged_from is set: and end here */
} __attribute__((aligned(HEAP_ALIGN)));

/* purged_to sits in what was the header's padding: slabs are sized to this header. */
_Static_assert(sizeof(struct heap_block) == 6 * sizeof(void *) + (sizeof(void *) == 4 ? 8 : 0),
	       "a block header is 48 bytes (64-bit) or 32 (32-bit)");

struct free_links {
	struct heap_block *next, *prev;
};

#define HDR sizeof(struct heap_block)
#define MIN_BLOCK ((HDR + sizeof(struct free_links) + HEAP_ALIGN - 1) & ~(size_t)FLAGS_MASK)

/* ---- small helpers --------------------------------------------------------- */

static uintptr_t align_up(uintptr_t x, uintptr_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static size_t block_size(const struct heap_block *b)
{
	return b->size & ~(size_t)FLAGS_MASK;
}

static bool in_use(const struct heap_block *b)
{
	return b->size & FLAG_IN_USE;
}

static uint32_t magic_for(const struct heap_block *b, uint32_t state)
{
	return state ^ (uint32_t)(uintptr_t)b;
}

static bool has_magic(const struct heap_block *b, uint32_t state)
{
	return b->magic == magic_for(b, state);
}

static struct heap_block *next_block(const struct heap_block *b)
{
	return (struct heap_block *)((uintptr_t)b + block_size(b));
}

static struct heap_block *prev_block(const struct heap_block *b)
{
	return (struct heap_block *)((uintptr_t)b - b->prev_size);
}

static void *payload(const struct heap_block *b)
{
	return (void *)((uintptr_t)b + HDR);
}

static struct heap_block *block_of(const void *p)
{
	return (struct heap_block *)((uintptr_t)p - HDR);
}

static struct free_links *links(const struct heap_block *b)
{
	return payload(b);
}

static struct heap_block *fence(const struct heap *h)
{
	return (struct heap_block *)(h->end - HDR);
}

/* Bytes after the caller's data up to the block's end: the red zone. */
static size_t slack(const struct heap_block *b)
{
	return block_size(b) - HDR - b->requested;
}

/* Are the first `n` bytes of b's red zone (all of it, if it is shorter) intact? */
static bool redzone_intact(const struct heap_block *b, size_t n)
{
	return bytes_are((char *)payload(b) + b->requested, REDZONE_BYTE, n < slack(b) ? n : slack(b));
}

static void report(struct heap *h, enum heap_error e, const void *ptr, const char *detail)
{
	h->stats.errors[e]++;
	if (h->report)
		h->report(h, e, ptr, detail);
}

/* Does `b` look like a block header of this heap (in range, aligned)? */
static bool plausible(const struct heap *h, const struct heap_block *b)
{
	uintptr_t a = (uintptr_t)b;
	return a >= h->base && a < h->end - HDR && a % HEAP_ALIGN == 0;
}

/* Can a walk step on from `b`: is its size one a block can have here? */
static bool size_sane(const struct heap *h, const struct heap_block *b)
{
	size_t size = block_size(b);
	return size >= MIN_BLOCK && size % HEAP_ALIGN == 0 &&
	       size <= (uintptr_t)fence(h) - (uintptr_t)b;
}

/* ---- block state ----------------------------------------------------------- */

static void set_size(struct heap_block *b, size_t size, size_t flags)
{
	b->size = size | flags;
}

static void mark_prev_state(struct heap_block *next, const struct heap_block *b)
{
	if (in_use(b)) {
		next->size |= FLAG_PREV_IN_USE;
	} else {
		next->size &= ~(size_t)FLAG_PREV_IN_USE;
		next->prev_size = block_size(b);
	}
}

/*
 * Turn `b` into a free block of `size` bytes (not yet on the list).  In
 * debug mode, `poison` fills its payload: for memory that was in use or is
 * new.  Memory that was free already keeps its poison as it is, so the
 * evidence of a write after free survives splits, merges and trims.
 */
static void make_free(struct heap *h, struct heap_block *b, size_t size, const void *by,
		      bool poison)
{
	set_size(b, size, b->size & FLAG_PREV_IN_USE);
	b->magic = magic_for(b, MAGIC_FREE);
	b->caller = by;
	b->requested = 0;
	b->purged_to = 0;
	if (h->debug && poison)
		memset((char *)payload(b) + sizeof(struct free_links), POISON_BYTE,
		       size - HDR - sizeof(struct free_links));
	mark_prev_state(next_block(b), b);
}

static void make_used(struct heap *h, struct heap_block *b, size_t size, size_t requested,
		      const void *caller)
{
	set_size(b, size, (b->size & FLAG_PREV_IN_USE) | FLAG_IN_USE);
	b->magic = magic_for(b, MAGIC_USED);
	b->seq = h->seq++;
	b->caller = caller;
	b->requested = requested;
	if (h->debug)
		memset((char *)payload(b) + requested, REDZONE_BYTE, slack(b));
	mark_prev_state(next_block(b), b);
}

/* ---- purging: the pages inside free blocks ------------------------------------ */

/* The first whole page inside free block `b` that may be purged: past its header and links. */
static uintptr_t inner_lo(const struct heap *h, const struct heap_block *b)
{
	return align_up((uintptr_t)b + MIN_BLOCK, h->page_size);
}

/* The end of b's inner pages: the page that holds the next block's header stays. */
static uintptr_t inner_hi(const struct heap *h, const struct heap_block *b)
{
	return ((uintptr_t)b + block_size(b)) & ~(uintptr_t)(h->page_size - 1);
}

static size_t purged_bytes(const struct heap_block *b)
{
	return b->purged_from ? b->purged_to - b->purged_from : 0;
}

/* Bytes of b's inner pages that are committed: what purging b would give back. */
static size_t committed_inner(const struct heap *h, const struct heap_block *b)
{
	uintptr_t lo = inner_lo(h, b), hi = inner_hi(h, b);
	return hi > lo ? hi - lo - purged_bytes(b) : 0;
}

static void note_committed(struct heap *h)
{
	h->stats.committed = h->stats.heap_size - h->stats.purged;
	if (h->stats.committed > h->stats.peak_committed)
		h->stats.peak_committed = h->stats.committed;
}

/* Mark the pages [lo, hi) purged or not in the map. */
static void map_pages(struct heap *h, uintptr_t lo, uintptr_t hi, bool purged)
{
	for (size_t page = (lo - h->base) >> h->page_shift; lo < hi; lo += h->page_size, page++) {
		if (purged)
			h->purge_map[page / 8] |= (unsigned char)(1u << (page % 8));
		else
			h->purge_map[page / 8] &= (unsigned char)~(1u << (page % 8));
	}
}

/* May the bytes [a, a + n) be read: are they in no purged page? */
static bool readable(const struct heap *h, uintptr_t a, size_t n)
{
	return !heap_page_purged(h, a) && !heap_page_purged(h, a + n - 1);
}

/* Give back the pages [lo, hi) of a free block (nothing if empty). */
static void decommit(struct heap *h, uintptr_t lo, uintptr_t hi)
{
	if (lo >= hi)
		return;
	h->backend.decommit(h->backend.ctx, lo, hi - lo);
	map_pages(h, lo, hi, true);
	h->stats.purged += hi - lo;
	h->stats.purges++;
	note_committed(h);
}

/*
 * Make the purged pages [lo, hi) usable again; false if the backend has
 * no memory (nothing changed).  In debug mode they are poisoned, since
 * what is not handed out of them stays free memory, which heap_check
 * expects to find poisoned.
 */
static bool commit(struct heap *h, uintptr_t lo, uintptr_t hi)
{
	if (lo >= hi)
		return true;
	if (!h->backend.commit(h->backend.ctx, lo, hi - lo))
		return false;
	map_pages(h, lo, hi, false);
	if (h->debug)
		memset((void *)lo, POISON_BYTE, hi - lo);
	h->stats.purged -= hi - lo;
	h->stats.commits++;
	note_committed(h);
	return true;
}

/*
 * Check (or, with `fill`, restore) the poison of free block `b` from the
 * end of its links up to `to`, skipping its purged pages: they hold
 * nothing, and touching them would fault.
 */
static bool free_poison(const struct heap_block *b, uintptr_t to, bool fill)
{
	uintptr_t from = (uintptr_t)payload(b) + sizeof(struct free_links);
	uintptr_t lo = b->purged_from ? b->purged_from : to, hi = b->purged_from ? b->purged_to : to;
	bool ok = true;

	if (to <= from)
		return true;
	for (int i = 0; i < 2; i++) {
		uintptr_t a = i ? (hi > from ? hi : from) : from, z = i ? to : (lo < to ? lo : to);
		if (a >= z)
			continue;
		if (fill)
			memset((void *)a, POISON_BYTE, z - a);
		else
			ok = ok && bytes_are((const void *)a, POISON_BYTE, z - a);
	}
	return ok;
}

static unsigned bin_of(size_t size);

/* ---- sets of bins: a bitmap, and a bitmap of its words that are not 0 ---------- */

#define WORD_BITS HEAP_BIN_WORD_BITS
#define ALL_ONES (~0ul)

_Static_assert(HEAP_BINS % WORD_BITS == 0 && HEAP_BINS / WORD_BITS <= WORD_BITS,
	       "a bit of `words` per word of bins");

static void bins_add(struct heap_bin_set *s, unsigned i)
{
	s->word[i / WORD_BITS] |= 1ul << (i % WORD_BITS);
	s->words |= 1ul << (i / WORD_BITS);
}

static void bins_del(struct heap_bin_set *s, unsigned i)
{
	s->word[i / WORD_BITS] &= ~(1ul << (i % WORD_BITS));
	if (!s->word[i / WORD_BITS])
		s->words &= ~(1ul << (i / WORD_BITS));
}

static bool bins_has(const struct heap_bin_set *s, unsigned i)
{
	return s->word[i / WORD_BITS] >> (i % WORD_BITS) & 1;
}

/* The lowest bin of s at or above i; -1 if none. */
static int bins_next(const struct heap_bin_set *s, unsigned i)
{
	if (i >= HEAP_BINS)
		return -1;
	unsigned w = i / WORD_BITS;
	unsigned long bits = s->word[w] & (ALL_ONES << (i % WORD_BITS));
	if (!bits) {
		unsigned long above = w + 1 < WORD_BITS ? s->words & (ALL_ONES << (w + 1)) : 0;
		if (!above)
			return -1;
		w = (unsigned)__builtin_ctzl(above);
		bits = s->word[w];
	}
	return (int)(w * WORD_BITS + (unsigned)__builtin_ctzl(bits));
}

/* The highest bin of s below i; -1 if none. */
static int bins_prev(const struct heap_bin_set *s, unsigned i)
{
	if (i == 0)
		return -1;
	unsigned w = (i - 1) / WORD_BITS;
	unsigned long bits = s->word[w] & (ALL_ONES >> (WORD_BITS - 1 - (i - 1) % WORD_BITS));
	if (!bits) {
		unsigned long below = s->words & ((1ul << w) - 1);
		if (!below)
			return -1;
		w = WORD_BITS - 1 - (unsigned)__builtin_clzl(below);
		bits = s->word[w];
	}
	return (int)(w * WORD_BITS + WORD_BITS - 1 - (unsigned)__builtin_clzl(bits));
}

/*
 * Free block b, in bin i, may be worth purging now.  Every way a free
 * block gets into a bin, grows in it or has its purged run cut passes
 * here (list_insert_after, settle_purge, split_purge; heap_check holds
 * them to it), so purge_excess can skip the bins not in purge_dirty --
 * the big blocks it has purged already, which it would otherwise step
 * over on every call.
 */
static void note_purgeable(struct heap *h, const struct heap_block *b, unsigned i)
{
	if (h->purge_min && committed_inner(h, b) >= h->purge_min)
		bins_add(&h->purge_dirty, i);
}

/*
 * Free block `m` has just been made by merging: [p_lo, p_hi) was the
 * purged run of the free block before (p_lo 0: none), [n_lo, n_hi) that
 * of the free block after.  Both lie among m's inner pages, so m keeps
 * either as it is; two become one by decommitting the pages between.
 * A merged block with enough committed inner pages may be purged again:
 * its bin joins the ones the purge walk looks at.
 */
static void settle_purge(struct heap *h, struct heap_block *m, uintptr_t p_lo, uintptr_t p_hi,
			 uintptr_t n_lo, uintptr_t n_hi)
{
	if (p_lo && n_lo)
		decommit(h, p_hi, n_lo);
	m->purged_from = p_lo ? p_lo : n_lo;
	m->purged_to = n_lo ? n_hi : p_hi;
	note_purgeable(h, m, bin_of(block_size(m))); /* m may have grown in its bin, unlinked */
}

/* ---- the free bins ------------------------------------------------------------ */

static bool links_ok(struct heap *h, const struct heap_block *b);

/* May a free-list link point to `b`: is it a free block of this heap? */
static bool listable(const struct heap *h, const struct heap_block *b)
{
	return plausible(h, b) && has_magic(b, MAGIC_FREE) && !in_use(b);
}

/*
 * The bin of a free block of `size` bytes: one bin per 16 bytes below
 * LINEAR_LIMIT, SUB_BINS per power of two from there up.  Bins grow with
 * size, so every block of a bin above bin_of(x) is larger than x.
 */
#define LINEAR_LIMIT 512u
#define LINEAR_BINS  (LINEAR_LIMIT / HEAP_ALIGN)
#define SUB_BITS     HEAP_BIN_SUB_BITS
#define SUB_BINS     (1u << SUB_BITS)

static unsigned bin_of(size_t size)
{
	if (size < LINEAR_LIMIT)
		return (unsigned)(size / HEAP_ALIGN);
	unsigned log = (unsigned)(8 * sizeof(unsigned long) - 1) -
		       (unsigned)__builtin_clzl((unsigned long)size);
	return LINEAR_BINS + (log - 9) * SUB_BINS + (unsigned)((size >> (log - SUB_BITS)) & (SUB_BINS - 1));
}

static uintptr_t min_addr(uintptr_t a, uintptr_t b)
{
	return a < b ? a : b;
}

/* Tree node n's lowest head address: leaves (n >= HEAP_BINS) are the bins. */
static uintptr_t node_low(const struct heap *h, unsigned n)
{
	if (n < HEAP_BINS)
		return h->lowest[n];
	return h->bin[n - HEAP_BINS] ? (uintptr_t)h->bin[n - HEAP_BINS] : UINTPTR_MAX;
}

/* Bin `i` starts at `b` now: carry the change up the tree while it changes anything. */
static void set_head(struct heap *h, unsigned i, struct heap_block *b)
{
	h->bin[i] = b;
	if (b)
		bins_add(&h->nonempty, i);
	else
		bins_del(&h->nonempty, i);
	for (unsigned n = (i + HEAP_BINS) / 2; n; n /= 2) {
		uintptr_t low = min_addr(node_low(h, 2 * n), node_low(h, 2 * n + 1));
		if (h->lowest[n] == low)
			break;
		h->lowest[n] = low;
	}
}

/* The lowest-addressed head of bins i and up, or NULL: one leaf-to-root path. */
static struct heap_block *lowest_head(const struct heap *h, unsigned i)
{
	unsigned n = i + HEAP_BINS;
	uintptr_t low = node_low(h, n);

	for (; n > 1; n /= 2)
		if (!(n & 1)) /* a left child: its right sibling's bins are all above i */
			low = min_addr(low, node_low(h, n + 1));
	return low == UINTPTR_MAX ? NULL : (struct heap_block *)low;
}

static void list_remove(struct heap *h, struct heap_block *b)
{
	struct free_links *l = links(b);

	/* If b's links were bad, the bins were rebuilt: they are sound now,
	 * unless b's own header is damaged and the rebuild left it out. */
	if (!links_ok(h, b) && !listable(h, b))
		return;
	if (l->prev)
		links(l->prev)->next = l->next;
	else
		set_head(h, bin_of(block_size(b)), l->next);
	if (l->next)
		links(l->next)->prev = l->prev;
}

/* Put `b` into its bin right after `after` (NULL: at the head). */
static void list_insert_after(struct heap *h, struct heap_block *after, struct heap_block *b)
{
	unsigned i = bin_of(block_size(b));
	struct heap_block *next = after ? links(after)->next : h->bin[i];

	note_purgeable(h, b, i);
	links(b)->prev = after;
	links(b)->next = next;
	if (next)
		links(next)->prev = b;
	if (after)
		links(after)->next = b;
	else
		set_head(h, i, b);
}

/*
 * `new` takes the place of `old` in bin i (the bin of old's size, before
 * any resize): for a block that stays in the same bin and between the
 * same neighbours, which spares the walk to its place.  Only pointers
 * change; new's header may be written before or after, so the callers
 * note it for purging once it is (note_purgeable).
 */
static void list_replace(struct heap *h, unsigned i, struct heap_block *old, struct heap_block *new)
{
	struct free_links *l = links(new);

	*l = *links(old);
	if (l->prev)
		links(l->prev)->next = new;
	else
		set_head(h, i, new);
	if (l->next)
		links(l->next)->prev = new;
}

static void rebuild_bins(struct heap *h);

/*
 * Can the links of bin member `b` be followed: does each point to a free
 * block of the same bin on the right side of b that links back to b?  A
 * write after free can put anything there -- garbage, zeros, a plausible
 * block.  If they are bad, report it, rebuild the bins from the headers
 * (b, being free, is on one again, soundly linked) and return false.
 *
 * A walk along a bin checks its first block whole and then only each
 * forward link (`whole` false): the block it steps onto has been vetted
 * as the previous block's next, back link included.
 */
static bool links_sound(struct heap *h, const struct heap_block *b, bool whole)
{
	const struct free_links *l = links(b);
	unsigned i = bin_of(block_size(b));
	bool next_ok = !l->next || (l->next > b && listable(h, l->next) &&
				    links(l->next)->prev == b && bin_of(block_size(l->next)) == i);
	bool prev_ok = !whole || (l->prev ? l->prev < b && listable(h, l->prev) &&
						    links(l->prev)->next == b
					  : h->bin[i] == b);

	if (next_ok && prev_ok && (!whole || listable(h, b)))
		return true;
	report(h, HEAP_ERR_USE_AFTER_FREE, NULL, "free-list link overwritten; bins rebuilt");
	rebuild_bins(h);
	return false;
}

static bool links_ok(struct heap *h, const struct heap_block *b)
{
	return links_sound(h, b, true);
}

/*
 * Put free block `b` (on no bin) at its place in its bin's address order.
 * If the walk meets bad links, the rebuilt bins hold b already: done.
 */
static void list_add(struct heap *h, struct heap_block *b)
{
	struct heap_block *after = NULL;

	struct heap_block *head = h->bin[bin_of(block_size(b))];

	for (struct heap_block *f = head; f && f < b; f = links(f)->next) {
		if (!links_sound(h, f, f == head))
			return;
		after = f;
	}
	list_insert_after(h, after, b);
}

/*
 * Only sound free blocks go into the bins, and the walk stops at a damaged
 * size.  Each is pushed at its bin's head, so the bins come out in
 * descending address order and are then turned round.
 */
static void rebuild_bins(struct heap *h)
{
	h->rebuilds++;
	memset(h->bin, 0, sizeof(h->bin));
	memset(&h->nonempty, 0, sizeof(h->nonempty));
	for (struct heap_block *b = (struct heap_block *)h->base; b != fence(h); b = next_block(b)) {
		if (listable(h, b)) {
			struct heap_block **head = &h->bin[bin_of(block_size(b))];
			links(b)->prev = NULL;
			links(b)->next = *head;
			if (*head)
				links(*head)->prev = b;
			*head = b;
		}
		if (!size_sane(h, b))
			break;
	}
	for (unsigned i = 0; i < HEAP_BINS; i++) {
		struct heap_block *b = h->bin[i], *last = NULL;
		for (; b; last = b, b = links(b)->prev) {
			struct free_links *l = links(b);
			struct heap_block *t = l->next;
			l->next = l->prev;
			l->prev = t;
		}
		h->bin[i] = last;
		if (last)
			bins_add(&h->nonempty, i);
		bins_add(&h->purge_dirty, i); /* the purge walks look at every bin again */
	}
	for (unsigned n = HEAP_BINS - 1; n; n--)
		h->lowest[n] = min_addr(node_low(h, 2 * n), node_low(h, 2 * n + 1));
}

/* ---- growing and shrinking ---------------------------------------------------- */

static void write_fence(struct heap *h, bool prev_in_use)
{
	struct heap_block *f = fence(h);

	set_size(f, 0, (prev_in_use ? FLAG_PREV_IN_USE : 0) | FLAG_IN_USE);
	f->magic = magic_for(f, MAGIC_FENCE);
	f->requested = 0;
}

static void release_block(struct heap *h, struct heap_block *b);

/*
 * The share is taken of the peak in use, but a peak that decays: each
 * free moves it 1/2^purge_decay of the way down to the bytes in use now
 * (rounded up, so that it gets all the way).  A heap whose live set stays
 * near its peak (the host's `mixed` benchmark) keeps nearly the whole
 * share; one whose live set fell for good gives its holes back after
 * some 2^purge_decay frees, where a peak that never fell kept them
 * committed for the rest of the process.  The frees that count are the
 * heap's own and those its front reports through heap_decay (slab
 * objects, another heap's blocks), so that a program that goes on
 * working in other sizes after the drop lets the holes go too.
 */
static void sink_peak(struct heap *h, unsigned frees)
{
	if (frees > 1u << 20) /* counts passed on late may be big: keep gap * frees in 64 bits */
		frees = 1u << 20;
	uint64_t gap = h->purge_ref - h->stats.in_use;
	uint64_t step = (gap * frees + ((uint64_t)1 << h->purge_decay) - 1) >> h->purge_decay;

	h->purge_ref -= (size_t)(step < gap ? step : gap);
}

/*
 * Does the heap hold more committed free memory than it may: more than
 * purge_keep bytes and, with a share set, more than purge_peak_pct
 * percent above its (decaying) peak in use?  The share is what the host needs: its
 * heaps cycle through their free blocks so fast (on the `mixed`
 * benchmark no free block of 64 KiB stays free for 20 000 allocations)
 * that any page purged while the live set is below its peak is faulted
 * in again soon, and only a footprint above the peak raises the
 * fragmentation figure.
 */
static bool over_cap(const struct heap *h)
{
	size_t peak = h->purge_ref;

	return h->stats.free_bytes - h->stats.purged > h->purge_keep &&
	       (!h->purge_share ||
		h->stats.committed > peak + (size_t)((uint64_t)peak * h->purge_share >> 16));
}

/* Decommit every inner page of free block f that is still committed. */
static void purge_whole(struct heap *h, struct heap_block *f)
{
	uintptr_t lo = inner_lo(h, f), hi = inner_hi(h, f);

	if (f->purged_from) {
		decommit(h, lo, f->purged_from);
		decommit(h, f->purged_to, hi);
	} else {
		decommit(h, lo, hi);
	}
	f->purged_from = lo;
	f->purged_to = hi;
}

/*
 * Purge bin i's blocks worth it, in address order, until the heap is
 * under its cap (true).  A bin walked to its end holds nothing worth
 * purging any more: its bit is cleared.  False also if the walk met bad
 * links (the bins were rebuilt, every bit set).
 */
static bool purge_bin(struct heap *h, unsigned i)
{
	for (struct heap_block *f = h->bin[i]; f; f = links(f)->next) {
		if (!links_sound(h, f, f == h->bin[i]))
			return false;
		if (committed_inner(h, f) < h->purge_min)
			continue;
		purge_whole(h, f);
		if (!over_cap(h))
			return true;
	}
	bins_del(&h->purge_dirty, i);
	return false;
}

/*
 * Bring the heap under its cap (over_cap), purging the biggest free
 * blocks first: best fit takes them last, so they stay purged longest
 * (smallest first made more page faults on the host's `mixed`
 * benchmark, oldest first no fewer).  Bins hold blocks in address
 * order, so the walk goes bin by bin from the largest blocks down,
 * through the bins that may hold something worth purging (purge_dirty):
 * without that, every call stepped again over the big blocks purged by
 * the calls before.
 */
static __attribute__((noinline)) void purge_walk(struct heap *h)
{
	unsigned rebuilds, low = bin_of(h->purge_min + MIN_BLOCK);

	do {
		rebuilds = h->rebuilds;
		for (int i = HEAP_BINS; (i = bins_prev(&h->purge_dirty, (unsigned)i)) >= (int)low;) {
			if (purge_bin(h, (unsigned)i))
				return;
			if (h->rebuilds != rebuilds)
				break;
		}
	} while (h->rebuilds != rebuilds);
}

/* Every free and grow ends here: the test is kept apart from the walk, so that it costs no frame. */
static void purge_excess(struct heap *h)
{
	if (h->purge_min && over_cap(h))
		purge_walk(h);
}

/* Make at least `need` more bytes available at the top. */
static bool grow(struct heap *h, size_t need)
{
	size_t want = align_up(need + MIN_BLOCK, h->page_size);
	size_t step = want > h->grow_step ? want : h->grow_step;

	if (h->limit - h->end < step)
		step = want;
	if (h->limit - h->end < step || !h->backend.grow(h->backend.ctx, h->end, step))
		return false;
	/* The old fence becomes the header of a free block over the new space. */
	struct heap_block *b = fence(h);
	h->end += step;
	write_fence(h, false);
	make_free(h, b, step, NULL, true);
	h->stats.heap_size += step;
	if (h->stats.heap_size > h->stats.peak_heap_size)
		h->stats.peak_heap_size = h->stats.heap_size;
	note_committed(h);
	h->stats.grows++;
	release_block(h, b);
	return true;
}

/* Give back the free pages at the top, leaving `leave` free bytes mapped. */
static void trim_top(struct heap *h, size_t leave)
{
	struct heap_block *f = fence(h);

	if (f->size & FLAG_PREV_IN_USE)
		return;
	struct heap_block *last = prev_block(f);
	uintptr_t floor = h->base + (h->keep > h->page_size ? h->keep : h->page_size);
	uintptr_t new_end = align_up((uintptr_t)last + HDR + leave, h->page_size);
	if (new_end - HDR != (uintptr_t)last && new_end - HDR - (uintptr_t)last < MIN_BLOCK)
		new_end += h->page_size;
	if (new_end < floor)
		new_end = floor;
	if (new_end >= h->end)
		return;

	/* The new fence's page must be committed.  The released pages may
	 * include purged ones: the backend's shrink takes both. */
	uintptr_t pf = last->purged_from, pt = last->purged_to;
	uintptr_t fence_page = new_end - h->page_size;
	if (pf && pf <= fence_page && pt > fence_page && !commit(h, fence_page, new_end))
		return;
	size_t released = h->end - new_end;
	list_remove(h, last);
	h->stats.free_bytes -= block_size(last);
	h->stats.free_blocks--;
	h->end = new_end;
	if ((uintptr_t)last == new_end - HDR) {
		write_fence(h, true); /* the free block is gone: its header is the fence */
	} else {
		write_fence(h, false);
		make_free(h, last, new_end - HDR - (uintptr_t)last, last->caller, false);
		last->purged_from = pf && pf < fence_page ? pf : 0;
		last->purged_to = last->purged_from ? (pt < fence_page ? pt : fence_page) : 0;
		h->stats.free_bytes += block_size(last);
		h->stats.free_blocks++;
		list_add(h, last);
	}
	h->backend.shrink(h->backend.ctx, new_end, released);
	uintptr_t gone = pf > new_end ? pf : new_end; /* purged pages now beyond the end */
	if (pf && gone < pt) {
		map_pages(h, gone, pt, false);
		h->stats.purged -= pt - gone;
	}
	h->stats.heap_size -= released;
	note_committed(h);
	h->stats.shrinks++;
}

void heap_trim(struct heap *h)
{
	trim_top(h, 0);
}

void heap_decay(struct heap *h, unsigned frees)
{
	sink_peak(h, frees);
	purge_excess(h);
}

static size_t block_need(const struct heap *h, size_t size)
{
	size_t need = align_up(HDR + size + (h->debug ? REDZONE : 0), HEAP_ALIGN);
	return need < MIN_BLOCK ? MIN_BLOCK : need;
}

bool heap_init(struct heap *h, uintptr_t base, uintptr_t limit, const struct heap_config *cfg,
	       const struct heap_backend *backend)
{
	size_t page_size = cfg->page_size;

	memset(h, 0, sizeof(*h));
	h->base = h->end = base;
	h->limit = limit;
	h->page_size = page_size;
	h->page_shift = page_size ? (unsigned)__builtin_ctzl((unsigned long)page_size) : 0;
	h->grow_step = align_up(cfg->grow_step > page_size ? cfg->grow_step : page_size, page_size);
	h->keep = align_up(cfg->keep, page_size); /* trimming works in whole pages */
	if (backend->commit && backend->decommit && cfg->purge_map) { /* else purging is off */
		h->purge_min = cfg->purge_min;
		h->purge_keep = cfg->purge_keep;
		size_t pct = cfg->purge_peak_pct < 1000 ? cfg->purge_peak_pct : 1000;
		h->purge_share = (uint32_t)((pct << 16) / 100);
		h->purge_decay = cfg->purge_decay < 48 ? cfg->purge_decay : 48;
		if (!h->purge_decay)
			h->purge_decay = HEAP_PURGE_DECAY;
		h->purge_map = cfg->purge_map;
	}
	h->fit = cfg->fit;
	h->debug = cfg->debug;
	h->split_rest = cfg->split_min ? block_need(h, cfg->split_min) : MIN_BLOCK;
	h->backend = *backend;
	size_t initial = align_up(cfg->initial > page_size ? cfg->initial : page_size, page_size);
	if (!page_size || page_size & (page_size - 1) || base % page_size || limit <= base ||
	    initial > limit - base || !backend->grow(backend->ctx, base, initial))
		return false;
	h->end = base + initial;
	struct heap_block *first = (struct heap_block *)base;
	first->size = FLAG_PREV_IN_USE;
	write_fence(h, false);
	make_free(h, first, initial - HDR, NULL, true);
	memset(h->lowest, 0xFF, sizeof(h->lowest)); /* UINTPTR_MAX: no block below */
	list_insert_after(h, NULL, first);
	h->stats.heap_size = h->stats.peak_heap_size = initial;
	h->stats.committed = h->stats.peak_committed = initial;
	h->stats.free_bytes = block_size(first);
	h->stats.free_blocks = 1;
	purge_excess(h); /* an initial reserve bigger than the keep */
	return true;
}

/* ---- allocation ------------------------------------------------------------------- */

/* Bytes before an `align`-aligned payload in `b`: 0, or a gap big enough to be a block. */
static size_t lead_for(const struct heap_block *b, size_t align)
{
	uintptr_t p = (uintptr_t)payload(b);
	size_t lead = align_up(p, align) - p;

	while (lead && lead < MIN_BLOCK)
		lead += align;
	return lead;
}

static bool fits(const struct heap_block *b, size_t need, size_t align)
{
	return block_size(b) >= need + lead_for(b, align);
}

/*
 * Does an allocation of `need` bytes after `lead` out of free block `b`
 * leave a rest that becomes a free block of its own?  A smaller rest
 * stays with the allocated block (heap_config.split_min says why).
 */
static bool splits_off(const struct heap *h, const struct heap_block *b, size_t lead, size_t need)
{
	return block_size(b) - lead - need >= h->split_rest;
}

/*
 * The purged pages of free block `b` that an allocation of `need` bytes
 * after `lead` would use, [*lo, *hi) (empty if none): the new block's,
 * and the page of the rest's header -- or all of them, if the rest stays
 * with the block.
 */
static void commit_range(const struct heap *h, const struct heap_block *b, size_t lead, size_t need,
			 uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t at = (uintptr_t)b + lead, page = at & ~(uintptr_t)(h->page_size - 1);
	uintptr_t end = splits_off(h, b, lead, need) ? align_up(at + need + MIN_BLOCK, h->page_size)
						     : b->purged_to;

	*lo = b->purged_from > page ? b->purged_from : page;
	*hi = end < b->purged_to ? end : b->purged_to;
}

/* Can `b` serve the allocation without committing pages? */
static bool fits_committed(const struct heap *h, const struct heap_block *b, size_t need, size_t align)
{
	uintptr_t lo, hi;

	if (!b->purged_from)
		return true;
	commit_range(h, b, lead_for(b, align), need, &lo, &hi);
	return lo >= hi;
}

/* The first block of bin i, in address order, in [from, below) that fits; NULL if none. */
static struct heap_block *first_in_bin(struct heap *h, unsigned i, size_t need, size_t align,
				       uintptr_t from, uintptr_t below)
{
	for (struct heap_block *b = h->bin[i]; b && (uintptr_t)b < below; b = links(b)->next) {
		if (!links_sound(h, b, b == h->bin[i]))
			return NULL; /* the bins were rebuilt: the caller starts again */
		if ((uintptr_t)b >= from && fits(b, need, align))
			return b;
	}
	return NULL;
}

/*
 * The lowest-addressed block at or above `from` that fits.  Only bins up
 * to bin_of(sure) can hold blocks too small (or too badly placed for the
 * alignment) to fit; those are walked, each only as far as the best
 * candidate so far.  Above them every block fits, so from `base` the best
 * of them is the lowest bin head, which the tree gives at once; from
 * elsewhere (next fit) each of those bins is walked too.
 */
static struct heap_block *lowest_fit(struct heap *h, size_t need, size_t align, uintptr_t from)
{
	size_t sure = align > HEAP_ALIGN ? need + align + MIN_BLOCK : need;
	unsigned lo = bin_of(need), hi = bin_of(sure), top = HEAP_BINS - 1;
	struct heap_block *best = NULL;

	if (from == h->base) {
		best = hi < top ? lowest_head(h, hi + 1) : NULL;
		if (best && !links_ok(h, best))
			return NULL;
		top = hi;
	}
	for (int i = bins_next(&h->nonempty, lo); i >= 0 && (unsigned)i <= top;
	     i = bins_next(&h->nonempty, (unsigned)i + 1)) {
		struct heap_block *b = first_in_bin(h, (unsigned)i, need, align, from,
						    best ? (uintptr_t)best : UINTPTR_MAX);
		if (b)
			best = b;
	}
	return best;
}

/*
 * The smallest block that fits, the lowest-addressed of equals: the bins
 * grow with size, so it is in the first bin that has a fitting block.
 * With purging, a block the allocation can use without committing pages
 * comes first: the smallest of those, else the smallest of all.  Taking
 * purged pages only when nothing committed fits keeps them purged, where
 * plain best fit would often pick one and fault its pages in again.
 */
static struct heap_block *best_fit(struct heap *h, size_t need, size_t align)
{
	struct heap_block *any = NULL;

	for (int i = bins_next(&h->nonempty, bin_of(need)); i >= 0;
	     i = bins_next(&h->nonempty, (unsigned)i + 1)) {
		struct heap_block *found = NULL, *first = NULL;
		for (struct heap_block *b = h->bin[i]; b; b = links(b)->next) {
			if (!links_sound(h, b, b == h->bin[i]))
				return NULL;
			if (!fits(b, need, align))
				continue;
			if (!first || block_size(b) < block_size(first))
				first = b;
			if (fits_committed(h, b, need, align) && (!found || block_size(b) < block_size(found)))
				found = b;
		}
		any = any ? any : first;
		if (found || (any && !h->purge_min))
			return found ? found : any;
	}
	return any;
}

static struct heap_block *search(struct heap *h, size_t need, size_t align)
{
	struct heap_block *b;

	switch (h->fit) {
	case HEAP_NEXT_FIT:
		b = lowest_fit(h, need, align, h->rover);
		return b || h->rover == h->base ? b : lowest_fit(h, need, align, h->base);
	case HEAP_BEST_FIT:
		return best_fit(h, need, align);
	case HEAP_FIRST_FIT:
		break;
	}
	return lowest_fit(h, need, align, h->base);
}

/* search(), again whenever it met damaged links and the bins were rebuilt under it. */
static struct heap_block *find_fit(struct heap *h, size_t need, size_t align)
{
	struct heap_block *b;
	unsigned rebuilds;

	do {
		rebuilds = h->rebuilds;
		b = search(h, need, align);
	} while (h->rebuilds != rebuilds);
	return b;
}

/*
 * Cut free block `b` (on no bin) so that it keeps `size` bytes; the rest
 * becomes a free block of its own, on no bin yet, which is returned.
 */
static struct heap_block *split(struct heap *h, struct heap_block *b, size_t size)
{
	size_t rest = block_size(b) - size;
	struct heap_block *r = (struct heap_block *)((uintptr_t)b + size);

	set_size(b, size, b->size & FLAGS_MASK);
	r->size = 0; /* prev (b) is free: no PREV_IN_USE */
	make_free(h, r, rest, b->caller, false);
	mark_prev_state(r, b);
	h->stats.free_blocks++;
	return r;
}

/*
 * Check the poison of free block `b` where an allocation is about to use
 * it (debug): its first `bytes`, which cover the block handed out, a gap
 * before it, and the header of any rest.  Once reported, the poison there
 * is restored: a gap left free must not be reported again.  The rest is
 * checked when it is handed out in turn.
 */
static void check_poison(struct heap *h, struct heap_block *b, size_t bytes)
{
	uintptr_t to = (uintptr_t)b + (bytes < block_size(b) ? bytes : block_size(b));

	if (h->debug && !free_poison(b, to, false)) {
		report(h, HEAP_ERR_USE_AFTER_FREE, payload(b), "freed block written after free");
		free_poison(b, to, true);
	}
}

/*
 * Commit the purged pages of free block `b` that the allocation will
 * use; false (nothing changed) if there is no memory.
 */
static bool commit_for(struct heap *h, struct heap_block *b, size_t lead, size_t need)
{
	uintptr_t lo, hi;

	commit_range(h, b, lead, need, &lo, &hi);
	return commit(h, lo, hi);
}

/* Free block f keeps what lies among its own inner pages of the purged run [from, to). */
static void clip_purge(const struct heap *h, struct heap_block *f, uintptr_t from, uintptr_t to)
{
	uintptr_t lo = inner_lo(h, f) > from ? inner_lo(h, f) : from;
	uintptr_t hi = inner_hi(h, f) < to ? inner_hi(h, f) : to;

	f->purged_from = lo < hi ? lo : 0;
	f->purged_to = lo < hi ? hi : 0;
}

/*
 * After carve() took block `b` out of a free block whose pages [from,
 * to) were purged: the gap before b and the rest after it keep what is
 * still purged of their own inner pages (commit_for committed the pages
 * between).
 */
static void split_purge(struct heap *h, struct heap_block *b, uintptr_t from, uintptr_t to)
{
	struct heap_block *gap = b->size & FLAG_PREV_IN_USE ? NULL : prev_block(b);
	struct heap_block *rest = next_block(b);

	if (rest == fence(h) || in_use(rest))
		rest = NULL;
	/* A clipped run leaves more of its block committed: worth purging again, maybe. */
	for (int i = 0; i < 2; i++) {
		struct heap_block *f = i ? rest : gap;
		if (f) {
			clip_purge(h, f, from, to);
			note_purgeable(h, f, bin_of(block_size(f)));
		}
	}
}

/*
 * Take a block of `need` bytes with an `align`-aligned payload out of free
 * block `b` (on its bin) and return it; what is left before it stays
 * free, and so does what is left after it if it is a rest worth keeping
 * (splits_off), else the block keeps it.
 */
static struct heap_block *carve(struct heap *h, struct heap_block *b, size_t need, size_t align)
{
	size_t lead = lead_for(b, align), rest = block_size(b) - lead - need;
	bool split_rest = splits_off(h, b, lead, need);
	unsigned bin = bin_of(block_size(b));

	h->stats.free_blocks--;
	h->stats.free_bytes -= block_size(b);
	if (!lead && split_rest && bin_of(rest) == bin) {
		/* The rest stays in b's bin between the same neighbours: it takes b's place. */
		list_replace(h, bin, b, (struct heap_block *)((uintptr_t)b + need));
		h->stats.free_bytes += rest;
		split(h, b, need);
		return b;
	}
	list_remove(h, b);
	if (lead) { /* the gap before an aligned payload stays free */
		struct heap_block *gap = b;
		b = split(h, gap, lead);
		h->stats.free_bytes += lead;
		list_add(h, gap);
	}
	if (split_rest) {
		struct heap_block *r = split(h, b, need);
		h->stats.free_bytes += rest;
		list_add(h, r);
	}
	return b;
}

/* Count a failed allocation: it may still have grown the heap, and the cap holds after it too. */
static void *alloc_failed(struct heap *h, size_t committed)
{
	h->stats.failed++;
	if (h->stats.committed > committed)
		purge_excess(h);
	return NULL;
}

void *heap_alloc(struct heap *h, size_t size, size_t align, const void *caller)
{
	if (align < HEAP_ALIGN)
		align = HEAP_ALIGN;
	if ((align & (align - 1)) || size > h->limit - h->base || align > h->limit - h->base) {
		h->stats.failed++;
		return NULL;
	}
	size_t need = block_need(h, size), committed = h->stats.committed;
	struct heap_block *b = find_fit(h, need, align);
	if (!b && grow(h, need + align))
		b = find_fit(h, need, align);
	if (!b)
		return alloc_failed(h, committed);
	size_t lead = lead_for(b, align);
	check_poison(h, b, splits_off(h, b, lead, need) ? lead + need + MIN_BLOCK : block_size(b));
	uintptr_t purged_from = b->purged_from, purged_to = b->purged_to;
	if (purged_from && !commit_for(h, b, lead, need))
		return alloc_failed(h, committed);
	b = carve(h, b, need, align);
	if (purged_from)
		split_purge(h, b, purged_from, purged_to);
	h->rover = (uintptr_t)next_block(b);
	make_used(h, b, block_size(b), size, caller);

	h->stats.allocs++;
	h->stats.live_blocks++;
	h->stats.in_use += block_size(b);
	h->stats.requested += size;
	if (h->stats.in_use > h->stats.peak_in_use)
		h->stats.peak_in_use = h->stats.in_use;
	if (h->stats.in_use > h->purge_ref)
		h->purge_ref = h->stats.in_use;
	if (h->stats.requested > h->stats.peak_requested)
		h->stats.peak_requested = h->stats.requested;
	if (h->stats.committed > committed) /* grown, or purged pages taken */
		purge_excess(h);
	return payload(b);
}

/* ---- freeing ------------------------------------------------------------------------- */

/* Grow free block `b` over the free block `next` that follows it. */
static void merge(struct heap *h, struct heap_block *b, struct heap_block *next)
{
	set_size(b, block_size(b) + block_size(next), b->size & FLAGS_MASK);
	next->magic = magic_for(next, MAGIC_MERGED); /* a later free of it: double free */
	if (h->debug) /* next's header and links are payload now; its poison stays as it is */
		memset(next, POISON_BYTE, HDR + sizeof(struct free_links));
	mark_prev_state(next_block(b), b);
	h->stats.free_blocks--;
}

/*
 * Put the new free block `b` (on no bin, counted in no statistics) into
 * the heap, merged with its free neighbours.  Their links are vetted
 * first: if that rebuilds the bins, the rebuild has put b on one as a
 * block of its own, and it comes off again before the merge.  The merged
 * block often stays in the bin of a neighbour it absorbed; then it takes
 * that neighbour's place (nothing of that bin lies between them), and no
 * walk is needed to find its place in address order.
 */
static void release_block(struct heap *h, struct heap_block *b)
{
	struct heap_block *next = next_block(b), *prev = prev_block(b);
	bool next_free = next != fence(h) && !in_use(next);
	bool prev_free = !(b->size & FLAG_PREV_IN_USE);
	unsigned rebuilds = h->rebuilds;
	/* Where the neighbours' purged pages start, read before the merge rewrites them. */
	uintptr_t p_lo = prev_free ? prev->purged_from : 0, p_hi = prev_free ? prev->purged_to : 0;
	uintptr_t n_lo = next_free ? next->purged_from : 0, n_hi = next_free ? next->purged_to : 0;

	h->stats.free_blocks++;
	h->stats.free_bytes += block_size(b);
	if (prev_free)
		links_ok(h, prev);
	if (next_free)
		links_ok(h, next);
	if (h->rebuilds != rebuilds)
		list_remove(h, b);

	struct heap_block *m = prev_free ? prev : b;
	unsigned bin = bin_of((prev_free ? block_size(prev) : 0) + block_size(b) +
			      (next_free ? block_size(next) : 0));
	bool placed = h->rebuilds == rebuilds; /* else every link was vetted anew: keep it simple */
	if (placed && prev_free && bin_of(block_size(prev)) == bin) {
		if (next_free)
			list_remove(h, next);
	} else if (placed && next_free && bin_of(block_size(next)) == bin) {
		if (prev_free)
			list_remove(h, prev);
		list_replace(h, bin, next, m);
	} else {
		placed = false;
		if (prev_free)
			list_remove(h, prev);
		if (next_free)
			list_remove(h, next);
	}
	if (prev_free)
		merge(h, prev, b);
	if (next_free)
		merge(h, m, next);
	if (!placed)
		list_add(h, m);
	settle_purge(h, m, p_lo, p_hi, n_lo, n_hi);
}

static int unknown_block(const char **detail)
{
	*detail = "no block starts here (interior pointer, or a smashed header)";
	return HEAP_ERR_INVALID_FREE;
}

/*
 * The header at `b` is not a live block's.  Debug mode can afford to find
 * out what `b` really is by walking the heap from its base.
 */
static int classify_by_walk(const struct heap *h, const struct heap_block *b, const char **detail)
{
	for (struct heap_block *c = (struct heap_block *)h->base; c != fence(h); c = next_block(c)) {
		if (b == c) {
			*detail = "the block's header was overwritten";
			return HEAP_ERR_SMASHED_HEADER;
		}
		if (!size_sane(h, c))
			break; /* a damaged header on the way: the walk cannot go on */
		if (b < c || b >= next_block(c))
			continue;
		if (!in_use(c)) {
			*detail = "inside a free block: freed before, and merged with a neighbour";
			return HEAP_ERR_DOUBLE_FREE;
		}
		*detail = "points into the middle of a live block";
		return HEAP_ERR_INVALID_FREE;
	}
	return unknown_block(detail);
}

/*
 * Do b's neighbours agree with its header, so that freeing b merges with
 * the right memory?  The block at b + size must be the fence or a sound
 * block (a sane size, the magic its IN_USE flag calls for) that knows b is
 * in use -- a short overflow out of b leaves the next magic intact but not
 * the size.  If b says the block before is free, that block must be free
 * and b's boundary tag must be its size.
 */
static bool neighbours_agree(const struct heap *h, const struct heap_block *b)
{
	const struct heap_block *next = next_block(b), *prev = prev_block(b);

	/* b's size or boundary tag may be smashed: no reading into purged pages */
	if (!readable(h, (uintptr_t)next, HDR) || !(next->size & FLAG_PREV_IN_USE))
		return false;
	if (next == fence(h) ? !has_magic(next, MAGIC_FENCE)
			     : !size_sane(h, next) ||
				       !has_magic(next, in_use(next) ? MAGIC_USED : MAGIC_FREE))
		return false;
	return (b->size & FLAG_PREV_IN_USE) ||
	       (b->prev_size <= (uintptr_t)b - h->base && readable(h, (uintptr_t)prev, HDR) &&
		listable(h, prev) &&
		block_size(prev) == b->prev_size);
}

/* Why `p` cannot be freed, or -1 if it is a healthy live block. */
static int free_problem(struct heap *h, const void *p, const char **detail)
{
	struct heap_block *b = block_of(p);

	if ((uintptr_t)p % HEAP_ALIGN || !plausible(h, b)) {
		*detail = "not a pointer into this heap";
		return HEAP_ERR_INVALID_FREE;
	}
	if (!readable(h, (uintptr_t)b, HDR)) { /* only free blocks have purged pages */
		*detail = "inside a free block whose memory was given back: freed before";
		return HEAP_ERR_DOUBLE_FREE;
	}
	if (has_magic(b, MAGIC_FREE) || has_magic(b, MAGIC_MERGED)) {
		*detail = "block is already free";
		return HEAP_ERR_DOUBLE_FREE;
	}
	if (!has_magic(b, MAGIC_USED))
		return h->debug ? classify_by_walk(h, b, detail) : unknown_block(detail);
	if (!in_use(b) || !size_sane(h, b) || b->requested > block_size(b) - HDR) {
		*detail = "header fields overwritten";
		return HEAP_ERR_SMASHED_HEADER;
	}
	/* An overrun damages the red zone's first bytes before any header after
	 * it; with a wrong size in b's header, the red zone only seems to end
	 * elsewhere, and the neighbours disagree. */
	bool agree = neighbours_agree(h, b);
	if (h->debug && (!redzone_intact(b, REDZONE) || (agree && !redzone_intact(b, SIZE_MAX)))) {
		*detail = "bytes written past the end of the block";
		return HEAP_ERR_OVERRUN;
	}
	if (!agree) {
		*detail = "a neighbour's header disagrees (overwritten)";
		return HEAP_ERR_SMASHED_HEADER;
	}
	return -1;
}

bool heap_free(struct heap *h, void *p, const void *caller)
{
	const char *detail;

	if (!p)
		return true;
	int problem = free_problem(h, p, &detail);
	struct heap_block *b = block_of(p);
	if (problem < 0 && h->own_caller && b->caller == h->own_caller && caller != h->own_caller) {
		problem = HEAP_ERR_INVALID_FREE;
		detail = "the allocator's own block (a slab's page), not an allocation";
	}
	if (problem >= 0) {
		report(h, (enum heap_error)problem, p, detail);
		return false;
	}
	size_t size = block_size(b);
	h->stats.frees++;
	h->stats.live_blocks--;
	h->stats.in_use -= size;
	sink_peak(h, 1);
	h->stats.requested -= b->requested;
	make_free(h, b, size, caller, true);
	release_block(h, b);
	/* Hysteresis: give memory back only when a whole growth step more than
	 * one step is free at the top, and keep one step for the next growth. */
	struct heap_block *f = fence(h);
	if (!(f->size & FLAG_PREV_IN_USE) && f->prev_size >= 2 * h->grow_step)
		trim_top(h, h->grow_step);
	purge_excess(h);
	return true;
}

/* ---- queries ------------------------------------------------------------------------------ */

bool heap_owns(struct heap *h, const void *p)
{
	const char *detail;
	return p && free_problem(h, p, &detail) < 0;
}

size_t heap_usable_size(struct heap *h, const void *p)
{
	if (!heap_owns(h, p))
		return 0;
	struct heap_block *b = block_of(p);
	return h->debug ? b->requested : block_size(b) - HDR;
}

bool heap_block_info(struct heap *h, const void *p, struct heap_block_info *info)
{
	const char *detail;
	int problem = p ? free_problem(h, p, &detail) : HEAP_ERR_INVALID_FREE;

	/* An overrun block is still a live block: say whose it is. */
	if (problem >= 0 && problem != HEAP_ERR_OVERRUN)
		return false;
	const struct heap_block *b = block_of(p);
	*info = (struct heap_block_info){ (void *)p, b->requested,
					  h->debug ? b->requested : block_size(b) - HDR, b->caller,
					  b->seq };
	return true;
}

bool heap_freed_info(struct heap *h, const void *p, struct heap_block_info *info)
{
	const struct heap_block *b = block_of(p);

	if ((uintptr_t)p % HEAP_ALIGN || !plausible(h, b) || !readable(h, (uintptr_t)b, HDR) ||
	    !has_magic(b, MAGIC_FREE) || in_use(b))
		return false;
	*info = (struct heap_block_info){ (void *)p, 0, block_size(b) - HDR, b->caller, b->seq };
	return true;
}

void heap_for_each_live(struct heap *h, uint32_t since,
			void (*fn)(void *arg, const struct heap_block_info *b), void *arg)
{
	for (struct heap_block *b = (struct heap_block *)h->base; b != fence(h); b = next_block(b)) {
		struct heap_block_info info;
		if (in_use(b) && b->seq >= since && heap_block_info(h, payload(b), &info))
			fn(arg, &info);
		if (!size_sane(h, b))
			break; /* a damaged header: the walk cannot go on */
	}
}

/* ---- checking everything ----------------------------------------------------------- */

/* Are free block b's purged pages (if any) a run of whole pages inside it? */
static bool purge_sound(const struct heap *h, const struct heap_block *b)
{
	return !b->purged_from ||
	       (b->purged_from % h->page_size == 0 && b->purged_to % h->page_size == 0 &&
		b->purged_from >= inner_lo(h, b) && b->purged_from < b->purged_to &&
		b->purged_to <= inner_hi(h, b));
}

/* One block's own invariants; false if walking on from it is unsafe. */
static bool check_block(struct heap *h, struct heap_block *b, bool prev_free, size_t prev_size,
			struct invariant_check *c)
{
	size_t size = block_size(b);

	if (!size_sane(h, b)) {
		invariant_broken(c, "block size out of range: the walk stops here");
		return false;
	}
	if (!has_magic(b, in_use(b) ? MAGIC_USED : MAGIC_FREE))
		invariant_broken(c, "block header magic wrong");
	if (!(b->size & FLAG_PREV_IN_USE) != prev_free)
		invariant_broken(c, "PREV_IN_USE flag disagrees with the previous block");
	if (prev_free && b->prev_size != prev_size)
		invariant_broken(c, "boundary tag (prev_size) disagrees with the previous block");
	if (prev_free && !in_use(b))
		invariant_broken(c, "two free blocks side by side (coalescing missed)");
	if (in_use(b) && b->requested > size - HDR)
		invariant_broken(c, "requested size larger than the block");
	else if (in_use(b) && h->debug && !redzone_intact(b, SIZE_MAX))
		invariant_broken(c, "red zone after a live block written (overrun)");
	if (!in_use(b) && !purge_sound(h, b))
		invariant_broken(c, "a free block's purged pages are not whole pages inside it");
	else if (!in_use(b) && h->debug && !free_poison(b, (uintptr_t)b + size, false))
		invariant_broken(c, "poison of a free block disturbed (write after free)");
	return true;
}

/*
 * Every bin holds free blocks of its own size range only, in strictly
 * increasing address order with sound back links, and together the bins
 * hold as many blocks as the walk found free: so each free block is in
 * exactly one bin, the right one (it cannot be in another bin, nor twice
 * in its own).  Every node of the tree holds the lower of its children.
 */
static void check_bins(struct heap *h, size_t free_blocks, struct invariant_check *c)
{
	size_t n = 0;

	for (unsigned i = 0; i < HEAP_BINS; i++) {
		struct heap_block *prev = NULL;
		for (struct heap_block *f = h->bin[i]; f; prev = f, f = links(f)->next) {
			if (!plausible(h, f) || in_use(f) || !has_magic(f, MAGIC_FREE)) {
				invariant_broken(c, "a bin holds something that is not a free block");
				return;
			}
			if (bin_of(block_size(f)) != i) {
				invariant_broken(c, "a free block is in the wrong bin for its size");
				return;
			}
			if (links(f)->prev != prev || (prev && prev >= f)) {
				invariant_broken(c, "bin links or address order broken");
				return;
			}
			if (++n > free_blocks) {
				invariant_broken(c, "bins hold more blocks than are free (a cycle?)");
				return;
			}
		}
	}
	if (n != free_blocks)
		invariant_broken(c, "bins miss free blocks");
	for (unsigned i = 0; i < HEAP_BINS; i++)
		if (bins_has(&h->nonempty, i) != (h->bin[i] != NULL) ||
		    !h->nonempty.word[i / WORD_BITS] != !(h->nonempty.words >> (i / WORD_BITS) & 1)) {
			invariant_broken(c, "the set of non-empty bins is stale");
			return;
		}
	for (unsigned t = 1; t < HEAP_BINS; t++)
		if (h->lowest[t] != min_addr(node_low(h, 2 * t), node_low(h, 2 * t + 1))) {
			invariant_broken(c, "the tree of lowest bin heads is stale");
			return;
		}
}

unsigned heap_check(struct heap *h, char *why, size_t why_size)
{
	struct invariant_check c;
	size_t free_blocks = 0, free_bytes = 0, live = 0, in_use_bytes = 0, requested = 0, purged = 0;
	bool prev_free = false, purgeable = false;
	size_t prev_size = 0;
	struct heap_block *b = (struct heap_block *)h->base;

	invariant_check_start(&c, why, why_size);
	for (; b != fence(h); b = next_block(b)) {
		if (!check_block(h, b, prev_free, prev_size, &c))
			return c.problems;
		prev_free = !in_use(b);
		prev_size = block_size(b);
		if (prev_free) {
			free_blocks++;
			free_bytes += prev_size;
			purged += purged_bytes(b);
			bool worth = h->purge_min && committed_inner(h, b) >= h->purge_min;
			if (worth && !bins_has(&h->purge_dirty, bin_of(prev_size)))
				invariant_broken(&c, "a free block worth purging is in a bin marked clean");
			purgeable |= worth;
			for (uintptr_t a = b->purged_from; purge_sound(h, b) && a && a < b->purged_to;
			     a += h->page_size)
				if (!heap_page_purged(h, a)) {
					invariant_broken(&c, "a purged page is not marked in the purge map");
					break;
				}
		} else {
			live++;
			in_use_bytes += prev_size;
			requested += b->requested;
		}
	}
	if (!has_magic(b, MAGIC_FENCE) || !in_use(b) || !(b->size & FLAG_PREV_IN_USE) != prev_free)
		invariant_broken(&c, "the fence block at the top is damaged");
	check_bins(h, free_blocks, &c);
	if (free_blocks != h->stats.free_blocks || free_bytes != h->stats.free_bytes ||
	    live != h->stats.live_blocks || in_use_bytes != h->stats.in_use ||
	    requested != h->stats.requested || h->end - h->base != h->stats.heap_size)
		invariant_broken(&c, "statistics disagree with the blocks");
	/* Purged pages are only ever inside free blocks (each checked above), so
	 * the free blocks' purged pages are all the heap's. */
	size_t marked = 0; /* so the map marks no page outside the free blocks' purged ones */
	for (uintptr_t a = h->base; h->purge_map && a < h->end; a += h->page_size)
		marked += heap_page_purged(h, a);
	if (marked * h->page_size != purged)
		invariant_broken(&c, "the purge map marks pages that no free block has purged");
	if (purged != h->stats.purged || h->stats.committed != h->stats.heap_size - purged ||
	    h->stats.peak_committed < h->stats.committed || (!h->backend.decommit && purged))
		invariant_broken(&c, "purged or committed bytes disagree with the free blocks");
	/* Between calls the policy holds: under the cap, or nothing left to purge. */
	if (purgeable && over_cap(h))
		invariant_broken(&c, "over the purge cap while a free block could be purged");
	return c.problems;
}

/* The largest free block is in the highest non-empty bin. */
void heap_largest_free(struct heap *h)
{
	size_t largest = 0;
	unsigned rebuilds = h->rebuilds;
	unsigned i = HEAP_BINS;

	while (i && !h->bin[i - 1])
		i--;
	for (struct heap_block *f = i ? h->bin[i - 1] : NULL; f; f = links(f)->next) {
		if (!links_ok(h, f))
			break;
		if (block_size(f) > largest)
			largest = block_size(f);
	}
	h->stats.largest_free = largest;
	if (h->rebuilds != rebuilds)
		heap_largest_free(h); /* over the rebuilt bins */
}

size_t heap_overhead_per_block(const struct heap *h)
{
	return HDR + (h->debug ? REDZONE : 0);
}

const char *heap_error_name(enum heap_error e)
{
	switch (e) {
	case HEAP_ERR_DOUBLE_FREE:    return "double free";
	case HEAP_ERR_INVALID_FREE:   return "invalid free";
	case HEAP_ERR_SMASHED_HEADER: return "smashed block header";
	case HEAP_ERR_OVERRUN:        return "buffer overrun (red zone written)";
	case HEAP_ERR_USE_AFTER_FREE: return "write after free";
	case HEAP_ERR_COUNT:          break;
	}
	return "?";
}
