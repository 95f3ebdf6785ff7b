/*
 * fuzz_pagetable.c - libFuzzer target for the page-table editor.
 *
 * The input is a sequence of 5-byte calls -- pt_map (often 4 MiB-aligned
 * with PT_LARGE), pt_unmap, pt_protect, pt_replace, pt_free_tables, a
 * table-allocation budget for the next call, pt_for_each_range, pt_clone
 * into a second, empty address space -- aimed at three windows of
 * four directory slots each: the bottom of the address space (page 0), the
 * user/kernel boundary at 3 GiB, and the top (ranges ending at 4 GiB).
 * Addresses, lengths and flags are often wrong on purpose.
 *
 * A model with one state per 4 KiB page, and per slot "one 4 MiB page or
 * not", predicts every result.  After each call the window's slots are
 * walked the way the MMU walks them (a 4 MiB PDE, or a table; RW and US
 * the AND of both levels) and compared with the model; a refused call must
 * leave the directory and tables byte for byte as they were, and a page
 * whose present translation changed must have been flushed after the
 * change.  A pt_clone (copy-on-write: the source loses RW, the copy is the
 * source's entry without it) must give one table per present source table,
 * every copied page must walk in the copy as in the source, the source must
 * have lost RW exactly where a copy was made and be flushed over the whole
 * range; the copy is then freed.  At the end everything is unmapped and every table frame must be
 * back.  Any disagreement traps.  (tests/host/test_pagetable.c checks the
 * same rules more thoroughly on fixed seeds; this explores call orders.)
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "mm/mm_log.h"
#include "mm/pagetable.h"

void mm_warn(const char *fmt, ...)
{
	(void)fmt;
}


#define FOUR_GIB 0x100000000ull
#define LARGE LARGE_PAGE_SIZE
#define KERNEL_SLOT 768u
#define WINDOWS 3
#define WSLOTS 4                      /* slots per window */
#define WPAGES (WSLOTS * ENTRIES_PER_TABLE)
#define NFRAMES 64                    /* table frames; a window needs at most 4 */
#define FRAME_BASE 0x00100000u        /* "physical" address of frame 0 */
#define DIR_PA (FRAME_BASE + NFRAMES * PAGE_SIZE)
#define CHILD_DIR_PA (DIR_PA + PAGE_SIZE) /* pt_clone's destination */
#define LEAF (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_G | PTE_AVAIL_MASK)

static const unsigned window_slot[WINDOWS] = { 0, 766, 1020 };

/* Simulated memory: NFRAMES table frames, the directory, the clone's directory. */
static uint32_t mem[NFRAMES + 2][ENTRIES_PER_TABLE];
static bool frame_used[NFRAMES], frame_child[NFRAMES];
static unsigned frames_used;
static long alloc_budget; /* < 0: no limit */
static unsigned call_allocs, call_alloc_fails;
static struct pagetable pt, child;

/* The directory of the space `ctx` names (&child: the clone's). */
static uint32_t *dir_of(void *ctx)
{
	return ctx == &child ? mem[NFRAMES + 1] : mem[NFRAMES];
}

/* The model, per page of the windows, and per slot. */
struct mpage {
	uint32_t pa;
	uint16_t flags;
	bool mapped;
};
static struct mpage model[WINDOWS][WPAGES];
static bool large[WINDOWS][WSLOTS];

/* Flushes: per page of the windows, the call that last flushed it, and what it saw. */
static uint32_t seq, flush_seq[WINDOWS][WPAGES];
struct hw {
	uint32_t pa, flags; /* flags: LEAF bits of the leaf entry; 0: unmapped */
	uint32_t eff;       /* RW | US as enforced */
	bool large;
};
static struct hw flush_saw[WINDOWS][WPAGES];

static uint32_t *frame_ptr(uint32_t pa)
{
	EXPECT(pa >= FRAME_BASE && pa <= CHILD_DIR_PA && pa % PAGE_SIZE == 0);
	return mem[(pa - FRAME_BASE) / PAGE_SIZE];
}

static void *op_table(void *ctx, uint32_t pa, unsigned pdx)
{
	EXPECT(pdx <= PT_FRAME);
	EXPECT((pdx == PT_DIR) == (pa == (ctx == &child ? CHILD_DIR_PA : DIR_PA)));
	if (pdx != PT_DIR) {
		unsigned i = (pa - FRAME_BASE) / PAGE_SIZE;
		EXPECT(pa >= FRAME_BASE && pa < DIR_PA && frame_used[i] &&
		       frame_child[i] == (ctx == &child));
	}
	return frame_ptr(pa);
}

static uint32_t op_alloc(void *ctx)
{
	if (alloc_budget == 0) {
		call_alloc_fails++;
		return 0;
	}
	for (unsigned i = 0; i < NFRAMES; i++) {
		if (frame_used[i])
			continue;
		frame_used[i] = true;
		frame_child[i] = ctx == &child;
		frames_used++;
		call_allocs++;
		if (alloc_budget > 0)
			alloc_budget--;
		memset(mem[i], 0xA5, PAGE_SIZE); /* garbage: must be filled before use */
		return FRAME_BASE + i * PAGE_SIZE;
	}
	EXPECT(!"out of table frames: a leak");
	return 0;
}

static void op_free(void *ctx, uint32_t pa)
{
	unsigned i = (pa - FRAME_BASE) / PAGE_SIZE;
	const uint32_t *dir = dir_of(ctx);
	EXPECT(pa >= FRAME_BASE && pa < DIR_PA && pa % PAGE_SIZE == 0 && frame_used[i] &&
	       frame_child[i] == (ctx == &child));
	for (unsigned s = 0; s < ENTRIES_PER_TABLE; s++)
		EXPECT((dir[s] & (PTE_P | PDE_PS)) != PTE_P || (dir[s] & PTE_ADDR_MASK) != pa);
	frame_used[i] = false;
	frames_used--;
	memset(mem[i], 0xA5, PAGE_SIZE);
}

static void op_pde_changed(void *ctx, unsigned pdx, pde_t value)
{
	EXPECT(pdx < ENTRIES_PER_TABLE && dir_of(ctx)[pdx] == value);
	if ((value & (PTE_P | PDE_PS)) == PTE_P) { /* a table: no garbage in it */
		const uint32_t *t = frame_ptr(value & PTE_ADDR_MASK);
		for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++)
			EXPECT(t[i] != 0xA5A5A5A5u);
	}
}

/* The window and page index of `va`, or false if no window holds it. */
static bool locate(uint64_t va, unsigned *w, unsigned *i)
{
	for (unsigned k = 0; k < WINDOWS; k++) {
		uint64_t base = (uint64_t)window_slot[k] << LARGE_PAGE_SHIFT;
		if (va >= base && va < base + WSLOTS * (uint64_t)LARGE) {
			*w = k;
			*i = (unsigned)((va - base) >> PAGE_SHIFT);
			return true;
		}
	}
	return false;
}

static struct hw walk(uint32_t va);

static void op_flush(void *ctx, uint32_t va, uint32_t pages)
{
	uint64_t end = va + (uint64_t)pages * PAGE_SIZE;
	EXPECT(va % PAGE_SIZE == 0 && pages > 0 && end <= FOUR_GIB);
	if (ctx == &child) /* the clone is not loaded: nothing to record */
		return;
	for (uint64_t a = va; a < end; a += PAGE_SIZE) {
		unsigned w, i;
		if (!locate(a, &w, &i)) {
			/* Skip to the next window, if any is ahead. */
			continue;
		}
		flush_seq[w][i] = seq;
		flush_saw[w][i] = walk((uint32_t)a);
	}
}

static const struct pt_ops ops = { op_table, op_alloc, op_free, op_pde_changed, op_flush };

/* The MMU's walk, straight from a directory (`dir_of`) and its tables. */
static struct hw walk_in(void *ctx, uint32_t va)
{
	struct hw h = { 0, 0, 0, false };
	pde_t d = dir_of(ctx)[PDX(va)];

	if (!(d & PTE_P))
		return h;
	if (d & PDE_PS) {
		EXPECT(!(d & 0x003FF000));
		return (struct hw){ (d & PDE_LARGE_MASK) | (va & 0x003FF000), d & LEAF,
				    d & (PTE_RW | PTE_US), true };
	}
	uint32_t pa = d & PTE_ADDR_MASK;
	EXPECT(pa >= FRAME_BASE && pa < DIR_PA && frame_used[(pa - FRAME_BASE) / PAGE_SIZE] &&
	       frame_child[(pa - FRAME_BASE) / PAGE_SIZE] == (ctx == &child));
	pte_t e = frame_ptr(pa)[PTX(va)];
	if (!(e & PTE_P))
		return h;
	return (struct hw){ e & PTE_ADDR_MASK, e & LEAF, d & e & (PTE_RW | PTE_US), false };
}

static struct hw walk(uint32_t va)
{
	return walk_in(NULL, va);
}

static struct hw model_hw(unsigned w, unsigned i)
{
	const struct mpage *m = &model[w][i];

	if (!m->mapped)
		return (struct hw){ 0, 0, 0, false };
	return (struct hw){ m->pa, m->flags | PTE_P, m->flags & (PTE_RW | PTE_US),
			    large[w][i / ENTRIES_PER_TABLE] };
}

static bool same(struct hw a, struct hw b)
{
	return a.pa == b.pa && a.flags == b.flags && a.eff == b.eff;
}

static unsigned model_tables(void)
{
	unsigned n = 0;

	for (unsigned w = 0; w < WINDOWS; w++)
		for (unsigned s = 0; s < WSLOTS; s++) {
			bool any = false;
			for (unsigned i = 0; i < ENTRIES_PER_TABLE && !any; i++)
				any = model[w][s * ENTRIES_PER_TABLE + i].mapped;
			n += any && !large[w][s];
		}
	return n;
}

/* Every page of windows [first, last] against the model, and the table count. */
static void check_windows(unsigned first, unsigned last)
{
	for (unsigned w = first; w <= last; w++) {
		for (unsigned s = 0; s < WSLOTS; s++) {
			pde_t d = mem[NFRAMES][window_slot[w] + s];
			if ((d & (PTE_P | PDE_PS)) == PTE_P)
				EXPECT((d & PTE_FLAGS_MASK) ==
				       (PTE_P | PTE_RW | (window_slot[w] + s < KERNEL_SLOT ? PTE_US : 0)));
		}
		for (unsigned i = 0; i < WPAGES; i++) {
			uint32_t va = (window_slot[w] << LARGE_PAGE_SHIFT) + i * PAGE_SIZE;
			struct hw got = walk(va), want = model_hw(w, i);
			EXPECT(same(got, want) && got.large == want.large);
		}
	}
	EXPECT(pt.tables == model_tables() && frames_used == pt.tables + child.tables);
	/* Nothing outside the windows, ever. */
	for (unsigned s = 0, w = 0; s < ENTRIES_PER_TABLE; s++) {
		while (w < WINDOWS && s >= window_slot[w] + WSLOTS)
			w++;
		if (w == WINDOWS || s < window_slot[w])
			EXPECT(mem[NFRAMES][s] == 0);
	}
}

enum kind { MAP, UNMAP, PROTECT, REPLACE };

struct call {
	enum kind kind;
	uint32_t va, pa, len, flags;
};

/* The results the arguments alone allow (any of them), as 1 << VM_E*. */
static unsigned arg_errors(const struct call *c)
{
	uint32_t flags = c->kind == MAP ? c->flags & ~PT_LARGE : c->flags;
	uint64_t end = (uint64_t)c->va + c->len;
	unsigned e = 0;

	if (c->va % PAGE_SIZE || c->len % PAGE_SIZE ||
	    ((c->kind == MAP || c->kind == REPLACE) && c->pa % PAGE_SIZE))
		e |= 1u << VM_EALIGN;
	if (!c->len || end > FOUR_GIB || (c->kind == MAP && (uint64_t)c->pa + c->len > FOUR_GIB) ||
	    end > (uint64_t)pt.limit_pdx << LARGE_PAGE_SHIFT || (flags & ~PT_FLAGS_ALLOWED) ||
	    ((flags & PTE_US) && end > 0xC0000000u) || ((flags & PTE_G) && c->va < 0xC0000000u))
		e |= 1u << VM_EINVAL;
	return e;
}

/* Run one map/unmap/protect inside window `w` and check it. */
static void run_call(const struct call *c, unsigned w)
{
	static uint32_t dir_before[ENTRIES_PER_TABLE], tables_before[WSLOTS][ENTRIES_PER_TABLE];
	static struct hw before[WPAGES];
	uint64_t base = (uint64_t)window_slot[w] << LARGE_PAGE_SHIFT;
	uint64_t end = (uint64_t)c->va + c->len;
	unsigned errs = arg_errors(c);
	enum vm_result want = VM_OK, r;

	/* The model's answer when the arguments are fine. */
	if (!errs) {
		unsigned mapped = 0;
		for (uint64_t a = c->va; a < end; a += PAGE_SIZE)
			mapped += model[w][(a - base) >> PAGE_SHIFT].mapped;
		if (c->kind == MAP)
			want = mapped ? VM_EEXIST : VM_OK;
		else if (c->kind == REPLACE) /* a small page: not part of a 4 MiB one */
			want = mapped && !large[w][((c->va - base) >> LARGE_PAGE_SHIFT)] ? VM_OK
											: VM_ENOENT;
		else
			want = mapped != c->len / PAGE_SIZE ? VM_ENOENT : VM_OK;
	}
	memcpy(dir_before, mem[NFRAMES], sizeof(dir_before));
	for (unsigned s = 0; s < WSLOTS; s++) {
		pde_t d = dir_before[window_slot[w] + s];
		if ((d & (PTE_P | PDE_PS)) == PTE_P)
			memcpy(tables_before[s], frame_ptr(d & PTE_ADDR_MASK), PAGE_SIZE);
	}
	for (unsigned i = 0; i < WPAGES; i++)
		before[i] = walk((uint32_t)(base + (uint64_t)i * PAGE_SIZE));
	unsigned tables = pt.tables;

	seq++;
	call_allocs = call_alloc_fails = 0;
	if (c->kind == MAP)
		r = pt_map(&pt, c->va, c->pa, c->len, c->flags);
	else if (c->kind == UNMAP)
		r = pt_unmap(&pt, c->va, c->len);
	else if (c->kind == REPLACE)
		r = pt_replace(&pt, c->va, c->pa, c->flags);
	else
		r = pt_protect(&pt, c->va, c->len, c->flags);

	if (errs)
		EXPECT(r != VM_OK && r <= VM_ENOMEM && (errs >> r) & 1);
	else if (!(r == VM_ENOMEM && want == VM_OK && call_alloc_fails))
		EXPECT(r == want);
	if (r != VM_OK) {
		EXPECT(!memcmp(dir_before, mem[NFRAMES], sizeof(dir_before)));
		EXPECT(pt.tables == tables && frames_used == tables);
		for (unsigned s = 0; s < WSLOTS; s++) {
			pde_t d = dir_before[window_slot[w] + s];
			if ((d & (PTE_P | PDE_PS)) == PTE_P)
				EXPECT(!memcmp(tables_before[s], frame_ptr(d & PTE_ADDR_MASK), PAGE_SIZE));
		}
		return;
	}

	/* Done: update the model (4 MiB pages made, split, or dropped). */
	for (unsigned s = 0; s < WSLOTS; s++) {
		uint64_t lo = base + (uint64_t)s * LARGE, hi = lo + LARGE;
		bool whole = c->va <= lo && end >= hi, touched = c->va < hi && end > lo;
		if (!touched || c->kind == REPLACE)
			continue;
		if (c->kind == MAP) {
			bool empty = true;
			for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++)
				empty &= !model[w][s * ENTRIES_PER_TABLE + i].mapped;
			if ((c->flags & PT_LARGE) && whole && empty &&
			    !((c->pa + (uint32_t)(lo - c->va)) & (LARGE - 1)))
				large[w][s] = true;
		} else if (!whole) {
			large[w][s] = false;
		}
	}
	for (uint64_t a = c->va; a < end; a += PAGE_SIZE) {
		struct mpage *m = &model[w][(a - base) >> PAGE_SHIFT];
		if (c->kind == MAP)
			*m = (struct mpage){ c->pa + (uint32_t)(a - c->va),
					     (uint16_t)(c->flags & ~PT_LARGE), true };
		else if (c->kind == UNMAP)
			*m = (struct mpage){ 0, 0, false };
		else if (c->kind == REPLACE)
			*m = (struct mpage){ c->pa, (uint16_t)c->flags, true };
		else
			m->flags = (uint16_t)c->flags;
	}
	for (unsigned s = 0; s < WSLOTS; s++) {
		bool any = false;
		for (unsigned i = 0; i < ENTRIES_PER_TABLE && !any; i++)
			any = model[w][s * ENTRIES_PER_TABLE + i].mapped;
		if (!any)
			large[w][s] = false;
	}
	check_windows(w, w);
	/* The TLB: a present translation that changed was flushed since. */
	for (unsigned i = 0; i < WPAGES; i++) {
		struct hw now = walk((uint32_t)(base + (uint64_t)i * PAGE_SIZE));
		if (before[i].flags && !same(before[i], now))
			EXPECT(flush_seq[w][i] == seq && same(flush_saw[w][i], now));
	}
}

struct runs {
	struct pt_mapping r[2 * WPAGES];
	unsigned n;
};

static void collect(void *arg, const struct pt_mapping *m)
{
	struct runs *rs = arg;

	EXPECT(rs->n < 2 * WPAGES);
	rs->r[rs->n++] = *m;
}

/* pt_for_each_range over [va, end) of window `w` against the model's runs. */
static void check_runs(unsigned w, uint32_t va, uint64_t end)
{
	static struct runs got, want;
	uint64_t base = (uint64_t)window_slot[w] << LARGE_PAGE_SHIFT;
	struct pt_mapping cur = { 0, 0, 0, 0 };

	got.n = want.n = 0;
	pt_for_each_range(&pt, va, end - va, collect, &got);
	for (uint64_t a = va; a < end; a += PAGE_SIZE) {
		unsigned i = (unsigned)((a - base) >> PAGE_SHIFT);
		const struct mpage *m = &model[w][i];
		uint32_t flags = m->flags | PTE_P | (large[w][i / ENTRIES_PER_TABLE] ? PDE_PS : 0);
		if (m->mapped && cur.size && cur.va + (uint64_t)cur.size == a &&
		    cur.pa + (uint64_t)cur.size == m->pa && cur.flags == flags) {
			cur.size += PAGE_SIZE;
			continue;
		}
		if (cur.size)
			want.r[want.n++] = cur;
		cur = m->mapped ? (struct pt_mapping){ (uint32_t)a, m->pa, PAGE_SIZE, flags }
				: (struct pt_mapping){ 0, 0, 0, 0 };
	}
	if (cur.size)
		want.r[want.n++] = cur;
	EXPECT(got.n == want.n);
	for (unsigned k = 0; k < got.n; k++)
		EXPECT(got.r[k].va == want.r[k].va && got.r[k].pa == want.r[k].pa &&
		       got.r[k].size == want.r[k].size && got.r[k].flags == want.r[k].flags);
}

/* pt_clone's copying function: fork's copy-on-write. */
static unsigned clone_calls;

static bool share(void *arg, uint32_t va, pte_t *src, pte_t *dst)
{
	(void)arg, (void)va;
	EXPECT((*src & PTE_P) && *dst == 0);
	clone_calls++;
	*src &= ~PTE_RW;
	*dst = *src & ~(PTE_A | PTE_D);
	return true;
}

/*
 * pt_clone of slots [first, last] (inside window `w`, or bad numbers) into
 * the empty `child`, with `budget` table allocations, checked, then freed.
 */
static void run_clone(unsigned w, unsigned first, unsigned last, long budget)
{
	static uint32_t dir_before[ENTRIES_PER_TABLE], tables_before[WSLOTS][ENTRIES_PER_TABLE];
	static struct hw before[WPAGES];
	unsigned base_slot = window_slot[w];
	uint64_t base = (uint64_t)base_slot << LARGE_PAGE_SHIFT;
	bool bad = first > last || last >= ENTRIES_PER_TABLE;
	enum vm_result want = bad ? VM_EINVAL : VM_OK, r;
	unsigned src_tables = 0;

	if (!bad) {
		/*
		 * A slot that refuses after a table was copied is not undone by
		 * pt_clone (reported; test_pagetable.c has the case): end the
		 * range before such a slot.
		 */
		for (unsigned s = first, copies = 0; s <= last; s++) {
			pde_t d = mem[NFRAMES][s];
			if (!(d & PTE_P))
				continue;
			if (!(d & PDE_PS)) {
				copies++;
				continue;
			}
			if (copies)
				last = s - 1;
			else
				want = VM_EINVAL;
			break;
		}
	}
	if (want == VM_OK)
		for (unsigned s = first; s <= last; s++)
			src_tables += (mem[NFRAMES][s] & (PTE_P | PDE_PS)) == PTE_P;
	if (want == VM_OK && budget >= 0 && src_tables > budget)
		want = VM_ENOMEM;
	memcpy(dir_before, mem[NFRAMES], sizeof(dir_before));
	for (unsigned s = 0; s < WSLOTS; s++) {
		pde_t d = dir_before[base_slot + s];
		if ((d & (PTE_P | PDE_PS)) == PTE_P)
			memcpy(tables_before[s], frame_ptr(d & PTE_ADDR_MASK), PAGE_SIZE);
	}
	for (unsigned i = 0; i < WPAGES; i++)
		before[i] = walk((uint32_t)(base + (uint64_t)i * PAGE_SIZE));

	seq++;
	clone_calls = 0;
	call_allocs = call_alloc_fails = 0;
	alloc_budget = budget;
	r = pt_clone(&child, &pt, first, last, share, NULL);
	alloc_budget = -1;
	EXPECT(r == want);
	if (r == VM_EINVAL) {
		EXPECT(!memcmp(dir_before, mem[NFRAMES], sizeof(dir_before)));
		for (unsigned s = 0; s < WSLOTS; s++) {
			pde_t d = dir_before[base_slot + s];
			if ((d & (PTE_P | PDE_PS)) == PTE_P)
				EXPECT(!memcmp(tables_before[s], frame_ptr(d & PTE_ADDR_MASK), PAGE_SIZE));
		}
		EXPECT(!clone_calls && !call_allocs && child.tables == 0);
	} else {
		/* One child table per source table copied: all, or `budget`. */
		EXPECT(child.tables == (r == VM_OK ? src_tables : (unsigned)budget));
		EXPECT(!memcmp(dir_before, mem[NFRAMES], sizeof(dir_before)));
		unsigned copied = 0;
		for (unsigned i = 0; i < WPAGES; i++) {
			uint32_t va = (uint32_t)(base + (uint64_t)i * PAGE_SIZE);
			unsigned s = PDX(va);
			struct hw c = walk_in(&child, va);
			bool in = s >= first && s <= last;
			if (!in) {
				EXPECT(!c.flags && !(mem[NFRAMES + 1][s] & PTE_P));
				continue;
			}
			/* The copy: the source as it was, without RW (A and D dropped). */
			struct hw cow = before[i];
			cow.flags &= ~PTE_RW;
			cow.eff &= ~PTE_RW;
			if (r == VM_OK || c.flags)
				EXPECT(same(c, before[i].flags ? cow : before[i]) && !c.large);
			if (!c.flags)
				continue;
			copied++;
			/* The source lost RW where it was copied, and was flushed. */
			model[w][i].flags &= ~PTE_RW;
			EXPECT(flush_seq[w][i] == seq);
		}
		EXPECT(copied == clone_calls);
		/* Flushed over the whole range, whatever the result. */
		for (unsigned i = 0; i < WPAGES; i++) {
			unsigned s = base_slot + i / ENTRIES_PER_TABLE;
			if (s >= first && s <= last)
				EXPECT(flush_seq[w][i] == seq);
		}
		check_windows(w, w);
		for (unsigned i = 0; i < WPAGES; i++) {
			struct hw now = walk((uint32_t)(base + (uint64_t)i * PAGE_SIZE));
			if (before[i].flags && !same(before[i], now))
				EXPECT(flush_seq[w][i] == seq && same(flush_saw[w][i], now));
		}
	}
	pt_free_tables(&child, 0, ENTRIES_PER_TABLE - 1);
	EXPECT(child.tables == 0 && frames_used == pt.tables);
	for (unsigned s = 0; s < ENTRIES_PER_TABLE; s++)
		EXPECT(mem[NFRAMES + 1][s] == 0);
}

static void reset(void)
{
	memset(mem, 0, sizeof(mem));
	memset(frame_used, 0, sizeof(frame_used));
	memset(frame_child, 0, sizeof(frame_child));
	memset(model, 0, sizeof(model));
	memset(large, 0, sizeof(large));
	memset(flush_seq, 0, sizeof(flush_seq));
	frames_used = 0;
	alloc_budget = -1;
	seq = 0;
	pt_init(&pt, DIR_PA, &ops, NULL);
	pt_init(&child, CHILD_DIR_PA, &ops, &child);
}

/*
 * One call from five bytes:
 *   b0  bits 0-2: what (map, map 4 MiB-aligned, unmap, protect, free
 *       tables, alloc budget, runs, replace or clone); bits 3-7: flag bits
 *   b1, b2  page in the window (12 bits), window (bits 12-13),
 *       bits 14-15: misalign something
 *   b3  length in pages (0-255, times 16 when b0 bit 7 is set)
 *   b4  map: physical 4 MiB block; its low bit set: an unaligned frame.
 *       unmap/protect: bit 5 set: at most (bit 0) tables may be allocated
 *   what 7, b3 even: pt_replace of the page with frame (b4 << 24 | b3 << 12);
 *       b3 odd: pt_clone of slots window + (b3 >> 1) % 4 to that + b4 % 4
 *       (clipped to the window; b4 bit 7: a bad range), at most
 *       (b4 >> 4) & 3 tables when b4 bit 6 is set
 */
static void one_call(struct input *in)
{
	uint32_t b0 = take(in, 1), pos = take(in, 1) | take(in, 1) << 8, b3 = take(in, 1), b4 = take(in, 1);
	unsigned w = (pos >> 12) & 3, what = b0 & 7;
	struct call c = { 0 };

	if (w >= WINDOWS)
		w = WINDOWS - 1;
	uint64_t base = (uint64_t)window_slot[w] << LARGE_PAGE_SHIFT;
	uint64_t top = base + WSLOTS * (uint64_t)LARGE;
	c.va = (uint32_t)(base + (uint64_t)(pos & (WPAGES - 1)) * PAGE_SIZE);
	c.len = (b3 * (b0 & 0x80 ? 16 : 1)) * PAGE_SIZE;
	c.flags = ((b0 >> 3) & 1 ? PTE_RW : 0) | ((b0 >> 4) & 1 ? PTE_US : 0) |
		  ((b0 >> 5) & 1 ? PTE_PCD | 0x200 : 0) | ((b0 >> 6) & 1 ? PTE_G : 0);
	switch (what) {
	case 0:
	case 1:
		c.kind = MAP;
		if (what == 1) { /* whole 4 MiB pages */
			c.va &= PDE_LARGE_MASK;
			c.len = (1 + b3 % 3) * LARGE;
			c.flags |= PT_LARGE;
		}
		c.pa = (b4 >> 1) << LARGE_PAGE_SHIFT | (c.va & (LARGE - 1));
		if (b4 & 1)
			c.pa ^= (b3 + 1) * PAGE_SIZE;
		break;
	case 2:
	case 3:
		c.kind = what == 2 ? UNMAP : PROTECT;
		if (what == 2)
			c.flags = 0;
		if (b4 & 0x20) /* little memory for the splits */
			alloc_budget = b4 & 1;
		break;
	case 4: { /* free the tables of some slots of the window */
		unsigned first = window_slot[w] + b3 % WSLOTS, last = first + b4 % WSLOTS;
		if (last >= window_slot[w] + WSLOTS)
			last = window_slot[w] + WSLOTS - 1;
		pt_free_tables(&pt, first, last);
		for (unsigned s = first; s <= last; s++) {
			unsigned k = s - window_slot[w];
			large[w][k] = false;
			for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++)
				model[w][k * ENTRIES_PER_TABLE + i] = (struct mpage){ 0, 0, false };
		}
		check_windows(w, w);
		return;
	}
	case 5:
		alloc_budget = b3 % 4;
		return;
	case 6:
		check_runs(w, c.va, c.va + c.len < top ? c.va + c.len : top);
		return;
	default:
		if (b3 & 1) {
			unsigned first = window_slot[w] + (b3 >> 1) % WSLOTS, last = first + b4 % WSLOTS;
			if (last >= window_slot[w] + WSLOTS)
				last = window_slot[w] + WSLOTS - 1;
			if (b4 & 0x80)
				last = b4 & 1 ? first - 1 : ENTRIES_PER_TABLE + (b4 & 0xF);
			run_clone(w, first, last, b4 & 0x40 ? (b4 >> 4) & 3 : -1);
			return;
		}
		c.kind = REPLACE;
		c.pa = b4 << 24 | b3 << 12;
		break;
	}
	/* Stay in the window, except at the top where the range may pass 4 GiB. */
	if (c.va + (uint64_t)c.len > top && top != FOUR_GIB)
		c.len = (uint32_t)(top - c.va);
	switch (pos >> 14) {
	case 1:
		c.va += 0x800;
		break;
	case 2:
		c.len += b4 & 0xFFF;
		break;
	case 3:
		if ((b4 & 0x80) && c.kind != UNMAP)
			c.flags |= b4 & 0x40 ? PTE_P : PTE_D;
		break;
	}
	/* A misaligned va must not leave the window, for the model's sake. */
	if (c.va % PAGE_SIZE && c.va + (uint64_t)c.len > top)
		c.len = 0;
	if (c.kind == REPLACE) /* one page; pos bits 14-15 misalign the address */
		c.len = PAGE_SIZE;
	run_call(&c, w);
	alloc_budget = -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	reset();
	while (in.left)
		one_call(&in);
	check_windows(0, WINDOWS - 1);
	/* Unmap everything the model has, page run by page run. */
	for (unsigned w = 0; w < WINDOWS; w++) {
		uint64_t base = (uint64_t)window_slot[w] << LARGE_PAGE_SHIFT;
		for (unsigned i = 0; i < WPAGES;) {
			if (!model[w][i].mapped) {
				i++;
				continue;
			}
			unsigned j = i;
			while (j < WPAGES && model[w][j].mapped)
				j++;
			struct call c = { UNMAP, (uint32_t)(base + (uint64_t)i * PAGE_SIZE), 0,
					  (j - i) * PAGE_SIZE, 0 };
			run_call(&c, w);
			i = j;
		}
	}
	EXPECT(pt.tables == 0 && frames_used == 0);
	for (unsigned s = 0; s < ENTRIES_PER_TABLE; s++)
		EXPECT(mem[NFRAMES][s] == 0);
	return 0;
}
