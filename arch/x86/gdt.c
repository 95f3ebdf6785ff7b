/*
 * gdt.c - segmentation, switched off the way x86 allows: every segment
 * spans 0..4 GiB (Intel SDM vol. 3A 3.2.1, "basic flat model"), so paging
 * alone decides what is reachable.  The loader's GDT cannot be trusted to
 * still exist, so the kernel installs its own before anything else.
 * Two TSS descriptors exist: the running task's, whose ESP0 is the kernel
 * stack a trap from user mode lands on, and the double-fault task's
 * (arch/x86/tss.c).  The user segments are flat too, except that the code
 * segment's limit is moved per process (gdt_set_user_code_end).
 */
#include "gdt.h"

#include <stdint.h>

struct gdt_entry {
	uint16_t limit_low, base_low;
	uint8_t base_mid, access, flags_limit_high, base_high;
} __attribute__((packed));

struct gdt_pointer {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

/* access: present, DPL, code/data; flags: 4 KiB granularity, 32-bit. */
#define FLAT(access) { 0xFFFF, 0, 0, (access), 0xCF, 0 }
#define USER_CODE_INDEX 5

static struct gdt_entry gdt[] = {
	{ 0, 0, 0, 0, 0, 0 }, /* the null descriptor */
	FLAT(0x9A),           /* kernel code: execute/read */
	FLAT(0x92),           /* kernel data: read/write */
	{ 0, 0, 0, 0, 0, 0 }, /* GDT_TSS_MAIN, filled by gdt_set_tss */
	{ 0, 0, 0, 0, 0, 0 }, /* GDT_TSS_DOUBLE */
	FLAT(0xFA),           /* user code: DPL 3, execute/read */
	FLAT(0xF2),           /* user data: DPL 3, read/write */
};

#define TSS_AVAILABLE_32 0x89 /* present, ring 0, 32-bit TSS, not busy */

void gdt_set_tss(unsigned selector, const void *base, uint32_t size)
{
	uint32_t b = (uint32_t)base, limit = size - 1;

	gdt[selector / 8] = (struct gdt_entry){ limit & 0xFFFF, b & 0xFFFF, (b >> 16) & 0xFF,
						TSS_AVAILABLE_32, (limit >> 16) & 0x0F, b >> 24 };
}

void gdt_set_user_code_end(uint32_t end)
{
	uint32_t limit = (end >> 12) - 1; /* in 4 KiB units, inclusive */
	struct gdt_entry *e = &gdt[USER_CODE_INDEX];

	e->limit_low = limit & 0xFFFF;
	e->flags_limit_high = (e->flags_limit_high & 0xF0) | ((limit >> 16) & 0x0F);
}

void gdt_init(void)
{
	struct gdt_pointer p = { sizeof(gdt) - 1, (uint32_t)gdt };

	__asm__ volatile("lgdt %0\n\t"
			 "mov %1, %%ds\n\t"
			 "mov %1, %%es\n\t"
			 "mov %1, %%fs\n\t"
			 "mov %1, %%gs\n\t"
			 "mov %1, %%ss\n\t"
			 "ljmp %2, $1f\n"
			 "1:"
			 :
			 : "m"(p), "r"(GDT_KERNEL_DATA), "i"(GDT_KERNEL_CODE)
			 : "memory");
}
