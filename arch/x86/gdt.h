/* gdt.h - the Global Descriptor Table: flat kernel code and data segments. */
#ifndef ARCH_X86_GDT_H
#define ARCH_X86_GDT_H

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10

#ifndef __ASSEMBLY__
void gdt_init(void);
#endif

#endif
