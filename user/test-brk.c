/*
 * test-brk.c - the program break (brk, Linux's raw system call, which
 * returns the break in force afterwards: the new one, or the old one when
 * the request is refused).
 *
 *  - brk(0) asks without changing anything, twice the same answer;
 *  - grow by 1 MiB: every new page can be written and read back;
 *  - shrink back: the break is the old one again, and a child writing to
 *    the first page above it is killed by SIGSEGV;
 *  - regrow: the pages come back zeroed, not with the old contents;
 *  - a request across the stack, one for the top of the address space and
 *    one below the program's data fail, leaving the break as it was; so
 *    does a huge one (+3 GiB, into the kernel half) on our kernel, which
 *    Linux may grant (see below);
 *  - writing past the break in a child: SIGSEGV;
 *  - a heap whose middle page was made read-only (mprotect splits it)
 *    still grows and shrinks: the new pages are writable, the read-only
 *    one stays read-only, and after shrinking below it nothing is left.
 * Page-level checks start at the first page boundary at or above the
 * initial break: the page holding an unaligned break belongs to the data
 * already, on Linux and on our kernel.
 */
#include "lib/ulib.h"

#define GROW	(1024 * 1024)

static unsigned long page_up(unsigned long a)
{
	return (a + PAGE_SIZE - 1) & ~(unsigned long)(PAGE_SIZE - 1);
}

int main(void)
{
	unsigned long base = sys_brk(0), first, end, a;
	unsigned bad;
	long r;

	CHECK(base != 0 && !sys_failed(base));
	CHECK_EQ(sys_brk(0), base);
	printf("ok: brk(0) = %p, twice\n", (void *)base);

	end = base + GROW;
	CHECK_EQ(sys_brk((void *)end), end);
	CHECK_EQ(sys_brk(0), end);
	first = page_up(base);
	for (a = first; a < end; a += PAGE_SIZE)
		*(volatile unsigned *)a = a ^ 0x5a5a5a5a;
	*(volatile unsigned char *)(end - 1) = 0x77;
	bad = 0;
	for (a = first; a < end; a += PAGE_SIZE)
		bad += *(volatile unsigned *)a != (a ^ 0x5a5a5a5a);
	CHECK_EQ(bad, 0);
	CHECK_EQ(*(volatile unsigned char *)(end - 1), 0x77);
	printf("ok: grew by 1 MiB to %p, wrote and read back every page\n", (void *)end);

	expect_segv("write to the first page past the break", poke, (void *)page_up(end));

	CHECK_EQ(sys_brk((void *)base), base);
	CHECK_EQ(sys_brk(0), base);
	expect_segv("write past the break after shrinking", poke, (void *)first);

	CHECK_EQ(sys_brk((void *)end), end);
	bad = 0;
	for (a = first; a < end; a += sizeof(unsigned))
		bad += *(volatile unsigned *)a != 0;
	CHECK_EQ(bad, 0);
	printf("ok: shrank to %p and regrew: the regrown pages are zero\n", (void *)base);

	/* Across the stack: refused on both kernels. */
	CHECK_EQ(sys_brk((void *)(page_up((unsigned long)&bad) + PAGE_SIZE)), end);
	CHECK_EQ(sys_brk((void *)0xfffff000ul), end);
	CHECK_EQ(sys_brk((void *)0x1000), end);
	CHECK_EQ(sys_brk(0), end);
	printf("ok: brk across the stack, brk(0xfffff000), brk(0x1000) refused, break unchanged\n");

	/*
	 * +3 GiB reaches into the kernel half on our kernel, where user space
	 * ends at 0xC0000000 below the stack.  A 32-bit program on a 64-bit
	 * Linux has nearly 4 GiB, its stack above 0xC0000000, and may well be
	 * granted the request: then it is only undone.
	 */
	r = sys_brk((void *)(end + 0xc0000000ul));
	if ((unsigned long)&bad < 0xc0000000ul) {
		CHECK_EQ(r, end);
		printf("ok: brk(+3 GiB) into the kernel half refused, break unchanged\n");
	} else {
		CHECK(r == (long)end || r == (long)(end + 0xc0000000ul));
		CHECK_EQ(sys_brk((void *)end), end);
		printf("ok: brk(+3 GiB) %s (user space here reaches past 0xC0000000)\n",
		       r == (long)end ? "refused" : "granted and undone");
	}
	CHECK_EQ(sys_brk(0), end);

	/* The memory below the break is still intact after the refusals. */
	*(volatile unsigned *)first = 1234;
	CHECK_EQ(*(volatile unsigned *)first, 1234);
	CHECK_EQ(sys_brk((void *)base), base);

	/* A heap split by mprotect: [rw][ro][rw], then grown and shrunk. */
	end = first + 3 * PAGE_SIZE;
	CHECK_EQ(sys_brk((void *)end), end);
	CHECK_EQ(sys_mprotect((void *)(first + PAGE_SIZE), PAGE_SIZE, PROT_READ), 0);
	CHECK_EQ(sys_brk((void *)(end + 2 * PAGE_SIZE)), end + 2 * PAGE_SIZE);
	*(volatile unsigned *)(end + PAGE_SIZE) = 99;
	CHECK_EQ(*(volatile unsigned *)(end + PAGE_SIZE), 99);
	expect_segv("write to the read-only middle of the heap", poke, (void *)(first + PAGE_SIZE));
	CHECK_EQ(sys_brk((void *)first), first);
	expect_segv("write where the split heap was", poke, (void *)(end + PAGE_SIZE));
	CHECK_EQ(sys_brk((void *)base), base);
	printf("ok: a heap split by mprotect grows and shrinks\n");
	return checks_done("test-brk");
}
