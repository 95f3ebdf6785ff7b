/*
 * test_pagetable.c - host tests for mm/pagetable.c, the page-table editor.
 *
 * pagetable.c writes x86 paging structures that only the MMU reads, so a
 * mistake there shows up as a wrong translation, a stale TLB entry or a
 * leaked frame long after the call that made it.  These tests run it on a
 * simulated machine and check every call against two independent views:
 *
 *   - a model: for each 4 KiB virtual page, unmapped or (frame, flags), and
 *     for each 4 MiB slot whether it should be one large page.  The model
 *     follows the rules pagetable.h states, not the code;
 *   - a "hardware" walk written here from the SDM (vol. 3A 4.3, 32-bit
 *     paging with CR4.PSE): it reads the simulated directory and tables the
 *     way the CPU does -- PDE.P, PDE.PS, then PTE.P; RW and US are the AND
 *     of both levels -- and never calls pt_query.
 *
 * After every call, every page of the 4 MiB slots the call could touch must
 * walk exactly as the model says, and pt_query/pt_translate must agree; a
 * refused call must leave the directory and tables byte for byte as they
 * were and make no callback.  The pt_ops callbacks check the other half of
 * the contract:
 *
 *   table()      the frame is the directory, a live page table of that
 *                slot, or (PT_FRAME) a new table no slot points at yet.
 *                Only the latest directory pointer and the latest table
 *                pointer stay usable: the rest of simulated memory is
 *                ASan-poisoned, as a kernel that reaches tables through one
 *                temporary window would be;
 *   alloc/free   frames come from the real PMM over a fake 16 MiB memory
 *                map.  alloc can be told to fail after N calls: VM_ENOMEM
 *                must then change nothing.  A freed frame must no longer be
 *                referenced by the directory, and is filled with garbage
 *                that looks like present entries;
 *   pde_changed  at each directory change, every page of that slot must
 *                translate either as before the call or as after it --
 *                never through a half-built or garbage table -- and no
 *                other PDE may have changed unannounced;
 *   flush        records what the walk sees in the flushed range at that
 *                moment, so the TLB rules can be checked after the call:
 *                a page whose present translation changed must have been
 *                flushed after its last change, and a slot whose present
 *                PDE was replaced or cleared must have had a page flushed
 *                since (the paging-structure caches keep PDEs).
 *
 * Directed cases pin each rule (alignment, EEXIST/ENOENT, where 4 MiB pages
 * go, splits, freeing empty tables, VM_ENOMEM at every failure point, the
 * last page below 4 GiB).  A randomized run with fixed, printed seeds then
 * mixes thousands of overlapping map/unmap/protect/free calls, with injected
 * allocation failures, and compares everything above -- plus the runs that
 * pt_for_each_range reports -- with the model.
 *
 * pt_replace is one more call of that kind.  pt_clone needs a second space:
 * the destination (`dsp`) lives in the same simulated memory with its own
 * directory, pt_ops and windows, and is walked by the same MMU walk.  A
 * clone is checked entry by entry against the source as it was (through
 * the test's copying functions, copy-on-write or eager copy), for its
 * refusals, its flush of the source, and VM_ENOMEM at each table and at
 * each call of fn; random clones run inside the randomized calls and over
 * randomly built spaces of small pages.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mm/memmap.h"
#include "mm/pagetable.h"
#include "mm/pmm.h"

#if defined(__SANITIZE_ADDRESS__)
#define SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_ASAN 1
#endif
#endif

#ifdef SIM_ASAN
#include <sanitizer/asan_interface.h>
/* The walker reads simulated memory as the MMU does: past any poisoning. */
#define NO_ASAN __attribute__((no_sanitize_address))
#define poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define NO_ASAN
#define poison(p, n) ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KIB 0x400u
#define MIB 0x100000u
#define LARGE LARGE_PAGE_SIZE
#define SIM_BYTES (16 * MIB) /* simulated physical memory: 0 .. 16 MiB */
#define SIM_FRAMES (SIM_BYTES / PAGE_SIZE)
#define NPAGES (1u << 20)       /* 4 KiB pages in 4 GiB */
#define NSLOTS ENTRIES_PER_TABLE /* directory slots, 4 MiB each */
#define KERNEL_HALF 0xC0000000u
#define KERNEL_SLOT (KERNEL_HALF >> LARGE_PAGE_SHIFT)
#define GARBAGE 0xA5 /* fills free frames: 0xA5A5A5A5 is a present entry */
#define PTE_AD (PTE_A | PTE_D)
/* The bits of a leaf entry the walk compares (A, D and PS left out). */
#define LEAF_FLAGS (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_G | PTE_AVAIL_MASK)
#define RW PTE_RW
#define US PTE_US

/* ---- failure reporting ---------------------------------------------------- */

static unsigned fail_msgs;

/*
 * Like CHECK, but yields the condition instead of leaving the caller (for
 * callbacks and helpers); the message is only formatted on failure.
 */
#define EXPECT(cond, ...)                                               \
	({                                                              \
		bool ok_ = (cond);                                      \
		if (!ok_)                                               \
			expect_failed(__LINE__, __VA_ARGS__);           \
		ok_;                                                    \
	})

static void __attribute__((format(printf, 2, 3))) expect_failed(int line, const char *fmt, ...)
{
	va_list ap;

	check_failed = 1;
	if (fail_msgs++ < 25) {
		printf("# line %d: ", line);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
}

static const char *rname(enum vm_result r)
{
	static const char *const names[] = { "VM_OK", "VM_EALIGN", "VM_EINVAL",
					     "VM_EEXIST", "VM_ENOENT", "VM_ENOMEM" };
	return (unsigned)r < ARRAY_SIZE(names) ? names[r] : "?";
}

/* The call's result must be `want`; stop the case on any failure so far. */
#define CHECK_VM(call, want)                                                       \
	do {                                                                       \
		enum vm_result r_ = (call);                                        \
		if (check_failed)                                                  \
			return;                                                    \
		CHECK(r_ == (want), "%s returned %s, expected %s", #call, rname(r_), \
		      rname(want));                                                \
	} while (0)

/* ---- what the MMU sees for one page ---------------------------------------- */

enum hw_kind { HW_NONE, HW_SMALL, HW_LARGE, HW_BAD };

struct hw {
	uint32_t pa;    /* frame the page translates to */
	uint16_t flags; /* the leaf entry's LEAF_FLAGS bits */
	uint8_t kind;   /* enum hw_kind */
	uint8_t eff;    /* PTE_RW | PTE_US as enforced: the AND of both levels */
};

/* Same translation: frame and leaf flags, and (`eff`) effective rights. */
static bool hw_same(struct hw a, struct hw b, bool eff)
{
	return a.kind != HW_BAD && b.kind != HW_BAD &&
	       (a.kind == HW_NONE) == (b.kind == HW_NONE) && a.pa == b.pa &&
	       a.flags == b.flags && (!eff || a.eff == b.eff);
}

static const char *hw_str(struct hw h)
{
	static char bufs[4][80];
	static unsigned next;
	char *b = bufs[next++ % 4];

	if (h.kind == HW_NONE)
		return "unmapped";
	if (h.kind == HW_BAD)
		snprintf(b, 80, "a bad entry (0x%x)", (unsigned)h.pa);
	else
		snprintf(b, 80, "0x%08x flags 0x%03x %s, effective %s%s", (unsigned)h.pa,
			 h.flags, h.kind == HW_LARGE ? "(4 MiB)" : "(4 KiB)",
			 h.eff & RW ? "RW" : "RO", h.eff & US ? "+US" : "");
	return b;
}

/* ---- the simulated machine ------------------------------------------------- */

enum op_kind { OP_MAP, OP_UNMAP, OP_PROTECT, OP_FREE, OP_READ, OP_REPLACE, OP_CLONE };

/* One call under test, and what the callbacks may see during it. */
struct op {
	enum op_kind kind;
	uint32_t va, pa, flags;
	uint64_t len;
	unsigned first, last; /* slots the call may touch (first > last: none) */
	unsigned free_last;   /* pt_free_tables: `last` as passed (may be > 1023) */
	uint32_t seq;
	struct hw *pre; /* the walk of slots first..last before the call */
};

/* The model's view of one 4 KiB page. */
struct mpage {
	uint32_t pa;
	uint16_t flags; /* as passed to pt_map/pt_protect, without PT_LARGE */
	uint8_t mapped;
};

static struct sim {
	uint8_t *mem; /* simulated physical memory, indexed by address */
	struct memmap map;
	uint32_t *bitmap;
	struct pmm pmm;
	struct pagetable pt;
	uint32_t dir;

	bool live[SIM_FRAMES];     /* frame is a page table from alloc() */
	int16_t owner[SIM_FRAMES]; /* slot a live table was reached for; -1: not yet */
	unsigned nlive;
	uint32_t window[2];        /* usable frames: [0] a table, [1] the directory */
	long alloc_budget;         /* allocations left before alloc() fails; < 0: no limit */
	bool ad_bits;              /* the test set A/D bits: query flags may carry them */

	unsigned long allocs, frees, alloc_fails, pde_changes, flushes;
	unsigned op_allocs, op_frees, op_alloc_fails, op_pde_changes, op_flushes;
	const struct op *op; /* the call in progress, or NULL */
	uint32_t seq;
	pde_t shadow[NSLOTS];   /* the directory as pde_changed announced it */
	bool stale[NSLOTS];     /* a present PDE changed, no flush in the slot since */
	uint32_t *flush_seq;    /* per page: the call that last flushed it */
	struct hw *flush_seen;  /* per page: what the walk saw at that flush */

	struct mpage *page;     /* the model, per page */
	uint16_t count[NSLOTS]; /* mapped pages per slot */
	bool large[NSLOTS];     /* slot should be one 4 MiB page */
} sim;

/*
 * pt_clone's destination: a second address space in the same simulated
 * memory, its table frames from the same PMM, with its own pt_ops (ctx
 * &dsp) and its own two windows.  The source is `sim`, whose model keeps
 * following it.  Only the destination's own windows are poisoned against:
 * in the kernel, fork's source is the loaded space (reached through the
 * recursive mapping) and only the child goes through the kmap windows.
 */
static struct dspace {
	bool on; /* dst_setup was called: the directory frame is taken */
	uint32_t dir;
	struct pagetable pt;
	bool live[SIM_FRAMES]; /* frame is one of this space's page tables */
	unsigned nlive;
	uint32_t window[2];
	long alloc_budget; /* allocations left before alloc() fails; < 0: no limit */
	pde_t shadow[NSLOTS]; /* the directory as pde_changed announced it */
	/* During a pt_clone: */
	bool cloning;
	unsigned first, last;  /* the slots it may touch */
	const struct hw *want; /* per page of first..last: the walk once copied */
	unsigned allocs, alloc_fails, frees, pde_changes, flushes;
} dsp;

static bool windowed(uint32_t pa)
{
	return pa && (sim.window[0] == pa || sim.window[1] == pa || dsp.window[0] == pa ||
		      dsp.window[1] == pa);
}

static bool in_sim(uint32_t pa)
{
	return pa >= PMM_LOW_MEMORY_END && pa < SIM_BYTES;
}

static NO_ASAN uint32_t mem_load(uint32_t pa)
{
	return *(volatile uint32_t *)(sim.mem + pa);
}

static NO_ASAN void mem_store(uint32_t pa, uint32_t v)
{
	*(volatile uint32_t *)(sim.mem + pa) = v;
}

static void frame_fill(uint32_t pa, uint32_t word)
{
	for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++)
		mem_store(pa + 4 * i, word);
}

static pde_t dir_entry(unsigned pdx)
{
	return mem_load(sim.dir + 4 * pdx);
}

/* The PTE for (pdx, ptx), or ~0 if the slot has no page table. */
static pte_t table_entry(unsigned pdx, unsigned ptx)
{
	pde_t d = dir_entry(pdx);

	if ((d & (PTE_P | PDE_PS)) != PTE_P || !in_sim(d & PTE_ADDR_MASK))
		return ~0u;
	return mem_load((d & PTE_ADDR_MASK) + 4 * ptx);
}

static bool windowed(uint32_t pa);

/*
 * Make `pa` the one usable frame of its kind (0: none) in the space whose
 * windows are `win` (sim.window, or dsp.window for pt_clone's destination).
 */
static void window_set(uint32_t *win, int kind, uint32_t pa)
{
	uint32_t old = win[kind];

	if (old == pa)
		return;
	win[kind] = pa;
	if (old && !windowed(old))
		poison(sim.mem + old, PAGE_SIZE);
	if (pa)
		unpoison(sim.mem + pa, PAGE_SIZE);
}

/*
 * The MMU's walk of `va` (SDM vol. 3A 4.3).  A PDE pointing outside memory
 * or at a frame that is not a live page table, or a 4 MiB PDE with bits
 * 21:12 set (PAT, or reserved without PSE-36), is reported as HW_BAD.
 */
static struct hw hw_walk_in(uint32_t dir, const bool *live, uint32_t va)
{
	struct hw h = { 0, 0, HW_NONE, 0 };
	pde_t d = mem_load(dir + 4 * PDX(va));

	if (!(d & PTE_P))
		return h;
	if (d & PDE_PS) {
		if (d & 0x003FF000)
			return (struct hw){ d, 0, HW_BAD, 0 };
		h.kind = HW_LARGE;
		h.pa = (d & PDE_LARGE_MASK) | (va & 0x003FF000);
		h.flags = d & LEAF_FLAGS;
		h.eff = d & (RW | US);
		return h;
	}
	uint32_t t = d & PTE_ADDR_MASK;
	if (!in_sim(t) || !live[t / PAGE_SIZE])
		return (struct hw){ d, 0, HW_BAD, 0 };
	pte_t e = mem_load(t + 4 * PTX(va));
	if (!(e & PTE_P))
		return h;
	h.kind = HW_SMALL;
	h.pa = e & PTE_ADDR_MASK;
	h.flags = e & LEAF_FLAGS;
	h.eff = d & e & (RW | US);
	return h;
}

/* The MMU's walk of `va` in the space under test. */
static struct hw hw_walk(uint32_t va)
{
	return hw_walk_in(sim.dir, sim.live, va);
}

/* ---- the model ---------------------------------------------------------- */

static struct hw model_hw(uint32_t n)
{
	const struct mpage *m = &sim.page[n];

	if (!m->mapped)
		return (struct hw){ 0, 0, HW_NONE, 0 };
	return (struct hw){ m->pa, (uint16_t)(m->flags | PTE_P),
			    sim.large[n >> 10] ? HW_LARGE : HW_SMALL,
			    (uint8_t)(m->flags & (RW | US)) };
}

static unsigned model_tables(void)
{
	unsigned n = 0;

	for (unsigned s = 0; s < NSLOTS; s++)
		n += sim.count[s] && !sim.large[s];
	return n;
}

static uint64_t slot_base(unsigned s)
{
	return (uint64_t)s << LARGE_PAGE_SHIFT;
}

static bool covers_slot(uint64_t va, uint64_t end, unsigned s)
{
	return va <= slot_base(s) && end >= slot_base(s + 1);
}

/* Pages of [va, end) the model has mapped. */
static uint64_t model_mapped(uint64_t va, uint64_t end)
{
	uint64_t n = 0;

	while (va < end) {
		unsigned s = (unsigned)(va >> LARGE_PAGE_SHIFT);
		uint64_t stop = slot_base(s + 1) < end ? slot_base(s + 1) : end;
		if (covers_slot(va, end, s) || !sim.count[s]) {
			if (covers_slot(va, end, s))
				n += sim.count[s];
			va = stop;
			continue;
		}
		for (; va < stop; va += PAGE_SIZE)
			n += sim.page[va >> PAGE_SHIFT].mapped;
	}
	return n;
}

/* Will this pt_map put slot `s` in one 4 MiB page? */
static bool map_makes_large(const struct op *op, unsigned s)
{
	uint32_t pa = op->pa + (uint32_t)(slot_base(s) - op->va);

	return (op->flags & PT_LARGE) && covers_slot(op->va, op->va + op->len, s) &&
	       !(pa & (LARGE - 1)) && !sim.count[s];
}

static void model_set(uint32_t n, bool mapped, uint32_t pa, uint32_t flags)
{
	struct mpage *m = &sim.page[n];

	sim.count[n >> 10] += (int)mapped - (int)m->mapped;
	*m = (struct mpage){ mapped ? pa : 0, (uint16_t)(mapped ? flags : 0), mapped };
}

/* The model after a successful `op`. */
static void model_apply(const struct op *op)
{
	uint64_t end = op->va + op->len;

	for (unsigned s = op->first; s <= op->last; s++) {
		bool whole = covers_slot(op->va, end, s);
		if (op->kind == OP_MAP && map_makes_large(op, s))
			sim.large[s] = true;
		else if (op->kind == OP_FREE || ((op->kind == OP_UNMAP || op->kind == OP_PROTECT) && !whole))
			sim.large[s] = false; /* split (or dropped) */
		if (op->kind == OP_FREE) {
			for (uint32_t n = s << 10; n < (s + 1) << 10; n++)
				model_set(n, false, 0, 0);
		}
	}
	if (op->kind == OP_FREE)
		return;
	for (uint64_t a = op->va; a < end; a += PAGE_SIZE) {
		uint32_t n = (uint32_t)(a >> PAGE_SHIFT);
		if (op->kind == OP_MAP)
			model_set(n, true, op->pa + (uint32_t)(a - op->va), op->flags & ~PT_LARGE);
		else if (op->kind == OP_REPLACE)
			model_set(n, true, op->pa, op->flags);
		else if (op->kind == OP_UNMAP)
			model_set(n, false, 0, 0);
		else
			model_set(n, true, sim.page[n].pa, op->flags);
	}
	for (unsigned s = op->first; s <= op->last; s++)
		if (!sim.count[s])
			sim.large[s] = false;
}

/* What page `n` translates to once `op` has succeeded (frame and flags only). */
static struct hw op_after(const struct op *op, uint32_t n)
{
	uint64_t a = (uint64_t)n << PAGE_SHIFT;
	bool in = a >= op->va && a < op->va + op->len;
	struct hw h = model_hw(n);

	switch (op->kind) {
	case OP_MAP:
		if (in)
			h = (struct hw){ op->pa + (uint32_t)(a - op->va),
					 (uint16_t)((op->flags & ~PT_LARGE) | PTE_P), HW_SMALL, 0 };
		break;
	case OP_UNMAP:
		if (in)
			h = (struct hw){ 0, 0, HW_NONE, 0 };
		break;
	case OP_PROTECT:
		if (in && h.kind != HW_NONE)
			h.flags = (uint16_t)(op->flags | PTE_P);
		break;
	case OP_FREE:
		if ((n >> 10) >= op->first && (n >> 10) <= op->last)
			h = (struct hw){ 0, 0, HW_NONE, 0 };
		break;
	case OP_REPLACE:
		if (in)
			h = (struct hw){ op->pa, (uint16_t)(op->flags | PTE_P), HW_SMALL, 0 };
		break;
	case OP_READ:
	case OP_CLONE: /* the source's directory must not change at all */
		break;
	}
	return h;
}

/* ---- pt_ops ------------------------------------------------------------- */

static bool op_changes(void)
{
	return !sim.op || sim.op->kind != OP_READ;
}

static void *cb_table(void *ctx, uint32_t pa, unsigned pdx)
{
	static uint32_t scratch[ENTRIES_PER_TABLE];
	const struct op *op = sim.op;

	(void)ctx;
	if (!EXPECT(pdx <= PT_FRAME, "table(0x%x, %u): no such slot", pa, pdx))
		return scratch;
	if (pdx == PT_DIR) {
		if (!EXPECT(pa == sim.dir, "table(0x%x, PT_DIR): the directory is 0x%x", pa,
			    sim.dir))
			return scratch;
	} else if (pdx == PT_FRAME) {
		/* A new table, reached by address: no slot may point at it yet. */
		if (!EXPECT(pa % PAGE_SIZE == 0 && in_sim(pa) && sim.live[pa / PAGE_SIZE],
			    "table(0x%x, PT_FRAME): not a live page table", pa))
			return scratch;
		for (unsigned s = 0; s < NSLOTS; s++) {
			pde_t d = dir_entry(s);
			EXPECT((d & (PTE_P | PDE_PS)) != PTE_P || (d & PTE_ADDR_MASK) != pa,
			       "table(0x%x, PT_FRAME): slot %u already points at it", pa, s);
		}
		EXPECT(op_changes(), "table(PT_FRAME) during a read-only call");
	} else {
		if (!EXPECT(pa % PAGE_SIZE == 0 && in_sim(pa) && sim.live[pa / PAGE_SIZE],
			    "table(0x%x, slot %u): not a live page table", pa, pdx))
			return scratch;
		int16_t *owner = &sim.owner[pa / PAGE_SIZE];
		if (*owner < 0)
			*owner = (int16_t)pdx;
		EXPECT(*owner == (int)pdx, "table 0x%x reached as slot %u, it is slot %d's", pa,
		       pdx, *owner);
		if (op && op->kind != OP_READ)
			EXPECT(pdx >= op->first && pdx <= op->last,
			       "table(0x%x, slot %u) outside the call's slots %u..%u", pa, pdx,
			       op->first, op->last);
	}
	window_set(sim.window, pdx == PT_DIR, pa); /* PT_FRAME shares the tables' window */
	return sim.mem + pa;
}

static uint32_t cb_alloc(void *ctx)
{
	(void)ctx;
	EXPECT(op_changes(), "alloc() during a read-only call");
	if (sim.alloc_budget == 0) {
		sim.alloc_fails++;
		sim.op_alloc_fails++;
		return 0;
	}
	paddr_t f = pmm_alloc(&sim.pmm);
	if (!EXPECT(f != 0, "simulated memory exhausted: %u tables live", sim.nlive)) {
		sim.op_alloc_fails++;
		return 0;
	}
	if (sim.alloc_budget > 0)
		sim.alloc_budget--;
	EXPECT(in_sim(f) && !sim.live[f / PAGE_SIZE], "PMM handed out 0x%x twice", f);
	sim.live[f / PAGE_SIZE] = true;
	sim.owner[f / PAGE_SIZE] = -1;
	sim.nlive++;
	sim.allocs++;
	sim.op_allocs++;
	return f;
}

static void cb_free(void *ctx, uint32_t pa)
{
	(void)ctx;
	EXPECT(op_changes(), "free(0x%x) during a read-only call", pa);
	if (!EXPECT(pa % PAGE_SIZE == 0 && in_sim(pa) && sim.live[pa / PAGE_SIZE],
		    "free(0x%x): not a live page table", pa))
		return;
	for (unsigned s = 0; s < NSLOTS; s++) {
		pde_t d = dir_entry(s);
		EXPECT((d & (PTE_P | PDE_PS)) != PTE_P || (d & PTE_ADDR_MASK) != pa,
		       "free(0x%x): slot %u still points at it", pa, s);
	}
	sim.live[pa / PAGE_SIZE] = false;
	sim.nlive--;
	for (int k = 0; k < 2; k++)
		if (sim.window[k] == pa)
			window_set(sim.window, k, 0);
	frame_fill(pa, GARBAGE * 0x01010101u);
	EXPECT(pmm_free(&sim.pmm, pa) == PMM_OK, "pmm_free(0x%x) refused", pa);
	sim.frees++;
	sim.op_frees++;
}

static void cb_pde_changed(void *ctx, unsigned pdx, pde_t value)
{
	const struct op *op = sim.op;

	(void)ctx;
	sim.pde_changes++;
	sim.op_pde_changes++;
	if (!EXPECT(pdx < NSLOTS, "pde_changed(%u): no such slot", pdx))
		return;
	EXPECT(dir_entry(pdx) == value, "pde_changed(%u, 0x%x), but the entry is 0x%x", pdx,
	       value, dir_entry(pdx));
	/* The paging-structure caches may hold the old entry if it was present. */
	if (sim.shadow[pdx] & PTE_P)
		sim.stale[pdx] = true;
	sim.shadow[pdx] = value;
	for (unsigned s = 0; s < NSLOTS; s++)
		EXPECT(dir_entry(s) == sim.shadow[s], "PDE %u became 0x%x unannounced (was 0x%x)",
		       s, dir_entry(s), sim.shadow[s]);
	if (!op)
		return;
	if (!EXPECT(op->kind != OP_READ && pdx >= op->first && pdx <= op->last,
		    "pde_changed(%u) outside the call's slots %u..%u", pdx, op->first, op->last))
		return;
	/* Each page of the slot: as before the call, or as after it. */
	for (uint32_t n = pdx << 10; n < (pdx + 1) << 10; n++) {
		struct hw now = hw_walk(n << PAGE_SHIFT), before = op->pre[n - (op->first << 10)];
		struct hw after = op_after(op, n);
		if (!EXPECT(hw_same(now, before, false) || hw_same(now, after, false),
			    "pde_changed(%u, 0x%x): page 0x%x is %s, neither %s (before) nor %s (after)",
			    pdx, value, n << PAGE_SHIFT, hw_str(now), hw_str(before), hw_str(after)))
			return;
	}
}

static void cb_flush(void *ctx, uint32_t va, uint32_t pages)
{
	const struct op *op = sim.op;
	uint64_t end = va + (uint64_t)pages * PAGE_SIZE;

	(void)ctx;
	sim.flushes++;
	sim.op_flushes++;
	if (!EXPECT(va % PAGE_SIZE == 0 && pages > 0 && end <= FOUR_GIB,
		    "flush(0x%x, %u pages): not a range of pages", va, pages))
		return;
	if (op)
		EXPECT(op->kind != OP_READ && va >= slot_base(op->first) && end <= slot_base(op->last + 1),
		       "flush(0x%x, %u pages) outside the call's slots %u..%u", va, pages,
		       op->first, op->last);
	for (uint32_t n = va >> PAGE_SHIFT; n < end >> PAGE_SHIFT; n++) {
		sim.flush_seq[n] = sim.seq;
		sim.flush_seen[n] = hw_walk(n << PAGE_SHIFT);
		sim.stale[n >> 10] = false; /* invlpg drops cached PDEs too (SDM 4.10.4.1) */
	}
}

static const struct pt_ops sim_ops = {
	.table = cb_table,
	.alloc = cb_alloc,
	.free = cb_free,
	.pde_changed = cb_pde_changed,
	.flush = cb_flush,
};

static void sim_teardown(void)
{
	if (!sim.mem)
		return;
	unpoison(sim.mem, SIM_BYTES);
	free(sim.mem);
	free(sim.bitmap);
	free(sim.page);
	free(sim.flush_seq);
	free(sim.flush_seen);
	memset(&sim, 0, sizeof(sim));
	memset(&dsp, 0, sizeof(dsp));
}

/* A fresh machine: 16 MiB of garbage-filled RAM, a PMM, an empty directory. */
static void sim_setup(void)
{
	sim_teardown();
	fail_msgs = 0;
	sim.mem = aligned_alloc(PAGE_SIZE, SIM_BYTES);
	sim.page = calloc(NPAGES, sizeof(*sim.page));
	sim.flush_seq = calloc(NPAGES, sizeof(*sim.flush_seq));
	sim.flush_seen = calloc(NPAGES, sizeof(*sim.flush_seen));
	if (!sim.mem || !sim.page || !sim.flush_seq || !sim.flush_seen) {
		fprintf(stderr, "test_pagetable: out of memory\n");
		abort();
	}
	memset(sim.mem, GARBAGE, SIM_BYTES);
	poison(sim.mem, SIM_BYTES);
	memmap_init(&sim.map);
	memmap_add(&sim.map, 0, SIM_BYTES, MB_MEMORY_AVAILABLE);
	memmap_normalize(&sim.map);
	size_t bytes = pmm_bitmap_bytes(&sim.map);
	sim.bitmap = malloc(bytes);
	if (!sim.bitmap || pmm_init(&sim.pmm, &sim.map, sim.bitmap, bytes) != PMM_OK) {
		fprintf(stderr, "test_pagetable: pmm_init failed\n");
		abort();
	}
	sim.dir = pmm_alloc(&sim.pmm);
	frame_fill(sim.dir, 0);
	sim.alloc_budget = -1;
	pt_init(&sim.pt, sim.dir, &sim_ops, NULL);
}

/* ---- raw snapshots: "a refused call changes nothing" ------------------------ */

struct raw {
	unsigned first, last;
	pde_t dir[NSLOTS];
	pte_t *tables; /* slots first..last, 1024 entries each (zeros: no table) */
	unsigned ntables, nlive;
	uint32_t used_frames;
};

static struct raw *raw_take(unsigned first, unsigned last)
{
	struct raw *r = calloc(1, sizeof(*r));
	unsigned n = first <= last ? last - first + 1 : 0;

	r->tables = calloc((size_t)n * ENTRIES_PER_TABLE + 1, sizeof(pte_t));
	if (!r || !r->tables)
		abort();
	r->first = first;
	r->last = last;
	for (unsigned s = 0; s < NSLOTS; s++)
		r->dir[s] = dir_entry(s);
	for (unsigned s = first; s <= last && s < NSLOTS; s++)
		if ((r->dir[s] & (PTE_P | PDE_PS)) == PTE_P && in_sim(r->dir[s] & PTE_ADDR_MASK))
			for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++)
				r->tables[(s - first) * ENTRIES_PER_TABLE + i] =
					mem_load((r->dir[s] & PTE_ADDR_MASK) + 4 * i);
	r->ntables = sim.pt.tables;
	r->nlive = sim.nlive;
	r->used_frames = sim.pmm.stats.used_frames;
	return r;
}

static void raw_free(struct raw *r)
{
	if (r)
		free(r->tables);
	free(r);
}

/* Is everything as in `r`?  Reports the first difference as `what`. */
static bool raw_same(const struct raw *r, const char *what)
{
	for (unsigned s = 0; s < NSLOTS; s++)
		if (!EXPECT(dir_entry(s) == r->dir[s], "%s: PDE %u was 0x%x, now 0x%x", what, s,
			    r->dir[s], dir_entry(s)))
			return false;
	for (unsigned s = r->first; s <= r->last && s < NSLOTS; s++) {
		if ((r->dir[s] & (PTE_P | PDE_PS)) != PTE_P || !in_sim(r->dir[s] & PTE_ADDR_MASK))
			continue;
		for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++) {
			pte_t was = r->tables[(s - r->first) * ENTRIES_PER_TABLE + i];
			pte_t now = mem_load((r->dir[s] & PTE_ADDR_MASK) + 4 * i);
			if (!EXPECT(was == now, "%s: PTE %u/%u was 0x%x, now 0x%x", what, s, i, was,
				    now))
				return false;
		}
	}
	return EXPECT(sim.pt.tables == r->ntables && sim.nlive == r->nlive &&
			      sim.pmm.stats.used_frames == r->used_frames,
		      "%s: tables %u -> %u, live table frames %u -> %u, used frames %u -> %u",
		      what, r->ntables, sim.pt.tables, r->nlive, sim.nlive, r->used_frames,
		      sim.pmm.stats.used_frames);
}

/* ---- checking the state against the model -------------------------------- */

/* Pages per slot to report at most, so a broken slot prints a few lines. */
static void check_slot(unsigned s)
{
	pde_t d = dir_entry(s);
	uint32_t first = s << 10;

	if (sim.count[s] == 0) {
		EXPECT(d == 0, "slot %u: nothing mapped, but the PDE is 0x%x", s, d);
	} else if (sim.large[s]) {
		uint32_t want = sim.page[first].pa | sim.page[first].flags | PDE_PS | PTE_P;
		EXPECT((d & ~PTE_AD) == want, "slot %u: PDE 0x%x, expected the 4 MiB page 0x%x", s,
		       d, want);
	} else {
		uint32_t want = PTE_P | PTE_RW | (s < KERNEL_SLOT ? PTE_US : 0);
		uint32_t t = d & PTE_ADDR_MASK;
		if (!EXPECT((d & PTE_FLAGS_MASK & ~PTE_A) == want && in_sim(t) &&
				    sim.live[t / PAGE_SIZE],
			    "slot %u: PDE 0x%x, expected a page table with flags 0x%x", s, d, want))
			return;
		EXPECT(sim.owner[t / PAGE_SIZE] == -1 || sim.owner[t / PAGE_SIZE] == (int)s,
		       "slot %u: table 0x%x was built as slot %d's", s, t, sim.owner[t / PAGE_SIZE]);
		for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++) {
			pte_t e = mem_load(t + 4 * i);
			if (!EXPECT(e & PTE_P ? !(e & PTE_FLAGS_MASK & ~(LEAF_FLAGS | PTE_AD)) : e == 0,
				    "slot %u: PTE %u is 0x%x (stray bits)", s, i, e))
				return;
		}
	}
	for (uint32_t n = first; n < first + ENTRIES_PER_TABLE; n++) {
		struct hw got = hw_walk(n << PAGE_SHIFT), want = model_hw(n);
		if (!EXPECT(hw_same(got, want, true) && got.kind == want.kind,
			    "page 0x%08x: the MMU sees %s, the model says %s", n << PAGE_SHIFT,
			    hw_str(got), hw_str(want)))
			return;
	}
}

static void check_counts(void)
{
	unsigned want = model_tables();

	EXPECT(sim.pt.tables == want && sim.nlive == want,
	       "page tables: pt says %u, %u frames live, the model needs %u", sim.pt.tables,
	       sim.nlive, want);
	unsigned other = dsp.on ? dsp.nlive + 1 : 0; /* pt_clone's destination */

	EXPECT(sim.pmm.stats.used_frames == sim.nlive + 1 + other,
	       "PMM: %u frames used, expected %u tables + the directory (+ %u of the clone)",
	       sim.pmm.stats.used_frames, sim.nlive, other);
	EXPECT(sim.allocs - sim.frees == sim.nlive, "%lu allocs - %lu frees != %u live",
	       sim.allocs, sim.frees, sim.nlive);
}

/* pt_query and pt_translate agree with the model for each page of the slots. */
static void check_queries(unsigned first, unsigned last)
{
	const struct op read = { .kind = OP_READ };
	const struct op *saved = sim.op;

	sim.op = &read;
	for (uint32_t n = first << 10; n < (last + 1) << 10 && !check_failed; n++) {
		uint32_t va = (n << PAGE_SHIFT) | ((n * 2654435761u) & (PAGE_SIZE - 1));
		const struct mpage *m = &sim.page[n];
		struct pt_mapping got;
		uint32_t pa = 0;
		bool q = pt_query(&sim.pt, va, &got), t = pt_translate(&sim.pt, va, &pa);
		if (!EXPECT(q == m->mapped && t == m->mapped,
			    "pt_query/pt_translate(0x%x): %d/%d, the model says %s", va, q, t,
			    m->mapped ? "mapped" : "unmapped") ||
		    !m->mapped)
			continue;
		bool large = sim.large[n >> 10];
		uint32_t base = large ? (n & ~1023u) << PAGE_SHIFT : n << PAGE_SHIFT;
		struct pt_mapping want = { base, m->pa - ((n << PAGE_SHIFT) - base),
					   large ? LARGE : PAGE_SIZE,
					   m->flags | PTE_P | (large ? PDE_PS : 0) };
		uint32_t flags = sim.ad_bits ? got.flags & ~PTE_AD : got.flags;
		EXPECT(got.va == want.va && got.pa == want.pa && got.size == want.size &&
			       flags == want.flags,
		       "pt_query(0x%x): va 0x%x pa 0x%x size 0x%x flags 0x%x, expected "
		       "va 0x%x pa 0x%x size 0x%x flags 0x%x",
		       va, got.va, got.pa, got.size, got.flags, want.va, want.pa, want.size,
		       want.flags);
		EXPECT(pa == m->pa + (va & (PAGE_SIZE - 1)), "pt_translate(0x%x) = 0x%x, expected 0x%x",
		       va, pa, m->pa + (va & (PAGE_SIZE - 1)));
	}
	sim.op = saved;
}

/* The TLB rule: a page whose present translation changed was flushed since. */
static void check_tlb(const struct op *op)
{
	for (uint32_t n = op->first << 10; n < (op->last + 1) << 10; n++) {
		struct hw before = op->pre[n - (op->first << 10)];
		struct hw now = hw_walk(n << PAGE_SHIFT);
		if (before.kind == HW_NONE || hw_same(before, now, true))
			continue;
		if (!EXPECT(sim.flush_seq[n] == op->seq && hw_same(sim.flush_seen[n], now, true),
			    "page 0x%x went from %s to %s without a flush after the change",
			    n << PAGE_SHIFT, hw_str(before), hw_str(now)))
			return;
	}
}

/*
 * The paging-structure caches (SDM 4.10.3) may keep a directory entry that
 * was present: after a call, every slot whose present PDE was replaced or
 * cleared must have had a page flushed since, or the CPU could keep
 * walking a freed table or a 4 MiB page that is gone.  And every PDE write
 * must have been announced through pde_changed (the kernel copies them to
 * other address spaces).
 */
static void check_pde_caches(void)
{
	for (unsigned s = 0; s < NSLOTS; s++) {
		EXPECT(!sim.stale[s], "slot %u: a present PDE changed with no flush in the slot after",
		       s);
		EXPECT(dir_entry(s) == sim.shadow[s], "PDE %u became 0x%x unannounced (was 0x%x)", s,
		       dir_entry(s), sim.shadow[s]);
		sim.stale[s] = false;
	}
}

/* Every slot, the counts and the queries: the periodic full comparison. */
static void check_everything(void)
{
	for (unsigned s = 0; s < NSLOTS && !check_failed; s++)
		check_slot(s);
	check_counts();
}

/* ---- pt_for_each_range ----------------------------------------------------- */

struct runs {
	struct pt_mapping *r;
	size_t n, cap;
};

static void runs_push(struct runs *rs, const struct pt_mapping *m)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 64;
		rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
		if (!rs->r)
			abort();
	}
	rs->r[rs->n++] = *m;
}

static void collect_run(void *arg, const struct pt_mapping *run)
{
	runs_push(arg, run);
}

/* The runs the model has in [va, end): contiguous va and pa, equal flags. */
static void model_runs(uint64_t va, uint64_t end, struct runs *out)
{
	struct pt_mapping cur = { 0, 0, 0, 0 };
	uint64_t a = va;

	while (a < end) {
		uint32_t n = (uint32_t)(a >> PAGE_SHIFT);
		const struct mpage *m = &sim.page[n];
		if (!sim.count[n >> 10] || !m->mapped) {
			if (cur.size)
				runs_push(out, &cur);
			cur.size = 0;
			a = sim.count[n >> 10] ? a + PAGE_SIZE : slot_base((n >> 10) + 1);
			continue;
		}
		uint32_t flags = m->flags | PTE_P | (sim.large[n >> 10] ? PDE_PS : 0);
		if (cur.size && cur.va + (uint64_t)cur.size == a &&
		    cur.pa + (uint64_t)cur.size == m->pa && cur.flags == flags) {
			cur.size += PAGE_SIZE;
		} else {
			if (cur.size)
				runs_push(out, &cur);
			cur = (struct pt_mapping){ (uint32_t)a, m->pa, PAGE_SIZE, flags };
		}
		a += PAGE_SIZE;
	}
	if (cur.size)
		runs_push(out, &cur);
}

static void check_runs(uint32_t va, uint64_t len)
{
	const struct op read = { .kind = OP_READ };
	struct runs got = { 0 }, want = { 0 };

	sim.op = &read;
	pt_for_each_range(&sim.pt, va, len, collect_run, &got);
	sim.op = NULL;
	model_runs(va, va + len < FOUR_GIB ? va + len : FOUR_GIB, &want);
	for (size_t i = 0; i < got.n || i < want.n; i++) {
		struct pt_mapping g = i < got.n ? got.r[i] : (struct pt_mapping){ 0, 0, 0, 0 };
		struct pt_mapping w = i < want.n ? want.r[i] : (struct pt_mapping){ 0, 0, 0, 0 };
		if (!EXPECT(g.va == w.va && g.pa == w.pa && g.size == w.size && g.flags == w.flags,
			    "pt_for_each_range(0x%x, 0x%llx): run %zu of %zu is va 0x%x pa 0x%x "
			    "size 0x%x flags 0x%x; the model's (of %zu) is va 0x%x pa 0x%x size "
			    "0x%x flags 0x%x",
			    va, (unsigned long long)len, i, got.n, g.va, g.pa, g.size, g.flags,
			    want.n, w.va, w.pa, w.size, w.flags))
			break;
	}
	free(got.r);
	free(want.r);
}

/* ---- running one call against the model ------------------------------------- */

static const char *op_str(const struct op *op)
{
	static char buf[128];

	switch (op->kind) {
	case OP_MAP:
		snprintf(buf, sizeof(buf), "pt_map(0x%x, 0x%x, 0x%llx, 0x%x)", op->va, op->pa,
			 (unsigned long long)op->len, op->flags);
		break;
	case OP_UNMAP:
		snprintf(buf, sizeof(buf), "pt_unmap(0x%x, 0x%llx)", op->va,
			 (unsigned long long)op->len);
		break;
	case OP_PROTECT:
		snprintf(buf, sizeof(buf), "pt_protect(0x%x, 0x%llx, 0x%x)", op->va,
			 (unsigned long long)op->len, op->flags);
		break;
	case OP_FREE:
		snprintf(buf, sizeof(buf), "pt_free_tables(%u, %u)", op->first, op->free_last);
		break;
	case OP_REPLACE:
		snprintf(buf, sizeof(buf), "pt_replace(0x%x, 0x%x, 0x%x)", op->va, op->pa, op->flags);
		break;
	case OP_CLONE:
		snprintf(buf, sizeof(buf), "pt_clone(dst, src, %u, %u)", op->va, op->free_last);
		break;
	case OP_READ:
		snprintf(buf, sizeof(buf), "a query");
		break;
	}
	return buf;
}

/*
 * The results the arguments alone allow, as a bit set of 1 << VM_E*: a call
 * with several faults may report any one of them.  Besides alignment, empty
 * or wrapping ranges and unknown flags: a range reaching past limit_pdx,
 * PTE_G below 3 GiB (a global user page would outlive its address space in
 * the TLB), and PTE_US for any page in the kernel half (whose page tables
 * are supervisor-only) are refused.
 */
static unsigned arg_errors(const struct op *op)
{
	uint32_t flags = op->kind == OP_MAP ? op->flags & ~PT_LARGE : op->flags;
	bool map = op->kind == OP_MAP || op->kind == OP_REPLACE; /* a physical address too */
	uint64_t end = op->va + op->len;
	unsigned e = 0;

	if (op->va % PAGE_SIZE || op->len % PAGE_SIZE || (map && op->pa % PAGE_SIZE))
		e |= 1u << VM_EALIGN;
	if (op->len == 0 || end > FOUR_GIB || (map && op->pa + op->len > FOUR_GIB) ||
	    end > slot_base(sim.pt.limit_pdx) || (flags & ~PT_FLAGS_ALLOWED) ||
	    ((flags & PTE_US) && end > KERNEL_HALF) || ((flags & PTE_G) && op->va < KERNEL_HALF))
		e |= 1u << VM_EINVAL;
	return e;
}

/* Tables the call allocates and frees when it succeeds, per the model. */
static void op_tables(const struct op *op, unsigned *allocs, unsigned *frees)
{
	uint64_t end = op->va + op->len;

	*allocs = *frees = 0;
	for (unsigned s = op->first; s <= op->last; s++) {
		bool whole = covers_slot(op->va, end, s);
		switch (op->kind) {
		case OP_MAP:
			*allocs += !sim.count[s] && !map_makes_large(op, s);
			break;
		case OP_UNMAP:
		case OP_PROTECT:
			*allocs += sim.large[s] && !whole; /* split */
			if (op->kind == OP_UNMAP && !sim.large[s]) {
				uint64_t lo = op->va > slot_base(s) ? op->va : slot_base(s);
				uint64_t hi = end < slot_base(s + 1) ? end : slot_base(s + 1);
				*frees += model_mapped(lo, hi) == sim.count[s];
			}
			break;
		case OP_FREE:
			*frees += sim.count[s] && !sim.large[s];
			break;
		case OP_READ:
		case OP_REPLACE:
		case OP_CLONE:
			break;
		}
	}
}

/* What the call should return if it can allocate every table it needs. */
static enum vm_result op_predict(const struct op *op)
{
	uint64_t mapped = model_mapped(op->va, op->va + op->len);

	switch (op->kind) {
	case OP_MAP:
		return mapped ? VM_EEXIST : VM_OK;
	case OP_UNMAP:
	case OP_PROTECT:
		return mapped != op->len / PAGE_SIZE ? VM_ENOENT : VM_OK;
	case OP_REPLACE: /* a page of a 4 MiB mapping is not one */
		return mapped && !sim.large[PDX(op->va)] ? VM_OK : VM_ENOENT;
	default:
		return VM_OK;
	}
}

static enum vm_result op_call(const struct op *op)
{
	switch (op->kind) {
	case OP_MAP:
		return pt_map(&sim.pt, op->va, op->pa, (uint32_t)op->len, op->flags);
	case OP_UNMAP:
		return pt_unmap(&sim.pt, op->va, (uint32_t)op->len);
	case OP_PROTECT:
		return pt_protect(&sim.pt, op->va, (uint32_t)op->len, op->flags);
	case OP_REPLACE:
		return pt_replace(&sim.pt, op->va, op->pa, op->flags);
	default:
		pt_free_tables(&sim.pt, op->first, op->free_last);
		return VM_OK;
	}
}

/* Statistics of the randomized run, printed so a vacuous run shows. */
static unsigned long stat_result[VM_ENOMEM + 1], stat_splits, stat_large, stat_replaced;

/*
 * Run `op` and check it: the result against the model's prediction, then
 * either "nothing changed" (refused) or the new state of every touched slot,
 * the TLB rule, the queries and the table count (done).
 */
static enum vm_result op_run(struct op *op)
{
	unsigned errs = op->kind == OP_FREE ? 0 : arg_errors(op);
	unsigned want_allocs = 0, want_frees = 0;
	enum vm_result want = VM_OK, r;

	if (op->kind == OP_FREE) {
		op->last = op->free_last < NSLOTS ? op->free_last : NSLOTS - 1;
	} else if (errs) {
		op->first = 1;
		op->last = 0;
	} else {
		op->first = PDX(op->va);
		op->last = PDX(op->va + op->len - 1);
		want = op_predict(op);
	}
	if (want == VM_OK)
		op_tables(op, &want_allocs, &want_frees);

	size_t npre = op->first <= op->last ? (size_t)(op->last - op->first + 1) << 10 : 0;
	op->pre = malloc((npre + 1) * sizeof(struct hw));
	if (!op->pre)
		abort();
	for (size_t i = 0; i < npre; i++)
		op->pre[i] = hw_walk((uint32_t)(((size_t)op->first << 10) + i) << PAGE_SHIFT);
	struct raw *before = raw_take(op->first, op->last);

	sim.op_allocs = sim.op_frees = sim.op_alloc_fails = 0;
	sim.op_pde_changes = sim.op_flushes = 0;
	op->seq = ++sim.seq;
	sim.op = op;
	r = op_call(op);
	sim.op = NULL;
	stat_result[r <= VM_ENOMEM ? r : 0]++;

	if (errs)
		EXPECT(r != VM_OK && r <= VM_ENOMEM && (errs >> r) & 1,
		       "%s returned %s; the arguments call for %s%s", op_str(op), rname(r),
		       errs & (1u << VM_EALIGN) ? "VM_EALIGN " : "",
		       errs & (1u << VM_EINVAL) ? "VM_EINVAL" : "");
	else if (!(r == VM_ENOMEM && want == VM_OK && sim.op_alloc_fails))
		EXPECT(r == want, "%s returned %s, the model says %s", op_str(op), rname(r),
		       rname(want));
	if (errs && r == VM_OK) {
		/* Accepted what it must refuse: the model cannot follow (the
		 * range may not even be inside 4 GiB); stop here. */
	} else if (r != VM_OK) {
		raw_same(before, op_str(op));
		EXPECT(sim.op_allocs == sim.op_frees, "%s refused but kept %d table frames",
		       op_str(op), (int)(sim.op_allocs - sim.op_frees));
		if (r != VM_ENOMEM)
			EXPECT(!sim.op_allocs && !sim.op_frees && !sim.op_pde_changes &&
				       !sim.op_flushes,
			       "%s refused, yet made %u allocs, %u frees, %u PDE changes, %u flushes",
			       op_str(op), sim.op_allocs, sim.op_frees, sim.op_pde_changes,
			       sim.op_flushes);
	} else {
		EXPECT(sim.op_allocs == want_allocs && sim.op_frees == want_frees,
		       "%s: %u tables allocated and %u freed, expected %u and %u", op_str(op),
		       sim.op_allocs, sim.op_frees, want_allocs, want_frees);
		if (op->kind == OP_UNMAP || op->kind == OP_PROTECT)
			stat_splits += want_allocs;
		if (op->kind == OP_MAP)
			for (unsigned s = op->first; s <= op->last; s++)
				stat_large += map_makes_large(op, s);
		stat_replaced += op->kind == OP_REPLACE;
		model_apply(op);
		for (unsigned s = op->first; s <= op->last && !check_failed; s++)
			check_slot(s);
		check_tlb(op);
		if (op->first <= op->last)
			check_queries(op->first, op->last);
	}
	check_pde_caches();
	check_counts();
	if (check_failed)
		printf("# while checking %s\n", op_str(op));
	raw_free(before);
	free(op->pre);
	op->pre = NULL;
	return r;
}

static enum vm_result op_map(uint32_t va, uint32_t pa, uint32_t len, uint32_t flags)
{
	struct op op = { .kind = OP_MAP, .va = va, .pa = pa, .len = len, .flags = flags };
	return op_run(&op);
}

static enum vm_result op_unmap(uint32_t va, uint32_t len)
{
	struct op op = { .kind = OP_UNMAP, .va = va, .len = len };
	return op_run(&op);
}

static enum vm_result op_protect(uint32_t va, uint32_t len, uint32_t flags)
{
	struct op op = { .kind = OP_PROTECT, .va = va, .len = len, .flags = flags };
	return op_run(&op);
}

static enum vm_result op_replace(uint32_t va, uint32_t pa, uint32_t flags)
{
	struct op op = { .kind = OP_REPLACE, .va = va, .pa = pa, .len = PAGE_SIZE, .flags = flags };
	return op_run(&op);
}

static void op_free_tables(unsigned first, unsigned last)
{
	struct op op = { .kind = OP_FREE, .first = first, .free_last = last };
	op_run(&op);
}

/* Unmap whatever the model has mapped, run by run; then nothing may be left. */
static void unmap_everything(void)
{
	uint64_t a = 0;

	if (check_failed)
		return;

	while (a < FOUR_GIB && !check_failed) {
		uint32_t n = (uint32_t)(a >> PAGE_SHIFT);
		if (!sim.count[n >> 10]) {
			a = slot_base((n >> 10) + 1);
			continue;
		}
		if (!sim.page[n].mapped) {
			a += PAGE_SIZE;
			continue;
		}
		uint64_t end = a;
		while (end < FOUR_GIB && sim.page[end >> PAGE_SHIFT].mapped)
			end += PAGE_SIZE;
		if (end - a > 0xFFFFF000u) /* a length must fit 32 bits */
			end = a + 0xFFFFF000u;
		EXPECT(op_unmap((uint32_t)a, (uint32_t)(end - a)) == VM_OK,
		       "could not unmap the model's run 0x%llx-0x%llx", (unsigned long long)a,
		       (unsigned long long)end);
		a = end;
	}
	check_everything();
	EXPECT(sim.pt.tables == 0 && sim.nlive == 0 && sim.pmm.stats.used_frames == 1,
	       "after unmapping everything: %u tables, %u live, %u frames used", sim.pt.tables,
	       sim.nlive, sim.pmm.stats.used_frames);
}

/* ---- pt_clone: the destination space and the copying function ------------------ */

static pde_t dst_dir_entry(unsigned pdx)
{
	return mem_load(dsp.dir + 4 * pdx);
}

static struct hw dst_walk(uint32_t va)
{
	return hw_walk_in(dsp.dir, dsp.live, va);
}

/* The directory entry pagetable.c gives a page table in slot `s`. */
static pde_t table_pde_flags(unsigned s)
{
	return PTE_P | PTE_RW | (s < KERNEL_SLOT ? PTE_US : 0);
}

/* Does a slot of the destination's directory point at table frame `pa`? */
static bool dst_points_at(uint32_t pa)
{
	for (unsigned s = 0; s < NSLOTS; s++) {
		pde_t d = dst_dir_entry(s);
		if ((d & (PTE_P | PDE_PS)) == PTE_P && (d & PTE_ADDR_MASK) == pa)
			return true;
	}
	return false;
}

static void *dst_table(void *ctx, uint32_t pa, unsigned pdx)
{
	static uint32_t scratch[ENTRIES_PER_TABLE];

	EXPECT(ctx == &dsp, "destination table(): ctx %p", ctx);
	if (!EXPECT(pdx <= PT_FRAME, "destination table(0x%x, %u): no such slot", pa, pdx))
		return scratch;
	if (pdx == PT_DIR) {
		if (!EXPECT(pa == dsp.dir, "destination table(0x%x, PT_DIR): its directory is 0x%x",
			    pa, dsp.dir))
			return scratch;
	} else {
		if (!EXPECT(pa % PAGE_SIZE == 0 && in_sim(pa) && dsp.live[pa / PAGE_SIZE],
			    "destination table(0x%x, %u): not one of its page tables", pa, pdx))
			return scratch;
		if (pdx == PT_FRAME)
			EXPECT(!dst_points_at(pa),
			       "destination table(0x%x, PT_FRAME): a slot already points at it", pa);
		else
			EXPECT((dst_dir_entry(pdx) & (PTE_P | PDE_PS)) == PTE_P &&
				       (dst_dir_entry(pdx) & PTE_ADDR_MASK) == pa,
			       "destination table(0x%x, slot %u): the slot holds 0x%x", pa, pdx,
			       dst_dir_entry(pdx));
		if (dsp.cloning)
			EXPECT(pdx == PT_FRAME || (pdx >= dsp.first && pdx <= dsp.last),
			       "destination table(0x%x, slot %u) outside the clone's slots %u..%u",
			       pa, pdx, dsp.first, dsp.last);
	}
	window_set(dsp.window, pdx == PT_DIR, pa);
	return sim.mem + pa;
}

static uint32_t dst_alloc(void *ctx)
{
	EXPECT(ctx == &dsp, "destination alloc(): ctx %p", ctx);
	if (dsp.alloc_budget == 0) {
		dsp.alloc_fails++;
		return 0;
	}
	paddr_t f = pmm_alloc(&sim.pmm);
	if (!EXPECT(f != 0, "simulated memory exhausted (destination)"))
		return 0;
	if (dsp.alloc_budget > 0)
		dsp.alloc_budget--;
	EXPECT(in_sim(f) && !sim.live[f / PAGE_SIZE] && !dsp.live[f / PAGE_SIZE],
	       "PMM handed out 0x%x twice", f);
	dsp.live[f / PAGE_SIZE] = true;
	dsp.nlive++;
	dsp.allocs++;
	return f;
}

static void dst_free(void *ctx, uint32_t pa)
{
	EXPECT(ctx == &dsp, "destination free(): ctx %p", ctx);
	if (!EXPECT(pa % PAGE_SIZE == 0 && in_sim(pa) && dsp.live[pa / PAGE_SIZE],
		    "destination free(0x%x): not one of its page tables", pa))
		return;
	EXPECT(!dst_points_at(pa), "destination free(0x%x): a slot still points at it", pa);
	dsp.live[pa / PAGE_SIZE] = false;
	dsp.nlive--;
	dsp.frees++;
	for (int k = 0; k < 2; k++)
		if (dsp.window[k] == pa)
			window_set(dsp.window, k, 0);
	frame_fill(pa, GARBAGE * 0x01010101u);
	EXPECT(pmm_free(&sim.pmm, pa) == PMM_OK, "pmm_free(0x%x) refused", pa);
}

static void dst_pde_changed(void *ctx, unsigned pdx, pde_t value)
{
	EXPECT(ctx == &dsp, "destination pde_changed(): ctx %p", ctx);
	dsp.pde_changes++;
	if (!EXPECT(pdx < NSLOTS, "destination pde_changed(%u): no such slot", pdx))
		return;
	EXPECT(dst_dir_entry(pdx) == value, "destination pde_changed(%u, 0x%x), but the entry is 0x%x",
	       pdx, value, dst_dir_entry(pdx));
	dsp.shadow[pdx] = value;
	for (unsigned s = 0; s < NSLOTS; s++)
		EXPECT(dst_dir_entry(s) == dsp.shadow[s],
		       "destination PDE %u became 0x%x unannounced (was 0x%x)", s, dst_dir_entry(s),
		       dsp.shadow[s]);
	if (!dsp.cloning)
		return;
	/* pt_clone only ever puts a finished (or partly filled) table in. */
	if (!EXPECT(pdx >= dsp.first && pdx <= dsp.last && (value & PTE_FLAGS_MASK) ==
			    table_pde_flags(pdx) && in_sim(value & PTE_ADDR_MASK) &&
			    dsp.live[(value & PTE_ADDR_MASK) / PAGE_SIZE],
		    "pt_clone: destination PDE %u set to 0x%x (slots %u..%u, a table has flags 0x%x)",
		    pdx, value, dsp.first, dsp.last, table_pde_flags(pdx)))
		return;
	for (uint32_t n = pdx << 10; n < (pdx + 1) << 10; n++) {
		struct hw now = dst_walk(n << PAGE_SHIFT), want = dsp.want[n - (dsp.first << 10)];
		if (!EXPECT(now.kind == HW_NONE || hw_same(now, want, true),
			    "pt_clone: destination PDE %u set, page 0x%x is %s, the copy should be %s",
			    pdx, n << PAGE_SHIFT, hw_str(now), hw_str(want)))
			return;
	}
}

static void dst_flush(void *ctx, uint32_t va, uint32_t pages)
{
	uint64_t end = va + (uint64_t)pages * PAGE_SIZE;

	EXPECT(ctx == &dsp, "destination flush(): ctx %p", ctx);
	dsp.flushes++;
	EXPECT(va % PAGE_SIZE == 0 && pages > 0 && end <= FOUR_GIB,
	       "destination flush(0x%x, %u pages): not a range of pages", va, pages);
	if (dsp.cloning)
		EXPECT(va >= slot_base(dsp.first) && end <= slot_base(dsp.last + 1),
		       "destination flush(0x%x, %u pages) outside the clone's slots %u..%u", va,
		       pages, dsp.first, dsp.last);
}

static const struct pt_ops dst_ops = {
	.table = dst_table,
	.alloc = dst_alloc,
	.free = dst_free,
	.pde_changed = dst_pde_changed,
	.flush = dst_flush,
};

/* An empty destination space (after sim_setup). */
static void dst_setup(void)
{
	dsp.dir = pmm_alloc(&sim.pmm);
	frame_fill(dsp.dir, 0);
	memset(dsp.shadow, 0, sizeof(dsp.shadow));
	dsp.alloc_budget = -1;
	dsp.on = true;
	pt_init(&dsp.pt, dsp.dir, &dst_ops, &dsp);
}

/* Free every table of the destination (as fork's caller undoes a copy). */
static void dst_empty(void)
{
	pt_free_tables(&dsp.pt, 0, NSLOTS - 1);
	EXPECT(dsp.pt.tables == 0 && dsp.nlive == 0,
	       "destination emptied: pt says %u tables, %u live", dsp.pt.tables, dsp.nlive);
	for (unsigned s = 0; s < NSLOTS; s++)
		if (!EXPECT(dst_dir_entry(s) == 0, "destination emptied: PDE %u is 0x%x", s,
			    dst_dir_entry(s)))
			break;
}

static void dst_teardown(void)
{
	if (!dsp.on)
		return;
	dst_empty();
	window_set(dsp.window, 0, 0);
	window_set(dsp.window, 1, 0);
	EXPECT(pmm_free(&sim.pmm, dsp.dir) == PMM_OK, "pmm_free(0x%x) refused", dsp.dir);
	dsp.on = false;
	check_counts();
}

/*
 * What the test's copying functions do to each present source entry:
 *   CLONE_COW   fork's copy-on-write: the source loses RW, the copy is the
 *               source's entry without RW, A and D;
 *   CLONE_COPY  an eager copy: the destination gets another frame (the
 *               source's plus COPY_DELTA) with P, RW, US and PCD only, the
 *               source is left alone.
 */
enum clone_mode { CLONE_COW, CLONE_COPY };
#define COPY_DELTA 0x00801000u
#define COPY_KEEP (PTE_P | PTE_RW | PTE_US | PTE_PCD)

static pte_t clone_dst_entry(enum clone_mode mode, pte_t e)
{
	if (mode == CLONE_COW)
		return e & ~(PTE_RW | PTE_AD);
	return (((e & PTE_ADDR_MASK) + COPY_DELTA) & PTE_ADDR_MASK) | (e & COPY_KEEP);
}

static pte_t clone_src_entry(enum clone_mode mode, pte_t e)
{
	return mode == CLONE_COW ? e & ~PTE_RW : e;
}

/* The walk of a small page whose entry is `e`, in slot `s` (a table's PDE). */
static struct hw hw_of_entry(pte_t e, unsigned s)
{
	if (!(e & PTE_P))
		return (struct hw){ 0, 0, HW_NONE, 0 };
	return (struct hw){ e & PTE_ADDR_MASK, (uint16_t)(e & LEAF_FLAGS), HW_SMALL,
			    (uint8_t)(e & table_pde_flags(s) & (RW | US)) };
}

enum { FN_NOT_CALLED, FN_COPIED, FN_FAILED };

struct clone_arg {
	enum clone_mode mode;
	long fn_budget;   /* calls that succeed before one fails; < 0: all */
	unsigned first;   /* page (first << 10) is called[0] */
	uint8_t *called;  /* per page of the range: FN_* */
	unsigned calls;
	uint32_t last_va; /* the previous call's, for the address order */
};

static bool clone_fn(void *arg, uint32_t va, pte_t *src, pte_t *dst)
{
	struct clone_arg *a = arg;
	uint32_t sp = (uint32_t)((uint8_t *)src - sim.mem), dp = (uint32_t)((uint8_t *)dst - sim.mem);
	pde_t d = dir_entry(PDX(va));

	if (!EXPECT(sim.op && sim.op->kind == OP_CLONE && PDX(va) >= sim.op->first &&
			    PDX(va) <= sim.op->last && va % PAGE_SIZE == 0,
		    "fn(0x%x) outside the clone's slots", va) ||
	    !EXPECT(!a->calls || va > a->last_va, "fn(0x%x) after fn(0x%x): not in address order",
		    va, a->last_va) ||
	    !EXPECT((d & (PTE_P | PDE_PS)) == PTE_P && sp == (d & PTE_ADDR_MASK) + 4 * PTX(va),
		    "fn(0x%x): src is 0x%x, not the source's entry (slot %u holds 0x%x)", va, sp,
		    PDX(va), d) ||
	    !EXPECT(in_sim(dp) && dsp.live[dp / PAGE_SIZE] && dp % PAGE_SIZE == 4 * PTX(va) &&
			    dst_dir_entry(PDX(va)) == 0,
		    "fn(0x%x): dst is 0x%x, not entry %u of a new destination table", va, dp,
		    PTX(va)) ||
	    !EXPECT((*src & PTE_P) && *dst == 0, "fn(0x%x): source entry 0x%x, destination 0x%x",
		    va, *src, *dst)) {
		a->calls++;
		return true;
	}
	a->calls++;
	a->last_va = va;
	uint8_t *c = &a->called[(va >> PAGE_SHIFT) - (a->first << 10)];
	if (a->fn_budget == 0) {
		*c = FN_FAILED;
		return false;
	}
	if (a->fn_budget > 0)
		a->fn_budget--;
	*c = FN_COPIED;
	*dst = clone_dst_entry(a->mode, *src);
	*src = clone_src_entry(a->mode, *src);
	return true;
}

struct clone_case {
	unsigned first, last;
	enum clone_mode mode;
	long budget;    /* destination tables allocated before alloc() fails; < 0: all */
	long fn_budget; /* fn calls that succeed before one fails; < 0: all */
};

/* A snapshot of the destination: its directory and every table it holds. */
struct dst_raw {
	pde_t dir[NSLOTS];
	pte_t *tables[NSLOTS];
	unsigned tables_n, nlive;
};

static struct dst_raw *dst_raw_take(void)
{
	struct dst_raw *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	for (unsigned s = 0; s < NSLOTS; s++) {
		r->dir[s] = dst_dir_entry(s);
		if ((r->dir[s] & (PTE_P | PDE_PS)) != PTE_P)
			continue;
		if (!(r->tables[s] = malloc(PAGE_SIZE)))
			abort();
		for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++)
			r->tables[s][i] = mem_load((r->dir[s] & PTE_ADDR_MASK) + 4 * i);
	}
	r->tables_n = dsp.pt.tables;
	r->nlive = dsp.nlive;
	return r;
}

static void dst_raw_free(struct dst_raw *r)
{
	for (unsigned s = 0; s < NSLOTS; s++)
		free(r->tables[s]);
	free(r);
}

/* Slot `s` of the destination as in `r` (`table`: its table's entries too). */
static bool dst_slot_same(const struct dst_raw *r, unsigned s, const char *what)
{
	if (!EXPECT(dst_dir_entry(s) == r->dir[s], "%s: destination PDE %u was 0x%x, now 0x%x",
		    what, s, r->dir[s], dst_dir_entry(s)))
		return false;
	if (!r->tables[s])
		return true;
	for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++) {
		pte_t now = mem_load((r->dir[s] & PTE_ADDR_MASK) + 4 * i);
		if (!EXPECT(now == r->tables[s][i], "%s: destination PTE %u/%u was 0x%x, now 0x%x",
			    what, s, i, r->tables[s][i], now))
			return false;
	}
	return true;
}

static unsigned long stat_clone_result[VM_ENOMEM + 1], stat_clone_tables, stat_clone_pages;

/*
 * Run pt_clone(&dsp.pt, &sim.pt, first, last) with `c`'s copying function
 * and failures, and check it against the model:
 *   - the result: VM_EINVAL for bad slot numbers, a 4 MiB page in a slot of
 *     the range, or a destination slot already present where the source has
 *     a table; VM_ENOMEM when a table allocation or fn fails; else VM_OK;
 *   - a refusal changes neither space, calls no fn and allocates nothing;
 *   - otherwise fn was called exactly once per present source entry of the
 *     tables copied (in address order), one destination table per present
 *     source table copied (all of them on VM_OK), every destination page of
 *     the range walks as fn's copy of the source's entry (or unmapped where
 *     nothing was copied), the source walks as the model says after fn's
 *     change, nothing outside the range changed in the destination, and the
 *     source's flush covered every page of slots first..last.
 */
static enum vm_result clone_run(const struct clone_case *c)
{
	bool bad_args = c->first > c->last || c->last >= dsp.pt.limit_pdx ||
			c->last >= sim.pt.limit_pdx;
	unsigned first = bad_args ? 1 : c->first, last = bad_args ? 0 : c->last;
	size_t npages = first <= last ? (size_t)(last - first + 1) << 10 : 0;
	enum vm_result want = bad_args ? VM_EINVAL : VM_OK;
	struct op op = { .kind = OP_CLONE, .va = c->first, .free_last = c->last,
			 .first = first, .last = last };
	struct hw *want_dst = malloc((npages + 1) * sizeof(*want_dst));
	struct hw *dst_pre = malloc((npages + 1) * sizeof(*dst_pre));
	uint8_t *expect_called = calloc(npages + 1, 1), *called = calloc(npages + 1, 1);
	bool *copied_slot = calloc(NSLOTS, sizeof(bool));

	op.pre = malloc((npages + 1) * sizeof(struct hw));
	if (!want_dst || !dst_pre || !expect_called || !called || !copied_slot || !op.pre)
		abort();

	/* The prediction, table by table as pt_clone goes. */
	for (unsigned s = first; s <= last && want == VM_OK; s++)
		if (sim.count[s] && (sim.large[s] || (dst_dir_entry(s) & PTE_P)))
			want = VM_EINVAL;
	unsigned want_tables = 0;
	long fn_left = c->fn_budget;
	for (unsigned s = first; s <= last && want == VM_OK; s++) {
		if (!sim.count[s])
			continue;
		if (c->budget >= 0 && want_tables == c->budget) {
			want = VM_ENOMEM;
			break;
		}
		want_tables++;
		copied_slot[s] = true;
		for (uint32_t n = s << 10; n < (s + 1) << 10 && want == VM_OK; n++) {
			if (!sim.page[n].mapped)
				continue;
			if (fn_left == 0)
				want = VM_ENOMEM;
			else
				fn_left -= fn_left > 0;
			expect_called[n - (first << 10)] = want == VM_OK ? FN_COPIED : FN_FAILED;
		}
	}
	for (size_t i = 0; i < npages; i++) {
		uint32_t n = (uint32_t)((first << 10) + i);
		op.pre[i] = hw_walk(n << PAGE_SHIFT);
		dst_pre[i] = dst_walk(n << PAGE_SHIFT);
		pte_t e = op.pre[i].kind == HW_SMALL ? op.pre[i].pa | op.pre[i].flags : 0;
		want_dst[i] = hw_of_entry(clone_dst_entry(c->mode, e), n >> 10);
	}
	struct raw *before = raw_take(first, last);
	struct dst_raw *dbefore = dst_raw_take();
	struct clone_arg arg = { c->mode, c->fn_budget, first, called, 0, 0 };

	sim.op_allocs = sim.op_frees = sim.op_alloc_fails = 0;
	sim.op_pde_changes = sim.op_flushes = 0;
	dsp.allocs = dsp.alloc_fails = dsp.frees = dsp.pde_changes = dsp.flushes = 0;
	dsp.alloc_budget = c->budget;
	dsp.cloning = true;
	dsp.first = first;
	dsp.last = last;
	dsp.want = want_dst;
	op.seq = ++sim.seq;
	sim.op = &op;
	enum vm_result r = pt_clone(&dsp.pt, &sim.pt, c->first, c->last, clone_fn, &arg);
	sim.op = NULL;
	dsp.cloning = false;
	dsp.alloc_budget = -1;
	stat_clone_result[r <= VM_ENOMEM ? r : 0]++;

	EXPECT(r == want, "%s returned %s, the model says %s", op_str(&op), rname(r), rname(want));
	EXPECT(!sim.op_allocs && !sim.op_frees && !sim.op_pde_changes && !dsp.frees,
	       "%s: %u allocs, %u frees, %u PDE changes in the source, %u frees in the "
	       "destination",
	       op_str(&op), sim.op_allocs, sim.op_frees, sim.op_pde_changes, dsp.frees);
	if (r != want) {
		/* The model cannot follow. */
	} else if (r == VM_EINVAL) {
		check_tlb(&op); /* if anything did change, at least the source was flushed */
		raw_same(before, op_str(&op));
		for (unsigned s = 0; s < NSLOTS && dst_slot_same(dbefore, s, op_str(&op)); s++)
			;
		EXPECT(!arg.calls && !dsp.allocs && !dsp.pde_changes && dsp.pt.tables == dbefore->tables_n,
		       "%s refused, yet called fn %u times, allocated %u tables, changed %u "
		       "destination PDEs",
		       op_str(&op), arg.calls, dsp.allocs, dsp.pde_changes);
	} else {
		/* fn: once per present entry of the tables copied, in order. */
		for (size_t i = 0; i < npages; i++) {
			if (called[i] == expect_called[i])
				continue;
			EXPECT(0, "%s: fn for page 0x%x: %s, expected %s", op_str(&op),
			       (unsigned)(((first << 10) + i) << PAGE_SHIFT),
			       (const char *[]){ "not called", "copied", "failed" }[called[i]],
			       (const char *[]){ "not called", "copied", "failed" }[expect_called[i]]);
			break;
		}
		/* The source: what fn did to it, and nothing else. */
		for (size_t i = 0; i < npages; i++) {
			uint32_t n = (uint32_t)((first << 10) + i);
			if (called[i] == FN_COPIED && c->mode == CLONE_COW)
				model_set(n, true, sim.page[n].pa, sim.page[n].flags & ~RW);
		}
		for (unsigned s = first; s <= last && !check_failed; s++)
			check_slot(s);
		check_tlb(&op);
		check_queries(first, last);
		/* "The source's cached translations are flushed either way." */
		for (size_t i = 0; i < npages; i++) {
			uint32_t n = (uint32_t)((first << 10) + i);
			if (!EXPECT(sim.flush_seq[n] == op.seq,
				    "%s returned %s without flushing the source's page 0x%x",
				    op_str(&op), rname(r), n << PAGE_SHIFT))
				break;
		}
		/* The destination: one table per source table copied, and the copies. */
		unsigned tables = 0;
		for (unsigned s = 0; s < NSLOTS && !check_failed; s++) {
			if (s < first || s > last || !copied_slot[s]) {
				dst_slot_same(dbefore, s, op_str(&op));
				continue;
			}
			pde_t d = dst_dir_entry(s);
			tables++;
			EXPECT((d & PTE_FLAGS_MASK) == table_pde_flags(s) && in_sim(d & PTE_ADDR_MASK) &&
				       dsp.live[(d & PTE_ADDR_MASK) / PAGE_SIZE],
			       "%s: destination PDE %u is 0x%x, expected a table with flags 0x%x",
			       op_str(&op), s, d, table_pde_flags(s));
			for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++) {
				pte_t e = mem_load((d & PTE_ADDR_MASK) + 4 * i);
				size_t k = ((size_t)(s - first) << 10) + i;
				pte_t src = op.pre[k].kind == HW_SMALL ? op.pre[k].pa | op.pre[k].flags : 0;
				pte_t w = called[k] == FN_COPIED ? clone_dst_entry(c->mode, src) : 0;
				if (!EXPECT(e == w, "%s: destination PTE %u/%u is 0x%x, expected 0x%x "
					    "(the source's was 0x%x)",
					    op_str(&op), s, i, e, w, src))
					break;
			}
		}
		EXPECT(tables == want_tables && dsp.allocs == want_tables &&
			       dsp.pt.tables == dbefore->tables_n + want_tables &&
			       dsp.nlive == dsp.pt.tables,
		       "%s: %u destination tables made (%u allocations, pt says %u, %u live), "
		       "expected %u more than %u",
		       op_str(&op), tables, dsp.allocs, dsp.pt.tables, dsp.nlive, want_tables,
		       dbefore->tables_n);
		/* And through the independent walk, page by page. */
		for (size_t i = 0; i < npages && !check_failed; i++) {
			uint32_t n = (uint32_t)((first << 10) + i);
			struct hw got = dst_walk(n << PAGE_SHIFT);
			struct hw w = copied_slot[n >> 10]
					      ? (called[i] == FN_COPIED ? want_dst[i]
									: (struct hw){ 0, 0, HW_NONE, 0 })
					      : dst_pre[i];
			EXPECT(hw_same(got, w, true) && got.kind == w.kind,
			       "%s: destination page 0x%08x walks as %s, expected %s (the source "
			       "was %s)",
			       op_str(&op), n << PAGE_SHIFT, hw_str(got), hw_str(w), hw_str(op.pre[i]));
		}
		stat_clone_tables += tables;
		stat_clone_pages += arg.calls;
	}
	for (unsigned s = 0; s < NSLOTS; s++)
		if (!EXPECT(dst_dir_entry(s) == dsp.shadow[s],
			    "destination PDE %u became 0x%x unannounced (was 0x%x)", s,
			    dst_dir_entry(s), dsp.shadow[s]))
			break;
	check_pde_caches();
	check_counts();
	if (check_failed)
		printf("# while checking %s (budget %ld, fn budget %ld, %s)\n", op_str(&op),
		       c->budget, c->fn_budget, c->mode == CLONE_COW ? "copy-on-write" : "copy");
	raw_free(before);
	dst_raw_free(dbefore);
	free(op.pre);
	free(want_dst);
	free(dst_pre);
	free(expect_called);
	free(called);
	free(copied_slot);
	return r;
}

static enum vm_result op_clone(unsigned first, unsigned last, enum clone_mode mode)
{
	struct clone_case c = { first, last, mode, -1, -1 };
	return clone_run(&c);
}

/* Map into the destination directly (a slot pt_clone must refuse to fill). */
static void dst_map(uint32_t va, uint32_t pa, uint32_t len, uint32_t flags)
{
	enum vm_result r = pt_map(&dsp.pt, va, pa, len, flags);

	EXPECT(r == VM_OK, "destination pt_map(0x%x, 0x%x, 0x%x, 0x%x) returned %s", va, pa, len,
	       flags, rname(r));
}

/* ---- directed cases ------------------------------------------------------------ */

static void basic_map_query_unmap(void)
{
	struct pt_mapping m;
	uint32_t pa;

	sim_setup();
	CHECK_VM(op_map(0x1000, 0x200000, 3 * PAGE_SIZE, RW | US), VM_OK);
	CHECK_EQ(sim.pt.tables, 1);
	CHECK(pt_query(&sim.pt, 0x2abc, &m), "0x2abc not mapped");
	CHECK(m.va == 0x2000 && m.pa == 0x201000 && m.size == PAGE_SIZE &&
		      m.flags == (PTE_P | RW | US),
	      "pt_query: va 0x%x pa 0x%x size 0x%x flags 0x%x", m.va, m.pa, m.size, m.flags);
	CHECK(pt_translate(&sim.pt, 0x3fff, &pa) && pa == 0x202fff, "pt_translate(0x3fff)");
	CHECK(!pt_translate(&sim.pt, 0x0, &pa), "page 0 mapped");
	CHECK(!pt_translate(&sim.pt, 0x4000, &pa), "page 4 mapped");
	CHECK_EQ(table_entry(0, 1), 0x200000 | PTE_P | RW | US);

	/* Across a slot boundary: two tables. */
	CHECK_VM(op_map(0x3FE000, 0x00ABC000, 4 * PAGE_SIZE, 0), VM_OK);
	CHECK_EQ(sim.pt.tables, 2);
	CHECK(pt_translate(&sim.pt, 0x400123, &pa) && pa == 0xABE123, "across slots");
	CHECK_VM(op_unmap(0x2000, PAGE_SIZE), VM_OK);
	CHECK(!pt_translate(&sim.pt, 0x2000, &pa), "unmapped page still translates");
	CHECK_VM(op_protect(0x3000, PAGE_SIZE, RW | PTE_PCD), VM_OK);
	CHECK_EQ(table_entry(0, 3), 0x202000 | PTE_P | RW | PTE_PCD);
	CHECK_VM(op_unmap(0x1000, PAGE_SIZE), VM_OK);
	CHECK_VM(op_unmap(0x3000, PAGE_SIZE), VM_OK);
	CHECK_VM(op_unmap(0x3FE000, 4 * PAGE_SIZE), VM_OK);
	CHECK_EQ(sim.pt.tables, 0);
	CHECK_EQ(dir_entry(0), 0);
	CHECK_EQ(dir_entry(1), 0);
	unmap_everything();
}

static void misaligned_refused(void)
{
	sim_setup();
	CHECK_VM(op_map(0x10000, 0x20000, 4 * PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0x40001, 0x50000, PAGE_SIZE, RW), VM_EALIGN);
	CHECK_VM(op_map(0x40000, 0x50800, PAGE_SIZE, RW), VM_EALIGN);
	CHECK_VM(op_map(0x40000, 0x50000, 0x800, RW), VM_EALIGN);
	CHECK_VM(op_map(0x40000, 0x50000, PAGE_SIZE + 1, RW), VM_EALIGN);
	CHECK_VM(op_map(0x10800, 0x50000, PAGE_SIZE, RW), VM_EALIGN); /* over a mapping */
	CHECK_VM(op_unmap(0x10001, PAGE_SIZE), VM_EALIGN);
	CHECK_VM(op_unmap(0x10000, 0xFFF), VM_EALIGN);
	CHECK_VM(op_protect(0x10ffc, PAGE_SIZE, 0), VM_EALIGN);
	CHECK_VM(op_protect(0x10000, 0x1800, 0), VM_EALIGN);
	CHECK_VM(op_map(0x400000 + 0x10, 0x800000, LARGE, RW | PT_LARGE), VM_EALIGN);
	CHECK_EQ(sim.pt.tables, 1);
	unmap_everything();
}

static void invalid_refused(void)
{
	static const uint32_t bad_flags[] = { PTE_P, PTE_A, PTE_D, PDE_PS, 0x1000, 0x40000000 };

	sim_setup();
	CHECK_VM(op_map(0x10000, 0x20000, PAGE_SIZE, RW), VM_OK);
	/* Empty ranges. */
	CHECK_VM(op_map(0x40000, 0x50000, 0, RW), VM_EINVAL);
	CHECK_VM(op_unmap(0x10000, 0), VM_EINVAL);
	CHECK_VM(op_protect(0x10000, 0, RW), VM_EINVAL);
	/* Ranges past 4 GiB, virtual and physical. */
	CHECK_VM(op_map(0xFFFFF000, 0x50000, 2 * PAGE_SIZE, RW), VM_EINVAL);
	CHECK_VM(op_map(0xFFC00000, 0x50000, 0x00401000, RW), VM_EINVAL);
	CHECK_VM(op_map(0x80000000, 0x80000000, 0x80001000, RW), VM_EINVAL);
	CHECK_VM(op_map(0x40000, 0xFFFFF000, 2 * PAGE_SIZE, RW), VM_EINVAL);
	CHECK_VM(op_map(0x40000, 0xFFC00000, 0x00401000, RW | PT_LARGE), VM_EINVAL);
	CHECK_VM(op_unmap(0xFFFFF000, 0x2000), VM_EINVAL);
	CHECK_VM(op_protect(0x10000, 0xFFFF1000, RW), VM_EINVAL);
	/* Flags outside PT_FLAGS_ALLOWED, including P, A, D and PS. */
	for (unsigned i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		CHECK_VM(op_map(0x40000, 0x50000, PAGE_SIZE, RW | bad_flags[i]), VM_EINVAL);
		CHECK_VM(op_protect(0x10000, PAGE_SIZE, RW | bad_flags[i]), VM_EINVAL);
	}
	CHECK_VM(op_protect(0x10000, PAGE_SIZE, RW | PT_LARGE), VM_EINVAL);
	/* Every allowed flag is accepted (G in the kernel half, US below it). */
	CHECK_VM(op_map(0x40000, 0x50000, PAGE_SIZE, PT_FLAGS_ALLOWED & ~PTE_G), VM_OK);
	CHECK_VM(op_protect(0x10000, PAGE_SIZE, PT_FLAGS_ALLOWED & ~PTE_G), VM_OK);
	CHECK_EQ(table_entry(0, 0x10), 0x20000 | PTE_P | (PT_FLAGS_ALLOWED & ~PTE_G));
	CHECK_VM(op_map(0xC0040000, 0x50000, PAGE_SIZE, PT_FLAGS_ALLOWED & ~PTE_US), VM_OK);
	CHECK_EQ(table_entry(KERNEL_SLOT, 0x40), 0x50000 | PTE_P | (PT_FLAGS_ALLOWED & ~PTE_US));
	unmap_everything();
}

/*
 * Two rules on where flags and ranges may go: a global page only in the
 * kernel half (a global translation survives CR3 loads, so a user one would
 * leak into the next address space), and nothing at or past limit_pdx.
 */
static void global_and_limit_refused(void)
{
	sim_setup();
	CHECK_VM(op_map(0xBFFFF000, 0x1000, PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0x10000, 0x1000, PAGE_SIZE, RW | PTE_G), VM_EINVAL);
	CHECK_VM(op_map(0xBFFFE000, 0x1000, PAGE_SIZE, PTE_G), VM_EINVAL);
	CHECK_VM(op_map(0xBFFFE000, 0x1000, 0x3000, PTE_G), VM_EINVAL); /* straddles 3 GiB */
	CHECK_VM(op_protect(0xBFFFF000, PAGE_SIZE, PTE_G), VM_EINVAL);
	CHECK_VM(op_map(0xC0000000, 0x1000, PAGE_SIZE, RW | PTE_G), VM_OK);
	CHECK_VM(op_protect(0xC0000000, PAGE_SIZE, PTE_G), VM_OK);

	/* As the kernel sets it: kmap, window and recursive slots out of reach. */
	sim.pt.limit_pdx = 1021;
	CHECK_VM(op_map(0xFF3FF000, 0x1000, PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0xFF400000, 0x1000, PAGE_SIZE, RW), VM_EINVAL);
	CHECK_VM(op_map(0xFF3FF000, 0x1000, 2 * PAGE_SIZE, RW), VM_EINVAL);
	CHECK_VM(op_map(0xFFC00000, 0x400000, LARGE, RW | PT_LARGE), VM_EINVAL);
	CHECK_VM(op_unmap(0xFF3FF000, 2 * PAGE_SIZE), VM_EINVAL);
	CHECK_VM(op_protect(0xFF3FF000, 2 * PAGE_SIZE, RW), VM_EINVAL);
	CHECK_VM(op_unmap(0xFF3FF000, PAGE_SIZE), VM_OK);
	/* As a user space sets it: only the user half. */
	sim.pt.limit_pdx = KERNEL_SLOT;
	CHECK_VM(op_map(0xC0001000, 0x1000, PAGE_SIZE, RW), VM_EINVAL);
	CHECK_VM(op_unmap(0xC0000000, PAGE_SIZE), VM_EINVAL);
	CHECK_VM(op_protect(0xBFFFF000, 2 * PAGE_SIZE, RW), VM_EINVAL);
	CHECK_VM(op_protect(0xBFFFF000, PAGE_SIZE, 0), VM_OK);
	sim.pt.limit_pdx = NSLOTS;
	unmap_everything();
}

/*
 * Page tables in the kernel half are supervisor-only (their PDEs lack US,
 * so the kernel's shared tables never open a page to ring 3), hence a user
 * page cannot be mapped there: pt_map/pt_protect refuse PTE_US above 3 GiB.
 */
static void kernel_half_is_supervisor(void)
{
	sim_setup();
	CHECK_VM(op_map(0xBFFFF000, 0x1000, PAGE_SIZE, RW | US), VM_OK);
	CHECK_VM(op_map(0xC0000000, 0x2000, PAGE_SIZE, RW), VM_OK);
	CHECK_EQ(dir_entry(KERNEL_SLOT - 1) & PTE_FLAGS_MASK, PTE_P | PTE_RW | PTE_US);
	CHECK_EQ(dir_entry(KERNEL_SLOT) & PTE_FLAGS_MASK, PTE_P | PTE_RW);
	CHECK_VM(op_map(0xC0001000, 0x3000, PAGE_SIZE, RW | US), VM_EINVAL);
	CHECK_VM(op_map(0xBFFFE000, 0x3000, 3 * PAGE_SIZE, US), VM_EINVAL);
	CHECK_VM(op_map(0xC0400000, 0x400000, LARGE, US | PT_LARGE), VM_EINVAL);
	CHECK_VM(op_protect(0xC0000000, PAGE_SIZE, US), VM_EINVAL);
	CHECK_VM(op_protect(0xBFFFF000, 2 * PAGE_SIZE, RW | US), VM_EINVAL);
	CHECK_VM(op_protect(0xBFFFF000, PAGE_SIZE, US), VM_OK);
	CHECK_VM(op_map(0xC0400000, 0x400000, LARGE, RW | PTE_G | PT_LARGE), VM_OK);
	CHECK_EQ(dir_entry(KERNEL_SLOT + 1), 0x400000 | PDE_PS | PTE_P | RW | PTE_G);
	unmap_everything();
}

static void map_over_existing_refused(void)
{
	sim_setup();
	CHECK_VM(op_map(0x10000, 0x20000, 4 * PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0x0F000, 0x90000, 2 * PAGE_SIZE, RW), VM_EEXIST); /* last page */
	CHECK_VM(op_map(0x13000, 0x90000, 2 * PAGE_SIZE, RW), VM_EEXIST); /* first page */
	CHECK_VM(op_map(0x11000, 0x90000, PAGE_SIZE, RW), VM_EEXIST);     /* inside */
	CHECK_VM(op_map(0x00000, 0x90000, 0x100000, RW), VM_EEXIST);      /* around */
	CHECK_VM(op_map(0x10000, 0x20000, 4 * PAGE_SIZE, RW), VM_EEXIST); /* same again */

	CHECK_VM(op_map(0x800000, 0x1000000, LARGE, RW | PT_LARGE), VM_OK);
	CHECK(dir_entry(2) & PDE_PS, "slot 2 is not a 4 MiB page: 0x%x", dir_entry(2));
	CHECK_VM(op_map(0x7FF000, 0x90000, 2 * PAGE_SIZE, RW), VM_EEXIST);
	CHECK_VM(op_map(0xBFF000, 0x90000, 2 * PAGE_SIZE, RW), VM_EEXIST);
	CHECK_VM(op_map(0x9AB000, 0x90000, PAGE_SIZE, RW), VM_EEXIST);
	CHECK_VM(op_map(0x400000, 0x1000000, 2 * LARGE, RW | PT_LARGE), VM_EEXIST);
	CHECK_VM(op_map(0x800000, 0x1000000, 2 * LARGE, RW | PT_LARGE), VM_EEXIST);
	CHECK_VM(op_map(0x3FF000, 0x90000, 0x402000, RW), VM_EEXIST); /* a whole slot and more */
	CHECK_EQ(sim.pt.tables, 1);
	CHECK_EQ(dir_entry(2), 0x1000000 | PDE_PS | PTE_P | RW);
	unmap_everything();
}

static void hole_refused(void)
{
	sim_setup();
	CHECK_VM(op_map(0x10000, 0x20000, 2 * PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0x13000, 0x23000, 2 * PAGE_SIZE, RW), VM_OK); /* hole: 0x12000 */
	CHECK_VM(op_unmap(0x10000, 5 * PAGE_SIZE), VM_ENOENT);
	CHECK_VM(op_protect(0x10000, 5 * PAGE_SIZE, 0), VM_ENOENT);
	CHECK_VM(op_unmap(0x0F000, 3 * PAGE_SIZE), VM_ENOENT);
	CHECK_VM(op_protect(0x14000, 2 * PAGE_SIZE, 0), VM_ENOENT);
	CHECK_VM(op_unmap(0x12000, PAGE_SIZE), VM_ENOENT);
	CHECK_VM(op_unmap(0x500000, PAGE_SIZE), VM_ENOENT); /* no table at all */

	/* A 4 MiB page and an empty slot: refused before any split. */
	CHECK_VM(op_map(0x800000, 0x800000, LARGE, RW | PT_LARGE), VM_OK);
	CHECK_VM(op_unmap(0x800000, LARGE + PAGE_SIZE), VM_ENOENT);
	CHECK_VM(op_protect(0x7FF000, 2 * PAGE_SIZE, 0), VM_ENOENT);
	CHECK_VM(op_protect(0x900000, 0x400000, 0), VM_ENOENT);
	CHECK_VM(op_map(0x3FF000, 0x90000, PAGE_SIZE, RW), VM_OK);
	/* 0x3FF000 and 0x800000.. mapped, slot 1 empty in between. */
	CHECK_VM(op_unmap(0x3FF000, 0x402000), VM_ENOENT);
	CHECK_VM(op_protect(0x3FF000, 0x802000, 0), VM_ENOENT);
	CHECK_EQ(dir_entry(2), 0x800000 | PDE_PS | PTE_P | RW);
	unmap_everything();
}

/*
 * PT_LARGE: a 4 MiB PDE exactly for the slots the range covers whole with a
 * 4 MiB-aligned physical address, small pages at the ragged ends.
 */
static void large_pages_where_aligned(void)
{
	sim_setup();
	uint32_t va = 0x400000 - 3 * PAGE_SIZE, pa = 0x10000000 - 3 * PAGE_SIZE;
	uint32_t len = 3 * PAGE_SIZE + 2 * LARGE + 5 * PAGE_SIZE;
	CHECK_VM(op_map(va, pa, len, RW | PTE_PCD | PT_LARGE), VM_OK);
	CHECK_EQ(dir_entry(1), 0x10000000 | PDE_PS | PTE_P | RW | PTE_PCD);
	CHECK_EQ(dir_entry(2), 0x10400000 | PDE_PS | PTE_P | RW | PTE_PCD);
	CHECK_EQ(dir_entry(0) & (PDE_PS | PTE_P), PTE_P);
	CHECK_EQ(dir_entry(3) & (PDE_PS | PTE_P), PTE_P);
	CHECK_EQ(sim.pt.tables, 2);
	CHECK_EQ(table_entry(0, 1023), 0x0FFFF000 | PTE_P | RW | PTE_PCD);
	CHECK_EQ(table_entry(3, 4), 0x10804000 | PTE_P | RW | PTE_PCD);
	CHECK_EQ(table_entry(3, 5), 0);

	/* Aligned va, physical address off by a page: small pages only. */
	CHECK_VM(op_map(0x40000000, 0x20001000, 2 * LARGE, RW | PT_LARGE), VM_OK);
	CHECK_EQ(dir_entry(0x100) & (PDE_PS | PTE_P), PTE_P);
	CHECK_EQ(dir_entry(0x101) & (PDE_PS | PTE_P), PTE_P);
	/* Aligned, but no PT_LARGE: small pages. */
	CHECK_VM(op_map(0x50000000, 0x20000000, LARGE, RW), VM_OK);
	CHECK_EQ(dir_entry(0x140) & (PDE_PS | PTE_P), PTE_P);
	/* PT_LARGE but shorter than 4 MiB: small pages. */
	CHECK_VM(op_map(0x60000000, 0x20000000, LARGE - PAGE_SIZE, RW | PT_LARGE), VM_OK);
	CHECK_EQ(dir_entry(0x180) & (PDE_PS | PTE_P), PTE_P);
	/* A slot that already has a table keeps it: 4 MiB only into empty slots. */
	CHECK_VM(op_map(0x70000000, 0x30000000, PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0x70001000, 0x30001000, LARGE - PAGE_SIZE, RW | PT_LARGE), VM_OK);
	CHECK_EQ(dir_entry(0x1C0) & (PDE_PS | PTE_P), PTE_P);
	CHECK_EQ(sim.pt.tables, 7);
	check_runs(0, FOUR_GIB);
	unmap_everything();
}

static void unmap_splits_large(void)
{
	sim_setup();
	uint32_t flags = RW | US | PTE_PWT | PTE_PCD | 0x200;
	CHECK_VM(op_map(0xC00000, 0x1000000, 2 * LARGE, flags | PT_LARGE), VM_OK);
	CHECK_EQ(sim.pt.tables, 0);
	CHECK_VM(op_unmap(0xC05000, PAGE_SIZE), VM_OK);
	CHECK_EQ(sim.pt.tables, 1);
	CHECK_EQ(dir_entry(3) & (PDE_PS | PTE_P), PTE_P);
	CHECK_EQ(dir_entry(4), 0x1400000 | PDE_PS | PTE_P | flags); /* untouched */
	CHECK_EQ(table_entry(3, 5), 0);
	CHECK_EQ(table_entry(3, 6), 0x1006000 | PTE_P | flags);
	CHECK_EQ(table_entry(3, 0), 0x1000000 | PTE_P | flags);
	CHECK_EQ(table_entry(3, 1023), 0x13FF000 | PTE_P | flags);
	/* First and last page of the other one. */
	CHECK_VM(op_unmap(0x1000000, PAGE_SIZE), VM_OK);
	CHECK_VM(op_unmap(0x13FF000, PAGE_SIZE), VM_OK);
	CHECK_EQ(sim.pt.tables, 2);
	/* Unmapping the rest frees the tables the splits made. */
	CHECK_VM(op_unmap(0xC00000, 5 * PAGE_SIZE), VM_OK);
	CHECK_VM(op_unmap(0xC06000, LARGE - 6 * PAGE_SIZE), VM_OK);
	CHECK_EQ(sim.pt.tables, 1);
	CHECK_VM(op_unmap(0x1001000, LARGE - 2 * PAGE_SIZE), VM_OK);
	CHECK_EQ(sim.pt.tables, 0);
	unmap_everything();
}

static void protect_part_splits_large(void)
{
	sim_setup();
	CHECK_VM(op_map(0x800000, 0x2000000, LARGE, RW | US | PT_LARGE), VM_OK);
	CHECK_VM(op_protect(0xBFF000, PAGE_SIZE, US), VM_OK); /* last page read-only */
	CHECK_EQ(dir_entry(2) & (PDE_PS | PTE_P), PTE_P);
	CHECK_EQ(table_entry(2, 1023), 0x23FF000 | PTE_P | US);
	CHECK_EQ(table_entry(2, 1022), 0x23FE000 | PTE_P | US | RW);
	/* Across two 4 MiB pages: both split. */
	CHECK_VM(op_map(0x1000000, 0x3000000, 2 * LARGE, RW | PT_LARGE), VM_OK);
	CHECK_VM(op_protect(0x13FE000, 4 * PAGE_SIZE, PTE_PWT), VM_OK);
	CHECK_EQ(sim.pt.tables, 3);
	CHECK_EQ(table_entry(4, 1021), 0x33FD000 | PTE_P | RW);
	CHECK_EQ(table_entry(4, 1022), 0x33FE000 | PTE_P | PTE_PWT);
	CHECK_EQ(table_entry(5, 1), 0x3401000 | PTE_P | PTE_PWT);
	CHECK_EQ(table_entry(5, 2), 0x3402000 | PTE_P | RW);
	unmap_everything();
}

/* Protecting or unmapping whole 4 MiB pages needs no table, even with none left. */
static void whole_large_stays_large(void)
{
	sim_setup();
	CHECK_VM(op_map(0x800000, 0x800000, 3 * LARGE, RW | PT_LARGE), VM_OK);
	sim.alloc_budget = 0;
	CHECK_VM(op_protect(0x800000, 2 * LARGE, PTE_PCD), VM_OK);
	CHECK_EQ(dir_entry(2), 0x800000 | PDE_PS | PTE_P | PTE_PCD);
	CHECK_EQ(dir_entry(3), 0xC00000 | PDE_PS | PTE_P | PTE_PCD);
	CHECK_EQ(dir_entry(4), 0x1000000 | PDE_PS | PTE_P | RW);
	CHECK_VM(op_protect(0xC00000, LARGE, RW), VM_OK);
	CHECK_EQ(dir_entry(3), 0xC00000 | PDE_PS | PTE_P | RW);
	CHECK_VM(op_unmap(0xC00000, LARGE), VM_OK);
	CHECK_EQ(dir_entry(3), 0);
	/* One whole and one partial: only the partial one splits. */
	sim.alloc_budget = -1;
	CHECK_VM(op_map(0xC00000, 0xC00000, LARGE, RW | PT_LARGE), VM_OK);
	CHECK_VM(op_protect(0x800000, LARGE + PAGE_SIZE, 0), VM_OK);
	CHECK_EQ(dir_entry(2), 0x800000 | PDE_PS | PTE_P);
	CHECK_EQ(dir_entry(3) & (PDE_PS | PTE_P), PTE_P);
	CHECK_EQ(sim.pt.tables, 1);
	CHECK_VM(op_unmap(0x800000, LARGE), VM_OK);
	CHECK_EQ(sim.pt.tables, 1);
	unmap_everything();
}

static void empty_tables_freed(void)
{
	static const uint32_t pages[] = { 0x5000, 0x3FF000, 0x400000, 0x401000, 0x7FF000,
					  0xBFFFF000, 0xC0000000, 0xFFFFF000, 0x10000 };
	sim_setup();
	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++)
		CHECK_VM(op_map(pages[i], 0x100000 + i * PAGE_SIZE, PAGE_SIZE, RW), VM_OK);
	CHECK_EQ(sim.pt.tables, 5);
	/* Unmap in a scrambled order; the count falls as each slot empties. */
	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++)
		CHECK_VM(op_unmap(pages[(i * 5) % ARRAY_SIZE(pages)], PAGE_SIZE), VM_OK);
	CHECK_EQ(sim.pt.tables, 0);
	CHECK_EQ(sim.nlive, 0);
	CHECK_EQ(sim.pmm.stats.used_frames, 1);
	CHECK_EQ(sim.allocs, 5);
	CHECK_EQ(sim.frees, 5);
	/* A split table freed when its last page goes. */
	CHECK_VM(op_map(0x400000, 0x400000, LARGE, RW | PT_LARGE), VM_OK);
	CHECK_VM(op_unmap(0x400000, LARGE - PAGE_SIZE), VM_OK);
	CHECK_EQ(sim.pt.tables, 1);
	CHECK_VM(op_unmap(0x7FF000, PAGE_SIZE), VM_OK);
	CHECK_EQ(sim.pt.tables, 0);
	CHECK_EQ(dir_entry(1), 0);
	unmap_everything();
}

/*
 * Run `op` with 0, 1, 2, ... table allocations allowed until it succeeds:
 * each attempt short of enough must return VM_ENOMEM and leave the whole
 * directory and every table exactly as they were.  Returns the allocations
 * the successful attempt made.
 */
static unsigned retry_until_ok(struct op proto, unsigned most)
{
	for (unsigned budget = 0; budget <= most; budget++) {
		struct raw *all = raw_take(0, NSLOTS - 1);
		struct op op = proto;
		sim.alloc_budget = budget;
		enum vm_result r = op_run(&op);
		sim.alloc_budget = -1;
		if (r == VM_OK) {
			raw_free(all);
			EXPECT(sim.op_allocs == budget,
			       "%s: succeeded with %u allocations allowed, but made %u", op_str(&op),
			       budget, sim.op_allocs);
			return budget;
		}
		EXPECT(r == VM_ENOMEM, "%s with %u allocations allowed: %s", op_str(&op), budget,
		       rname(r));
		raw_same(all, "after VM_ENOMEM");
		raw_free(all);
		if (check_failed) {
			printf("# (with %u allocations allowed)\n", budget);
			return ~0u;
		}
	}
	EXPECT(false, "%s: still failing with %u allocations", op_str(&proto), most);
	return ~0u;
}

static void enomem_map_atomic(void)
{
	sim_setup();
	CHECK_VM(op_map(0x1400000, 0x900000, PAGE_SIZE, RW), VM_OK); /* slot 5, page 0 */
	CHECK_VM(op_map(0x7FFF000, 0x900000, PAGE_SIZE, RW), VM_OK); /* slot 31 */
	/* Slot 5 from page 10 to slot 10 page 20: slots 6..10 need tables. */
	struct op m = { .kind = OP_MAP, .va = 0x140A000, .pa = 0x3C0A000,
			.len = 0x2815000 - 0x140A000, .flags = RW };
	CHECK_EQ(retry_until_ok(m, 10), 5);
	CHECK_EQ(sim.pt.tables, 7);
	CHECK_VM(op_unmap(m.va, (uint32_t)m.len), VM_OK);
	CHECK_EQ(sim.pt.tables, 2);
	/* The same with PT_LARGE: 6..9 become 4 MiB pages, only slot 10 needs a table. */
	m.flags |= PT_LARGE;
	CHECK_EQ(retry_until_ok(m, 10), 1);
	CHECK(dir_entry(6) & dir_entry(9) & PDE_PS, "slots 6 and 9 not 4 MiB pages");
	CHECK_VM(op_unmap(m.va, (uint32_t)m.len), VM_OK);
	/* Small pages first, then 4 MiB pages, then a table at the end. */
	m = (struct op){ .kind = OP_MAP, .va = 0x1C00000 - 0x3000, .pa = 0x1C00000 - 0x3000,
			 .len = 2 * LARGE + 0x6000, .flags = RW | PT_LARGE };
	CHECK_EQ(retry_until_ok(m, 10), 2);
	CHECK_EQ(sim.pt.tables, 4);
	unmap_everything();
}

static void enomem_split_atomic(void)
{
	sim_setup();
	CHECK_VM(op_map(0x2000000, 0x2000000, 2 * LARGE, RW | US | PT_LARGE), VM_OK);
	/* A range over the end of one 4 MiB page and the start of the next. */
	struct op u = { .kind = OP_UNMAP, .va = 0x23E8000, .len = 0x2402000 - 0x23E8000 };
	struct op p = { .kind = OP_PROTECT, .va = 0x23E8000, .len = u.len, .flags = PTE_PCD };
	CHECK_EQ(retry_until_ok(p, 4), 2);
	CHECK_VM(op_protect(0x2000000, 2 * LARGE, RW), VM_OK); /* stays split */
	CHECK_EQ(sim.pt.tables, 2);
	CHECK_VM(op_unmap(0x2000000, 2 * LARGE), VM_OK);
	CHECK_EQ(sim.pt.tables, 0);
	CHECK_VM(op_map(0x2000000, 0x2000000, 2 * LARGE, RW | US | PT_LARGE), VM_OK);
	CHECK_EQ(retry_until_ok(u, 4), 2);
	/* One split inside one page. */
	CHECK_VM(op_map(0x3000000, 0x3000000, LARGE, RW | PT_LARGE), VM_OK);
	u = (struct op){ .kind = OP_UNMAP, .va = 0x3100000, .len = 0x1000 };
	CHECK_EQ(retry_until_ok(u, 4), 1);
	unmap_everything();
}

static void free_tables_slot_range(void)
{
	sim_setup();
	CHECK_VM(op_map(0x400000, 0x100000, 3 * LARGE, RW), VM_OK);          /* slots 1-3 */
	CHECK_VM(op_map(0x1000000, 0x1000000, LARGE, RW | PT_LARGE), VM_OK); /* slot 4 */
	CHECK_VM(op_map(0x1400000, 0x100000, PAGE_SIZE, RW), VM_OK);         /* slot 5 */
	CHECK_VM(op_map(0xC8000000, 0x100000, PAGE_SIZE, RW), VM_OK);        /* slot 800 */
	CHECK_VM(op_map(0xC8400000, 0xC00000, LARGE, RW | PT_LARGE), VM_OK); /* slot 801 */
	CHECK_EQ(sim.pt.tables, 5);
	op_free_tables(2, 4);
	if (check_failed)
		return;
	CHECK_EQ(sim.pt.tables, 3);
	CHECK_EQ(dir_entry(2) | dir_entry(3) | dir_entry(4), 0);
	CHECK(dir_entry(1) & dir_entry(5) & PTE_P, "slots 1 and 5 must stay");
	op_free_tables(5, 4); /* empty range: nothing happens */
	op_free_tables(900, 2000); /* clamped at the last slot */
	op_free_tables(768, 1023);
	if (check_failed)
		return;
	CHECK_EQ(sim.pt.tables, 2);
	CHECK_EQ(dir_entry(800) | dir_entry(801), 0);
	op_free_tables(0, NSLOTS - 1);
	if (check_failed)
		return;
	CHECK_EQ(sim.pt.tables, 0);
	CHECK_EQ(sim.pmm.stats.used_frames, 1);
	unmap_everything();
}

static void for_each_range_runs(void)
{
	static const struct pt_mapping want[] = {
		{ 0x10000, 0x50000, 5 * PAGE_SIZE, PTE_P | RW },   /* two calls, one run */
		{ 0x15000, 0x90000, PAGE_SIZE, PTE_P | RW },       /* frame not contiguous */
		{ 0x16000, 0x91000, PAGE_SIZE, PTE_P },            /* flags differ */
		{ 0x400000, 0x800000, 2 * LARGE, PTE_P | RW | PDE_PS },
		{ 0xC00000, 0x1000000, PAGE_SIZE, PTE_P | RW },    /* small after large */
	};
	struct runs got = { 0 };

	sim_setup();
	CHECK_VM(op_map(0x10000, 0x50000, 3 * PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0x13000, 0x53000, 2 * PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0x15000, 0x90000, PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0x16000, 0x91000, PAGE_SIZE, 0), VM_OK);
	CHECK_VM(op_map(0x400000, 0x800000, 2 * LARGE, RW | PT_LARGE), VM_OK);
	CHECK_VM(op_map(0xC00000, 0x1000000, PAGE_SIZE, RW), VM_OK);
	pt_for_each_range(&sim.pt, 0, 0x2000000, collect_run, &got);
	for (size_t i = 0; i < got.n || i < ARRAY_SIZE(want); i++) {
		CHECK(i < got.n && i < ARRAY_SIZE(want) && got.r[i].va == want[i].va &&
			      got.r[i].pa == want[i].pa && got.r[i].size == want[i].size &&
			      got.r[i].flags == want[i].flags,
		      "run %zu: got %zu runs, this one va 0x%x pa 0x%x size 0x%x flags 0x%x", i,
		      got.n, i < got.n ? got.r[i].va : 0, i < got.n ? got.r[i].pa : 0,
		      i < got.n ? got.r[i].size : 0, i < got.n ? got.r[i].flags : 0);
	}
	free(got.r);
	got = (struct runs){ 0 };
	/* Starting and ending inside a 4 MiB page: the run is clipped to the range. */
	pt_for_each_range(&sim.pt, 0x401000, 0x2000, collect_run, &got);
	CHECK(got.n == 1 && got.r[0].va == 0x401000 && got.r[0].pa == 0x801000 &&
		      got.r[0].size == 0x2000,
	      "inside a 4 MiB page: %zu runs, the first va 0x%x pa 0x%x size 0x%x", got.n,
	      got.n ? got.r[0].va : 0, got.n ? got.r[0].pa : 0, got.n ? got.r[0].size : 0);
	free(got.r);
	/* Frames 0xFFFFF000 and then 0: not contiguous, whatever 32 bits say. */
	CHECK_VM(op_map(0x20000, 0xFFFFF000, PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0x21000, 0x0, PAGE_SIZE, RW), VM_OK);
	check_runs(0x20000, 0x2000);
	check_runs(0x11000, 0x3000);
	check_runs(0x7FF000, 0x402000);
	check_runs(0x3FF000, 0x2000);
	check_runs(0, FOUR_GIB);
	unmap_everything();
}

/* The last page below 4 GiB: no overflow, no wrap to address 0. */
static void top_of_address_space(void)
{
	uint32_t pa;

	sim_setup();
	CHECK_VM(op_map(0x0, 0x1000, PAGE_SIZE, RW), VM_OK); /* something at the bottom */
	CHECK_VM(op_map(0xFFFFE000, 0xFFFFE000, PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0xFFFFF000, 0xFFFFF000, PAGE_SIZE, RW), VM_OK);
	CHECK(pt_translate(&sim.pt, 0xFFFFFFFF, &pa) && pa == 0xFFFFFFFF, "last byte");
	CHECK_VM(op_map(0xFFFFF000, 0x5000, PAGE_SIZE, RW), VM_EEXIST);
	CHECK_VM(op_protect(0xFFFFF000, PAGE_SIZE, 0), VM_OK);
	CHECK_VM(op_unmap(0xFFFFF000, PAGE_SIZE), VM_OK);
	CHECK_VM(op_unmap(0xFFFFF000, PAGE_SIZE), VM_ENOENT);
	CHECK_VM(op_map(0xFFFFF000, 0x5000, PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_unmap(0xFFFFE000, 2 * PAGE_SIZE), VM_OK);
	CHECK_VM(op_unmap(0x0, PAGE_SIZE), VM_OK);
	CHECK_EQ(sim.pt.tables, 0);

	/* A 4 MiB page in the last slot, and ranges ending exactly at 4 GiB. */
	CHECK_VM(op_map(0xFFC00000, 0xFFC00000, LARGE, RW | PT_LARGE), VM_OK);
	CHECK_EQ(dir_entry(1023), 0xFFC00000 | PDE_PS | PTE_P | RW);
	CHECK(pt_translate(&sim.pt, 0xFFFFFFFF, &pa) && pa == 0xFFFFFFFF, "last byte, 4 MiB");
	check_runs(0, FOUR_GIB);
	check_runs(0xFFFFF000, PAGE_SIZE);
	check_runs(0xFFC01000, 2 * LARGE); /* a length past 4 GiB stops there */
	CHECK_VM(op_protect(0xFFC00000, LARGE, 0), VM_OK);
	CHECK_EQ(dir_entry(1023), 0xFFC00000 | PDE_PS | PTE_P);
	CHECK_VM(op_protect(0xFFFFE000, 2 * PAGE_SIZE, RW), VM_OK); /* splits */
	CHECK_EQ(table_entry(1023, 1023), 0xFFFFF000 | PTE_P | RW);
	CHECK_VM(op_unmap(0xFFFFF000, PAGE_SIZE), VM_OK);
	CHECK_VM(op_unmap(0xFFC00000, LARGE - PAGE_SIZE), VM_OK);
	CHECK_EQ(sim.pt.tables, 0);
	CHECK_VM(op_map(0xFFC00000, 0x400000, LARGE, RW | PT_LARGE), VM_OK);
	CHECK_VM(op_unmap(0xFFC00000, LARGE), VM_OK);
	CHECK_VM(op_map(0xF0000000, 0xF0000000, 0x0FFFF000, RW | PT_LARGE), VM_OK);
	CHECK_EQ(sim.pt.tables, 1);
	check_runs(0, FOUR_GIB);
	CHECK_VM(op_unmap(0xF0001000, 0x0FFFE000), VM_OK);
	unmap_everything();
}

/*
 * The CPU sets Accessed and Dirty in entries behind the kernel's back; the
 * code must not mistake them for anything else.  Set them by hand.
 */
static void accessed_dirty_tolerated(void)
{
	struct pt_mapping m;

	sim_setup();
	sim.ad_bits = true;
	CHECK_VM(op_map(0x10000, 0x20000, 2 * PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_map(0x800000, 0x800000, LARGE, RW | PT_LARGE), VM_OK);
	pde_t d = dir_entry(0);
	mem_store(sim.dir, sim.shadow[0] = d | PTE_A);
	mem_store((d & PTE_ADDR_MASK) + 4 * 0x10, table_entry(0, 0x10) | PTE_AD);
	mem_store(sim.dir + 4 * 2, sim.shadow[2] = dir_entry(2) | PTE_AD);
	CHECK(pt_query(&sim.pt, 0x10000, &m) && m.flags == (PTE_P | RW | PTE_AD),
	      "flags 0x%x", m.flags);
	CHECK(pt_query(&sim.pt, 0x812000, &m) && m.flags == (PTE_P | RW | PTE_AD | PDE_PS),
	      "flags 0x%x", m.flags);
	/* A split keeps A and D in every small page. */
	CHECK_VM(op_unmap(0x800000, PAGE_SIZE), VM_OK);
	CHECK_EQ(table_entry(2, 7), 0x807000 | PTE_P | RW | PTE_AD);
	CHECK_VM(op_unmap(0x10000, PAGE_SIZE), VM_OK);
	CHECK_VM(op_unmap(0x11000, PAGE_SIZE), VM_OK); /* table with PDE.A freed */
	CHECK_EQ(dir_entry(0), 0);
	unmap_everything();
}

/*
 * pt_replace re-points one mapped 4 KiB page (the copy-on-write fault's
 * last step): frame and flags in one entry write, a flush of that page,
 * nothing else; the usual argument rules, and VM_ENOENT for a page that is
 * not mapped or is part of a 4 MiB page.
 */
static void replace_repoints_one_page(void)
{
	static const uint32_t bad_flags[] = { PTE_P, PTE_A, PTE_D, PDE_PS, 0x1000, 0x40000000,
					      PT_LARGE };

	sim_setup();
	CHECK_VM(op_map(0x10000, 0x20000, 4 * PAGE_SIZE, US), VM_OK); /* read-only, as after fork */
	CHECK_VM(op_replace(0x11000, 0x900000, RW | US), VM_OK);
	CHECK_EQ(table_entry(0, 0x11), 0x900000 | PTE_P | RW | US);
	CHECK_EQ(table_entry(0, 0x10), 0x20000 | PTE_P | US);
	CHECK_EQ(table_entry(0, 0x12), 0x22000 | PTE_P | US);
	CHECK_VM(op_replace(0x11000, 0x21000, US), VM_OK); /* and back */
	CHECK_VM(op_replace(0x13000, 0x13000, PT_FLAGS_ALLOWED & ~PTE_G), VM_OK);
	CHECK_EQ(table_entry(0, 0x13), 0x13000 | PTE_P | (PT_FLAGS_ALLOWED & ~PTE_G));
	CHECK_VM(op_replace(0x12000, 0xFFFFF000, 0), VM_OK); /* the last frame */
	CHECK_VM(op_replace(0x10000, 0x0, RW), VM_OK);        /* frame 0 */
	CHECK_EQ(table_entry(0, 0x10), PTE_P | RW);
	CHECK_EQ(sim.pt.tables, 1);

	/* Refused: not mapped, misaligned, bad flags, G below and US above 3 GiB. */
	CHECK_VM(op_replace(0x14000, 0x30000, RW), VM_ENOENT); /* a hole in a table */
	CHECK_VM(op_replace(0x0F000, 0x30000, RW), VM_ENOENT);
	CHECK_VM(op_replace(0x500000, 0x30000, RW), VM_ENOENT); /* no table at all */
	CHECK_VM(op_replace(0x10800, 0x30000, RW), VM_EALIGN);
	CHECK_VM(op_replace(0x10004, 0x30000, RW), VM_EALIGN);
	CHECK_VM(op_replace(0x10000, 0x30010, RW), VM_EALIGN);
	CHECK_VM(op_replace(0x10000, 0x30800, RW), VM_EALIGN);
	for (unsigned i = 0; i < ARRAY_SIZE(bad_flags); i++)
		CHECK_VM(op_replace(0x10000, 0x30000, RW | bad_flags[i]), VM_EINVAL);
	CHECK_VM(op_replace(0x10000, 0x30000, RW | PTE_G), VM_EINVAL);

	/* A 4 MiB page is not a small page, anywhere in it; once split, it is. */
	CHECK_VM(op_map(0x800000, 0x800000, LARGE, RW | PT_LARGE), VM_OK);
	CHECK_VM(op_replace(0x800000, 0x30000, RW), VM_ENOENT);
	CHECK_VM(op_replace(0x9FF000, 0x30000, RW), VM_ENOENT);
	CHECK_VM(op_replace(0xBFF000, 0x30000, RW), VM_ENOENT);
	CHECK_EQ(dir_entry(2), 0x800000 | PDE_PS | PTE_P | RW);
	CHECK_VM(op_unmap(0x800000, PAGE_SIZE), VM_OK); /* splits */
	CHECK_VM(op_replace(0x800000, 0x30000, RW), VM_ENOENT);
	CHECK_VM(op_replace(0x9FF000, 0x30000, RW | PTE_PCD), VM_OK);
	CHECK_EQ(table_entry(2, 0x1FF), 0x30000 | PTE_P | RW | PTE_PCD);

	/* The kernel half: supervisor only, global allowed. */
	CHECK_VM(op_map(0xC0000000, 0x1000, PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_replace(0xC0000000, 0x2000, RW | US), VM_EINVAL);
	CHECK_VM(op_replace(0xC0000000, 0x2000, US), VM_EINVAL);
	CHECK_VM(op_replace(0xC0000000, 0x2000, RW | PTE_G), VM_OK);
	CHECK_VM(op_map(0xBFFFF000, 0x1000, PAGE_SIZE, RW | US), VM_OK);
	CHECK_VM(op_replace(0xBFFFF000, 0x3000, US), VM_OK);

	/* Past limit_pdx, and the top page. */
	sim.pt.limit_pdx = KERNEL_SLOT;
	CHECK_VM(op_replace(0xC0000000, 0x3000, RW), VM_EINVAL);
	CHECK_VM(op_replace(0xBFFFF000, 0x3000, RW | US), VM_OK);
	sim.pt.limit_pdx = NSLOTS;
	CHECK_VM(op_map(0xFFFFF000, 0x5000, PAGE_SIZE, RW), VM_OK);
	CHECK_VM(op_replace(0xFFFFF000, 0x6000, 0), VM_OK);
	CHECK_EQ(table_entry(1023, 1023), 0x6000 | PTE_P);
	CHECK_VM(op_replace(0xFFFFE000, 0x6000, 0), VM_ENOENT);
	unmap_everything();
}

/* An address space over several slots: page 0, across a slot boundary, both halves, the top. */
static void clone_fixture(void)
{
	CHECK_VM(op_map(0x0, 0x100000, 3 * PAGE_SIZE, RW | US), VM_OK);
	CHECK_VM(op_map(0x3FF000, 0x200000, 2 * PAGE_SIZE, US), VM_OK); /* read-only, slots 0-1 */
	CHECK_VM(op_map(0x1400000, 0x300000, 5 * PAGE_SIZE, RW | US | PTE_PCD | 0x200), VM_OK);
	CHECK_VM(op_map(0x1800000, 0xFFBFF000, LARGE, RW | US), VM_OK); /* a full table, slot 6 */
	CHECK_VM(op_map(0xBFFFF000, 0x400000, PAGE_SIZE, RW | US), VM_OK);
	CHECK_VM(op_map(0xC0000000, 0x500000, PAGE_SIZE, RW | PTE_G), VM_OK);
	CHECK_VM(op_map(0xFFFFF000, 0x600000, PAGE_SIZE, RW), VM_OK);
}

/* fork's copy: every present source table copied, the source made read-only. */
static void clone_copies_tables(void)
{
	sim_setup();
	dst_setup();
	clone_fixture();
	CHECK_EQ(sim.pt.tables, 7);
	CHECK_VM(op_clone(0, NSLOTS - 1, CLONE_COW), VM_OK);
	CHECK_EQ(dsp.pt.tables, 7);
	CHECK_EQ(table_entry(0, 0), 0x100000 | PTE_P | US); /* lost RW */
	CHECK_EQ(table_entry(1, 0), 0x201000 | PTE_P | US); /* had none */
	CHECK_EQ(table_entry(5, 4), 0x304000 | PTE_P | US | PTE_PCD | 0x200);
	CHECK_EQ(table_entry(KERNEL_SLOT, 0), 0x500000 | PTE_P | PTE_G);
	struct hw h = dst_walk(0x2abc);
	CHECK(h.kind == HW_SMALL && h.pa == 0x102000 && h.flags == (PTE_P | US) && h.eff == US,
	      "destination 0x2abc: %s", hw_str(h));
	h = dst_walk(0xC0000000);
	CHECK(h.kind == HW_SMALL && h.pa == 0x500000 && h.flags == (PTE_P | PTE_G) && h.eff == 0,
	      "destination 0xC0000000: %s", hw_str(h));
	CHECK_EQ(dst_dir_entry(KERNEL_SLOT) & PTE_FLAGS_MASK, PTE_P | PTE_RW);
	CHECK_EQ(dst_dir_entry(KERNEL_SLOT - 1) & PTE_FLAGS_MASK, PTE_P | PTE_RW | PTE_US);
	dst_empty();

	/* An eager copy of part of the range: the source stays as it is. */
	CHECK_VM(op_protect(0x0, 3 * PAGE_SIZE, RW | US), VM_OK);
	CHECK_VM(op_clone(1, KERNEL_SLOT - 1, CLONE_COPY), VM_OK);
	CHECK_EQ(dsp.pt.tables, 4); /* slots 1, 5, 6, 767 */
	CHECK_EQ(dst_dir_entry(0) | dst_dir_entry(KERNEL_SLOT), 0);
	h = dst_walk(0x1801000);
	CHECK(h.kind == HW_SMALL && h.pa == ((0xFFC00000 + COPY_DELTA) & PTE_ADDR_MASK) &&
		      h.flags == (PTE_P | US),
	      "destination 0x1801000: %s", hw_str(h));
	/* Slots without a source table are skipped, so more can be added next to them. */
	CHECK_VM(op_clone(0, 0, CLONE_COW), VM_OK);
	CHECK_VM(op_clone(2, 4, CLONE_COW), VM_OK); /* nothing there */
	CHECK_VM(op_clone(KERNEL_SLOT, NSLOTS - 1, CLONE_COW), VM_OK);
	CHECK_EQ(dsp.pt.tables, 7);
	dst_teardown();
	unmap_everything();
}

/*
 * Refusals change nothing in either space: slots out of order or past
 * either space's limit_pdx, a 4 MiB page in the source, a destination slot
 * already present where the source has a table.
 */
static void clone_refusals(void)
{
	sim_setup();
	dst_setup();
	CHECK_VM(op_map(0x0, 0x100000, 2 * PAGE_SIZE, RW | US), VM_OK);          /* slot 0 */
	CHECK_VM(op_map(0xC00000, 0xC00000, LARGE, RW | US | PT_LARGE), VM_OK);  /* slot 3 */
	CHECK_VM(op_map(0x1000000, 0x200000, 2 * PAGE_SIZE, RW | US), VM_OK);    /* slot 4 */
	CHECK_VM(op_map(0x1800000, 0x300000, PAGE_SIZE, RW | US), VM_OK);        /* slot 6 */
	CHECK_VM(op_map(0xFFFFF000, 0x300000, PAGE_SIZE, RW), VM_OK);            /* slot 1023 */

	CHECK_VM(op_clone(1, 0, CLONE_COW), VM_EINVAL);
	CHECK_VM(op_clone(NSLOTS - 1, 0, CLONE_COW), VM_EINVAL);
	CHECK_VM(op_clone(0, NSLOTS, CLONE_COW), VM_EINVAL);
	CHECK_VM(op_clone(NSLOTS, NSLOTS, CLONE_COW), VM_EINVAL);
	CHECK_VM(op_clone(4, 0xFFFFFFFFu, CLONE_COW), VM_EINVAL);
	dsp.pt.limit_pdx = KERNEL_SLOT; /* a user space's limit, on either side */
	CHECK_VM(op_clone(4, KERNEL_SLOT, CLONE_COW), VM_EINVAL);
	dsp.pt.limit_pdx = NSLOTS;
	sim.pt.limit_pdx = 6;
	CHECK_VM(op_clone(4, 6, CLONE_COW), VM_EINVAL);
	sim.pt.limit_pdx = NSLOTS;

	/* 4 MiB pages: the slot itself, or the first present slot of the range. */
	CHECK_VM(op_clone(3, 3, CLONE_COW), VM_EINVAL);
	CHECK_VM(op_clone(2, 3, CLONE_COW), VM_EINVAL);
	CHECK_VM(op_clone(3, NSLOTS - 1, CLONE_COW), VM_EINVAL);

	/* A present destination slot where the source has a table. */
	dst_map(0x1800000, 0x700000, PAGE_SIZE, RW);
	CHECK_VM(op_clone(6, 6, CLONE_COW), VM_EINVAL);
	CHECK_VM(op_clone(5, 9, CLONE_COW), VM_EINVAL);
	/* ... and where it has none: no conflict, the slot is left alone. */
	dst_map(0x1400000, 0x700000, PAGE_SIZE, RW);
	CHECK_VM(op_clone(4, 5, CLONE_COW), VM_OK);
	CHECK_EQ(dsp.pt.tables, 3);
	CHECK_VM(op_clone(4, 4, CLONE_COW), VM_EINVAL); /* copied already */
	dst_teardown();
	unmap_everything();
}

/*
 * Out of memory at each table in turn, and at fn's k-th call: VM_ENOMEM,
 * the tables made so far are in the destination with their entries copied,
 * the rest is untouched, and the source is flushed all the same.
 */
static void clone_enomem_each_table(void)
{
	static const long fn_fail_at[] = { 0, 1, 2, 3, 1026, 1029, 1030, 1031, 2060, 2061 };

	sim_setup();
	dst_setup();
	clone_fixture();
	unsigned tables = sim.pt.tables, entries = 0;
	for (uint32_t n = 0; n < NPAGES; n++)
		entries += sim.page[n].mapped;
	CHECK_EQ(entries, 3 + 2 + 5 + 1024 + 1 + 1 + 1);
	for (unsigned k = 0; k <= tables; k++) {
		struct clone_case c = { 0, NSLOTS - 1, k % 2 ? CLONE_COW : CLONE_COPY, (long)k, -1 };
		CHECK_VM(clone_run(&c), k < tables ? VM_ENOMEM : VM_OK);
		CHECK_EQ(dsp.pt.tables, k);
		dst_empty();
		CHECK_VM(op_protect(0x0, 3 * PAGE_SIZE, RW | US), VM_OK); /* the source again */
		CHECK_VM(op_protect(0x1800000, LARGE, RW | US), VM_OK);
	}
	/* fn failing at its n-th call: the table it was filling goes in, partly copied. */
	for (unsigned i = 0; i < ARRAY_SIZE(fn_fail_at); i++) {
		struct clone_case c = { 0, NSLOTS - 1, i % 2 ? CLONE_COW : CLONE_COPY, -1,
					fn_fail_at[i] };
		CHECK_VM(clone_run(&c), (unsigned long)fn_fail_at[i] < entries ? VM_ENOMEM : VM_OK);
		dst_empty();
		CHECK_VM(op_protect(0x0, 3 * PAGE_SIZE, RW | US), VM_OK);
		CHECK_VM(op_protect(0x1800000, LARGE, RW | US), VM_OK);
	}
	/* Both limits at once: whichever comes first. */
	struct clone_case c = { 0, NSLOTS - 1, CLONE_COW, 3, 1000 };
	CHECK_VM(clone_run(&c), VM_ENOMEM);
	dst_teardown();
	unmap_everything();
}

/*
 * A slot that refuses (a 4 MiB page in the source, or a destination slot
 * already present) after a slot whose table can be copied: the refusal must
 * still change nothing -- and if pt_clone does copy first, the source
 * entries fn changed must at least be flushed.
 */
static void clone_refusal_after_copies(void)
{
	sim_setup();
	dst_setup();
	CHECK_VM(op_map(0x0, 0x100000, 2 * PAGE_SIZE, RW | US), VM_OK);         /* slot 0 */
	CHECK_VM(op_map(0xC00000, 0xC00000, LARGE, RW | US | PT_LARGE), VM_OK); /* slot 3 */
	CHECK_VM(op_clone(0, 3, CLONE_COW), VM_EINVAL);
	dst_empty();
	CHECK_VM(op_map(0x1000000, 0x200000, PAGE_SIZE, RW | US), VM_OK); /* slot 4 */
	dst_map(0x1000000, 0x700000, PAGE_SIZE, RW);
	CHECK_VM(op_clone(0, 0, CLONE_COPY), VM_OK);
	dst_empty();
	dst_map(0x1000000, 0x700000, PAGE_SIZE, RW);
	CHECK_VM(op_clone(0, 2, CLONE_COW), VM_OK);
	dst_empty();
	dst_map(0x1000000, 0x700000, PAGE_SIZE, RW);
	CHECK_VM(op_protect(0x0, 2 * PAGE_SIZE, RW | US), VM_OK);
	CHECK_VM(op_clone(0, 4, CLONE_COW), VM_EINVAL); /* slot 4 taken in the destination */
	dst_teardown();
	unmap_everything();
}

/* ---- randomized ------------------------------------------------------------ */

static uint32_t rnd(void)
{
	return (uint32_t)(check_random() >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)check_random_below(n);
}

/* Where random calls land: crowded, so that they overlap. */
static const struct {
	unsigned first, slots;
} arenas[] = {
	{ 0, 6 },    /* the bottom, page 0 included */
	{ 765, 6 },  /* across 3 GiB: user tables below, supervisor above */
	{ 1018, 6 }, /* the top: ranges ending at 4 GiB */
};

static uint32_t random_flags(uint64_t va, uint64_t len)
{
	uint32_t f = rnd() & (RW | PTE_PWT | PTE_PCD | PTE_G | PTE_AVAIL_MASK);

	if (rnd_below(4) == 0)
		f &= ~(PTE_PWT | PTE_PCD | PTE_G | PTE_AVAIL_MASK);
	if (va + len <= KERNEL_HALF ? rnd_below(2) : rnd_below(30) == 0)
		f |= US;
	if (va < KERNEL_HALF && rnd_below(30))
		f &= ~PTE_G;
	if (rnd_below(60) == 0)
		f |= (uint32_t[]){ PTE_P, PTE_A, PTE_D, PDE_PS, 0x1000 }[rnd_below(5)];
	return f;
}

static uint32_t random_pages(void)
{
	uint32_t r = rnd_below(100);

	if (r < 50)
		return 1 + rnd_below(8);
	if (r < 75)
		return 1 + rnd_below(ENTRIES_PER_TABLE);
	if (r < 90)
		return ENTRIES_PER_TABLE * (1 + rnd_below(3));
	return 1 + rnd_below(4 * ENTRIES_PER_TABLE);
}

/* A random page-aligned address in an arena, sometimes slot-aligned. */
static uint32_t random_va(unsigned *slots_out)
{
	unsigned first, slots;

	if (rnd_below(20) == 0) {
		first = rnd_below(NSLOTS - 1);
		slots = 2;
	} else {
		unsigned a = rnd_below(ARRAY_SIZE(arenas));
		first = arenas[a].first;
		slots = arenas[a].slots;
	}
	*slots_out = first + slots;
	if (rnd_below(4) == 0)
		return (first + rnd_below(slots)) << LARGE_PAGE_SHIFT;
	return (uint32_t)(slot_base(first) + ((uint64_t)rnd_below(slots << 10) << PAGE_SHIFT));
}

/* Bend a valid call out of shape now and then. */
static void maybe_misalign(struct op *op)
{
	if (rnd_below(50))
		return;
	switch (rnd_below(4)) {
	case 0:
		op->va += 0x800;
		break;
	case 1:
		op->len += 0x10;
		break;
	case 2:
		op->pa += 0x200;
		break;
	default:
		op->len = rnd_below(8) ? 0 : 0xFFFFF000;
	}
}

/* For unmap/protect: often a range the model has mapped, so they succeed. */
static void random_existing_range(struct op *op, unsigned end_slot)
{
	uint64_t a = op->va, stop = slot_base(end_slot);

	while (a < stop && !sim.page[a >> PAGE_SHIFT].mapped)
		a = sim.count[a >> LARGE_PAGE_SHIFT] ? a + PAGE_SIZE
						     : slot_base((unsigned)(a >> LARGE_PAGE_SHIFT) + 1);
	if (a >= stop)
		return;
	uint64_t e = a;
	while (e < FOUR_GIB && sim.page[e >> PAGE_SHIFT].mapped && e - a < 16ull * LARGE)
		e += PAGE_SIZE;
	uint64_t pages = (e - a) >> PAGE_SHIFT;
	op->va = (uint32_t)a;
	if (rnd_below(2))
		pages = 1 + rnd_below((uint32_t)pages);
	op->len = pages << PAGE_SHIFT;
	if (rnd_below(3) == 0) { /* start inside the run */
		uint64_t skip = (uint64_t)rnd_below((uint32_t)(op->len >> PAGE_SHIFT)) << PAGE_SHIFT;
		op->va += (uint32_t)skip;
		op->len -= skip;
	}
}

static bool random_small_only; /* random_op: no PT_LARGE (spaces for pt_clone) */

static void random_op(void)
{
	unsigned end_slot;
	struct op op = { 0 };
	uint32_t r = rnd_below(100);

	op.va = random_va(&end_slot);
	op.len = (uint64_t)random_pages() << PAGE_SHIFT;
	if (r < 15) { /* whole 4 MiB slots, maybe with ragged ends */
		op.va &= PDE_LARGE_MASK;
		op.len = (uint64_t)(1 + rnd_below(3)) << LARGE_PAGE_SHIFT;
		if (rnd_below(3) == 0) {
			uint32_t before = rnd_below(3) << PAGE_SHIFT;
			op.va -= op.va >= before ? before : 0;
			op.len += before + (rnd_below(3) << PAGE_SHIFT);
		}
	}
	if (op.va + op.len > FOUR_GIB && rnd_below(4))
		op.len = FOUR_GIB - op.va;
	if (r < 15) {
		op.kind = OP_MAP;
		op.pa = op.va + (rnd() & PDE_LARGE_MASK);
		op.flags = random_flags(op.va, op.len) | PT_LARGE;
	} else if (r < 45) {
		op.kind = OP_MAP;
		uint32_t q = rnd_below(10);
		if (q < 5) /* the same offset within 4 MiB: large pages possible */
			op.pa = op.va + (rnd() & PDE_LARGE_MASK);
		else if (q < 9)
			op.pa = rnd() & PTE_ADDR_MASK;
		else
			op.pa = (uint32_t)(FOUR_GIB - op.len) + (rnd_below(3) << PAGE_SHIFT) - PAGE_SIZE;
		op.flags = random_flags(op.va, op.len) | (rnd_below(2) ? PT_LARGE : 0);
	} else if (r < 88) {
		op.kind = r < 70 ? OP_UNMAP : OP_PROTECT;
		if (rnd_below(5) < 3)
			random_existing_range(&op, end_slot);
		op.flags = op.kind == OP_PROTECT ? random_flags(op.va, op.len) : 0;
	} else if (r < 88 + 3 && rnd_below(2)) {
		/* pt_replace: often a mapped page, a new frame, new flags. */
		op.kind = OP_REPLACE;
		if (rnd_below(5) < 4)
			random_existing_range(&op, end_slot);
		op.len = PAGE_SIZE;
		op.pa = rnd_below(3) ? rnd() & PTE_ADDR_MASK : op.va;
		op.flags = random_flags(op.va, PAGE_SIZE);
	} else if (r < 91) {
		op.kind = OP_FREE;
		op.first = PDX(op.va);
		op.free_last = op.first + rnd_below(3);
		op_run(&op);
		return;
	} else {
		check_runs(op.va, op.len + rnd_below(2) * (uint64_t)LARGE);
		return;
	}
	maybe_misalign(&op);
	if (op.kind == OP_REPLACE) /* pt_replace takes no length */
		op.len = PAGE_SIZE;
	if (op.len > 0xFFFFF000u)
		op.len = 0xFFFFF000u;
	if (random_small_only)
		op.flags &= ~PT_LARGE;
	if (rnd_below(10) == 0)
		sim.alloc_budget = rnd_below(3);
	op_run(&op);
	sim.alloc_budget = -1;
}

/*
 * A random pt_clone of the space the random calls built into the empty
 * destination: some slots of an arena, now and then all 1024 or bad slot
 * numbers; sometimes with a destination slot taken first, a table budget,
 * or a failing fn.  The destination is emptied again afterwards.
 */
static void random_clone(void)
{
	unsigned end_slot;
	uint32_t va = random_va(&end_slot);
	struct clone_case c = { PDX(va), 0, rnd_below(2) ? CLONE_COW : CLONE_COPY, -1, -1 };

	c.last = c.first + rnd_below(end_slot - c.first);
	if (rnd_below(8) == 0) {
		c.first = 0;
		c.last = NSLOTS - 1;
	}
	for (unsigned i = rnd_below(3) ? 0 : 1 + rnd_below(3); i; i--) {
		unsigned s = c.first + rnd_below(c.last - c.first + 1);
		dst_map((uint32_t)slot_base(s) + (rnd_below(ENTRIES_PER_TABLE) << PAGE_SHIFT),
			rnd() & PTE_ADDR_MASK, PAGE_SIZE, s < KERNEL_SLOT ? RW | US : RW);
	}
	if (rnd_below(4) == 0)
		c.budget = rnd_below(4);
	if (rnd_below(4) == 0)
		c.fn_budget = rnd_below(3000);
	if (rnd_below(25) == 0) {
		if (c.first && rnd_below(2))
			c.last = c.first - 1 - rnd_below(c.first);
		else
			c.last = NSLOTS + rnd_below(3);
	}
	clone_run(&c);
	dst_empty();
}

#define CLONE_SEED 0xC10E0000u
#define CLONE_RUNS 4
#define CLONE_BUILD_OPS 400
#define CLONES 40

/*
 * Randomly built spaces of small pages (random map/unmap/protect/replace
 * calls without PT_LARGE) cloned again and again, with more random calls
 * in between, so that copy-on-write sources get cloned once more.
 */
static void clone_random_spaces(void)
{
	printf("# random clones: seeds 0x%x + 0..%u, %u clones each\n", CLONE_SEED,
	       CLONE_RUNS - 1, CLONES);
	random_small_only = true;
	for (unsigned run = 0; run < CLONE_RUNS && !check_failed; run++) {
		sim_setup();
		dst_setup();
		memset(stat_clone_result, 0, sizeof(stat_clone_result));
		stat_clone_tables = stat_clone_pages = 0;
		check_seed(CLONE_SEED + run);
		for (unsigned i = 0; i < CLONE_BUILD_OPS && !check_failed; i++)
			random_op();
		for (unsigned i = 0; i < CLONES && !check_failed; i++) {
			random_clone();
			for (unsigned k = rnd_below(20); k && !check_failed; k--)
				random_op();
			if (check_failed)
				printf("# failing clone: seed 0x%x + %u, clone %u\n", CLONE_SEED, run, i);
		}
		printf("# seed 0x%x + %u: clones ok %lu, einval %lu, enomem %lu; %lu tables and "
		       "%lu entries copied; %u source tables at the end\n",
		       CLONE_SEED, run, stat_clone_result[VM_OK], stat_clone_result[VM_EINVAL],
		       stat_clone_result[VM_ENOMEM], stat_clone_tables, stat_clone_pages,
		       sim.pt.tables);
		if (!check_failed) {
			dst_teardown();
			unmap_everything();
		}
	}
	random_small_only = false;
}

#define RANDOM_SEED 0x5EED0000u
#define RANDOM_RUNS 5
#define RANDOM_OPS 5000
#define SWEEP_EVERY 500
#define CLONE_EVERY 125

static void random_ops_match_model(void)
{
	printf("# random calls: seeds 0x%x + 0..%u, %u calls each\n", RANDOM_SEED,
	       RANDOM_RUNS - 1, RANDOM_OPS);
	for (unsigned run = 0; run < RANDOM_RUNS && !check_failed; run++) {
		sim_setup();
		memset(stat_result, 0, sizeof(stat_result));
		memset(stat_clone_result, 0, sizeof(stat_clone_result));
		stat_splits = stat_large = stat_replaced = 0;
		check_seed(RANDOM_SEED + run);
		dst_setup();
		for (unsigned i = 0; i < RANDOM_OPS && !check_failed; i++) {
			if (i % CLONE_EVERY == CLONE_EVERY - 1)
				random_clone();
			else
				random_op();
			if (i % SWEEP_EVERY == SWEEP_EVERY - 1 && !check_failed) {
				check_everything();
				check_runs(0, FOUR_GIB);
			}
			if (check_failed)
				printf("# failing call: seed 0x%x + %u, call %u\n", RANDOM_SEED, run, i);
		}
		printf("# seed 0x%x + %u: ok %lu, ealign %lu, einval %lu, eexist %lu, enoent %lu, "
		       "enomem %lu; %lu 4 MiB pages made, %lu split, %lu replaced; clones ok %lu, "
		       "einval %lu, enomem %lu; %lu allocs, %u tables at the end\n",
		       RANDOM_SEED, run, stat_result[VM_OK], stat_result[VM_EALIGN],
		       stat_result[VM_EINVAL], stat_result[VM_EEXIST], stat_result[VM_ENOENT],
		       stat_result[VM_ENOMEM], stat_large, stat_splits, stat_replaced,
		       stat_clone_result[VM_OK], stat_clone_result[VM_EINVAL],
		       stat_clone_result[VM_ENOMEM], sim.allocs, sim.pt.tables);
		if (!check_failed) {
			dst_teardown();
			unmap_everything();
		}
	}
}

int main(void)
{
	RUN(basic_map_query_unmap);
	RUN(misaligned_refused);
	RUN(invalid_refused);
	RUN(global_and_limit_refused);
	RUN(kernel_half_is_supervisor);
	RUN(map_over_existing_refused);
	RUN(hole_refused);
	RUN(large_pages_where_aligned);
	RUN(unmap_splits_large);
	RUN(protect_part_splits_large);
	RUN(whole_large_stays_large);
	RUN(empty_tables_freed);
	RUN(enomem_map_atomic);
	RUN(enomem_split_atomic);
	RUN(free_tables_slot_range);
	RUN(for_each_range_runs);
	RUN(top_of_address_space);
	RUN(accessed_dirty_tolerated);
	RUN(replace_repoints_one_page);
	RUN(clone_copies_tables);
	RUN(clone_refusals);
	RUN(clone_enomem_each_table);
	RUN(clone_refusal_after_copies);
	RUN(random_ops_match_model);
	RUN(clone_random_spaces);
	sim_teardown();
	return check_done();
}
