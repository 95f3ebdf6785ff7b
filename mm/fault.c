/*
 * fault.c - decode, resolve or explain page faults (see fault.h).
 *
 * The error code (Intel SDM vol. 3A 4.7) says whether the page was present,
 * whether the access was a write, from user mode, an instruction fetch, or
 * tripped a reserved bit; CR2 holds the address.  With the entries of the
 * current space read through the recursive mapping, that is enough to name
 * the cause.
 */
#include "fault.h"

#include "arch/x86/io.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/trap.h"
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "vmalloc.h"
#include "vmm.h"

#define RESOLVERS_MAX 4

static fault_resolver_t resolvers[RESOLVERS_MAX];
static unsigned nresolvers;

void fault_read_entries(struct page_fault *pf)
{
	unsigned pdx = PDX(pf->addr);

	pf->pde = ((pde_t *)RECURSIVE_DIR)[pdx];
	pf->pte = 0;
	if ((pf->pde & PTE_P) && !(pf->pde & PDE_PS))
		pf->pte = ((pte_t *)(RECURSIVE_BASE + pdx * PAGE_SIZE))[PTX(pf->addr)];
}

const char *fault_cause(const struct page_fault *pf)
{
	const char *guard = vmalloc_guard_name(pf->addr);

	if (pf->error & PF_RSVD)
		return "reserved bit set in a paging entry";
	if (guard)
		return guard;
	if (!(pf->error & PF_P))
		return pf->addr < PAGE_SIZE ? "NULL pointer dereference (page not present)"
					    : "page not present";
	uint32_t effective = pf->pde & PDE_PS ? pf->pde : pf->pde & pf->pte; /* SDM 4.6 */
	if ((pf->error & PF_U) && !(effective & PTE_US))
		return "user access to a kernel page";
	if (pf->error & PF_W)
		return "write to read-only page";
	return "protection violation";
}

static void print_entry(const char *what, unsigned index, uint32_t e, bool pde)
{
	kprintf("  %s[%u] = %08x", what, index, e);
	if (!(e & PTE_P)) {
		kprintf(" (not present)\n");
		return;
	}
	kprintf(" (P%s%s%s%s%s%s)\n", e & PTE_RW ? " RW" : " RO", e & PTE_US ? " US" : " S",
		e & PTE_A ? " A" : "", e & PTE_D ? " D" : "", e & PDE_PS ? (pde ? " PS" : " PAT") : "",
		e & PTE_G ? " G" : "");
}

static void explain(const struct trap_frame *tf)
{
	struct page_fault pf = { read_cr2(), tf->error, tf->eip, 0, 0 };

	fault_read_entries(&pf);
	kprintf("\nPAGE FAULT at %08x: %s\n", pf.addr, fault_cause(&pf));
	kprintf("  %s %s mode at EIP %08x; error code 0x%x = %s, %s, %s%s%s\n",
		pf.error & PF_I ? "instruction fetch" : pf.error & PF_W ? "write" : "read",
		pf.error & PF_U ? "user" : "kernel", pf.eip, pf.error,
		pf.error & PF_P ? "protection" : "not-present", pf.error & PF_W ? "write" : "read",
		pf.error & PF_U ? "user" : "supervisor", pf.error & PF_RSVD ? ", reserved bit" : "",
		pf.error & PF_I ? ", fetch" : "");
	print_entry("PDE", PDX(pf.addr), pf.pde, true);
	if ((pf.pde & PTE_P) && !(pf.pde & PDE_PS))
		print_entry("PTE", PTX(pf.addr), pf.pte, false);
}

static bool resolve(struct trap_frame *tf)
{
	struct page_fault pf = { read_cr2(), tf->error, tf->eip, 0, 0 };

	vmm_stats.page_faults++;
	fault_read_entries(&pf);
	for (unsigned i = 0; i < nresolvers; i++)
		if (resolvers[i](&pf))
			return true;
	return false;
}

void fault_init(void)
{
	trap_set_handler(TRAP_PF, resolve);
	trap_set_explainer(TRAP_PF, explain);
}

void fault_add_resolver(fault_resolver_t resolver)
{
	KASSERT(nresolvers < RESOLVERS_MAX);
	resolvers[nresolvers++] = resolver;
}
