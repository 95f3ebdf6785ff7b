/*
 * fault.h - the page-fault handler.
 *
 * A page fault is first offered to the resolvers (none yet: demand paging
 * and copy-on-write will register here, each answering whether the fault
 * was theirs and is now fixed).  A fault nobody resolves, and that no probe
 * expected (arch/x86/extable.h), is explained -- the decoded error code,
 * the address, the PDE and PTE involved, and the cause in words -- and the
 * kernel panics.
 */
#ifndef MM_FAULT_H
#define MM_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/paging.h"

struct page_fault {
	uint32_t addr;  /* CR2 */
	uint32_t error; /* PF_* bits */
	uint32_t eip;
	pde_t pde;      /* the current space's entries for addr (0 if none) */
	pte_t pte;
};

/* Returns true when it resolved the fault (the access is retried). */
typedef bool (*fault_resolver_t)(const struct page_fault *pf);

/* Claim the #PF vector. */
void fault_init(void);

/* Register a resolver; they are asked in registration order. */
void fault_add_resolver(fault_resolver_t resolver);

/* The cause in words: "write to read-only page", "not present", ... */
const char *fault_cause(const struct page_fault *pf);

/* Fill pf->pde and pf->pte from the current space (recursive mapping). */
void fault_read_entries(struct page_fault *pf);

#endif
