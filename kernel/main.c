/*
 * main.c - kmain, where the kernel starts once the boot stub has turned on
 * paging (arch/x86/boot.S): set up the CPU tables, learn what the loader
 * said, bring up physical memory, then virtual memory, move onto a kernel
 * stack with a guard page, and run the tests or the monitor.
 */
#include "arch/x86/gdt.h"
#include "arch/x86/io.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/physmem.h"
#include "arch/x86/trap.h"
#include "arch/x86/tss.h"
#include "mm/fault.h"
#include "mm/kheap.h"
#include "mm/vmalloc.h"
#include "mm/vmm.h"
#include "bootinfo.h"
#include "kbench.h"
#include "console.h"
#include "ktest.h"
#include "memory.h"
#include "monitor.h"
#include "panic.h"
#include "printf.h"

static void __attribute__((noreturn)) kmain_on_stack(void)
{
	kprintf("kernel: paging on, kernel stack at %p\n", (void *)read_esp());
	if (cmdline_has("test"))
		ktest_main();
	if (cmdline_has("bench"))
		kbench_main();
	monitor_run();
}

void kmain(uint32_t magic, uint32_t mbi_phys);
void kmain(uint32_t magic, uint32_t mbi_phys)
{
	console_init();
	gdt_init();
	idt_init();
	physmem_drop_identity_map();
	kprintf("kernel: booted, higher half at 0x%x\n", (unsigned)KERNEL_BASE);

	bootinfo_init(magic, mbi_phys);
	kprintf("kernel: command line \"%s\"\n", boot_info.cmdline);
	memory_init();
	vmm_init();
	fault_init();
	tss_init();
	kheap_init();

	void *stack = kstack_alloc();
	if (!stack)
		panic("no memory for the kernel stack");
	/* The boot stack has no guard page; leave it for one that does. */
	__asm__ volatile("mov %0, %%esp; xor %%ebp, %%ebp; call *%1"
			 : : "r"((uint32_t)stack + KSTACK_SIZE), "r"(kmain_on_stack));
	__builtin_unreachable();
}
