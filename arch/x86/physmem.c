/*
 * physmem.c - the direct map and the physical window (see physmem.h).
 *
 * Both are 4 MiB pages in the page directory, so re-pointing the window is
 * one directory-entry write and one invlpg (Intel SDM vol. 3A 4.10.4.1): the
 * cheapest possible way to reach any frame while no page tables exist yet.
 */
#include "physmem.h"

#include <string.h>

#include "io.h"
#include "memlayout.h"

uint32_t direct_map_end = DIRECT_MAP_SIZE;

/* The current directory, through the recursive slot (set up by boot.S). */
static pde_t *const current_directory = (pde_t *)RECURSIVE_DIR;

void *phys_ptr(uint32_t pa)
{
	if (pa < direct_map_end)
		return P2V(pa);
	uint32_t block = pa & ~(uint32_t)(LARGE_PAGE_SIZE - 1);
	pde_t want = block | PDE_PS | PTE_RW | PTE_P;
	/* The window entry is per address space, so compare with this space's
	 * (ignoring the accessed and dirty bits the CPU sets). */
	if ((current_directory[PHYS_WINDOW_PDX] & ~(pde_t)(PTE_A | PTE_D)) != want) {
		current_directory[PHYS_WINDOW_PDX] = want;
		invlpg((void *)PHYS_WINDOW);
	}
	return (void *)(PHYS_WINDOW + (pa - block));
}

void phys_read(void *dst, uint32_t pa, size_t len)
{
	char *d = dst;

	while (len) {
		size_t chunk = LARGE_PAGE_SIZE - (pa & (LARGE_PAGE_SIZE - 1));
		if (chunk > len)
			chunk = len;
		memcpy(d, phys_ptr(pa), chunk);
		d += chunk;
		pa += chunk;
		len -= chunk;
	}
}

void physmem_drop_identity_map(void)
{
	current_directory[0] = 0;
	write_cr3(read_cr3()); /* flush: the identity entry may be cached */
}
