/*
 * main.c - kmain, where the kernel starts once the boot stub has turned on
 * paging (arch/x86/boot.S): set up the CPU tables, learn what the loader
 * said, bring up physical memory, then virtual memory, move onto a kernel
 * stack with a guard page, and run the tests or the monitor.
 */
#include "arch/x86/gdt.h"
#include "arch/x86/io.h"
#include "arch/x86/machine.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/physmem.h"
#include "arch/x86/pic.h"
#include "arch/x86/trap.h"
#include "arch/x86/tss.h"
#include "mm/fault.h"
#include "mm/kheap.h"
#include "mm/vmalloc.h"
#include "mm/vmm.h"
#include "bootinfo.h"
#include "errno.h"
#include "proc.h"
#include <string.h>
#include "kbench.h"
#include "console.h"
#include "ktest.h"
#include "memory.h"
#include "monitor.h"
#include "panic.h"
#include "printf.h"

/*
 * init=NAME [args...]: the rest of the command line after NAME is its
 * arguments.  When it exits, so does QEMU: status 0 when it exited with 0.
 */
static void __attribute__((noreturn)) run_init(void)
{
	static char line[BOOT_CMDLINE_MAX];
	const char *argv[MONITOR_ARGS_MAX];
	const char *start = strstr(boot_info.cmdline, "init=") + 5;
	int argc = 0, status;

	ksnprintf(line, sizeof(line), "%s", start);
	argc = split_words(line, (char **)argv, MONITOR_ARGS_MAX - 1);
	argv[argc] = NULL;
	status = argc ? proc_run(argv) : -ENOENT;
	if (status < 0)
		kprintf("init: cannot start '%s' (error %d)\n", argc ? argv[0] : "", status);
	else if ((status & 0x7F) == 0)
		kprintf("init exited with status %d\n", (status >> 8) & 0xFF);
	else
		kprintf("init killed by signal %d\n", status & 0x7F);
	machine_exit(status == 0 ? EXIT_PASS : EXIT_FAIL);
}

static void __attribute__((noreturn)) kmain_on_stack(void)
{
	kprintf("kernel: paging on, kernel stack at %p\n", (void *)read_esp());
	proc_init();
	if (cmdline_has("init"))
		run_init();
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
	pic_init(); /* IRQs off the exception vectors, all masked for now */
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
