/*
 * test-preempt.c - the scheduler preempts a process that never gives up
 * the CPU.  A child spins without a single system call; the parent sleeps
 * 10 ms.  Only a timer interrupt that takes the CPU from the child lets the
 * parent run again, and then it kills the child (kill, Linux's 37) before
 * the spin ends: the child must die of SIGKILL, not exit.  Without
 * preemption the parent would wake only after the child's spin ended with
 * status 1, and the test fails.  kill of a pid that does not exist gives
 * -ESRCH.
 */
#include "lib/ulib.h"

#define SPIN 400000000u /* seconds under emulation, well beyond 10 ms anywhere */

int main(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status;
	long pid = sys_fork();

	CHECK(!sys_failed(pid));
	if (pid == 0) {
		for (volatile unsigned i = 0; i < SPIN; i++)
			;
		sys_exit_group(1);
	}
	CHECK_EQ(sys_nanosleep(&ts, NULL), 0);
	CHECK_EQ(sys_waitpid(pid, &status, WNOHANG), 0);
	printf("ok: the parent ran while its child spun without a system call\n");
	CHECK_EQ(sys_kill(pid, SIGKILL), 0);
	CHECK_EQ(sys_waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	printf("ok: kill ended the spinning child: %s\n", describe_status(status));
	CHECK_EQ(sys_kill(pid, SIGKILL), -ESRCH);
	printf("ok: kill of a reaped pid: -ESRCH\n");
	return checks_done("test-preempt");
}
