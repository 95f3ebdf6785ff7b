/*
 * test-forks.c - many forks and waits.
 *
 *  - 200 children one after another, child i exiting with status i % 256
 *    (and first checking that getppid() is the parent's pid): waitpid(pid)
 *    returns that pid with exactly that status;
 *  - 30 children alive at once, each yielding a few times and exiting with
 *    its own status; waitpid(-1) collects each exactly once, with the
 *    status that child's pid should give;
 *  - with no children left, waitpid(-1) and waitpid(some pid) give -ECHILD;
 *  - a child's getpid() is what fork returned to the parent (the child
 *    exits with its pid's low 8 bits), and differs from the parent's;
 *    the parent's getpid() and getppid() do not change across all this.
 */
#include "lib/ulib.h"

#define SEQUENTIAL	200
#define CONCURRENT	30

int main(void)
{
	long me = sys_getpid(), parent = sys_getppid(), pid, pids[CONCURRENT];
	int status, i, j, got[CONCURRENT] = { 0 };

	CHECK(me > 0);
	for (i = 0; i < SEQUENTIAL; i++) {
		pid = sys_fork();
		CHECK(!sys_failed(pid));
		if (pid == 0)
			sys_exit_group(sys_getppid() == me ? i % 256 : 255 - i % 2);
		CHECK(pid != me);
		status = -1;
		CHECK_EQ(sys_waitpid(pid, &status, 0), pid);
		CHECK(WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), i % 256);
	}
	printf("ok: %d sequential children, each reaped with its own status\n", SEQUENTIAL);

	for (i = 0; i < CONCURRENT; i++) {
		pids[i] = sys_fork();
		CHECK(!sys_failed(pids[i]));
		if (pids[i] == 0) {
			for (j = 0; j < i % 4; j++)
				sys_sched_yield();
			sys_exit_group(sys_getpid() & 0xff);
		}
	}
	for (i = 0; i < CONCURRENT; i++) {
		status = -1;
		pid = sys_waitpid(-1, &status, 0);
		for (j = 0; j < CONCURRENT && pids[j] != pid; j++)
			;
		CHECK(j < CONCURRENT);
		CHECK_EQ(got[j], 0);
		got[j] = 1;
		CHECK(WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), pid & 0xff);
	}
	printf("ok: %d concurrent children collected by waitpid(-1), getpid() == fork's answer\n",
	       CONCURRENT);

	status = 12345;
	CHECK_EQ(sys_waitpid(-1, &status, 0), -ECHILD);
	CHECK_EQ(sys_waitpid(pids[0], &status, 0), -ECHILD);
	CHECK_EQ(status, 12345); /* nothing reaped: the status is not written */
	CHECK_EQ(sys_waitpid(-1, NULL, 0), -ECHILD);
	printf("ok: no children left: waitpid gives -ECHILD\n");

	/* A NULL status pointer is allowed. */
	pid = sys_fork();
	CHECK(!sys_failed(pid));
	if (pid == 0)
		sys_exit_group(3);
	CHECK_EQ(sys_waitpid(pid, NULL, 0), pid);
	CHECK_EQ(sys_waitpid(-1, NULL, 0), -ECHILD);
	printf("ok: waitpid with a NULL status reaps\n");

	/* WNOHANG with a child still running: 0, and the status left alone. */
	pid = sys_fork();
	CHECK(!sys_failed(pid));
	if (pid == 0) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		sys_nanosleep(&ts, NULL);
		sys_exit_group(4);
	}
	status = 12345;
	CHECK_EQ(sys_waitpid(pid, &status, WNOHANG), 0);
	CHECK_EQ(status, 12345);
	CHECK_EQ(sys_waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4);
	printf("ok: WNOHANG on a running child: 0, status untouched\n");

	CHECK_EQ(sys_getpid(), me);
	CHECK_EQ(sys_getppid(), parent);
	return checks_done("test-forks");
}
