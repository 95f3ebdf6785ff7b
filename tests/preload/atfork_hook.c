/*
 * atfork_hook.c - a library with a fork handler that allocates, as a
 * logging or tracing library's might (for tests/preload/atfork.c).
 *
 * Its constructor runs before the preloaded allocator's, so its handler
 * is registered first and glibc runs its prepare handler *after* the
 * allocator's, which has taken the allocator's lock by then: every
 * malloc and free in it must get by without waiting for that lock.
 * 5000 frees of one size: more than a magazine's count of frees between
 * two visits to the heaps (MAGAZINE_FREES_HEARD), so the count runs out
 * inside the handler on every fork.
 */
#include <pthread.h>
#include <stdlib.h>

void *volatile atfork_hook_sink;

static void prepare(void)
{
	for (int i = 0; i < 5000; i++) {
		atfork_hook_sink = malloc(40);
		free(atfork_hook_sink);
	}
}

__attribute__((constructor)) static void hook_fork(void)
{
	pthread_atfork(prepare, NULL, NULL);
}
