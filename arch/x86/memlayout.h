/*
 * memlayout.h - where things live, physically and virtually.  The picture is
 * drawn in docs/memory-layout.md; the names here are the names used there.
 *
 *   virtual                               kernel half: shared by every space
 *   0xFFFFF000 +-----------------------+  RECURSIVE_DIR: the directory itself
 *   0xFFC00000 +-----------------------+  RECURSIVE_BASE: the current space's
 *              | page tables           |  page tables (last slot -> directory)
 *   0xFF800000 +-----------------------+  PHYS_WINDOW: one 4 MiB page pointed
 *              | physical window       |  at any 4 MiB physical block
 *   0xFF400000 +-----------------------+  KMAP_BASE: 4 KiB temporary mappings
 *              | kmap slots            |  (another space's tables, ...)
 *   0xF8000000 +-----------------------+  VMALLOC_START .. VMALLOC_END:
 *              | vmalloc, kernel stacks|  scattered frames, guard pages between
 *   0xF0000000 +-----------------------+  KHEAP_START .. KHEAP_END: the kernel
 *              | kernel heap           |  heap (kmalloc), grown at its top
 *              +-----------------------+  KERNEL_BASE + DIRECT_MAP_SIZE
 *              | direct map            |  KERNEL_BASE + p  <->  p, p < 768 MiB
 *              |  kernel image         |  0xC0100000 <-> 0x00100000 (KERNEL_LOAD)
 *   0xC0000000 +-----------------------+  KERNEL_BASE
 *              | user half (per space) |
 *   0x00000000 +-----------------------+  page 0 unmapped: NULL faults
 *
 * The boot stub maps the direct map with 4 MiB pages and no page tables;
 * the VMM (mm/vmm.c) rebuilds the kernel half with the same layout, then
 * maps the kernel image's first 4 MiB with small pages so .text and
 * .rodata can be read-only.
 */
#ifndef ARCH_X86_MEMLAYOUT_H
#define ARCH_X86_MEMLAYOUT_H

#include "paging.h"

#define KERNEL_BASE      0xC0000000 /* virtual address of physical 0 */
#define KERNEL_LOAD      0x00100000 /* physical load address of the image */
#define DIRECT_MAP_SIZE  0x30000000 /* 768 MiB of physical memory mapped at KERNEL_BASE */
#define KHEAP_START      0xF0000000 /* the kernel heap's region (mm/kheap.c) */
#define KHEAP_END        0xF8000000
#define VMALLOC_START    0xF8000000 /* virtually contiguous kernel allocations */
#define VMALLOC_END      0xFF400000
#define KMAP_BASE        0xFF400000 /* temporary 4 KiB mappings (enum kmap_slot) */
#define PHYS_WINDOW      0xFF800000 /* 4 MiB window onto any physical block */
#define RECURSIVE_BASE   0xFFC00000 /* page table of slot i at RECURSIVE_BASE + i * 4 KiB */
#define RECURSIVE_DIR    0xFFFFF000 /* the current page directory */
#define KERNEL_PDX_FIRST (KERNEL_BASE >> 22)      /* 768 */
#define KMAP_PDX         (KMAP_BASE >> 22)        /* 1021 */
#define PHYS_WINDOW_PDX  (PHYS_WINDOW >> 22)      /* 1022 */
#define RECURSIVE_PDX    (RECURSIVE_BASE >> 22)   /* 1023 */

/*
 * User space (docs/design/user-memory.md): everything below KERNEL_BASE.
 * Nothing is ever mapped below USER_BASE, so NULL and small offsets from
 * it fault.  Programs are linked at 0x08048000 (ld's i386 default), the
 * heap (brk) follows their data, mmap regions are placed top-down below the
 * stack's reserve, and the stack grows down from USER_STACK_TOP, leaving a
 * 1 MiB gap under the kernel half.
 */
#define USER_BASE        0x00010000 /* like Linux's vm.mmap_min_addr */
#define USER_TOP         KERNEL_BASE
#define USER_STACK_TOP   0xBFF00000
#define USER_STACK_LIMIT 0x00800000 /* 8 MiB, Linux's default RLIMIT_STACK */
#define USER_MMAP_TOP    (USER_STACK_TOP - USER_STACK_LIMIT - 0x00100000)

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
