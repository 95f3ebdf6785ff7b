/*
 * panic.c - the one way the kernel gives up.  It prints "PANIC: <why>", so
 * the test harness and a person both see it, and ends QEMU with the failure
 * status (on real hardware, it halts).
 */
#include "panic.h"

#include "arch/x86/machine.h"
#include "printf.h"

void panic(const char *fmt, ...)
{
	va_list ap;

	__asm__ volatile("cli");
	kprintf("\nPANIC: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	machine_exit(EXIT_FAIL);
}
