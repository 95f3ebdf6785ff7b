/*
 * uvm.c - user memory: regions, demand paging, copy-on-write (see uvm.h).
 *
 * Why lazy.  A region costs nothing until it is touched: mmap of 64 MiB is
 * one entry in the region set, brk moves a number, and a program whose
 * pages are never read is never copied out of the initrd.  The price is a
 * page fault per first touch (its cost in cycles is in
 * docs/design/user-memory.md), and that memory can run out later, at a
 * fault, instead of at the call: a process whose fault finds no frame is
 * killed (SIGKILL, like Linux's OOM killer).  To keep that rare, brk and
 * mmap refuse (-ENOMEM) a request larger than the free memory at the time,
 * a heuristic in the spirit of Linux's default overcommit policy.
 *
 * Page-table entries of user pages: PTE_US always, PTE_RW when the region
 * is writable *and* the frame is not shared.  A frame's reference count
 * (mm/pageref.h) is the one truth about sharing: a write fault on a present
 * page of a writable region means "copy on write", and the count says
 * whether to copy (shared) or just take the page back writable (the other
 * sharers are gone).  No PTE bit is needed to mark copy-on-write pages.
 *
 * Execute permission.  32-bit paging without PAE has no no-execute bit, so
 * uvm keeps `code_end`, the end of the highest executable region, and the
 * scheduler makes it the limit of the user code segment (arch/x86/gdt.h):
 * a jump into the heap, the stack or the data above the program's text
 * raises #GP.
 */
#include "uvm.h"

#include <string.h>

#include "arch/x86/io.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/physmem.h"
#include "kernel/elf.h"
#include "kernel/errno.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "kheap.h"
#include "pageref.h"

#define PAGE_DOWN(a) ((uint32_t)(a) & ~(PAGE_SIZE - 1))
#define PAGE_UP(a)   (((uint32_t)(a) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define USER_PDX_LAST (KERNEL_PDX_FIRST - 1)
#define STACK_GAP PAGE_SIZE /* the stack never grows to touch another region */

/* Linux's auxiliary-vector types (elf.h). */
#define AT_NULL   0
#define AT_PAGESZ 6
#define AT_ENTRY  9
#define AT_RANDOM 25
#define ARGS_MAX  64 /* argv + envp pointers on the first stack page */

static struct uvm *current;
static bool in_uaccess; /* a kernel fault on a user address is expected */
const char *uvm_fault_reason = "";
bool uvm_fault_oom;

/* 0 when nothing faulted, else the bytes not copied (arch/x86/usercopy.S). */
uint32_t uaccess_copy(void *dst, const void *src, uint32_t n);

/*
 * A region without PROT_READ keeps its pages present but supervisor-only:
 * x86 has no "present and inaccessible" user page, but a user access to a
 * supervisor page faults, the fault finds PROT_NONE and refuses, and the
 * frame (and its contents) stays where every walker of the tables sees it.
 */
static uint32_t pte_flags(const struct vma *v)
{
	if (!(v->prot & VMA_READ))
		return 0;
	return PTE_US | (v->prot & VMA_WRITE ? PTE_RW : 0);
}

void uvm_set_current(struct uvm *u)
{
	current = u;
}

/* A process's regions are an array from kmalloc (vma.h): its slab caches serve the usual sizes. */
static const struct vma_memory region_memory = { kmalloc, kfree };

int uvm_create(struct uvm *u)
{
	memset(u, 0, sizeof(*u));
	vma_init(&u->vmas, &region_memory);
	u->as = as_create();
	return u->as ? 0 : -ENOMEM;
}

/* pt_for_each_range callback: one reference less for every page of a run. */
static void put_run(void *arg, const struct pt_mapping *run)
{
	(void)arg;
	for (uint32_t off = 0; off < run->size; off += PAGE_SIZE)
		page_ref_put(run->pa + off);
}

void uvm_destroy(struct uvm *u)
{
	vma_release(&u->vmas);
	if (!u->as)
		return;
	pt_for_each_range(&u->as->pt, 0, USER_TOP, put_run, NULL);
	as_destroy(u->as);
	u->as = NULL;
}

uint32_t uvm_resident_pages(struct uvm *u)
{
	uint32_t pages = 0;

	for (unsigned i = 0; i < u->vmas.n; i++)
		for (uint32_t va = u->vmas.v[i].start; va < u->vmas.v[i].end; va += PAGE_SIZE)
			pages += pt_translate(&u->as->pt, va, &(uint32_t){ 0 });
	return pages;
}

/* ---- fork ---------------------------------------------------------------- */

#ifndef FORK_EAGER
/* Share the frame; a writable page becomes read-only in both spaces. */
static bool share_page(void *arg, uint32_t va, pte_t *src, pte_t *dst)
{
	(void)arg, (void)va;
	page_ref_get(*src & PTE_ADDR_MASK);
	*src &= ~PTE_RW;
	*dst = *src & ~(PTE_A | PTE_D);
	return true;
}
#define FORK_PAGE share_page
#else
/* The baseline copy-on-write is measured against: copy every page now. */
static bool copy_page(void *arg, uint32_t va, pte_t *src, pte_t *dst)
{
	uint32_t pa = page_alloc_copy(*src & PTE_ADDR_MASK);

	(void)arg, (void)va;
	if (!pa)
		return false;
	*dst = pa | (*src & (PTE_P | PTE_RW | PTE_US));
	return true;
}
#define FORK_PAGE copy_page
#endif

int uvm_fork(struct uvm *child, struct uvm *parent)
{
	int r;

	KASSERT(parent->as == vmm_current()); /* pt_clone reads it through the recursive map */
	if ((r = uvm_create(child)))
		return r;
	if (vma_copy(&child->vmas, &parent->vmas) != VMA_OK) {
		uvm_destroy(child);
		return -ENOMEM;
	}
	child->brk_start = parent->brk_start;
	child->brk = parent->brk;
	child->code_end = parent->code_end;
	if (pt_clone(&child->as->pt, &parent->as->pt, 0, USER_PDX_LAST, FORK_PAGE, NULL) != VM_OK) {
		uvm_destroy(child);
		return -ENOMEM;
	}
	return 0;
}

/* ---- demand paging ---------------------------------------------------------- */

/* A frame holding what page `page` of region `v` starts as: file bytes or zeros. */
static uint32_t first_contents(const struct vma *v, uint32_t page)
{
	uint32_t pa = page_alloc_zeroed();
	uint32_t lo = page > v->file_start ? page : v->file_start;
	uint32_t hi = page + PAGE_SIZE < v->file_end ? page + PAGE_SIZE : v->file_end;

	if (pa && lo < hi)
		phys_read((uint8_t *)kmap_frame(KMAP_FILL, pa) + (lo - page),
			  v->file_pa + (lo - v->file_start), hi - lo);
	return pa;
}

static bool refuse(const char *why, bool oom)
{
	uvm_fault_reason = why;
	uvm_fault_oom = oom;
	return false;
}

static bool populate(struct uvm *u, const struct vma *v, uint32_t page)
{
	uint32_t pa = first_contents(v, page);

	if (!pa)
		return refuse("out of memory", true);
	if (pt_map(&u->as->pt, page, pa, PAGE_SIZE, pte_flags(v)) != VM_OK) {
		page_ref_put(pa);
		return refuse("out of memory (page table)", true);
	}
	if (v->file_start < v->file_end && page < v->file_end && page + PAGE_SIZE > v->file_start)
		u->faults_file++;
	else
		u->faults_zero++;
	return true;
}

static bool copy_on_write(struct uvm *u, const struct vma *v, uint32_t page, pte_t pte)
{
	uint32_t old = pte & PTE_ADDR_MASK, pa = old;

	if (page_ref_count(old) > 1) {
		if (!(pa = page_alloc_copy(old)))
			return refuse("out of memory (copy-on-write)", true);
		u->faults_cow++;
	} else {
		u->faults_cow_reuse++; /* the other sharers are gone: no copy */
	}
	KASSERT(pt_replace(&u->as->pt, page, pa, pte_flags(v)) == VM_OK);
	if (pa != old)
		page_ref_put(old);
	return true;
}

/* A fault below the stack region and within its limit grows the stack. */
static struct vma *grow_stack(struct uvm *u, uint32_t addr)
{
	struct vma *stack = vma_find(&u->vmas, USER_STACK_TOP - 1);

	if (!stack || stack->kind != VMA_STACK || addr >= stack->start ||
	    addr < USER_STACK_TOP - USER_STACK_LIMIT)
		return NULL;
	if (vma_resize(&u->vmas, stack, PAGE_DOWN(addr), stack->end, STACK_GAP) != VMA_OK)
		return NULL;
	return vma_find(&u->vmas, addr);
}

static const char *no_region_reason(uint32_t addr)
{
	if (addr < USER_BASE)
		return "NULL pointer dereference (no region below 0x10000)";
	if (addr >= USER_STACK_TOP - USER_STACK_LIMIT - STACK_GAP && addr < USER_STACK_TOP)
		return "stack overflow (past the 8 MiB stack limit or into another region)";
	return "no region at this address";
}

bool uvm_fault(const struct page_fault *pf)
{
	struct uvm *u = current;
	uint32_t page = PAGE_DOWN(pf->addr);
	struct vma *v;

	uvm_fault_oom = false;
	if (!u || pf->addr >= USER_TOP) /* a kernel-half fault: not a user region's business */
		return refuse("an access to the kernel half", false);
	if (!(pf->error & PF_U) && !in_uaccess)
		return refuse("the kernel touched user memory outside copy-in/copy-out", false);
	if (!(v = vma_find(&u->vmas, pf->addr)) && !(v = grow_stack(u, pf->addr)))
		return refuse(no_region_reason(pf->addr), false);
	if (!(v->prot & VMA_READ))
		return refuse("access to a PROT_NONE region", false);
	if ((pf->error & PF_W) && !(v->prot & VMA_WRITE))
		return refuse("write to a read-only region", false);
	if (!(pf->error & PF_P))
		return populate(u, v, page);
	if (pf->error & PF_W)
		return copy_on_write(u, v, page, pf->pte);
	return refuse("protection violation on a present page", false);
}

/* ---- loading a program ------------------------------------------------------ */

/* The regions are sorted: the last executable one ends highest. */
static void update_code_end(struct uvm *u)
{
	u->code_end = 0;
	for (unsigned i = 0; i < u->vmas.n; i++)
		if (u->vmas.v[i].prot & VMA_EXEC)
			u->code_end = u->vmas.v[i].end;
}

static int add_region(struct uvm *u, uint32_t start, uint32_t end, uint32_t prot,
		      enum vma_kind kind, uint32_t file_start, uint32_t file_end, uint32_t file_pa)
{
	struct vma v = { start, end, prot, kind, file_start, file_end, file_pa };

	if (start >= end)
		return 0;
	if (vma_insert(&u->vmas, &v) != VMA_OK)
		return -ENOMEM;
	update_code_end(u);
	return 0;
}

static uint32_t segment_prot(uint32_t flags)
{
	return (flags & ELF_SEG_R ? VMA_READ : 0) | (flags & ELF_SEG_W ? VMA_WRITE : 0) |
	       (flags & ELF_SEG_X ? VMA_EXEC | VMA_READ : 0);
}

/* A segment: its file-backed pages (text or data), then whole zero pages (bss). */
static int add_segment(struct uvm *u, const struct elf_segment *s, uint32_t file_pa)
{
	uint32_t prot = segment_prot(s->flags);
	uint32_t file_end = s->vaddr + s->filesz, mem_end = PAGE_UP(s->vaddr + s->memsz);
	uint32_t data_end = s->filesz ? PAGE_UP(file_end) : PAGE_DOWN(s->vaddr);
	int r;

	r = add_region(u, PAGE_DOWN(s->vaddr), data_end, prot,
		       prot & VMA_WRITE ? VMA_DATA : VMA_TEXT, s->vaddr, file_end,
		       file_pa + s->offset);
	if (!r)
		r = add_region(u, data_end, mem_end, prot, VMA_BSS, 0, 0, 0);
	return r;
}

/* Put `n` bytes at the top of the stack image, returning their user address. */
static uint32_t push_bytes(uint8_t *page, uint32_t *top, const void *bytes, uint32_t n)
{
	*top -= n;
	memcpy(page + *top, bytes, n);
	return USER_STACK_TOP - PAGE_SIZE + *top;
}

/* The strings of a NULL-terminated list, their addresses (and a 0) into vec. */
static int push_strings(uint8_t *page, uint32_t *top, const char *const *list, uint32_t *vec,
			uint32_t *n)
{
	for (; *list; list++) {
		uint32_t len = strlen(*list) + 1;
		if (*n >= ARGS_MAX || len + 512 > *top) /* room for the vectors below */
			return -E2BIG;
		vec[(*n)++] = push_bytes(page, top, *list, len);
	}
	vec[(*n)++] = 0;
	return 0;
}

/*
 * The first stack page, as Linux's binfmt_elf builds it: the strings at
 * the top, then (16-byte aligned, growing down) the auxiliary vector, envp,
 * argv and argc, where the stack pointer starts.
 */
static int build_stack(uint8_t *page, const char *const *argv, const char *const *envp,
		       uint32_t entry, uint32_t *esp)
{
	uint32_t vec[ARGS_MAX + 12], n = 1, top = PAGE_SIZE, argc = 0;
	uint32_t random[4] = { (uint32_t)rdtsc(), (uint32_t)(rdtsc() >> 7), 0x9e3779b9u, entry };

	while (argv[argc])
		argc++;
	vec[0] = argc;
	if (push_strings(page, &top, argv, vec, &n) || push_strings(page, &top, envp, vec, &n))
		return -E2BIG;
	top &= ~15u;
	uint32_t random_at = push_bytes(page, &top, random, sizeof(random));
	uint32_t aux[] = { AT_PAGESZ, PAGE_SIZE, AT_ENTRY, entry, AT_RANDOM, random_at, AT_NULL, 0 };
	memcpy(&vec[n], aux, sizeof(aux));
	n += sizeof(aux) / sizeof(aux[0]);
	top = ((top - n * 4) & ~15u) + n * 4; /* argc lands 16-byte aligned */
	*esp = push_bytes(page, &top, vec, n * 4);
	return 0;
}

static int map_first_stack_page(struct uvm *u, const char *const *argv, const char *const *envp,
				uint32_t entry, uint32_t *esp)
{
	uint32_t pa = page_alloc_zeroed();
	int r;

	if (!pa)
		return -ENOMEM;
	r = build_stack(kmap_frame(KMAP_FILL, pa), argv, envp, entry, esp);
	if (!r && pt_map(&u->as->pt, USER_STACK_TOP - PAGE_SIZE, pa, PAGE_SIZE, PTE_US | PTE_RW))
		r = -ENOMEM;
	if (r)
		page_ref_put(pa);
	return r;
}

int uvm_load(struct uvm *u, const struct elf_image *img, uint32_t file_pa,
	     const char *const *argv, const char *const *envp, uint32_t *esp)
{
	int r = 0;

	for (unsigned i = 0; i < img->nsegs && !r; i++) {
		r = add_segment(u, &img->segs[i], file_pa);
		uint32_t end = PAGE_UP(img->segs[i].vaddr + img->segs[i].memsz);
		if (end > u->brk_start)
			u->brk_start = u->brk = end;
	}
	if (!r)
		r = add_region(u, USER_STACK_TOP - PAGE_SIZE, USER_STACK_TOP,
			       VMA_READ | VMA_WRITE, VMA_STACK, 0, 0, 0);
	if (!r)
		r = map_first_stack_page(u, argv, envp, img->entry, esp);
	return r;
}

/* ---- brk, mmap, munmap, mprotect -------------------------------------------- */

/* The overcommit heuristic: refuse what could not be backed right now. */
static bool can_commit(uint32_t bytes)
{
	return bytes / PAGE_SIZE <= kpmm.stats.free_frames;
}

/* Unmap and release the present pages of [start, end). */
static void release_pages(struct uvm *u, uint32_t start, uint32_t end)
{
	uint32_t pa;

	for (uint32_t va = start; va < end; va += PAGE_SIZE) {
		if (!pt_translate(&u->as->pt, va, &pa))
			continue;
		KASSERT(pt_unmap(&u->as->pt, va, PAGE_SIZE) == VM_OK);
		page_ref_put(pa);
	}
}

/*
 * The heap may have been split by mprotect, so brk works on the range
 * between the old and the new end rather than on "the heap region": a
 * shrink removes [new end, old end), a growth adds [old end, new end),
 * which merges with the heap's top piece when their rights match.
 */
uint32_t uvm_brk(struct uvm *u, uint32_t new_brk)
{
	uint32_t old_end = PAGE_UP(u->brk), new_end = PAGE_UP(new_brk);
	uint32_t start;

	if (new_brk < u->brk_start || new_brk > USER_MMAP_TOP)
		return u->brk;
	if (new_end > old_end) {
		/* Free up to a page past the new end: the heap never touches another region. */
		bool room = vma_find_free(&u->vmas, new_end + PAGE_SIZE - old_end, old_end,
					  new_end + PAGE_SIZE, &start);
		if (!room || !can_commit(new_end - old_end) ||
		    add_region(u, old_end, new_end, VMA_READ | VMA_WRITE, VMA_HEAP, 0, 0, 0))
			return u->brk;
	} else if (new_end < old_end) {
		if (vma_remove(&u->vmas, new_end, old_end) != VMA_OK)
			return u->brk;
		release_pages(u, new_end, old_end);
	}
	u->brk = new_brk;
	return new_brk;
}

static uint32_t vma_prot_of(uint32_t linux_prot)
{
	/* PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4 match VMA_READ/WRITE/EXEC;
	 * x86 pages that can be written or run can be read (Linux says so too). */
	uint32_t prot = linux_prot & (VMA_READ | VMA_WRITE | VMA_EXEC);

	return prot ? prot | VMA_READ : 0;
}

static bool user_range(uint32_t addr, uint32_t len)
{
	return addr >= USER_BASE && addr < USER_TOP && len <= USER_TOP - addr;
}

int32_t uvm_mmap(struct uvm *u, uint32_t addr, uint32_t len, uint32_t prot, uint32_t flags)
{
	uint32_t size = PAGE_UP(len);

	if (len == 0 || (prot & ~7u) || !(flags & MAP_ANONYMOUS) ||
	    (flags & (MAP_SHARED | MAP_PRIVATE)) != MAP_PRIVATE)
		return -EINVAL;
	if (size == 0)
		return -ENOMEM; /* rounding up wrapped: more than the address space */
	if (!can_commit(size))
		return -ENOMEM;
	if (flags & MAP_FIXED) {
		if (addr % PAGE_SIZE || !user_range(addr, size))
			return -EINVAL;
		if (uvm_munmap(u, addr, size))
			return -ENOMEM;
	} else if (!vma_find_free(&u->vmas, size, USER_BASE, USER_MMAP_TOP, &addr)) {
		return -ENOMEM;
	}
	if (add_region(u, addr, addr + size, vma_prot_of(prot), VMA_ANON, 0, 0, 0))
		return -ENOMEM;
	return (int32_t)addr;
}

int32_t uvm_munmap(struct uvm *u, uint32_t addr, uint32_t len)
{
	uint32_t size = PAGE_UP(len);

	if (addr % PAGE_SIZE || len == 0 || size == 0 || !user_range(addr, size))
		return -EINVAL;
	if (vma_remove(&u->vmas, addr, addr + size) != VMA_OK)
		return -ENOMEM; /* a split needs a region the set cannot hold (VMA_MAX, or no memory) */
	release_pages(u, addr, addr + size);
	update_code_end(u);
	return 0;
}

/* Present pages take the new rights; a shared frame stays read-only (copy-on-write). */
static void reprotect_pages(struct uvm *u, uint32_t start, uint32_t end, const struct vma *v)
{
	uint32_t pa;

	for (uint32_t va = start; va < end; va += PAGE_SIZE) {
		if (!pt_translate(&u->as->pt, va, &pa))
			continue;
		uint32_t flags = pte_flags(v);
		if (page_ref_count(pa) > 1)
			flags &= ~PTE_RW;
		KASSERT(pt_protect(&u->as->pt, va, PAGE_SIZE, flags) == VM_OK);
	}
}

int32_t uvm_mprotect(struct uvm *u, uint32_t addr, uint32_t len, uint32_t prot)
{
	uint32_t size = PAGE_UP(len), p = vma_prot_of(prot);

	if (addr % PAGE_SIZE || (prot & ~7u))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (size == 0 || !user_range(addr, size))
		return -ENOMEM; /* past the end of the address space: not mapped */
	if (!vma_range_ok(&u->vmas, addr, size, 0))
		return -ENOMEM; /* Linux: part of the range is not mapped */
	if (vma_protect(&u->vmas, addr, addr + size, p) != VMA_OK)
		return -ENOMEM;
	struct vma *v = vma_find(&u->vmas, addr);
	reprotect_pages(u, addr, addr + size, v);
	update_code_end(u);
	return 0;
}

/* ---- copy-in, copy-out -------------------------------------------------------- */

/* A user range the stack may still grow over counts as the stack's. */
static bool range_ok(struct uvm *u, uint32_t addr, uint32_t n, uint32_t prot)
{
	if (n == 0)
		return true;
	if (!user_range(addr, n))
		return false;
	if (!vma_find(&u->vmas, addr))
		grow_stack(u, addr);
	return vma_range_ok(&u->vmas, addr, n, prot);
}

bool uvm_user_range_ok(uint32_t addr, uint32_t n, uint32_t prot)
{
	return current && range_ok(current, addr, n, prot);
}

static int uaccess(void *dst, const void *src, uint32_t n)
{
	in_uaccess = true;
	uint32_t left = uaccess_copy(dst, src, n);
	in_uaccess = false;
	return left ? -EFAULT : 0;
}

int copy_to_user(uint32_t dst, const void *src, uint32_t n)
{
	if (!uvm_user_range_ok(dst, n, VMA_WRITE))
		return -EFAULT;
	return uaccess((void *)dst, src, n);
}

int copy_from_user(void *dst, uint32_t src, uint32_t n)
{
	if (!uvm_user_range_ok(src, n, VMA_READ))
		return -EFAULT;
	return uaccess(dst, (const void *)src, n);
}
