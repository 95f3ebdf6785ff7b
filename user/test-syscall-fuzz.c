/*
 * test-syscall-fuzz.c - random system calls with hostile arguments: the
 * kernel must survive them all, lose no memory (the in-kernel runner
 * checks the free frame count afterwards) and end every child somehow.
 *
 * Each of CHILDREN children makes CALLS calls drawn from the memory calls
 * (brk, mmap2, munmap, mprotect), waitpid, the harmless ones (getpid,
 * getppid, sched_yield) and numbers Linux does not have, each argument
 * picked from addresses that matter (0, the text, the data, the stack, the
 * break, the kernel half, the top of memory), small and huge lengths, and
 * plain random words.  A child that unmaps its own stack or text dies of
 * SIGSEGV, which is a fine ending; what must not happen is a kernel fault,
 * a hang, or a leak.  The calls are ones that only touch the calling
 * process, so the program runs on the host Linux too; calls that could
 * block for long (read, nanosleep) or reach other processes (kill, fork)
 * are left out.  The generator is seeded, so a failure repeats.
 */
#include "lib/ulib.h"

#define CHILDREN 60
#define CALLS 120

#define SEED 0x2545f491u

static uint32_t state;

static uint32_t rnd(void)
{
	state ^= state << 13;
	state ^= state >> 17;
	state ^= state << 5;
	return state;
}

static unsigned char data_byte = 1;

static void random_calls(void *unused);

static long argument(void)
{
	volatile char on_stack = 0;
	const long picks[] = {
		0, 1, PAGE_SIZE, 0x10000, (long)random_calls, (long)&data_byte, (long)&on_stack,
		sys_brk(0), 0xbff00000l, (long)0xc0000000ul, (long)0xfffff000ul, -1,
		PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
		WNOHANG, 64 * 1024 * 1024,
	};
	unsigned n = sizeof(picks) / sizeof(picks[0]);
	uint32_t r = rnd() % (n + 3);

	if (r < n)
		return picks[r] + (rnd() % 4 == 0 ? (long)(rnd() % 3) * PAGE_SIZE : 0);
	return r == n ? (long)(rnd() & ~(PAGE_SIZE - 1)) : (long)rnd();
}

static const long numbers[] = {
	SYS_brk, SYS_mmap2, SYS_munmap, SYS_mprotect, SYS_waitpid,
	SYS_getpid, SYS_getppid, SYS_sched_yield, 9999, 0x10000, -1,
};

static void random_calls(void *unused)
{
	(void)unused;
	for (int i = 0; i < CALLS; i++) {
		long nr = numbers[rnd() % (sizeof(numbers) / sizeof(numbers[0]))];
		long a = argument(), b = argument(), c = argument(), d = argument();
		if (nr == SYS_waitpid)
			c &= WNOHANG; /* never block on a child: there is none */
		syscall6(nr, a, b, c, d, -1, 0);
	}
}

int main(void)
{
	int exited = 0, killed = 0;

	for (int i = 0; i < CHILDREN; i++) {
		/* A child's draws do not come back to the parent: seed each one. */
		state = SEED + (uint32_t)i * 0x9e3779b9u;
		int status = child_run(random_calls, NULL);
		exited += WIFEXITED(status);
		killed += WIFSIGNALED(status);
	}
	CHECK_EQ(exited + killed, CHILDREN);
	printf("ok: %d children made %d random calls each: %d exited, %d were killed\n",
	       CHILDREN, CALLS, exited, killed);
	return checks_done("test-syscall-fuzz");
}
