/*
 * gdt.h - the Global Descriptor Table: flat kernel code and data segments,
 * and the two task-state segments the double-fault task gate needs.
 */
#ifndef ARCH_X86_GDT_H
#define ARCH_X86_GDT_H

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_TSS_MAIN    0x18 /* the running kernel's task (state saved here on a task switch) */
#define GDT_TSS_DOUBLE  0x20 /* the double-fault task */

#ifndef __ASSEMBLY__
#include <stdint.h>

void gdt_init(void);
/* Point descriptor `selector` at a 32-bit TSS of `size` bytes at `base`. */
void gdt_set_tss(unsigned selector, const void *base, uint32_t size);
#endif

#endif
