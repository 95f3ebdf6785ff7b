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
#define GDT_USER_CODE   0x2B /* ring 3 code (index 5, RPL 3); its limit is per process */
#define GDT_USER_DATA   0x33 /* ring 3 data and stack (index 6, RPL 3) */

#ifndef __ASSEMBLY__
#include <stdint.h>

void gdt_init(void);
/* Point descriptor `selector` at a 32-bit TSS of `size` bytes at `base`. */
void gdt_set_tss(unsigned selector, const void *base, uint32_t size);
/*
 * Make the user code segment end at `end` (a multiple of 4 KiB, at least
 * 4 KiB): an instruction fetch at or above it raises #GP.  Non-PAE paging
 * has no no-execute bit, so this limit is what keeps a process from running
 * its data, heap and stack (the scheme of Linux's old exec-shield).  Takes
 * effect when CS is next loaded, i.e. on the next return to user mode.
 */
void gdt_set_user_code_end(uint32_t end);
#endif

#endif
