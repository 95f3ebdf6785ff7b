/*
 * vma_memory.h - what test_vma and fuzz_vma give a region set: an array
 * allocator that can be told to fail and counts what it has out, and
 * snapshots to prove that a refused call changed nothing -- neither the
 * set's fields (so not the array's address) nor a region in the array.
 */
#ifndef TESTS_HOST_VMA_MEMORY_H
#define TESTS_HOST_VMA_MEMORY_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mm/vma.h"

static bool vma_alloc_fails;   /* while set, every allocation fails */
static long vma_arrays_out;    /* allocated and not yet freed */

static void *vma_test_alloc(size_t bytes)
{
	void *p = vma_alloc_fails ? NULL : malloc(bytes);

	vma_arrays_out += p != NULL;
	return p;
}

static void vma_test_free(void *p)
{
	vma_arrays_out--;
	free(p);
}

static const struct vma_memory vma_test_memory = { vma_test_alloc, vma_test_free };

struct vma_snapshot {
	struct vma_set head;
	struct vma v[VMA_MAX];
};

static inline void vma_snap(struct vma_snapshot *c, const struct vma_set *s)
{
	c->head = *s;
	if (s->n)
		memcpy(c->v, s->v, s->n * sizeof(s->v[0]));
}

static inline bool vma_unchanged(const struct vma_snapshot *c, const struct vma_set *s)
{
	const struct vma_set *h = &c->head; /* field by field: the struct has padding */

	return h->n == s->n && h->cap == s->cap && h->max == s->max && h->v == s->v &&
	       h->mem == s->mem && (!s->n || memcmp(c->v, s->v, s->n * sizeof(s->v[0])) == 0);
}

#endif
