/*
 * physmem.h - reaching physical memory before (and beside) the VMM.
 *
 * The boot page directory maps the first DIRECT_MAP_SIZE bytes of physical
 * memory at KERNEL_BASE; anything above is reached through PHYS_WINDOW, one
 * 4 MiB page re-pointed on demand (see memlayout.h).
 */
#ifndef ARCH_X86_PHYSMEM_H
#define ARCH_X86_PHYSMEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Physical memory below this is mapped at KERNEL_BASE + pa.  The boot stub
 * maps DIRECT_MAP_SIZE; the VMM maps only as far as RAM goes and lowers it.
 */
extern uint32_t direct_map_end;

/*
 * A kernel pointer to physical address `pa`.  Inside the direct map it stays
 * valid; above it, it is valid only up to the end of pa's 4 MiB block and
 * until the next phys_ptr() call for another block.
 */
void *phys_ptr(uint32_t pa);

/* Copy `len` bytes from physical `pa` (any address below 4 GiB). */
void phys_read(void *dst, uint32_t pa, size_t len);

/* Remove the boot stub's identity mapping of 0..4 MiB: NULL now faults. */
void physmem_drop_identity_map(void);

#endif
