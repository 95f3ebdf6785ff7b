/*
 * heap_workloads.c - the timed allocation patterns (see heap_workloads.h).
 *
 * Every workload keeps its live blocks in slots and replaces a random slot
 * at each step, so the live set stays at a steady size and blocks die in
 * random order -- the hard case for an allocator, unlike a stack-like
 * pattern.  Each block carries a tag: its first 8 bytes, one byte in every
 * 4 KiB page (so big blocks are really touched, page faults included, as a
 * program using them would) and its last byte.  The tag is checked when
 * the block is freed.  The random sequence is fixed, so every allocator
 * gets the same calls.
 *
 *   churn     small objects (16..128 bytes), 4096 live: the slab layer's case
 *   mixed     sizes from 16 bytes to 512 KiB, mostly small, 1 in 32 through
 *             posix_memalign with 32..4096 alignment; 8192 live
 *   realloc   1000 buffers growing by 1..256 bytes per realloc to a random
 *             final size (64 bytes..64 KiB), like string builders; contents
 *             checked whole at the end of each buffer's life
 *   prodcons  one thread allocates messages (16..512 bytes), another checks
 *             and frees them: every free is of another thread's block
 *   idle      nothing: the worker's own footprint, subtracted from RSS peaks
 */
#include "heap_workloads.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE 4096

/* ---- helpers ----------------------------------------------------------------- */

size_t rng_log(struct rng *r, size_t lo, size_t hi)
{
	double u = (double)(rng_next(r) >> 11) / (double)(1ull << 53);

	return (size_t)((double)lo * exp2(u * log2((double)hi / (double)lo)));
}

uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static bool bad(struct workload_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool bad(struct workload_result *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->error[0]) {
		va_start(ap, fmt);
		vsnprintf(r->error, sizeof(r->error), fmt, ap);
		va_end(ap);
	}
	return false;
}

/* ---- tagged blocks ------------------------------------------------------------- */

struct block {
	unsigned char *p;
	size_t size;
	uint64_t tag;
};

static void tag_block(const struct block *b)
{
	memcpy(b->p, &b->tag, sizeof(b->tag));
	for (size_t off = PAGE; off < b->size - 1; off += PAGE)
		b->p[off] = (unsigned char)b->tag;
	b->p[b->size - 1] = (unsigned char)(b->tag >> 8);
}

static bool tag_intact(const struct block *b)
{
	uint64_t head;

	memcpy(&head, b->p, sizeof(head));
	for (size_t off = PAGE; off < b->size - 1; off += PAGE)
		if (b->p[off] != (unsigned char)b->tag)
			return false;
	return head == b->tag && b->p[b->size - 1] == (unsigned char)(b->tag >> 8);
}

/* Bytes requested and not yet freed, and their peak. */
struct live {
	size_t now, peak;
};

static void live_add(struct live *l, size_t n)
{
	l->now += n;
	if (l->now > l->peak)
		l->peak = l->now;
}

/* Check and free the block in `b`, if any. */
static bool retire(struct workload_result *r, struct block *b, struct live *l)
{
	if (!b->p)
		return true;
	if (!tag_intact(b))
		return bad(r, "a live block of %zu bytes at %p was overwritten", b->size, (void *)b->p);
	free(b->p);
	l->now -= b->size;
	b->p = NULL;
	return true;
}

static bool place(struct workload_result *r, struct block *b, void *p, size_t size, size_t align,
		  uint64_t tag, struct live *l)
{
	if (!p)
		return bad(r, "allocation of %zu bytes failed", size);
	if ((uintptr_t)p & (align - 1)) /* align is a power of two; % would be a division */
		return bad(r, "%p for %zu bytes is not %zu-aligned", p, size, align);
	*b = (struct block){ p, size, tag };
	tag_block(b);
	live_add(l, size);
	return true;
}

/*
 * The slot loop shared by churn and mixed: `ops` times, replace a random
 * slot's block by a new one from `pick`, then free everything.  `slots` is
 * a power of two, so that picking a slot is a mask, not a division.
 */
struct request {
	size_t size, align; /* align > 16: through posix_memalign */
};

static void *allocate(struct request q)
{
	void *p;

	if (q.align <= 16)
		return malloc(q.size);
	return posix_memalign(&p, q.align, q.size) ? NULL : p;
}

static void replace_slots(struct workload_result *r, unsigned slots, uint64_t ops,
			  struct request (*pick)(struct rng *g))
{
	struct block *b = calloc(slots, sizeof(*b));
	/* BENCH_SEED=N replays another trace: a figure that holds for one trace may not for others. */
	const char *seed = getenv("BENCH_SEED");
	struct rng g = { 0x9E3779B97F4A7C15ull ^ (seed ? strtoull(seed, NULL, 0) * 0x2545F4914F6CDD1Dull : 0) };
	struct live l = { 0, 0 };
	uint64_t t0 = now_ns();

	for (uint64_t i = 0; i < ops && b; i++) {
		uint64_t x = rng_next(&g);
		struct block *s = &b[x & (slots - 1)];
		struct request q = pick(&g);
		if (!retire(r, s, &l) || !place(r, s, allocate(q), q.size, q.align, x, &l))
			break;
	}
	for (unsigned i = 0; b && i < slots; i++)
		retire(r, &b[i], &l);
	r->ns = now_ns() - t0;
	r->ops = ops;
	r->peak_live = l.peak;
	free(b);
}

/* ---- the workloads ----------------------------------------------------------------- */

static struct request small_object(struct rng *g)
{
	return (struct request){ rng_between(g, 16, 128), 16 };
}

static void churn(struct workload_result *r, double scale)
{
	replace_slots(r, 4096, (uint64_t)(10e6 * scale), small_object);
}

/* 60% up to 256 bytes, 30% up to 4 KiB, 8% up to 64 KiB, 2% up to 512 KiB. */
static struct request mixed_request(struct rng *g)
{
	unsigned kind = (unsigned)rng_between(g, 0, 99);
	size_t size = kind < 60 ? rng_log(g, 16, 256)
		    : kind < 90 ? rng_log(g, 256, 4096)
		    : kind < 98 ? rng_log(g, 4096, 65536)
				: rng_log(g, 65536, 512 * 1024);
	size_t align = rng_between(g, 0, 31) ? 16 : (size_t)32 << rng_between(g, 0, 7);

	return (struct request){ size, align };
}

static void mixed(struct workload_result *r, double scale)
{
	replace_slots(r, 8192, (uint64_t)(5e5 * scale), mixed_request);
}

struct buffer {
	unsigned char *p;
	size_t len, target;
	unsigned char seed;
};

/* Byte i of a buffer is seed + i: a lost or shifted byte shows. */
static bool buffer_intact(const struct buffer *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] != (unsigned char)(b->seed + i))
			return false;
	return true;
}

/*
 * The alignment malloc owes a block of `size` bytes: 16 (max_align_t), or
 * less for blocks too small to hold a 16-byte object -- mimalloc and
 * jemalloc give 8-byte blocks 8-byte alignment, as C allows.
 */
static size_t natural_alignment(size_t size)
{
	size_t a = 16;

	while (a > 1 && a > size)
		a /= 2;
	return a;
}

static bool append(struct workload_result *r, struct buffer *b, size_t add, struct live *l)
{
	unsigned char *q = realloc(b->p, b->len + add);

	if (!q)
		return bad(r, "realloc to %zu bytes failed", b->len + add);
	if ((uintptr_t)q & (natural_alignment(b->len + add) - 1))
		return bad(r, "realloc to %zu bytes gave %p: misaligned", b->len + add, (void *)q);
	if (b->len && q[b->len - 1] != (unsigned char)(b->seed + b->len - 1))
		return bad(r, "realloc to %zu bytes lost the old contents", b->len + add);
	for (size_t i = b->len; i < b->len + add; i++)
		q[i] = (unsigned char)(b->seed + i);
	b->p = q;
	b->len += add;
	live_add(l, add);
	return true;
}

static bool finish_buffer(struct workload_result *r, struct buffer *b, struct live *l)
{
	if (b->p && !buffer_intact(b))
		return bad(r, "a %zu-byte buffer grown by realloc has wrong contents", b->len);
	free(b->p);
	l->now -= b->len;
	b->p = NULL;
	b->len = 0;
	return true;
}

static void realloc_growth(struct workload_result *r, double scale)
{
	enum { BUFFERS = 1000 };
	static struct buffer b[BUFFERS];
	struct rng g = { 0x2545F4914F6CDD1Dull };
	struct live l = { 0, 0 };
	uint64_t ops = (uint64_t)(3e5 * scale), t0 = now_ns();

	for (uint64_t i = 0; i < ops; i++) {
		struct buffer *x = &b[rng_next(&g) % BUFFERS];
		if (x->len >= x->target) {
			if (!finish_buffer(r, x, &l))
				break;
			x->target = rng_log(&g, 64, 65536);
			x->seed = (unsigned char)i;
		}
		if (!append(r, x, rng_between(&g, 1, 256), &l))
			break;
	}
	for (unsigned i = 0; i < BUFFERS; i++)
		finish_buffer(r, &b[i], &l);
	r->ns = now_ns() - t0;
	r->ops = ops;
	r->peak_live = l.peak;
}

/* ---- producer and consumer ------------------------------------------------------------ */

#define RING 1024

struct ring {
	_Atomic(struct block *) slot[RING];
	struct block msgs[RING];    /* the producer fills msgs[i % RING] for message i */
	uint64_t count;
	struct workload_result *r;
	atomic_bool failed;
};

static void wait_a_little(unsigned *spins)
{
	if (++*spins < 64)
		return;
	sched_yield();
	*spins = 0;
}

static void *producer(void *arg)
{
	struct ring *q = arg;
	struct rng g = { 0xD1B54A32D192ED03ull };

	for (uint64_t i = 0; i < q->count && !atomic_load(&q->failed); i++) {
		struct block *m = &q->msgs[i % RING];
		unsigned spins = 0;
		while (atomic_load_explicit(&q->slot[i % RING], memory_order_acquire))
			wait_a_little(&spins); /* the consumer has not taken message i - RING yet */
		size_t size = rng_between(&g, 16, 512);
		void *p = malloc(size);
		struct live unused = { 0, 0 };
		if (!place(q->r, m, p, size, 16, i, &unused)) {
			atomic_store(&q->failed, true);
			break;
		}
		atomic_store_explicit(&q->slot[i % RING], m, memory_order_release);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct ring *q = arg;

	for (uint64_t i = 0; i < q->count && !atomic_load(&q->failed); i++) {
		struct block *m;
		unsigned spins = 0;
		while (!(m = atomic_load_explicit(&q->slot[i % RING], memory_order_acquire)) &&
		       !atomic_load(&q->failed))
			wait_a_little(&spins);
		if (!m)
			break;
		if (m->tag != i || !tag_intact(m)) {
			bad(q->r, "message %llu arrived damaged", (unsigned long long)i);
			atomic_store(&q->failed, true);
			break;
		}
		free(m->p);
		atomic_store_explicit(&q->slot[i % RING], NULL, memory_order_release);
	}
	return NULL;
}

static void prodcons(struct workload_result *r, double scale)
{
	struct ring *q = calloc(1, sizeof(*q));
	pthread_t t[2];
	uint64_t t0;

	if (!q) {
		bad(r, "no memory for the ring");
		return;
	}
	q->count = (uint64_t)(2e6 * scale);
	q->r = r;
	t0 = now_ns();
	pthread_create(&t[0], NULL, producer, q);
	pthread_create(&t[1], NULL, consumer, q);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	r->ns = now_ns() - t0;
	r->ops = q->count;
	r->peak_live = 0; /* not tracked: at most RING messages */
	for (unsigned i = 0; i < RING; i++) /* what a failed run left behind */
		if (atomic_load(&q->slot[i]))
			free(q->msgs[i].p);
	free(q);
}

static void idle(struct workload_result *r, double scale)
{
	(void)scale;
	r->ops = 1;
}

const struct workload workloads[] = {
	{ "churn", "small-object churn (16..128 B, 4096 live)", "malloc+free", churn },
	{ "mixed", "mixed sizes (16 B..512 KiB, 8192 live)", "malloc+free", mixed },
	{ "realloc", "realloc growth (1000 buffers, +1..256 B)", "realloc", realloc_growth },
	{ "prodcons", "producer/consumer (2 threads, 16..512 B)", "message", prodcons },
	{ "idle", "nothing (footprint baseline)", "-", idle },
};
const unsigned workload_count = sizeof(workloads) / sizeof(workloads[0]);

const struct workload *workload_find(const char *name)
{
	for (unsigned i = 0; i < workload_count; i++)
		if (strcmp(workloads[i].name, name) == 0)
			return &workloads[i];
	return NULL;
}
