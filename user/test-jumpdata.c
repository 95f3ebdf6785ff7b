/*
 * test-jumpdata.c - data is not code.  A `ret` instruction (0xC3) copied
 * into static data, into .bss, onto the stack and into the heap (brk) is
 * called through a function pointer, each in a child: each call kills the
 * child with SIGSEGV.  Our kernel enforces it as exec-shield did, through
 * the limit of the user code segment, which ends where the program's
 * executable segments end (a #GP the kernel reports as SIGSEGV); Linux
 * through the NX bit.  The same `ret` called in the program's own text
 * works, so the children die of where the code is, not of what it is.
 */
#include "lib/ulib.h"

static unsigned char data_code[16] = { 0xc3, 0xc3 };
static unsigned char bss_code[16];

static void __attribute__((noinline)) call(void *code)
{
	((void (*)(void))code)();
}

static void call_on_stack(void *unused)
{
	volatile unsigned char stack_code[16];

	(void)unused;
	stack_code[0] = 0xc3;
	call((void *)stack_code);
}

static void __attribute__((noinline)) ret_in_text(void)
{
	__asm__ volatile("");
}

int main(void)
{
	long brk0, heap;

	call((void *)ret_in_text);
	CHECK(1);
	printf("ok: calling a function in the text works\n");

	expect_segv("call a ret in .data", call, data_code);
	bss_code[0] = 0xc3;
	expect_segv("call a ret in .bss", call, bss_code);
	expect_segv("call a ret on the stack", call_on_stack, NULL);

	brk0 = sys_brk(0);
	heap = (brk0 + PAGE_SIZE - 1) & ~(long)(PAGE_SIZE - 1);
	CHECK_EQ(sys_brk((void *)(heap + PAGE_SIZE)), heap + PAGE_SIZE);
	*(unsigned char *)heap = 0xc3;
	expect_segv("call a ret in the heap", call, (void *)heap);
	CHECK_EQ(sys_brk((void *)brk0), brk0);
	return checks_done("test-jumpdata");
}
