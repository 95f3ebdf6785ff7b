/*
 * heap_spawn.c - fork, exec, read, wait4 (see heap_spawn.h).
 *
 * The child's stdout is read through a pipe and hashed as it arrives, so a
 * program that prints megabytes (sort) costs no memory here; the hash is
 * compared across allocators to catch one that makes the program go wrong.
 */
#include "heap_spawn.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "heap_workloads.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static void child(char *const argv[], const struct spawn_env *env, const char *errlog, int out)
{
	int err = open(errlog ? errlog : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (env->preload)
		setenv("LD_PRELOAD", env->preload, 1);
	else
		unsetenv("LD_PRELOAD");
	if (env->setting)
		putenv((char *)env->setting);
	dup2(out, STDOUT_FILENO);
	if (err >= 0)
		dup2(err, STDERR_FILENO);
	execvp(argv[0], argv);
	_exit(127);
}

static void collect(int fd, struct spawn_result *r)
{
	char buf[65536];
	ssize_t n;

	r->out_hash = FNV_OFFSET;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (r->out_len < sizeof(r->head) - 1) {
			size_t take = sizeof(r->head) - 1 - r->out_len;
			memcpy(r->head + r->out_len, buf, (size_t)n < take ? (size_t)n : take);
		}
		for (ssize_t i = 0; i < n; i++)
			r->out_hash = (r->out_hash ^ (unsigned char)buf[i]) * FNV_PRIME;
		r->out_len += (size_t)n;
	}
}

bool spawn_run(char *const argv[], const struct spawn_env *env, const char *errlog,
	       struct spawn_result *r)
{
	int pipefd[2];
	struct rusage ru;
	uint64_t t0 = now_ns();
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe(pipefd) != 0)
		return false;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		child(argv, env, errlog, pipefd[1]);
	}
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return false;
	}
	collect(pipefd[0], r);
	close(pipefd[0]);
	if (wait4(pid, &r->status, 0, &ru) != pid)
		return false;
	r->wall_ns = now_ns() - t0;
	r->maxrss_kb = ru.ru_maxrss;
	r->ok = WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
	return r->ok;
}
