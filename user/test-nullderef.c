/*
 * test-nullderef.c - reading or writing through a NULL pointer kills the
 * process with SIGSEGV: nothing is mapped in the first page (nor, on our
 * kernel, anywhere below the program, 64 KiB at least).  Each access is
 * made in a child; the parent checks how the child died and that it is
 * itself unharmed.  Also the last byte of the first page, and an address
 * just under 64 KiB.
 */
#include "lib/ulib.h"

int main(void)
{
	expect_segv("read *NULL", peek, NULL);
	expect_segv("write *NULL", poke, NULL);
	expect_segv("read *(char *)0xfff", peek, (void *)0xfff);
	expect_segv("write *(char *)0xfff", poke, (void *)0xfff);
	expect_segv("write *(char *)0xfffc", poke, (void *)0xfffc);
	CHECK_EQ(sys_getpid() > 0, 1);
	return checks_done("test-nullderef");
}
