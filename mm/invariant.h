/*
 * invariant.h - helpers the allocators' self-checks share (heap_check,
 * slab_cache_check): counting broken invariants while keeping the first
 * one's description, and testing a fill pattern (red zones, poison).
 */
#ifndef MM_INVARIANT_H
#define MM_INVARIANT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct invariant_check {
	unsigned problems;
	char *why; /* the first problem's description goes here (may be NULL) */
	size_t why_size;
};

static inline void invariant_check_start(struct invariant_check *c, char *why, size_t why_size)
{
	*c = (struct invariant_check){ 0, why, why_size };
	if (why && why_size)
		why[0] = '\0';
}

/* Count a broken invariant; keep the words of the first. */
static inline void invariant_broken(struct invariant_check *c, const char *what)
{
	if (c->problems++ == 0 && c->why && c->why_size) {
		size_t n = strlen(what) < c->why_size - 1 ? strlen(what) : c->why_size - 1;
		memcpy(c->why, what, n);
		c->why[n] = '\0';
	}
}

/* Are all `n` bytes at `p` equal to `value`? */
static inline bool bytes_are(const void *p, int value, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)value)
			return false;
	return true;
}

#endif
