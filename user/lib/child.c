/*
 * child.c - child_run, expect_segv and their helpers (see child.h).
 */
#include "lib/check.h"
#include "lib/child.h"
#include "lib/printf.h"
#include "lib/syscall.h"

int child_run(void (*fn)(void *), void *arg)
{
	int status = -1;
	long pid = sys_fork();

	CHECK(!sys_failed(pid));
	if (pid == 0) {
		fn(arg);
		sys_exit_group(0);
	}
	CHECK_EQ(sys_waitpid(pid, &status, 0), pid);
	return status;
}

const char *describe_status(int status)
{
	static char buf[48];
	const char *what = WIFEXITED(status) ? "exited with status " : "killed by signal ";
	int v = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
	char *p = buf;

	while (*what)
		*p++ = *what++;
	if (v >= 100)
		*p++ = '0' + v / 100;
	if (v >= 10)
		*p++ = '0' + v / 10 % 10;
	*p++ = '0' + v % 10;
	*p = 0;
	return buf;
}

void expect_signal(const char *what, int sig, void (*fn)(void *), void *arg)
{
	int status = child_run(fn, arg);

	if (!WIFSIGNALED(status) || WTERMSIG(status) != sig) {
		dprintf(2, "FAIL %s: expected death by signal %d, child %s (status 0x%x)\n",
			what, sig, describe_status(status), status);
		sys_exit_group(1);
	}
	checks_passed++;
	printf("ok: %s: killed by signal %d\n", what, sig);
}

void expect_segv(const char *what, void (*fn)(void *), void *arg)
{
	expect_signal(what, SIGSEGV, fn, arg);
}

void peek(void *arg)
{
	(void)*(volatile unsigned char *)arg;
}

void poke(void *arg)
{
	*(volatile unsigned char *)arg = 0x5a;
}
