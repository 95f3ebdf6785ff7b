/*
 * heap_workloads.h - the allocation patterns bench_heap times on each
 * allocator, and the shared helpers of the heap benchmark.
 *
 * A workload calls malloc and friends -- whichever allocator the process
 * runs on (bench_heap starts one worker process per allocator, with that
 * allocator in LD_PRELOAD) -- and checks every result: a NULL, a pointer
 * that is not aligned as promised, or a block whose contents changed while
 * it was live is recorded as the allocator's error, and the run stops.
 */
#ifndef BENCH_HEAP_WORKLOADS_H
#define BENCH_HEAP_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>

struct workload_result {
	uint64_t ns;       /* wall time of the whole workload */
	uint64_t ops;      /* operations counted (ns / ops is the figure shown) */
	size_t peak_live;  /* the most bytes requested and not yet freed at once */
	char error[200];   /* empty, or the first thing the allocator got wrong */
};

struct workload {
	const char *name;  /* as given to `bench_heap --worker NAME` */
	const char *title; /* for the tables */
	const char *unit;  /* what one op is */
	void (*run)(struct workload_result *r, double scale);
};

extern const struct workload workloads[];
extern const unsigned workload_count;

const struct workload *workload_find(const char *name);

/* A small, fast generator (xorshift64*), so all allocators see the same sequence. */
struct rng {
	uint64_t s;
};

/*
 * The generator and the uniform draw are inline, so that a draw with
 * constant bounds compiles to multiplies: a 64-bit division costs tens of
 * cycles and is not pipelined, and the timed loops once spent a good part
 * of their time in three of them per operation, all allocators alike
 * (docs/benchmarks.md, "The benchmark's own divisions").
 */
static inline uint64_t rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ull;
}

/* Uniform in [lo, hi]. */
static inline size_t rng_between(struct rng *r, size_t lo, size_t hi)
{
	return lo + (size_t)(rng_next(r) % (hi - lo + 1));
}
/* Log-uniform in [lo, hi]: as many sizes in 16..32 as in 16K..32K. */
size_t rng_log(struct rng *r, size_t lo, size_t hi);

uint64_t now_ns(void);

#endif
