/*
 * test-rotext.c - the program's own read-only pages stay read-only.
 * Writing to its text (the code of main), to a string literal (.rodata)
 * or to its ELF header (the first, read-only PT_LOAD segment, which
 * __ehdr_start names) kills the process with SIGSEGV; reading all three
 * works, and the header the kernel loaded starts with the ELF magic.
 */
#include "lib/ulib.h"

extern const unsigned char __ehdr_start[];
static const char message[] = "a string in .rodata";

int main(void)
{
	const volatile unsigned char *text = (const volatile unsigned char *)(uintptr_t)main;
	unsigned char first = text[0];

	CHECK_EQ(message[0], 'a');
	CHECK_EQ(__ehdr_start[0], 0x7f);
	CHECK(memcmp(__ehdr_start + 1, "ELF", 3) == 0);
	printf("ok: text, .rodata and the ELF header are readable\n");

	expect_segv("write to main's code", poke, (void *)(uintptr_t)main);
	expect_segv("write to a string in .rodata", poke, (void *)message);
	expect_segv("write to the ELF header", poke, (void *)__ehdr_start);
	/* The first byte of main is still what it was. */
	CHECK_EQ(text[0], first);
	return checks_done("test-rotext");
}
