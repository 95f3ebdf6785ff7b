/*
 * test_heap.c - the kernel heap on the running kernel: kmalloc and friends,
 * object caches, growth and shrinking through the VMM, leak reports, and
 * every kind of corruption, each refused with the heap consistent after.
 */
#include <string.h>

#include "kernel/ktest.h"
#include "kernel/memory.h"
#include "mm/kheap.h"

static uint64_t errors(enum heap_error e)
{
	uint64_t n = kheap.heap.stats.errors[e];

	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		n += kheap.classes[i].stats.errors[e];
	return n + (e == HEAP_ERR_INVALID_FREE ? kheap.stats.bad_frees : 0);
}

KTEST(kmalloc_sizes_and_contents)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 100, 1024, 1025, 4000, 40000, 70000, 300000 };
	uint8_t *p[sizeof(sizes) / sizeof(sizes[0])];

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = kmalloc(sizes[i]);
		KEXPECT(p[i], "kmalloc(%u) failed", (unsigned)sizes[i]);
		KEXPECT((uintptr_t)p[i] % HEAP_ALIGN == 0, "kmalloc(%u) = %p not 16-aligned", (unsigned)sizes[i], p[i]);
		KEXPECT(ksize(p[i]) >= sizes[i], "ksize %u < %u", (unsigned)ksize(p[i]), (unsigned)sizes[i]);
		memset(p[i], (int)i + 1, sizes[i]);
		for (unsigned j = 0; j < i; j++)
			KEXPECT(p[i] != p[j], "kmalloc returned %p twice", p[i]);
	}
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t k = 0; k < sizes[i]; k++)
			KEXPECT(p[i][k] == i + 1, "block %u byte %u changed", i, (unsigned)k);
		kfree(p[i]);
	}
	KEXPECT(kheap_check() == 0, "heap inconsistent");
}

KTEST(kmalloc_impossible_and_helpers)
{
	uint64_t failed = kheap.stats.failed;

	KEXPECT(kmalloc(0xFFFFFFF0u) == NULL, "an impossible size succeeded");
	KEXPECT(kcalloc(0x10000, 0x10001) == NULL, "kcalloc overflow not caught");
	KEXPECT(kheap.stats.failed == failed + 2, "failures not counted");
	uint32_t *z = kcalloc(100, sizeof(uint32_t));
	KEXPECT(z, "kcalloc failed");
	for (unsigned i = 0; i < 100; i++)
		KEXPECT(z[i] == 0, "kcalloc memory not zeroed at %u", i);
	char *s = kmalloc(10);
	memcpy(s, "realloc!", 9);
	s = krealloc(s, 5000);
	KEXPECT(s && !strcmp(s, "realloc!"), "krealloc lost the contents");
	s = krealloc(s, 3);
	KEXPECT(s && !memcmp(s, "rea", 3), "krealloc down lost the contents");
	void *a = kmalloc_aligned(100, 4096), *b = kmalloc_aligned(10, 64);
	KEXPECT(a && (uintptr_t)a % 4096 == 0 && b && (uintptr_t)b % 64 == 0, "aligned %p %p", a, b);
	kfree(a);
	kfree(b);
	kfree(s);
	kfree(z);
	KEXPECT(kheap_check() == 0, "heap inconsistent");
}

KTEST(kheap_grows_and_gives_frames_back)
{
	enum { N = 256 };
	static void *blocks[N];
	uint32_t free0 = kpmm.stats.free_frames;
	size_t size0 = kheap.heap.stats.heap_size;

	for (unsigned i = 0; i < N; i++) {
		blocks[i] = kmalloc(2000 + i * 50);
		KEXPECT(blocks[i], "allocation %u failed", i);
	}
	KEXPECT(kheap.heap.stats.heap_size > size0, "the heap did not grow (%u bytes)",
		(unsigned)kheap.heap.stats.heap_size);
	KEXPECT(kpmm.stats.free_frames < free0, "growing took no frames");
	for (unsigned i = 0; i < N; i++)
		kfree(blocks[i]);
	kalloc_trim(&kheap);
	KEXPECT(kheap.heap.stats.heap_size <= size0 || kheap.heap.stats.heap_size == kheap.heap.keep,
		"heap still %u bytes after trim (was %u)", (unsigned)kheap.heap.stats.heap_size, (unsigned)size0);
	KEXPECT(kpmm.stats.free_frames == free0, "free frames %u after trim, %u before: leaked",
		kpmm.stats.free_frames, free0);
	KEXPECT(kheap_check() == 0, "heap inconsistent");
}

/*
 * Purging: freeing big blocks gives the pages inside them back to the PMM
 * (the frames come back, as many as the heap's committed bytes went
 * down), and allocating them again takes frames again.
 */
KTEST(kheap_purge_returns_frames_and_takes_them_again)
{
	enum { N = 6, BIG = 48 * 1024 };
	static char *big[N], *sep[N];
	const struct heap_stats *s = &kheap.heap.stats;

	for (unsigned i = 0; i < N; i++) {
		big[i] = kmalloc(BIG);
		sep[i] = kmalloc(2000); /* in use between the big blocks: they do not merge */
		KEXPECT(big[i] && sep[i], "allocation %u failed", i);
		memset(big[i], 0x5A, BIG);
	}
	uint32_t frames = kpmm.stats.free_frames;
	size_t committed = s->committed, purged = s->purged;
	for (unsigned i = 0; i < N; i++)
		kfree(big[i]);
	KEXPECT(s->purged >= purged + 4 * 32 * 1024, "only %u bytes purged by freeing %u blocks",
		(unsigned)(s->purged - purged), N);
	KEXPECT(kpmm.stats.free_frames > frames, "no frame came back");
	KEXPECT((kpmm.stats.free_frames - frames) * PAGE_SIZE == committed - s->committed,
		"%u frames came back, but the heap holds %u bytes less",
		kpmm.stats.free_frames - frames, (unsigned)(committed - s->committed));
	KEXPECT(kheap_check() == 0, "heap inconsistent after purging");

	frames = kpmm.stats.free_frames;
	committed = s->committed;
	purged = s->purged;
	for (unsigned i = 0; i < N; i++) {
		big[i] = kmalloc(BIG);
		KEXPECT(big[i], "allocation %u again failed", i);
		memset(big[i], 0xA5, BIG); /* every page mapped again */
	}
	KEXPECT(s->purged < purged, "the purged pages were not used again");
	KEXPECT(kpmm.stats.free_frames < frames, "allocating again took no frames");
	KEXPECT((frames - kpmm.stats.free_frames) * PAGE_SIZE == s->committed - committed,
		"%u frames taken, but the heap holds %u bytes more", frames - kpmm.stats.free_frames,
		(unsigned)(s->committed - committed));
	for (unsigned i = 0; i < N; i++) {
		kfree(big[i]);
		kfree(sep[i]);
	}
	kalloc_trim(&kheap);
	KEXPECT(kheap_check() == 0, "heap inconsistent");
}

KTEST(kheap_exhaustion_returns_null)
{
	enum { CHUNK = 48 * 1024 };
	uint32_t free0 = kpmm.stats.free_frames;
	size_t committed0 = kheap.heap.stats.committed;
	void **chain = NULL, *p;
	unsigned n = 0;

	/* Chain the blocks through themselves until the heap's region or RAM runs out. */
	while ((p = kmalloc(CHUNK)) != NULL) {
		*(void ***)p = chain;
		chain = p;
		n++;
	}
	KEXPECT(n > 0, "not even one allocation");
	kprintf("    # %u blocks of %u KiB before NULL\n", n, CHUNK / 1024);
	while (chain) {
		void **next = *chain;
		kfree(chain);
		chain = next;
	}
	kalloc_trim(&kheap);
	/* Purging may leave the heap holding less than before (free holes
	 * merged into big purged blocks): every frame is accounted for. */
	KEXPECT(kpmm.stats.free_frames >= free0 &&
			(kpmm.stats.free_frames - free0) * PAGE_SIZE == committed0 - kheap.heap.stats.committed,
		"free frames %u after, %u before; the heap holds %u bytes, %u before",
		kpmm.stats.free_frames, free0, (unsigned)kheap.heap.stats.committed, (unsigned)committed0);
	KEXPECT(kheap_check() == 0, "heap inconsistent");
}

static void *__attribute__((noinline)) leaky_function(size_t n)
{
	void *p = kmalloc(n);

	__asm__ volatile("" : "+r"(p)); /* no tail call: the return address stays in here */
	return p;
}

struct leak_count {
	unsigned count;
	size_t bytes;
};

static void count_leaky(void *arg, const struct heap_block_info *b)
{
	struct leak_count *c = arg;
	uintptr_t at = (uintptr_t)b->caller;

	if (at > (uintptr_t)leaky_function && at < (uintptr_t)leaky_function + 64) {
		c->count++;
		c->bytes += b->requested;
	}
}

KTEST(kheap_reports_leaks_by_caller)
{
	uint32_t mark = kalloc_mark(&kheap);
	void *a = leaky_function(24), *b = leaky_function(3000), *c = kmalloc(7);
	struct leak_count found = { 0, 0 };

	kalloc_for_each_live(&kheap, mark, count_leaky, &found);
	KEXPECT(found.count == 2 && found.bytes == 3024,
		"found %u blocks (%u bytes) from leaky_function, expected 2 (3024)", found.count,
		(unsigned)found.bytes);
	kfree(a);
	kfree(b);
	kfree(c);
	found.count = 0;
	kalloc_for_each_live(&kheap, mark, count_leaky, &found);
	KEXPECT(found.count == 0, "freed blocks still reported");
}

KTEST(kheap_refuses_corruption)
{
	char local;
	uint64_t dbl = errors(HEAP_ERR_DOUBLE_FREE), inv = errors(HEAP_ERR_INVALID_FREE);
	uint64_t over = errors(HEAP_ERR_OVERRUN), uaf = errors(HEAP_ERR_USE_AFTER_FREE);
	uint64_t smash = errors(HEAP_ERR_SMASHED_HEADER);
	char *small = kmalloc(20), *big = kmalloc(3000);

	kfree(small);
	kfree(small);                       /* double free in a slab */
	kfree(big);
	kfree(big);                         /* double free in the heap */
	KEXPECT(errors(HEAP_ERR_DOUBLE_FREE) == dbl + 2, "double frees not refused");
	kfree(&local);                      /* never returned */
	char *p = kmalloc(40);
	kfree(p + 8);                       /* interior pointer, slab */
	char *q = kmalloc(5000);
	kfree(q + 16);                      /* interior pointer, heap */
	KEXPECT(errors(HEAP_ERR_INVALID_FREE) == inv + 3, "invalid frees not refused (%llu)",
		(unsigned long long)(errors(HEAP_ERR_INVALID_FREE) - inv));
	p[40] = 'X';                        /* overrun into the red zone */
	kfree(p);
	q[5000] = 'X';
	kfree(q);
	KEXPECT(errors(HEAP_ERR_OVERRUN) == over + 2, "overruns not refused");
	p[40] = (char)0xFD;                 /* repair, so they can be freed */
	q[5000] = (char)0xFD;
	kfree(p);
	kfree(q);
	char *r = kmalloc(3000);
	size_t saved = ((size_t *)r)[-3];
	((size_t *)r)[-3] = 12345;          /* the block header's size field */
	kfree(r);
	KEXPECT(errors(HEAP_ERR_SMASHED_HEADER) == smash + 1, "smashed header not refused");
	((size_t *)r)[-3] = saved;
	kfree(r);
	char *u = kmalloc(3000);
	kfree(u);
	u[100] = 'W';                       /* write after free */
	char *v = kmalloc(3000);
	KEXPECT(errors(HEAP_ERR_USE_AFTER_FREE) == uaf + 1, "write after free not reported");
	kfree(v);
	KEXPECT(kheap_check() == 0, "heap inconsistent after the refused operations");
}

/*
 * Sampling on for every allocation: each block sits alone at the end of a
 * vmalloc area, ending within its alignment of the guard page; it holds
 * what it should, kfree finds it, a write into the canary between its end
 * and the page's is refused, and every frame comes back.
 */
KTEST(kheap_sampled_blocks_touch_the_guard)
{
	static const size_t sizes[] = { 1, 100, 112, 4000, 4096, 9000 };
	static const size_t aligns[] = { 0, 16, 64, 256 };
	uint32_t free0 = kpmm.stats.free_frames;
	unsigned every = kheap.sample_every;
	uint64_t sampled = kheap.stats.sampled, bad = kheap.stats.bad_frees;

	kheap.sample_every = 1;
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (unsigned j = 0; j < sizeof(aligns) / sizeof(aligns[0]); j++) {
			size_t a = aligns[j] > HEAP_ALIGN ? aligns[j] : HEAP_ALIGN;
			uint8_t *p = aligns[j] ? kmalloc_aligned(sizes[i], aligns[j]) : kmalloc(sizes[i]);
			uintptr_t end = (uintptr_t)p + sizes[i], page_end = (end + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);
			KEXPECT(p && (uintptr_t)p % a == 0, "kmalloc(%u, align %u) = %p", (unsigned)sizes[i], (unsigned)a, p);
			KEXPECT(page_end - end < a, "block %p + %u ends %u bytes before its page's end", p,
				(unsigned)sizes[i], (unsigned)(page_end - end));
			KEXPECT(ksize(p) == sizes[i], "ksize %u for %u bytes", (unsigned)ksize(p), (unsigned)sizes[i]);
			memset(p, 0x5A, sizes[i]);
			if (page_end > end) {
				p[sizes[i]] = 'X'; /* into the canary */
				kfree(p);
				KEXPECT(kheap.stats.bad_frees == bad + 1, "overrun of the canary not refused");
				bad++;
				p[sizes[i]] = (uint8_t)0xFD;
			}
			kfree(p);
		}
	}
	kheap.sample_every = every;
	KEXPECT(kheap.stats.sampled >= sampled + 24, "only %u allocations sampled",
		(unsigned)(kheap.stats.sampled - sampled));
	KEXPECT(kheap.stats.bad_frees == bad, "a healthy sampled block refused");
	kalloc_trim(&kheap);
	KEXPECT(kpmm.stats.free_frames == free0, "free frames %u after, %u before", kpmm.stats.free_frames, free0);
	KEXPECT(kheap_check() == 0, "heap inconsistent");
}

/*
 * Writes past the end of a sampled block, byte by byte: the first byte of
 * the guard page must fault, and the report name the guard.  If it does
 * not fault, the test fails (and the harness, expecting a crash, too).
 */
KTEST_CRASH(kheap_sampled_overflow)
{
	unsigned every = kheap.sample_every;

	kheap.sample_every = 1;
	volatile uint8_t *p = kmalloc(100);
	kheap.sample_every = every;
	KEXPECT(p && ksize((void *)p) == 100, "kmalloc(100) = %p, not sampled", p);
	kprintf("    # block %p, 100 bytes; writing on past its end\n", p);
	for (unsigned i = 0; i < 100 + PAGE_SIZE; i++)
		p[i] = (uint8_t)i;
	KEXPECT(false, "wrote %u bytes past a sampled block without a fault", (unsigned)PAGE_SIZE);
}

static unsigned constructed;

static void ctor(void *obj)
{
	*(uint32_t *)obj = 0xC0C0C0C0;
	constructed++;
}

KTEST(kmem_cache_lifecycle)
{
	struct kmem_cache *c = kmem_cache_create("test-objects", 72, 8, ctor);
	void *objs[100];

	KEXPECT(c, "kmem_cache_create failed");
	for (unsigned i = 0; i < 100; i++) {
		objs[i] = kmem_cache_alloc(c);
		KEXPECT(objs[i] && *(uint32_t *)objs[i] == 0xC0C0C0C0, "object %u not constructed", i);
	}
	KEXPECT(constructed >= 100, "constructor ran %u times", constructed);
	KEXPECT(!kmem_cache_destroy(c), "destroyed with live objects");
	for (unsigned i = 0; i < 100; i++)
		kmem_cache_free(c, objs[i]);
	KEXPECT(c->stats.live == 0 && c->stats.slabs <= 1, "live %u slabs %u after freeing all",
		(unsigned)c->stats.live, (unsigned)c->stats.slabs);
	KEXPECT(slab_cache_check(c, NULL, 0) == 0, "cache inconsistent");
	KEXPECT(kmem_cache_destroy(c), "destroy of an empty cache refused");
}
