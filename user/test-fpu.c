/*
 * test-fpu.c - each process has its own FPU registers.  Parent and child
 * each load their own value into the x87 stack (and into an SSE register
 * when the CPU has SSE2), yield the CPU to each other many times, and read
 * the values back: a kernel that does not save and restore the FPU state
 * on a switch hands one process's registers to the other.
 */
#include "lib/ulib.h"

#define ROUNDS 200

static int has_sse2(void)
{
	unsigned a = 1, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return (d >> 26) & 1;
}

/* How many of ROUNDS yields found the registers changed. */
static int corruptions(int value, int sse)
{
	int bad = 0;

	for (int i = 0; i < ROUNDS; i++) {
		int x87 = 0, xmm = value;
		__asm__ volatile("fildl %0" : : "m"(value));
		if (sse)
			__asm__ volatile("movd %0, %%xmm1" : : "r"(value)); /* no clobber: gcc uses no xmm here */
		sys_sched_yield();
		__asm__ volatile("fistpl %0" : "=m"(x87));
		if (sse)
			__asm__ volatile("movd %%xmm1, %0" : "=r"(xmm));
		bad += x87 != value || xmm != value;
	}
	return bad;
}

int main(void)
{
	int sse = has_sse2(), status;
	long pid = sys_fork();

	CHECK(!sys_failed(pid));
	if (pid == 0)
		sys_exit_group(corruptions(2222, sse) ? 1 : 0);
	CHECK_EQ(corruptions(1111, sse), 0);
	CHECK_EQ(sys_waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("ok: x87%s registers kept across %d switches in parent and child\n",
	       sse ? " and SSE" : "", ROUNDS);
	return checks_done("test-fpu");
}
