/*
 * memlayout.h - where things live, physically and virtually.  The picture is
 * drawn in docs/memory-layout.md; the names here are the names used there.
 *
 *   virtual                         physical
 *   0xFFC00000 +-----------------+
 *              | (unused: the VMM's recursive slot later)
 *   0xFF800000 +-----------------+  PHYS_WINDOW: one 4 MiB page, pointed at
 *              | PHYS_WINDOW     |  any 4 MiB-aligned physical block on demand
 *   0xF0000000 +-----------------+
 *              | direct map      |  KERNEL_BASE + p  <->  p, p < DIRECT_MAP_SIZE
 *              |  kernel image   |  0xC0100000 <-> 0x00100000 (KERNEL_LOAD)
 *   0xC0000000 +-----------------+  KERNEL_BASE
 *              | unmapped (user space later)
 *   0x00000000 +-----------------+  page 0 unmapped: NULL faults
 *
 * The boot stub builds this with 4 MiB pages (CR4.PSE), so it needs no page
 * tables: 192 directory entries cover the 768 MiB direct map.
 */
#ifndef ARCH_X86_MEMLAYOUT_H
#define ARCH_X86_MEMLAYOUT_H

#include "paging.h"

#define KERNEL_BASE      0xC0000000 /* virtual address of physical 0 */
#define KERNEL_LOAD      0x00100000 /* physical load address of the image */
#define DIRECT_MAP_SIZE  0x30000000 /* 768 MiB of physical memory mapped at KERNEL_BASE */
#define PHYS_WINDOW      0xFF800000 /* 4 MiB window onto any physical block */

#define BOOT_STACK_SIZE  0x4000

#ifndef __ASSEMBLY__
#include <stdint.h>

/* Kernel virtual address of a physical address inside the direct map. */
#define P2V(pa) ((void *)((uintptr_t)(pa) + KERNEL_BASE))
/* Physical address of a kernel (direct-map) virtual address. */
#define V2P(va) ((uintptr_t)(va) - KERNEL_BASE)

/* Symbols from the linker script: the image's extent and sections. */
extern char __kernel_start[], __kernel_end[];
extern char __text_start[], __text_end[], __rodata_end[], __bss_start[];
#endif

#endif
