/*
 * test-forkbomb.c - a fork bomb ends with the kernel alive and fork
 * working again.  NOT for the host: it would run into the host's process
 * limit shared with everything else (tests/user/run_host.sh skips it).
 *
 * In a child (the bomb's root), every process forks in a loop until fork
 * fails; new children start the same loop.  A failure must be -EAGAIN
 * (the process limit) or -ENOMEM (memory); anything else is a bug.  Then
 * each process reaps its own children and exits 0 only if all of them
 * exited 0 (and its own forks failed as allowed): the root's status sums
 * up the whole tree.  The test then waits for the root, checks its status,
 * and checks that a fork succeeds again once the bomb is gone.
 */
#include "lib/ulib.h"

enum { BOMB_OK, BOMB_BAD_ERRNO = 2, BOMB_CHILD_FAILED = 3 };

static void __attribute__((noreturn)) bomb(void)
{
	long pid, err = 0;
	unsigned children = 0;
	int status, result = BOMB_OK;

	for (;;) {
		pid = sys_fork();
		if (pid == 0) {
			children = 0;	/* a new process: its own count */
			continue;
		}
		if (sys_failed(pid)) {
			err = pid;
			break;
		}
		children++;
	}
	if (err != -EAGAIN && err != -ENOMEM)
		result = BOMB_BAD_ERRNO;
	while (children--) {
		status = -1;
		if (sys_failed(sys_waitpid(-1, &status, 0)))
			result = BOMB_CHILD_FAILED;
		else if (status != 0 && result == BOMB_OK)
			result = WIFEXITED(status) ? WEXITSTATUS(status) : BOMB_CHILD_FAILED;
	}
	sys_exit_group(result);
}

int main(void)
{
	int status = -1;
	long root = sys_fork(), pid;

	CHECK(!sys_failed(root));
	if (root == 0)
		bomb();
	CHECK_EQ(sys_waitpid(root, &status, 0), root);
	if (status != 0) {
		dprintf(2, "FAIL the bomb's root %s (2: a fork failed with neither -EAGAIN nor "
			"-ENOMEM, 3: a waitpid failed or a process was killed)\n", describe_status(status));
		return 1;
	}
	printf("ok: the fork bomb ran into the limit, every process reaped its children\n");

	pid = sys_fork();
	CHECK(!sys_failed(pid));
	if (pid == 0)
		sys_exit_group(7);
	status = -1;
	CHECK_EQ(sys_waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	CHECK_EQ(sys_waitpid(-1, &status, 0), -ECHILD);
	printf("ok: fork works again afterwards\n");
	return checks_done("test-forkbomb");
}
