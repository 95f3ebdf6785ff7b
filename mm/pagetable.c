/*
 * pagetable.c - edit one address space's two-level page tables.
 *
 * Every path goes through walk(): given a virtual address it finds the
 * directory entry and, below it, the page-table entry, allocating the table
 * on the way when asked.  map, unmap, protect, query and the ptdump walk are
 * loops over walk(), so the table-reaching logic exists once (the xv6 way).
 *
 * 4 MiB pages.  A PDE with PS set maps a whole 4 MiB page (Intel SDM vol. 3A
 * 4.3, table 4-4).  Operations that touch only part of one first call
 * split_large(), which replaces it with a page table of 1024 PTEs carrying
 * the same translation and flags -- invisible to anyone reading memory -- and
 * then edit the small pages.  Splits happen before anything else changes, so
 * running out of frames for a split leaves the mappings as they were.
 *
 * Directory entries that point at tables are made permissive (present,
 * writable, user in the lower 3 GiB), so the PTE alone decides what a page
 * allows: the CPU ANDs the two levels (SDM 4.6).
 *
 * TLB.  Entries are cached only for present translations (SDM 4.10.2.3), so
 * mapping a page needs no flush; unmapping and reprotecting do.  Each call
 * asks ops->flush once for the whole range it changed, and the kernel picks
 * invlpg or a full flush from the size (see docs/design/tlb.md).
 */
#include "pagetable.h"

#include <stddef.h>
#include <string.h>

#include "mm_log.h"

#define USER_TOP 0xC0000000u /* where the kernel half starts */
#define USER_TOP_PDX (USER_TOP >> LARGE_PAGE_SHIFT)
#define LARGE_MASK (LARGE_PAGE_SIZE - 1)
#define FOUR_GIB 0x100000000ull

/* Where walk() found the translation of an address. */
struct slot {
	pde_t *pde;
	pte_t *pte; /* NULL when the PDE is not present or maps a 4 MiB page */
};

void pt_init(struct pagetable *pt, uint32_t dir, const struct pt_ops *ops, void *ctx)
{
	*pt = (struct pagetable){ dir, ops, ctx, 0, ENTRIES_PER_TABLE };
}

static pde_t *directory(struct pagetable *pt)
{
	return pt->ops->table(pt->ctx, pt->dir, PT_DIR);
}

static pte_t *table_of(struct pagetable *pt, unsigned pdx, pde_t pde)
{
	return pt->ops->table(pt->ctx, pde & PTE_ADDR_MASK, pdx);
}

static void set_pde(struct pagetable *pt, unsigned pdx, pde_t value)
{
	directory(pt)[pdx] = value;
	pt->ops->pde_changed(pt->ctx, pdx, value);
}

static pde_t table_pde(uint32_t table, unsigned pdx)
{
	return table | PTE_P | PTE_RW | (pdx < USER_TOP_PDX ? PTE_US : 0);
}

/*
 * A frame for a new page table, reached by its physical address: it is
 * filled before it goes into the directory, so the CPU never sees a
 * half-written table (and the recursive view of the slot, which still shows
 * the old entry, is not used).  0 when no frame is left.
 */
static pte_t *new_table(struct pagetable *pt, uint32_t *frame)
{
	*frame = pt->ops->alloc(pt->ctx);
	if (!*frame)
		return NULL;
	pt->tables++;
	return pt->ops->table(pt->ctx, *frame, PT_FRAME);
}

/*
 * The one page walk.  Fills `s` for `va`; with `create`, a missing page
 * table is allocated (VM_ENOMEM if that fails).  s->pte stays NULL when the
 * address is covered by a 4 MiB page or (without `create`) by nothing.
 */
static enum vm_result walk(struct pagetable *pt, uint32_t va, bool create, struct slot *s)
{
	unsigned pdx = PDX(va);

	s->pde = &directory(pt)[pdx];
	s->pte = NULL;
	if (!(*s->pde & PTE_P)) {
		uint32_t frame;
		pte_t *t;
		if (!create)
			return VM_OK;
		if (!(t = new_table(pt, &frame)))
			return VM_ENOMEM;
		memset(t, 0, PAGE_SIZE);
		set_pde(pt, pdx, table_pde(frame, pdx));
		s->pde = &directory(pt)[pdx];
	}
	if (*s->pde & PDE_PS)
		return VM_OK;
	s->pte = &table_of(pt, pdx, *s->pde)[PTX(va)];
	return VM_OK;
}

/* The translation `s` (from walk) gives for `va`; false if there is none. */
static bool mapping_at(const struct slot *s, uint32_t va, struct pt_mapping *out)
{
	if (s->pte && (*s->pte & PTE_P)) {
		/* Bit 7 of a PTE is PAT, which this kernel leaves at its default:
		 * drop it so PDE_PS in `flags` always means a 4 MiB page. */
		*out = (struct pt_mapping){ va & ~(PAGE_SIZE - 1), *s->pte & PTE_ADDR_MASK, PAGE_SIZE,
					    *s->pte & PTE_FLAGS_MASK & ~PDE_PS };
		return true;
	}
	if (!s->pte && (*s->pde & PTE_P)) {
		*out = (struct pt_mapping){ va & ~LARGE_MASK, *s->pde & PDE_LARGE_MASK,
					    LARGE_PAGE_SIZE, *s->pde & PTE_FLAGS_MASK };
		return true;
	}
	return false;
}

bool pt_query(struct pagetable *pt, uint32_t va, struct pt_mapping *out)
{
	struct slot s;

	walk(pt, va, false, &s);
	return mapping_at(&s, va, out);
}

bool pt_translate(struct pagetable *pt, uint32_t va, uint32_t *pa)
{
	struct pt_mapping m;

	if (!pt_query(pt, va, &m))
		return false;
	*pa = m.pa + (va - m.va);
	return true;
}

/* Turn the 4 MiB page at slot `pdx` into a table of 1024 equal small pages. */
static enum vm_result split_large(struct pagetable *pt, unsigned pdx)
{
	pde_t large = directory(pt)[pdx];
	uint32_t frame;
	pte_t *t = new_table(pt, &frame);

	if (!t)
		return VM_ENOMEM;
	uint32_t flags = large & PTE_FLAGS_MASK & ~PDE_PS;
	for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++)
		t[i] = ((large & PDE_LARGE_MASK) + i * PAGE_SIZE) | flags;
	set_pde(pt, pdx, table_pde(frame, pdx));
	/* Same translation, but the TLB must not keep a 4 MiB entry beside 4 KiB ones. */
	pt->ops->flush(pt->ctx, PGADDR(pdx, 0), 1);
	return VM_OK;
}

/* Split the 4 MiB page holding `addr` if [start, end) covers only part of it. */
static enum vm_result split_if_partial(struct pagetable *pt, uint32_t addr, uint32_t start,
				       uint64_t end)
{
	pde_t pde = directory(pt)[PDX(addr)];
	uint32_t base = addr & ~LARGE_MASK;

	if ((pde & (PTE_P | PDE_PS)) != (PTE_P | PDE_PS))
		return VM_OK;
	if (start <= base && end >= (uint64_t)base + LARGE_PAGE_SIZE)
		return VM_OK;
	return split_large(pt, PDX(addr));
}

static enum vm_result check_range(const struct pagetable *pt, uint32_t va, uint32_t len,
				  uint32_t flags)
{
	if (va % PAGE_SIZE || len % PAGE_SIZE)
		return VM_EALIGN;
	if (len == 0 || (uint64_t)va + len > (uint64_t)pt->limit_pdx << LARGE_PAGE_SHIFT ||
	    (flags & ~PT_FLAGS_ALLOWED) || ((flags & PTE_G) && va < USER_TOP))
		return VM_EINVAL;
	/*
	 * Kernel-half tables are supervisor-only (table_pde), so a user page
	 * there would be user only as a 4 MiB page, and lose it on a split.
	 */
	if ((flags & PTE_US) && (uint64_t)va + len > ((uint64_t)USER_TOP_PDX << LARGE_PAGE_SHIFT))
		return VM_EINVAL;
	return VM_OK;
}

/* Bytes from `va` to the end of its 4 MiB page, capped at `end`. */
static uint32_t to_large_end(uint32_t va, uint64_t end)
{
	uint64_t next = ((uint64_t)va & ~(uint64_t)LARGE_MASK) + LARGE_PAGE_SIZE;
	return (uint32_t)((next < end ? next : end) - va);
}

/* Is any page of [va, end) mapped (`mapped` true) / unmapped (false)? */
static bool any_page(struct pagetable *pt, uint32_t start, uint64_t end, bool mapped)
{
	uint64_t va = start; /* 64 bits: the last page must not wrap to 0 */

	while (va < end) {
		struct slot s;
		walk(pt, (uint32_t)va, false, &s);
		if (!s.pte) {
			/* A whole 4 MiB slot answers at once: large page or no table. */
			if (((*s.pde & PTE_P) != 0) == mapped)
				return true;
			va += to_large_end((uint32_t)va, end);
			continue;
		}
		if (((*s.pte & PTE_P) != 0) == mapped)
			return true;
		va += PAGE_SIZE;
	}
	return false;
}

static bool fits_large(uint32_t va, uint32_t pa, uint64_t end)
{
	return !(va & LARGE_MASK) && !(pa & LARGE_MASK) && (uint64_t)va + LARGE_PAGE_SIZE <= end;
}

enum vm_result pt_map(struct pagetable *pt, uint32_t va, uint32_t pa, uint32_t len,
		      uint32_t flags)
{
	bool large = flags & PT_LARGE;
	enum vm_result r;

	flags &= ~PT_LARGE;
	if ((r = check_range(pt, va, len, flags)) != VM_OK)
		return r;
	if (pa % PAGE_SIZE)
		return VM_EALIGN;
	uint64_t end = (uint64_t)va + len;
	if ((uint64_t)pa + len > FOUR_GIB)
		return VM_EINVAL;
	if (any_page(pt, va, end, true))
		return VM_EEXIST;

	for (uint32_t off = 0; off < len;) {
		uint32_t v = va + off, p = pa + off;
		struct slot s;
		if (large && fits_large(v, p, end) && !(directory(pt)[PDX(v)] & PTE_P)) {
			set_pde(pt, PDX(v), p | flags | PDE_PS | PTE_P);
			off += LARGE_PAGE_SIZE;
			continue;
		}
		if ((r = walk(pt, v, true, &s)) != VM_OK) {
			if (off) /* undo: the call either maps everything or nothing */
				pt_unmap(pt, va, off);
			return r;
		}
		*s.pte = p | flags | PTE_P;
		off += PAGE_SIZE;
	}
	return VM_OK;
}

static void free_table_if_empty(struct pagetable *pt, unsigned pdx)
{
	pde_t pde = directory(pt)[pdx];

	if (!(pde & PTE_P) || (pde & PDE_PS))
		return;
	const pte_t *t = table_of(pt, pdx, pde);
	for (unsigned i = 0; i < ENTRIES_PER_TABLE; i++)
		if (t[i] & PTE_P)
			return;
	set_pde(pt, pdx, 0);
	/* No cached walk may still reach the table when its frame is reused. */
	pt->ops->flush(pt->ctx, PGADDR(pdx, 0), ENTRIES_PER_TABLE);
	pt->ops->free(pt->ctx, pde & PTE_ADDR_MASK);
	pt->tables--;
}

/*
 * Apply `edit` to every page of a checked range: a 4 MiB page as a whole
 * (the range covers it, after split_if_partial), a small page one by one.
 */
static enum vm_result edit_range(struct pagetable *pt, uint32_t va, uint32_t len,
				 uint32_t flags, bool unmap)
{
	uint64_t end = (uint64_t)va + len;
	enum vm_result r = check_range(pt, va, len, flags);

	if (r != VM_OK)
		return r;
	if (any_page(pt, va, end, false))
		return VM_ENOENT;
	pde_t first = directory(pt)[PDX(va)];
	if ((r = split_if_partial(pt, va, va, end)) != VM_OK)
		return r;
	if ((r = split_if_partial(pt, (uint32_t)(end - 1), va, end)) != VM_OK) {
		pde_t split = directory(pt)[PDX(va)];
		if (split != first) { /* put the first 4 MiB page back */
			set_pde(pt, PDX(va), first);
			pt->ops->free(pt->ctx, split & PTE_ADDR_MASK);
			pt->tables--;
			pt->ops->flush(pt->ctx, PGADDR(PDX(va), 0), 1);
		}
		return r;
	}

	for (uint64_t v = va; v < end;) {
		struct slot s;
		walk(pt, (uint32_t)v, false, &s);
		unsigned pdx = PDX(v);
		if (!s.pte) { /* a 4 MiB page the range covers whole */
			set_pde(pt, pdx, unmap ? 0 : (*s.pde & PDE_LARGE_MASK) | flags | PDE_PS | PTE_P);
			v += LARGE_PAGE_SIZE;
			continue;
		}
		uint64_t stop = v + to_large_end((uint32_t)v, end);
		pte_t *t = s.pte - PTX(v);
		for (; v < stop; v += PAGE_SIZE)
			t[PTX(v)] = unmap ? 0 : (t[PTX(v)] & PTE_ADDR_MASK) | flags | PTE_P;
		if (unmap)
			free_table_if_empty(pt, pdx);
	}
	pt->ops->flush(pt->ctx, va, len / PAGE_SIZE);
	return VM_OK;
}

enum vm_result pt_unmap(struct pagetable *pt, uint32_t va, uint32_t len)
{
	return edit_range(pt, va, len, 0, true);
}

enum vm_result pt_protect(struct pagetable *pt, uint32_t va, uint32_t len, uint32_t flags)
{
	return edit_range(pt, va, len, flags, false);
}

enum vm_result pt_replace(struct pagetable *pt, uint32_t va, uint32_t pa, uint32_t flags)
{
	enum vm_result r = check_range(pt, va, PAGE_SIZE, flags);
	struct slot s;

	if (r != VM_OK)
		return r;
	if (pa % PAGE_SIZE)
		return VM_EALIGN;
	walk(pt, va, false, &s);
	if (!s.pte || !(*s.pte & PTE_P))
		return VM_ENOENT;
	*s.pte = pa | flags | PTE_P;
	pt->ops->flush(pt->ctx, va, 1);
	return VM_OK;
}

/* For a space that is not loaded: no TLB or paging-structure cache holds its
 * entries (a CR3 load drops them), so its tables can be freed right away. */
void pt_free_tables(struct pagetable *pt, unsigned first, unsigned last)
{
	if (last >= ENTRIES_PER_TABLE)
		last = ENTRIES_PER_TABLE - 1;
	if (first > last)
		return;
	for (unsigned pdx = first; pdx <= last; pdx++) {
		pde_t pde = directory(pt)[pdx];
		if (!(pde & PTE_P))
			continue;
		set_pde(pt, pdx, 0);
		if (!(pde & PDE_PS)) {
			pt->ops->free(pt->ctx, pde & PTE_ADDR_MASK);
			pt->tables--;
		}
	}
	pt->ops->flush(pt->ctx, PGADDR(first, 0),
		       (last - first + 1) * ENTRIES_PER_TABLE);
}

/* Copy one page table of `src` into a new table of `dst` through `fn`. */
static enum vm_result clone_table(struct pagetable *dst, struct pagetable *src, unsigned pdx,
				  pde_t pde, pt_clone_fn fn, void *arg)
{
	uint32_t frame;
	pte_t *to = new_table(dst, &frame), *from;
	enum vm_result r = VM_OK;

	if (!to)
		return VM_ENOMEM;
	memset(to, 0, PAGE_SIZE);
	from = table_of(src, pdx, pde);
	for (unsigned ptx = 0; ptx < ENTRIES_PER_TABLE; ptx++) {
		if ((from[ptx] & PTE_P) && !fn(arg, PGADDR(pdx, ptx), &from[ptx], &to[ptx])) {
			r = VM_ENOMEM;
			break;
		}
	}
	/* Even a partial copy goes in, so the caller can undo what was copied. */
	set_pde(dst, pdx, table_pde(frame, pdx));
	return r;
}

/* Can slots [first, last] be cloned: no 4 MiB page in src, nothing yet in dst? */
static bool clonable(struct pagetable *dst, struct pagetable *src, unsigned first, unsigned last)
{
	for (unsigned pdx = first; pdx <= last; pdx++) {
		pde_t pde = directory(src)[pdx];
		if ((pde & PTE_P) && ((pde & PDE_PS) || (directory(dst)[pdx] & PTE_P)))
			return false;
	}
	return true;
}

enum vm_result pt_clone(struct pagetable *dst, struct pagetable *src, unsigned first,
			unsigned last, pt_clone_fn fn, void *arg)
{
	enum vm_result r = VM_OK;

	if (first > last || last >= dst->limit_pdx || last >= src->limit_pdx ||
	    !clonable(dst, src, first, last))
		return VM_EINVAL; /* checked before anything is copied: nothing changed */
	for (unsigned pdx = first; pdx <= last && r == VM_OK; pdx++) {
		pde_t pde = directory(src)[pdx];
		if (pde & PTE_P)
			r = clone_table(dst, src, pdx, pde, fn, arg);
	}
	/* `fn` may have taken rights away from the source's entries. */
	src->ops->flush(src->ctx, PGADDR(first, 0), (last - first + 1) * ENTRIES_PER_TABLE);
	return r;
}

void pt_for_each_range(struct pagetable *pt, uint32_t va, uint64_t len,
		       void (*fn)(void *arg, const struct pt_mapping *run), void *arg)
{
	uint64_t end = (uint64_t)va + len, v = va;
	struct pt_mapping run = { 0, 0, 0, 0 };

	if (end > FOUR_GIB)
		end = FOUR_GIB;
	while (v < end) {
		struct pt_mapping m;
		struct slot s;
		walk(pt, (uint32_t)v, false, &s);
		/* An empty directory slot is skipped whole. */
		uint64_t step = s.pte ? PAGE_SIZE : to_large_end((uint32_t)v, end);
		if (mapping_at(&s, (uint32_t)v, &m)) {
			bool extends = run.size && run.va + (uint64_t)run.size == v &&
				       run.pa + (uint64_t)run.size == m.pa && run.flags == m.flags;
			if (!extends) {
				if (run.size)
					fn(arg, &run);
				run = (struct pt_mapping){ (uint32_t)v, m.pa + ((uint32_t)v - m.va), 0, m.flags };
			}
			run.size += (uint32_t)step;
		} else {
			if (run.size)
				fn(arg, &run);
			run.size = 0;
		}
		v += step;
	}
	if (run.size)
		fn(arg, &run);
}

const char *vm_result_name(enum vm_result r)
{
	switch (r) {
	case VM_OK:     return "ok";
	case VM_EALIGN: return "address or length not page-aligned";
	case VM_EINVAL: return "invalid range or flags";
	case VM_EEXIST: return "already mapped";
	case VM_ENOENT: return "not mapped";
	case VM_ENOMEM: return "out of memory for page tables";
	}
	return "?";
}
