/*
 * tss.c - task-state segments and the double-fault task (see tss.h).
 *
 * Hardware task switching is used for this one purpose only: it is the way
 * x86 guarantees a known-good stack no matter how broken the current one is.
 */
#include "tss.h"

#include "gdt.h"
#include "io.h"
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "mm/vmalloc.h"
#include "trap.h"

/* The 32-bit TSS (SDM vol. 3A 7.2.1, figure 7-2). */
struct tss {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap_base;
} __attribute__((packed));

#define DF_STACK_SIZE 4096

static struct tss main_tss, df_tss;
static uint8_t df_stack[DF_STACK_SIZE] __attribute__((aligned(16)));

/* Runs as its own task: the broken state is in main_tss. */
static void __attribute__((noreturn)) double_fault_task(void)
{
	uint32_t cr2 = read_cr2();
	const char *guard = vmalloc_guard_name(cr2);

	kprintf("\nDOUBLE FAULT: %s\n",
		guard ? "kernel stack overflow" : "an exception while delivering another");
	if (guard)
		kprintf("  the stack ran into the %s at %08x\n", guard, cr2 & ~0xFFFu);
	kprintf("  at EIP=%08x ESP=%08x EBP=%08x CR2=%08x\n", main_tss.eip,
		main_tss.esp, main_tss.ebp, cr2);
	kprintf("  EAX=%08x EBX=%08x ECX=%08x EDX=%08x ESI=%08x EDI=%08x\n", main_tss.eax,
		main_tss.ebx, main_tss.ecx, main_tss.edx, main_tss.esi, main_tss.edi);
	panic("double fault%s", guard ? ": kernel stack overflow" : "");
}

void tss_set_kernel_stack(uint32_t esp0)
{
	main_tss.esp0 = esp0;
}

void tss_init(void)
{
	main_tss.iomap_base = sizeof(struct tss); /* no I/O bitmap: ring 3 gets no ports */
	main_tss.ss0 = GDT_KERNEL_DATA;
	df_tss = (struct tss){
		.cr3 = read_cr3(),
		.eip = (uint32_t)double_fault_task,
		.eflags = 0x2, /* interrupts off */
		.esp = (uint32_t)(df_stack + DF_STACK_SIZE),
		.cs = GDT_KERNEL_CODE,
		.ss = GDT_KERNEL_DATA, .ds = GDT_KERNEL_DATA, .es = GDT_KERNEL_DATA,
		.fs = GDT_KERNEL_DATA, .gs = GDT_KERNEL_DATA,
		.iomap_base = sizeof(struct tss),
	};
	gdt_set_tss(GDT_TSS_MAIN, &main_tss, sizeof(main_tss));
	gdt_set_tss(GDT_TSS_DOUBLE, &df_tss, sizeof(df_tss));
	__asm__ volatile("ltr %w0" : : "r"(GDT_TSS_MAIN));
	idt_set_task_gate(TRAP_DF, GDT_TSS_DOUBLE);
}
