/*
 * paging.h - the x86 two-level paging structures (32-bit paging, no PAE).
 *
 * Intel SDM vol. 3A, section 4.3 "32-bit paging": a 4 KiB page directory of
 * 1024 PDEs, each either pointing at a 4 KiB page table of 1024 PTEs
 * (table 4-5) or, with PS set and CR4.PSE on, mapping a 4 MiB page directly
 * (table 4-4).  A linear address splits as
 *
 *     31        22 21        12 11          0
 *    +------------+------------+-------------+
 *    | PDX (dir)  | PTX (table)| page offset |
 *    +------------+------------+-------------+
 *
 * Pure definitions: the host tests include this header too.
 */
#ifndef ARCH_X86_PAGING_H
#define ARCH_X86_PAGING_H

#define PAGE_SIZE       4096u
#define PAGE_SHIFT      12
#define LARGE_PAGE_SIZE 0x00400000
#define LARGE_PAGE_SHIFT 22
#define ENTRIES_PER_TABLE 1024

/* Bits of a PDE or PTE (SDM tables 4-4, 4-5, 4-6). */
#define PTE_P   0x001 /* present: the entry maps something */
#define PTE_RW  0x002 /* writable (for the kernel too when CR0.WP is on) */
#define PTE_US  0x004 /* user: ring 3 may access */
#define PTE_PWT 0x008 /* write-through caching */
#define PTE_PCD 0x010 /* cache disabled */
#define PTE_A   0x020 /* accessed: set by the CPU on any access */
#define PTE_D   0x040 /* dirty: set by the CPU on a write (PTEs, 4 MiB PDEs) */
#define PDE_PS  0x080 /* page size: this PDE maps a 4 MiB page (CR4.PSE) */
#define PTE_G   0x100 /* global: survives CR3 reloads (CR4.PGE; PTEs, 4 MiB PDEs) */
#define PTE_AVAIL_MASK 0xE00 /* bits 9-11: ignored by the CPU, the OS's own */

#define PTE_ADDR_MASK   0xFFFFF000 /* frame of a PTE, or table of a PDE */
#define PDE_LARGE_MASK  0xFFC00000 /* frame of a 4 MiB PDE (bits 31:22) */
#define PTE_FLAGS_MASK  0x00000FFF

/* Control-register bits (SDM vol. 3A 2.5). */
#define CR0_WP  0x00010000 /* supervisor writes honour read-only pages */
#define CR0_PG  0x80000000 /* paging on */
#define CR4_PSE 0x00000010 /* 4 MiB pages */
#define CR4_PGE 0x00000080 /* global pages */

/* Page-fault error code (SDM vol. 3A 4.7, figure 4-12). */
#define PF_P    0x01 /* 0: page not present; 1: protection violation */
#define PF_W    0x02 /* the access was a write */
#define PF_U    0x04 /* the access came from ring 3 */
#define PF_RSVD 0x08 /* a reserved bit was set in a paging entry */
#define PF_I    0x10 /* the access was an instruction fetch */

#ifndef __ASSEMBLY__
#include <stdint.h>

typedef uint32_t pde_t;
typedef uint32_t pte_t;

#define PDX(va) ((uint32_t)(va) >> LARGE_PAGE_SHIFT)
#define PTX(va) (((uint32_t)(va) >> PAGE_SHIFT) & (ENTRIES_PER_TABLE - 1))
#define PGADDR(pdx, ptx) (((uint32_t)(pdx) << LARGE_PAGE_SHIFT) | ((uint32_t)(ptx) << PAGE_SHIFT))
#endif

#endif
