/*
 * test-traps.c - what the CPU refuses a program becomes a signal for that
 * program, as on Linux, and never a kernel crash:
 *
 *  - int3 (a debugger's breakpoint): SIGTRAP, so its gate must be open to
 *    ring 3; `int $14` (posing as a page fault) and `int $0x20` (a timer
 *    interrupt) reach gates closed to ring 3: #GP, SIGSEGV;
 *  - ud2: SIGILL; a division by zero: SIGFPE;
 *  - cli, hlt and an I/O port read are privileged (IOPL 0, no I/O bitmap):
 *    SIGSEGV;
 *  - making its own text non-executable (mprotect PROT_READ) and carrying
 *    on: SIGSEGV on the next instruction, not a kernel fault on the way
 *    back to it.
 */
#include "lib/ulib.h"

/* A child body that executes one instruction the CPU must refuse. */
#define ONE_INSTRUCTION(name, insn)                   \
	static void name(void *unused)                \
	{                                             \
		(void)unused;                         \
		__asm__ volatile(insn ::: "eax", "memory"); \
	}

ONE_INSTRUCTION(do_int3, "int3")
ONE_INSTRUCTION(do_int14, "int $14")
ONE_INSTRUCTION(do_int32, "int $0x20")
ONE_INSTRUCTION(do_ud2, "ud2")
ONE_INSTRUCTION(do_cli, "cli")
ONE_INSTRUCTION(do_hlt, "hlt")
ONE_INSTRUCTION(do_inb, "inb $0x80, %%al")

static void do_divide_by_zero(void *zero)
{
	unsigned q = 1, d = *(volatile unsigned *)zero;

	__asm__ volatile("xor %%edx, %%edx; divl %1" : "+a"(q) : "r"(d) : "edx");
}

extern char __executable_start[], etext[];

static void text_read_only(void *unused)
{
	unsigned long start = (unsigned long)__executable_start & ~(unsigned long)(PAGE_SIZE - 1);

	(void)unused;
	sys_mprotect((void *)start, (unsigned long)etext - start, PROT_READ);
	sys_sched_yield(); /* back to code that is no longer executable */
}

int main(void)
{
	static unsigned zero;

	expect_signal("int3", SIGTRAP, do_int3, NULL);
	expect_segv("int $14 from user mode", do_int14, NULL);
	expect_segv("int $0x20 from user mode", do_int32, NULL);
	expect_signal("ud2", SIGILL, do_ud2, NULL);
	expect_signal("divide by zero", SIGFPE, do_divide_by_zero, &zero);
	expect_segv("cli", do_cli, NULL);
	expect_segv("hlt", do_hlt, NULL);
	expect_segv("inb from port 0x80", do_inb, NULL);
	expect_segv("running text made read-only", text_read_only, NULL);
	return checks_done("test-traps");
}
