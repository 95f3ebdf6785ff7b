/*
 * heap_spawn.h - run a program on a chosen malloc and collect what it did.
 *
 * The benchmark compares allocators by running the same program -- its own
 * worker, or python3, sort, gcc -- once per allocator, with the allocator's
 * shared library in LD_PRELOAD (none for the C library's own malloc).  A
 * fresh process per run means every allocator starts from an empty heap,
 * and the peak resident size the kernel reports for the child (wait4's
 * ru_maxrss) is that allocator's footprint.
 */
#ifndef BENCH_HEAP_SPAWN_H
#define BENCH_HEAP_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spawn_result {
	bool ok;           /* started, and exited with status 0 */
	int status;        /* as from waitpid */
	uint64_t wall_ns;  /* from fork to exit */
	long maxrss_kb;    /* peak resident set size */
	uint64_t out_hash; /* FNV-1a of everything written to stdout */
	size_t out_len;
	char head[512];    /* the first bytes of stdout, NUL-terminated */
};

/* How to start a program on one allocator. */
struct spawn_env {
	const char *preload; /* LD_PRELOAD, or NULL for none */
	const char *setting; /* one more "NAME=VALUE" for the environment, or NULL */
};

/*
 * Run argv (argv[0] looked up in PATH) in environment `env`, stdout
 * captured, stderr appended to `errlog` (NULL: discarded).
 */
bool spawn_run(char *const argv[], const struct spawn_env *env, const char *errlog,
	       struct spawn_result *r);

#endif
