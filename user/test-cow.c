/*
 * test-cow.c - fork shares pages copy-on-write: after a fork each process
 * sees only its own writes, in .bss, .data and on the stack.
 *
 * The memory: a 1 MiB .bss buffer (256 pages), an initialized .data array
 * and a global, and an 8 KiB array on main's stack.  fill(seed) writes a
 * pattern derived from seed into all of them; seen() says which pattern
 * they hold (or that they hold a mixture, which is always a failure).  A
 * child reports what it saw through its exit status, so no pipe is needed:
 * 0 = as expected, else one of the SAW_* codes below.
 *
 *  1. parent fills A, forks; the child sees A, fills B, sees B; after it
 *     has exited the parent still sees A, then fills C and sees C (its
 *     pages are now only its own: the write takes them back).
 *  2. parent fills A, forks and at once fills C while the child sleeps
 *     10 ms, then checks A, fills B and checks B: both write the same
 *     shared pages, each sees only its own pattern.
 *  3. three generations: the child forks a grandchild; the grandchild
 *     sees A and writes D, the child then sees A and writes B, the parent
 *     last still sees A: pages shared three ways are copied as each
 *     writer comes.
 *  4. eight children in a row, each writing its own pattern over the whole
 *     buffer (256 copy-on-write faults each) while the parent's stays.
 */
#include "lib/ulib.h"

#define BUF_WORDS	(1024 * 1024 / 4)
#define DATA_WORDS	64
#define STACK_WORDS	2048

static unsigned buf[BUF_WORDS];
static unsigned data[DATA_WORDS] = { 1, 2, 3 };
static unsigned global = 42;
static unsigned *stack;		/* main's array, set before any fork */

enum { A = 1, B = 2, C = 3, D = 4 };
enum { SAW_OK, SAW_WRONG_START = 10, SAW_OWN_WRITE_LOST = 20, SAW_GRANDCHILD = 30 };

static unsigned word(unsigned seed, unsigned i)
{
	return seed * 0x9e3779b1u + i * 2654435761u;
}

static void fill(unsigned seed)
{
	unsigned i;

	for (i = 0; i < BUF_WORDS; i++)
		buf[i] = word(seed, i);
	for (i = 0; i < DATA_WORDS; i++)
		data[i] = word(seed, i) ^ 1;
	for (i = 0; i < STACK_WORDS; i++)
		stack[i] = word(seed, i) ^ 2;
	global = seed;
}

/* The seed whose pattern everything holds, or 0 if anything differs from
 * the pattern of buf[0]. */
static unsigned seen(void)
{
	unsigned seed = global, i;

	for (i = 0; i < BUF_WORDS; i++)
		if (buf[i] != word(seed, i))
			return 0;
	for (i = 0; i < DATA_WORDS; i++)
		if (data[i] != (word(seed, i) ^ 1))
			return 0;
	for (i = 0; i < STACK_WORDS; i++)
		if (stack[i] != (word(seed, i) ^ 2))
			return 0;
	return seed;
}

/* In a child: expect `before`, write `mine`, expect it; exit with a SAW_ code. */
static void __attribute__((noreturn)) child_writes(unsigned before, unsigned mine)
{
	unsigned s = seen();

	if (s != before)
		sys_exit_group(SAW_WRONG_START + s);
	fill(mine);
	if (seen() != mine)
		sys_exit_group(SAW_OWN_WRITE_LOST);
	sys_exit_group(SAW_OK);
}

static void wait_ok(long pid, const char *what)
{
	int status = -1;

	CHECK_EQ(sys_waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != SAW_OK) {
		dprintf(2, "FAIL %s: child %s (0 ok, 1x saw pattern x first, 20 lost its write, "
			"3x grandchild said 1x/20)\n", what, describe_status(status));
		sys_exit_group(1);
	}
	checks_passed++;
}

int main(void)
{
	unsigned on_stack[STACK_WORDS];
	long pid;
	int i;

	stack = on_stack;

	/* 1. the child writes, the parent after it has gone */
	fill(A);
	pid = sys_fork();
	CHECK(!sys_failed(pid));
	if (pid == 0)
		child_writes(A, B);
	wait_ok(pid, "round 1");
	CHECK_EQ(seen(), A);
	fill(C);
	CHECK_EQ(seen(), C);
	printf("ok: child saw A and wrote B; parent still saw A, then wrote C\n");

	/* 2. both write at the same time */
	fill(A);
	pid = sys_fork();
	CHECK(!sys_failed(pid));
	if (pid == 0) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		sys_nanosleep(&ts, NULL);
		child_writes(A, B);
	}
	fill(C);
	CHECK_EQ(seen(), C);
	wait_ok(pid, "round 2");
	CHECK_EQ(seen(), C);
	printf("ok: parent wrote C at once, child (10 ms later) still saw A and wrote B\n");

	/* 3. three generations */
	fill(A);
	pid = sys_fork();
	CHECK(!sys_failed(pid));
	if (pid == 0) {
		int status = -1;
		long gpid = sys_fork();

		if (sys_failed(gpid))
			sys_exit_group(SAW_GRANDCHILD + 9);
		if (gpid == 0)
			child_writes(A, D);
		if (sys_waitpid(gpid, &status, 0) != gpid || status != 0)
			sys_exit_group(SAW_GRANDCHILD + (WIFEXITED(status) ? WEXITSTATUS(status) % 10 : 8));
		child_writes(A, B);
	}
	wait_ok(pid, "round 3");
	CHECK_EQ(seen(), A);
	printf("ok: grandchild wrote D, child wrote B, parent still saw A\n");

	/* 4. many copy-on-write faults */
	for (i = 0; i < 8; i++) {
		pid = sys_fork();
		CHECK(!sys_failed(pid));
		if (pid == 0)
			child_writes(A, 100 + i);
		wait_ok(pid, "round 4");
	}
	CHECK_EQ(seen(), A);
	fill(B);
	CHECK_EQ(seen(), B);
	printf("ok: 8 children each rewrote all 256 shared pages; parent's A intact, then wrote B\n");
	return checks_done("test-cow");
}
