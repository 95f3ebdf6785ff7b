/*
 * main.c - kmain, where the kernel starts once the boot stub has turned on
 * paging (arch/x86/boot.S): set up the CPU tables, learn what the loader
 * said, bring up physical memory, then run the tests or the monitor.
 */
#include "arch/x86/gdt.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/physmem.h"
#include "arch/x86/trap.h"
#include "bootinfo.h"
#include "console.h"
#include "ktest.h"
#include "memory.h"
#include "monitor.h"
#include "printf.h"

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

	if (cmdline_has("test"))
		ktest_main();
	monitor_run();
}
