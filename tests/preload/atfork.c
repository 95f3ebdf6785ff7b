/*
 * atfork.c - fork while a fork handler allocates (tests/preload/run.sh
 * runs it on glibc and on the library and compares).
 *
 * The handler lives in atfork_hook.c, linked in, so that it runs while
 * the allocator holds its lock for the fork.  Before the magazines'
 * count of frees stopped waiting for the lock, the first fork hung here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern void *volatile atfork_hook_sink;

int main(void)
{
	int forks = 0;

	atfork_hook_sink = malloc(40); /* the class's magazine is warm: its frees take no lock */
	free(atfork_hook_sink);
	for (int i = 0; i < 4; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid > 0 && waitpid(pid, NULL, 0) == pid)
			forks++;
	}
	printf("forked %d times\n", forks);
	return forks == 4 ? 0 : 1;
}
