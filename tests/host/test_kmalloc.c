/*
 * test_kmalloc.c - host tests for mm/kmalloc.c's huge table and sampling.
 *
 * The front (struct kalloc) runs over a 256 MiB PROT_NONE reservation that
 * grows with mprotect, as in test_heap.c.  Huge blocks are mappings with
 * one PROT_NONE page after each, like the kernel's vmalloc areas, so the
 * same backend serves sampled blocks and a write past one would fault.
 *
 * What is pinned down: thousands of live huge blocks are all found again
 * (ksize, free, leak listing) while the table doubles under them, freed
 * in random order, with kalloc_check clean after every phase; pointers
 * that are none of ours, or inside a huge block, are refused.  Sampling
 * places each block so that it ends within its alignment of the guard
 * page, reports its exact size, lists it for leaks with its caller, moves
 * it on realloc (the canary must follow the size), and refuses a free
 * after its canary was written; kalloc_check sees the damaged canary too.
 * Slabs, with their headers in their pages and in a table beside the heap
 * (the host library's way), against a model: random allocations, frees,
 * reallocs and bad frees, every block's contents checked.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"
#include "mm/kmalloc.h"

#define PAGE 4096u
#define RESERVE ((size_t)256 << 20)
#define CALLER(n) ((const void *)(uintptr_t)(0xCA110000u + 16u * (n)))

static struct kalloc ka;
static char *reservation;
static union slab_record *records; /* the slab headers' table, when start_with_records made one */
static unsigned bad_reports;

static bool grow(void *ctx, uintptr_t end, size_t bytes)
{
	(void)ctx;
	return mprotect((void *)end, bytes, PROT_READ | PROT_WRITE) == 0;
}

/* For heaps whose pages are smaller than the processor's: the pages around. */
static bool grow_whole_pages(void *ctx, uintptr_t end, size_t bytes)
{
	uintptr_t from = end / PAGE * PAGE, to = (end + bytes + PAGE - 1) / PAGE * PAGE;

	(void)ctx;
	return mprotect((void *)from, to - from, PROT_READ | PROT_WRITE) == 0;
}

static void shrink(void *ctx, uintptr_t start, size_t bytes)
{
	(void)ctx;
	madvise((void *)start, bytes, MADV_DONTNEED);
	mprotect((void *)start, bytes, PROT_NONE);
}

/* `bytes` of pages and an inaccessible page after them. */
static void *map_guarded(void *ctx, size_t bytes)
{
	char *p = mmap(NULL, bytes + PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	(void)ctx;
	if (p == MAP_FAILED)
		return NULL;
	mprotect(p + bytes, PAGE, PROT_NONE);
	return p;
}

static void unmap_guarded(void *ctx, void *p, size_t bytes)
{
	(void)ctx;
	munmap(p, bytes + PAGE);
}

static void count_report(struct kalloc *k, enum heap_error e, const void *p, const char *detail)
{
	(void)k;
	bad_reports++;
	printf("# report: %s at %p: %s\n", heap_error_name(e), p, detail);
}

#define RECORDS_BYTES (RESERVE / SLAB_SIZE * sizeof(union slab_record))

static void start_with(unsigned sample_every, bool with_records)
{
	static const struct heap_backend heap = { grow, shrink, NULL, NULL, NULL };
	static const struct huge_backend huge = { map_guarded, unmap_guarded, NULL, PAGE, map_guarded };

	if (reservation)
		munmap(reservation, RESERVE);
	if (records)
		munmap(records, RECORDS_BYTES);
	records = NULL;
	if (with_records) {
		records = mmap(NULL, RECORDS_BYTES, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		CHECK(records != MAP_FAILED, "cannot map the slab headers' table");
	}
	const struct heap_config cfg = { .page_size = PAGE, .initial = 16 * PAGE,
					 .grow_step = 16 * PAGE, .keep = 16 * PAGE,
					 .fit = HEAP_FIRST_FIT, .slab_records = records };
	reservation = mmap(NULL, RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(reservation != MAP_FAILED, "cannot reserve the heap's address space");
	CHECK(kalloc_init(&ka, (uintptr_t)reservation, (uintptr_t)reservation + RESERVE, &cfg, &heap,
			  &huge),
	      "kalloc_init failed");
	ka.report = count_report;
	ka.sample_every = sample_every;
	bad_reports = 0;
}

static void start(unsigned sample_every)
{
	start_with(sample_every, false);
}

static void expect_consistent(void)
{
	char why[160];
	unsigned problems = kalloc_check(&ka, why, sizeof(why));

	CHECK(problems == 0, "kalloc_check: %u problem(s), the first: %s", problems, why);
}

/* ---- huge blocks ---------------------------------------------------------- */

#define HUGE_N 3000

static size_t huge_size(unsigned i)
{
	return 64 * 1024 + (size_t)(i * 7919u % 50000u);
}

struct tally {
	unsigned count;
	size_t requested;
};

static void tally(void *arg, const struct heap_block_info *b)
{
	struct tally *t = arg;

	t->count++;
	t->requested += b->requested;
}

static void huge_blocks_found_as_table_grows(void)
{
	static unsigned char *p[HUGE_N];
	static unsigned order[HUGE_N];
	struct tally t = { 0, 0 };
	size_t requested = 0;

	start(0);
	uint32_t mark = kalloc_mark(&ka);
	for (unsigned i = 0; i < HUGE_N; i++) {
		p[i] = kalloc_alloc(&ka, huge_size(i), CALLER(1));
		CHECK(p[i] && (uintptr_t)p[i] % PAGE == 0, "huge block %u: %p", i, (void *)p[i]);
		p[i][0] = (unsigned char)i;
		p[i][huge_size(i) - 1] = (unsigned char)~i;
		requested += huge_size(i);
		order[i] = i;
	}
	CHECK(ka.huge_buckets >= HUGE_N, "%zu buckets for %u blocks: the table did not grow",
	      ka.huge_buckets, HUGE_N);
	CHECK_EQ(ka.stats.huge_live, HUGE_N);
	expect_consistent();
	for (unsigned i = 0; i < HUGE_N; i++)
		CHECK(kalloc_usable_size(&ka, p[i]) >= huge_size(i), "ksize of block %u is %zu", i,
		      kalloc_usable_size(&ka, p[i]));
	kalloc_for_each_live(&ka, mark, tally, &t);
	CHECK(t.count == HUGE_N && t.requested == requested,
	      "leak listing: %u blocks, %zu bytes; expected %u, %zu (the table is no allocation)",
	      t.count, t.requested, HUGE_N, requested);
	CHECK(!kalloc_free(&ka, p[5] + PAGE, CALLER(2)), "free inside a huge block accepted");
	CHECK(!kalloc_free(&ka, (void *)(uintptr_t)0x1000, CALLER(2)), "free of a stray pointer accepted");
	CHECK_EQ(bad_reports, 2);
	for (unsigned i = HUGE_N - 1; i > 0; i--) {
		unsigned j = (unsigned)(check_random() % (i + 1)), k = order[i];
		order[i] = order[j];
		order[j] = k;
	}
	for (unsigned n = 0; n < HUGE_N; n++) {
		unsigned i = order[n];
		CHECK(p[i][0] == (unsigned char)i && p[i][huge_size(i) - 1] == (unsigned char)~i,
		      "huge block %u changed", i);
		CHECK(kalloc_free(&ka, p[i], CALLER(3)), "free of huge block %u refused", i);
		if (n % 500 == 0)
			expect_consistent();
	}
	CHECK(ka.stats.huge_live == 0 && ka.stats.huge_bytes == 0, "%zu huge blocks left",
	      ka.stats.huge_live);
	expect_consistent();
}

/* ---- sampling --------------------------------------------------------------------- */

static void sampled_blocks_end_at_the_guard(void)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 100, 1000, 4096, 5000, 40000 };
	static const size_t aligns[] = { 0, 32, 256, 4096 };

	start(1);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (unsigned j = 0; j < sizeof(aligns) / sizeof(aligns[0]); j++) {
			size_t a = aligns[j] > HEAP_ALIGN ? aligns[j] : HEAP_ALIGN;
			uint64_t sampled = ka.stats.sampled;
			unsigned char *p = kalloc_aligned(&ka, sizes[i], a, CALLER(4));
			uintptr_t end = (uintptr_t)p + (sizes[i] ? sizes[i] : 1); /* 0 bytes: placed as 1 */
			uintptr_t page_end = (end + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
			CHECK(p && (uintptr_t)p % a == 0, "alloc(%zu, align %zu) = %p", sizes[i], a,
			      (void *)p);
			CHECK_EQ(ka.stats.sampled, sampled + 1);
			CHECK(page_end > (uintptr_t)p && page_end - end < a,
			      "alloc(%zu, align %zu) ends %zu bytes before the guard page", sizes[i], a,
			      (size_t)(page_end - end));
			CHECK_EQ(kalloc_usable_size(&ka, p), sizes[i]);
			memset(p, 0x5A, sizes[i]);
			CHECK(kalloc_free(&ka, p, CALLER(5)), "free of a sampled block refused");
		}
	}
	CHECK_EQ(bad_reports, 0);
	CHECK_EQ(ka.stats.huge_live, 0);
	expect_consistent();
}

static void sampled_canary_and_realloc(void)
{
	start(1);
	uint32_t mark = kalloc_mark(&ka);
	char *p = kalloc_alloc(&ka, 100, CALLER(6));
	struct tally t = { 0, 0 };

	CHECK(p && ka.stats.sampled == 1, "kalloc_alloc(100) = %p, %llu sampled", (void *)p,
	      (unsigned long long)ka.stats.sampled);
	kalloc_for_each_live(&ka, mark, tally, &t);
	CHECK(t.count == 1 && t.requested == 100, "listed %u blocks, %zu bytes", t.count, t.requested);
	p[100] = 'X'; /* into the canary: 12 bytes before the guard */
	char why[160];
	CHECK(kalloc_check(&ka, why, sizeof(why)) > 0 && strstr(why, "canary"),
	      "kalloc_check missed the canary: \"%s\"", why);
	CHECK(!kalloc_free(&ka, p, CALLER(7)), "free with a damaged canary accepted");
	CHECK_EQ(bad_reports, 1);
	p[100] = (char)0xFD;
	expect_consistent();
	memcpy(p, "sampled", 8);
	char *q = kalloc_realloc(&ka, p, 80, CALLER(8));
	CHECK(q && q != p && !strcmp(q, "sampled") && kalloc_usable_size(&ka, q) == 80,
	      "realloc of a sampled block to 80 bytes: %p (was %p), ksize %zu", (void *)q, (void *)p,
	      kalloc_usable_size(&ka, q));
	CHECK(kalloc_free(&ka, q, CALLER(9)), "free refused");
	CHECK_EQ(ka.stats.huge_live, 0);
	expect_consistent();
}

/* Every 3rd allocation sampled, the rest through slabs and the heap as usual. */
static void sampling_every_third(void)
{
	void *p[30];

	start(3);
	for (unsigned i = 0; i < 30; i++)
		CHECK((p[i] = kalloc_alloc(&ka, 24 + 97 * i, CALLER(10))), "alloc %u", i);
	CHECK_EQ(ka.stats.sampled, 10);
	CHECK_EQ(ka.stats.huge_live, 10);
	expect_consistent();
	for (unsigned i = 0; i < 30; i++)
		CHECK(kalloc_free(&ka, p[i], CALLER(11)), "free %u refused", i);
	CHECK_EQ(ka.stats.huge_live, 0);
	expect_consistent();
}

/* ---- the free path's arithmetic -------------------------------------------- */

static void *no_page(void *ctx)
{
	(void)ctx;
	return NULL;
}

static void no_put(void *ctx, void *page)
{
	(void)ctx;
	(void)page;
}

static void no_ctor(void *obj)
{
	(void)obj;
}

/*
 * slab_index_of divides by the stride with a multiply: it must agree with
 * the division at every offset of a slab, for every object geometry a
 * cache can have (sizes 1..1024, each alignment, with and without a
 * constructor or debug mode, slabs of a whole page or a header short,
 * headers in the page or in a table).
 */
static void index_multiply_matches_division(void)
{
	static const size_t aligns[] = { 0, 8, 16, 32, 64 };
	static const size_t bytes[] = { SLAB_SIZE, SLAB_SIZE - 48, SLAB_SIZE - 64 };
	uintptr_t s = 16 * (uintptr_t)SLAB_SIZE; /* any aligned address: nothing is read */
	static union slab_record table[1];
	unsigned geometries = 0;

	for (unsigned b = 0; b < 3; b++)
	for (size_t size = 1; size <= SLAB_MAX_OBJECT; size += size < 64 ? 1 : 7)
	for (unsigned a = 0; a < 5; a++)
	for (unsigned variant = 0; variant < 8; variant++) {
		const struct slab_source src = { .get = no_page, .put = no_put, .bytes = bytes[b],
						 .records = variant & 4 ? table : NULL, .records_count = 1 };
		struct kmem_cache c;
		CHECK(slab_cache_init(&c, "t", size, aligns[a], variant & 1 ? no_ctor : NULL,
				      variant & 2, &src, NULL), "init of size %zu failed", size);
		geometries++;
		for (uint32_t off = 0; off < SLAB_SIZE; off++) {
			int want = off >= c.first && (off - c.first) % c.stride == 0 &&
				   (off - c.first) / c.stride < c.per_slab ? (int)((off - c.first) / c.stride) : -1;
			int got = slab_index_of(&c, (const void *)(s + off));
			if (got != want) {
				slab_cache_destroy(&c);
				CHECK(got == want, "size %zu stride %zu first %zu offset %u: index %d, want %d",
				      size, c.stride, c.first, off, got, want);
			}
		}
		CHECK(slab_cache_destroy(&c), "destroy failed");
	}
	printf("# %u geometries, every offset\n", geometries);
}

/* kalloc_class_index: each class by its own pointer; anything else, even inside the array, none. */
static void class_index_exact(void)
{
	start(0);
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++) {
		CHECK_EQ(kalloc_class_index(&ka, &ka.classes[i]), i);
		CHECK_EQ(kalloc_class_index(&ka, (const struct kmem_cache *)((const char *)&ka.classes[i] + 8)),
			 KMALLOC_CLASSES);
	}
	CHECK_EQ(kalloc_class_index(&ka, &ka.huge_records), KMALLOC_CLASSES);
	CHECK_EQ(kalloc_class_index(&ka, NULL), KMALLOC_CLASSES);
	CHECK_EQ(kalloc_class_index(&ka, (const struct kmem_cache *)&ka), KMALLOC_CLASSES);
	/* And through kalloc: an object of every class is freed; interior and second frees refused. */
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++) {
		char *p = kalloc_alloc(&ka, ka.classes[i].size, CALLER(20));
		CHECK(p && kalloc_usable_size(&ka, p) == ka.classes[i].size, "class %u object", i);
		CHECK(!kalloc_free(&ka, p + 8, CALLER(21)), "interior free of class %u accepted", i);
		CHECK(kalloc_free(&ka, p, CALLER(21)), "free of class %u refused", i);
		CHECK(!kalloc_free(&ka, p, CALLER(21)), "double free of class %u accepted", i);
		CHECK_EQ(ka.classes[i].stats.errors[HEAP_ERR_INVALID_FREE], 1);
		CHECK_EQ(ka.classes[i].stats.errors[HEAP_ERR_DOUBLE_FREE], 1);
	}
	expect_consistent();
}

/* ---- the big heap ------------------------------------------------------------ */

#define BIG_MIN (16 * 1024)

/* The lower half of the reservation for the general heap, the upper for the big one. */
static void start_with_big_heap(void)
{
	static const struct heap_backend heap = { grow, shrink, NULL, NULL, NULL };
	const struct heap_config cfg = { .page_size = PAGE, .initial = PAGE, .grow_step = 16 * PAGE,
					 .fit = HEAP_BEST_FIT };

	start(0);
	CHECK(!kalloc_big_heap(&ka, (uintptr_t)reservation + 1, (uintptr_t)reservation + RESERVE,
			       BIG_MIN, &cfg, &heap), "an unaligned big region was accepted");
	struct heap_config odd = cfg;
	odd.page_size = 3 * PAGE; /* as heap_init would refuse it, at the first big allocation */
	uintptr_t at = ((uintptr_t)reservation + RESERVE / 2) / odd.page_size * odd.page_size + odd.page_size;
	CHECK(!kalloc_big_heap(&ka, at, (uintptr_t)reservation + RESERVE, BIG_MIN, &odd, &heap),
	      "a page size of three pages was accepted");
	CHECK(kalloc_big_heap(&ka, (uintptr_t)reservation + RESERVE / 2, (uintptr_t)reservation + RESERVE,
			      BIG_MIN, &cfg, &heap), "kalloc_big_heap refused");
	ka.heap.limit = (uintptr_t)reservation + RESERVE / 2; /* the halves must not meet */
}

static bool in_upper_half(const void *p)
{
	return (uintptr_t)p >= (uintptr_t)reservation + RESERVE / 2 &&
	       (uintptr_t)p < (uintptr_t)reservation + RESERVE;
}

struct seq_order {
	uint32_t since;
	unsigned count, big;
};

static void count_since(void *arg, const struct heap_block_info *b)
{
	struct seq_order *o = arg;

	o->count++;
	o->big += in_upper_half(b->ptr);
}

/*
 * Sizes from big_min up (and below huge_min) go to the big heap and
 * nowhere else; smaller ones never do.  The big heap maps nothing before
 * its first block; free, ksize, realloc (both ways across the threshold)
 * and the leak listing find its blocks; its bad frees are refused; the
 * combined peaks are the sum of both heaps'; kalloc_check sees its
 * invariants, and a block below big_min planted in it.
 */
static void big_blocks_apart(void)
{
	static unsigned char *p[64];
	size_t general_before;

	start_with_big_heap();
	if (check_failed)
		return;
	CHECK(!ka.big_ready, "the big heap was set up before its first block");
	general_before = ka.heap.stats.heap_size;
	unsigned char *small = kalloc_alloc(&ka, BIG_MIN - 1, CALLER(30));
	CHECK(small && !in_upper_half(small) && !ka.big_ready, "a block below big_min went to the big heap");
	uint32_t mark = kalloc_mark(&ka);
	for (unsigned i = 0; i < 64; i++) {
		size_t size = BIG_MIN + (size_t)check_random_below(ka.huge_min - BIG_MIN);
		p[i] = i % 4 ? kalloc_alloc(&ka, size, CALLER(31)) : kalloc_aligned(&ka, size, 4096, CALLER(31));
		CHECK(p[i] && in_upper_half(p[i]), "block %u of %zu bytes is not in the big heap", i, size);
		CHECK(i % 4 || (uintptr_t)p[i] % 4096 == 0, "aligned big block misaligned");
		CHECK(kalloc_usable_size(&ka, p[i]) >= size, "ksize of big block %u too small", i);
		memset(p[i], (int)i, size);
	}
	CHECK(ka.big_ready, "no big heap after big blocks");
	CHECK_EQ(ka.heap.stats.heap_size, general_before); /* nothing big landed below */
	struct seq_order o = { mark, 0, 0 };
	kalloc_for_each_live(&ka, mark, count_since, &o);
	CHECK(o.count == 64 && o.big == 64, "leak listing since the mark: %u blocks, %u big", o.count, o.big);
	CHECK(ka.stats.peak_heaps_size >= ka.heap.stats.heap_size + ka.big.stats.heap_size &&
	      ka.stats.peak_heaps_requested >= ka.heap.stats.requested + ka.big.stats.requested,
	      "combined peaks below the sum of the heaps");
	expect_consistent();

	/* Bad frees into the big heap: refused, counted, nothing changed. */
	CHECK(!kalloc_free(&ka, p[0] + 16, CALLER(32)), "interior free of a big block accepted");
	CHECK(kalloc_free(&ka, p[1], CALLER(32)), "free of a big block refused");
	CHECK(!kalloc_free(&ka, p[1], CALLER(32)), "double free of a big block accepted");
	CHECK_EQ(ka.big.stats.errors[HEAP_ERR_INVALID_FREE] + ka.big.stats.errors[HEAP_ERR_DOUBLE_FREE], 2);
	p[1] = NULL;
	expect_consistent();

	/* realloc across the threshold, both ways, keeps the contents. */
	unsigned char *q = kalloc_realloc(&ka, small, 2 * BIG_MIN, CALLER(33));
	CHECK(q && in_upper_half(q), "realloc up across big_min did not move to the big heap");
	q = kalloc_realloc(&ka, q, 100, CALLER(33));
	CHECK(q && !in_upper_half(q), "realloc down to 100 bytes stayed in the big heap");
	CHECK(kalloc_free(&ka, q, CALLER(33)), "free after realloc refused");
	for (unsigned i = 0; i < 64; i++) {
		size_t n = kalloc_usable_size(&ka, p[i]);
		for (size_t j = 0; p[i] && j < n && j < BIG_MIN; j++)
			CHECK(p[i][j] == (unsigned char)i, "big block %u byte %zu changed", i, j);
		CHECK(kalloc_free(&ka, p[i], CALLER(34)), "free of big block %u refused", i);
	}
	CHECK_EQ(ka.big.stats.live_blocks, 0);
	expect_consistent();

	/* kalloc_check must see a block below big_min in the big heap. */
	void *planted = heap_alloc(&ka.big, 100, 0, CALLER(35));
	char why[160];
	CHECK(planted && kalloc_check(&ka, why, sizeof(why)) == 1 && strstr(why, "below big_min"),
	      "a small block in the big heap was not found (%s)", why);
	heap_free(&ka.big, planted, CALLER(35));
	expect_consistent();
}

/* ---- slabs against a model ----------------------------------------------------- */

#define SLOTS 2048
#define MODEL_OPS 200000

struct slot {
	unsigned char *p;
	size_t size;
	unsigned char seed;
};

static void fill(const struct slot *s)
{
	for (size_t i = 0; i < s->size; i++)
		s->p[i] = (unsigned char)(s->seed + i);
}

static bool intact(const struct slot *s)
{
	for (size_t i = 0; i < s->size; i++)
		if (s->p[i] != (unsigned char)(s->seed + i))
			return false;
	return true;
}

/* Mostly slab sizes, some aligned, some for the general heap. */
static unsigned char *model_alloc(size_t *size)
{
	unsigned kind = (unsigned)check_random_below(10);

	*size = kind < 8 ? 1 + check_random_below(SLAB_MAX_OBJECT) : 1025 + check_random_below(20000);
	if (kind == 9)
		return kalloc_aligned(&ka, *size, (size_t)16 << check_random_below(5), CALLER(40));
	return kalloc_alloc(&ka, *size, CALLER(40));
}

/* Bad frees counted by every layer: the caches, the general heap, and kalloc's own. */
static uint64_t refusals(void)
{
	uint64_t n = ka.stats.bad_frees;

	for (unsigned e = 0; e < HEAP_ERR_COUNT; e++) {
		n += ka.heap.stats.errors[e];
		for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
			n += ka.classes[i].stats.errors[e];
	}
	return n;
}

/*
 * A free that must be refused, leaving everything as it was: a second free
 * of a block just freed, a pointer into a live block, or the first bytes
 * of a live small object's page (its header, or its first object's inside).
 */
static void bad_free(struct slot *slots, unsigned k)
{
	struct slot *s = &slots[k];
	uint64_t before = refusals();
	unsigned char *p = s->p;

	if (!p)
		return;
	switch (check_random_below(3)) {
	case 0:
		CHECK(kalloc_free(&ka, p, CALLER(41)), "free of slot %u refused", k);
		s->p = NULL;
		CHECK(!kalloc_free(&ka, p, CALLER(42)), "double free of %zu bytes accepted", s->size);
		break;
	case 1:
		if (s->size < 2)
			return;
		CHECK(!kalloc_free(&ka, p + 1 + check_random_below(s->size - 1), CALLER(42)),
		      "interior free of a %zu-byte block accepted", s->size);
		break;
	default:
		if (s->size > SLAB_MAX_OBJECT || (uintptr_t)p % SLAB_SIZE < 8)
			return;
		CHECK(!kalloc_free(&ka, (void *)((uintptr_t)p / SLAB_SIZE * SLAB_SIZE + 4), CALLER(42)),
		      "free of a slab page's fifth byte accepted");
	}
	CHECK(refusals() == before + 1, "a refused free was counted %llu times",
	      (unsigned long long)(refusals() - before));
}

static void run_model(bool with_records)
{
	static struct slot slots[SLOTS];
	unsigned ops = 0;

	start_with(0, with_records);
	memset(slots, 0, sizeof(slots));
	for (; ops < MODEL_OPS && !check_failed; ops++) {
		unsigned k = (unsigned)check_random_below(SLOTS);
		struct slot *s = &slots[k];
		if (!s->p) {
			s->p = model_alloc(&s->size);
			s->seed = (unsigned char)ops;
			CHECK(s->p, "allocation of %zu bytes failed", s->size);
			fill(s);
		} else if (!intact(s)) {
			CHECK(false, "a live block of %zu bytes changed", s->size);
		} else if (check_random_below(64) == 0) {
			bad_free(slots, k);
		} else if (check_random_below(5) == 0) {
			size_t size = 1 + check_random_below(2 * SLAB_MAX_OBJECT);
			unsigned char *q = kalloc_realloc(&ka, s->p, size, CALLER(43));
			CHECK(q, "realloc to %zu bytes failed", size);
			s->p = q;
			s->size = s->size < size ? s->size : size; /* the kept part */
			CHECK(intact(s), "realloc lost the contents");
			s->size = size;
			fill(s);
		} else {
			CHECK(kalloc_free(&ka, s->p, CALLER(44)), "free of %zu bytes refused", s->size);
			s->p = NULL;
		}
		if (ops % 8192 == 0)
			expect_consistent();
	}
	for (unsigned k = 0; k < SLOTS; k++)
		if (slots[k].p && !(intact(&slots[k]) && kalloc_free(&ka, slots[k].p, CALLER(44))))
			CHECK(false, "slot %u lost or refused at the end", k);
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		CHECK(ka.classes[i].stats.live == 0, "class %u has %zu objects live at the end", i,
		      ka.classes[i].stats.live);
	expect_consistent();
	printf("# %u operations, %llu bad frees refused\n", ops, (unsigned long long)refusals());
}

static void slabs_with_headers_in_pages(void)
{
	run_model(false);
	CHECK(ka.classes[0].first > 0, "an in-page header takes no room");
}

/*
 * With a table, a slab page is all objects, and the header read is the
 * table's: damage to it (not to the page) makes frees of the slab's
 * objects refused and kalloc_check complain, until it is repaired.  That
 * holds for object 0 too, though it starts where the slab's heap block
 * does: with the header unreadable the free reaches the heap, which
 * refuses it because the block is a slab page (heap.h, own_caller).
 * A table with a region that does not start on a slab boundary is refused.
 */
/* Allocate 16-byte objects until one starts a slab page; damage its header and free it. */
static void object_zero_behind_a_damaged_header(void)
{
	enum { MAX = 2 * SLAB_MAX_OBJECTS };
	static void *objects[MAX];
	unsigned n = 0;
	char *zero = NULL;

	while (n < MAX && !zero) {
		char *q = objects[n++] = kalloc_alloc(&ka, 16, CALLER(47));
		if (q && (uintptr_t)q % SLAB_SIZE == 0)
			zero = q;
	}
	CHECK(zero, "no 16-byte object started a slab page in %u allocations", n);
	struct slab *s = slab_header(&ka.slab_pages, zero);
	size_t heap_frees = ka.heap.stats.frees;
	uint32_t magic = s->magic;
	s->magic ^= 1;
	CHECK(!kalloc_free(&ka, zero, CALLER(48)), "free of object 0 through a damaged header accepted");
	CHECK(ka.heap.stats.frees == heap_frees, "the heap took the slab's page");
	s->magic = magic;
	for (unsigned i = 0; i < n; i++)
		CHECK(kalloc_free(&ka, objects[i], CALLER(48)), "free %u refused after the repair", i);
}

static void slabs_with_headers_in_a_table(void)
{
	run_model(true);
	if (check_failed)
		return;
	CHECK(ka.classes[0].first == 0, "objects do not start a slab page");
	unsigned char *zero = kalloc_alloc(&ka, 16, CALLER(45)), *p = zero;
	if (zero && (uintptr_t)zero % SLAB_SIZE == 0)
		p = kalloc_alloc(&ka, 16, CALLER(45));
	struct slab *s = slab_header(&ka.slab_pages, p);
	CHECK(p && s && (char *)s >= (char *)records && (char *)s < (char *)records + RECORDS_BYTES,
	      "the header is not in the table");
	CHECK(slab_page(&ka.slab_pages, s) == (char *)((uintptr_t)p / SLAB_SIZE * SLAB_SIZE),
	      "header and page do not map back to each other");
	uint32_t magic = s->magic;
	s->magic ^= 1;
	char why[160];
	CHECK(!kalloc_free(&ka, p, CALLER(46)), "free through a damaged header accepted");
	CHECK(kalloc_check(&ka, why, sizeof(why)) > 0, "kalloc_check missed a damaged header");
	s->magic = magic;
	object_zero_behind_a_damaged_header();
	if (check_failed)
		return;
	CHECK(kalloc_free(&ka, p, CALLER(46)), "free refused after the repair");
	if (p != zero)
		CHECK(kalloc_free(&ka, zero, CALLER(46)), "free of object 0 refused");
	expect_consistent();

	static const struct heap_backend heap = { grow_whole_pages, shrink, NULL, NULL, NULL };
	static const struct huge_backend huge = { map_guarded, unmap_guarded, NULL, PAGE, map_guarded };
	const struct heap_config cfg = { .page_size = 1024, .initial = 16 * PAGE, .grow_step = 16 * PAGE,
					 .slab_records = records };
	struct kalloc other;
	CHECK(!kalloc_init(&other, (uintptr_t)reservation + RESERVE / 2 + 1024,
			   (uintptr_t)reservation + RESERVE, &cfg, &heap, &huge),
	      "a table for a region off the slab boundary was accepted");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	check_seed(0x6B6D616Cu);
	RUN(huge_blocks_found_as_table_grows);
	RUN(sampled_blocks_end_at_the_guard);
	RUN(sampled_canary_and_realloc);
	RUN(sampling_every_third);
	RUN(index_multiply_matches_division);
	RUN(class_index_exact);
	RUN(big_blocks_apart);
	RUN(slabs_with_headers_in_pages);
	RUN(slabs_with_headers_in_a_table);
	return check_done();
}
