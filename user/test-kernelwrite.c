/*
 * test-kernelwrite.c - user code cannot touch the kernel half: reading or
 * writing 0xC0000000 (the kernel's base) or 0xC0100000 (the kernel image,
 * mapped in every address space, but supervisor-only) kills the process
 * with SIGSEGV, and so does 0xFFFFF000.  On Linux these addresses are
 * simply unmapped user addresses, with the same outcome.
 */
#include "lib/ulib.h"

int main(void)
{
	expect_segv("read 0xc0000000", peek, (void *)0xc0000000);
	expect_segv("write 0xc0000000", poke, (void *)0xc0000000);
	expect_segv("read 0xc0100000 (kernel text)", peek, (void *)0xc0100000);
	expect_segv("write 0xc0100000 (kernel text)", poke, (void *)0xc0100000);
	expect_segv("write 0xc0400000", poke, (void *)0xc0400000);
	expect_segv("write 0xfffff000", poke, (void *)0xfffff000);
	return checks_done("test-kernelwrite");
}
