/*
 * bench_pmm.c - what the frame allocators cost inside the guest: the bitmap
 * reference and the hbitmap allocator, in rdtsc ticks per operation, which
 * under -icount shift=0 are guest instructions (see kernel/kbench.h).
 *
 * The machines are simulated as on the host (bench/bench_pmm.c): a memory
 * map of one range [0, SIZE), 16 MiB to 4 GiB, and a PMM over it.  Only the
 * PMM's metadata lives in the guest -- the frames it hands out are numbers,
 * never touched -- so a 128 MiB guest can describe 4 GiB.  The storage (the
 * bitmap, the index, the list of held frames) comes from kpmm, in the direct
 * map.
 *
 * Single frames: every usable frame is allocated, then random frames are
 * freed in nested steps so the free ones are scattered: full-1, 99%, 90%,
 * 50% occupancy, as on the host; at each step PAIRS pairs of pmm_free(random
 * held frame) + pmm_alloc() are timed, picks drawn before the timing.  The
 * figure includes the few instructions of list bookkeeping per pair.
 *
 * 4 MiB blocks: at 90% occupancy one aligned free 4 MiB run sits at 3/4 of
 * memory (planted before the scattering), and pmm_alloc_contig(1024, 1024)
 * and pmm_free_contig() are timed separately, median of RUNS calls.
 *
 * Every call is checked; a wrong answer panics, which fails `make bench`.
 */
#include <string.h>

#include "arch/x86/io.h"
#include "arch/x86/memlayout.h"
#include "kernel/kbench.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "kernel/printf.h"
#include "mm/pmm.h"

#define MIB (1ull << 20)
#define PAIRS 256
#define RUNS 15
#define BLOCK 1024 /* frames in a 4 MiB block */
#define MAX_FRAMES (1u << 20)

void bench_pmm(void);

static const uint64_t sizes[] = { 16 * MIB, 256 * MIB, 1024 * MIB, 4096 * MIB };
static const struct { const char *name; unsigned permille; } steps[] = {
	{ "full-1", 1000 }, { "99%", 990 }, { "90%", 900 }, { "50%", 500 },
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

/* The simulated machine and what the benchmark holds of it. */
static struct {
	struct memmap map;
	struct pmm pmm;
	uint32_t *bitmap, *index;
	size_t bitmap_bytes, index_bytes; /* enough for the largest machine */
	paddr_t *held;       /* held[0 .. keep) the planted run, then the pickable frames */
	uint32_t nheld, keep, run;
} sim;

static uint64_t rng_state = 0x5EED;

/* splitmix64, and an index in [0, n) by multiply-shift (no 64-bit division). */
static uint32_t rnd_below(uint32_t n)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return (uint32_t)(((z ^ (z >> 31)) >> 32) * n >> 32);
}

/* `bytes` of kpmm frames in the direct map, for the benchmark's own storage. */
static void *storage(uint32_t bytes)
{
	uint32_t frames = (bytes + FRAME_SIZE - 1) / FRAME_SIZE;
	paddr_t at = pmm_alloc_contig(&kpmm, frames, 1);

	if (!at || (uint64_t)at + frames * FRAME_SIZE > DIRECT_MAP_SIZE)
		panic("bench_pmm: no %u frames of storage in the direct map", (unsigned)frames);
	return P2V(at);
}

static void one_range_map(uint64_t size)
{
	memmap_init(&sim.map);
	memmap_add(&sim.map, 0, size, MB_MEMORY_AVAILABLE);
	memmap_normalize(&sim.map);
}

/* Storage for the metadata of the largest machine. */
static void take_storage(void)
{
	one_range_map(sizes[NSIZES - 1]);
	sim.bitmap_bytes = pmm_bitmap_bytes(&sim.map);
	sim.index_bytes = pmm_index_bytes(&sim.map);
	sim.bitmap = storage(sim.bitmap_bytes);
	sim.index = storage(sim.index_bytes);
	sim.held = storage(MAX_FRAMES * sizeof(paddr_t));
}

/* A machine of `size` bytes, every usable frame allocated, the planted run at the front. */
static void setup(uint64_t size, bool indexed)
{
	one_range_map(size);
	if (pmm_init(&sim.pmm, &sim.map, sim.bitmap, sim.bitmap_bytes) != PMM_OK ||
	    (indexed && pmm_attach_index(&sim.pmm, sim.index, sim.index_bytes) != PMM_OK))
		panic("bench_pmm: cannot set up a %u MiB machine", (unsigned)(size / MIB));
	sim.nheld = 0;
	for (paddr_t f; (f = pmm_alloc(&sim.pmm)) != 0;)
		sim.held[sim.nheld++] = f;
	/* Fresh next fit hands out ascending frames: frame f sits at held[f - first]. */
	uint32_t first = sim.held[0] >> FRAME_SHIFT;
	sim.run = sim.pmm.nframes / 4 * 3 / BLOCK * BLOCK;
	sim.keep = size >= 256 * MIB ? BLOCK : 0;
	for (uint32_t i = 0; i < sim.keep; i++) {
		paddr_t t = sim.held[i];
		sim.held[i] = sim.held[sim.run - first + i];
		sim.held[sim.run - first + i] = t;
	}
}

/* Free random held frames (never the planted run) down to `permille` occupancy. */
static void scatter_to(unsigned permille)
{
	uint32_t usable = sim.pmm.stats.free_frames + sim.pmm.stats.used_frames;
	uint32_t target = (uint32_t)(((uint64_t)usable * permille + 500) / 1000);

	while (sim.nheld > target && sim.nheld > sim.keep + 1) {
		uint32_t k = sim.keep + rnd_below(sim.nheld - sim.keep);
		if (pmm_free(&sim.pmm, sim.held[k]) != PMM_OK)
			panic("bench_pmm: scatter: free of 0x%x refused", sim.held[k]);
		sim.held[k] = sim.held[--sim.nheld];
	}
}

/* Mean ticks of PAIRS pairs pmm_free(random held frame) + pmm_alloc(). */
static uint64_t time_pairs(void)
{
	static uint32_t pick[PAIRS];
	uint32_t last = sim.nheld - 1;
	unsigned bad = 0;

	for (unsigned i = 0; i < PAIRS; i++)
		pick[i] = sim.keep + rnd_below(sim.nheld - sim.keep);
	uint64_t t0 = rdtsc();
	for (unsigned i = 0; i < PAIRS; i++) {
		paddr_t victim = sim.held[pick[i]];
		sim.held[pick[i]] = sim.held[last];
		bad |= pmm_free(&sim.pmm, victim) != PMM_OK;
		sim.held[last] = pmm_alloc(&sim.pmm);
		bad |= sim.held[last] == 0;
	}
	uint64_t t = rdtsc() - t0;
	if (bad)
		panic("bench_pmm: a pair failed");
	return t / PAIRS;
}

static uint64_t block_alloc(void *arg)
{
	uint64_t t0 = rdtsc();
	paddr_t at = pmm_alloc_contig(&sim.pmm, BLOCK, BLOCK);
	uint64_t t = rdtsc() - t0;

	if (at != sim.run << FRAME_SHIFT || pmm_free_contig(&sim.pmm, at, BLOCK) != PMM_OK)
		panic("bench_pmm: 4 MiB block at 0x%x, expected 0x%x", at, sim.run << FRAME_SHIFT);
	(void)arg;
	return t;
}

static uint64_t block_free(void *arg)
{
	paddr_t at = pmm_alloc_contig(&sim.pmm, BLOCK, BLOCK);
	uint64_t t0 = rdtsc();
	enum pmm_result r = pmm_free_contig(&sim.pmm, at, BLOCK);
	uint64_t t = rdtsc() - t0;

	if (at != sim.run << FRAME_SHIFT || r != PMM_OK)
		panic("bench_pmm: freeing the 4 MiB block failed");
	(void)arg;
	return t;
}

/* Free the planted run and drop it from the held list: it is the one free block. */
static void plant_run(void)
{
	if (pmm_free_contig(&sim.pmm, sim.run << FRAME_SHIFT, BLOCK) != PMM_OK)
		panic("bench_pmm: cannot free the planted run");
	memmove(sim.held, sim.held + sim.nheld - sim.keep, sim.keep * sizeof(paddr_t));
	sim.nheld -= sim.keep;
	sim.keep = 0;
}

struct results {
	uint64_t pair[NSTEPS];
	uint64_t block_alloc, block_free; /* 0: not measured */
};

static void measure(uint64_t size, bool indexed, struct results *r)
{
	setup(size, indexed);
	r->block_alloc = r->block_free = 0;
	for (unsigned s = 0; s < NSTEPS; s++) {
		scatter_to(steps[s].permille);
		r->pair[s] = time_pairs();
		if (steps[s].permille == 900 && sim.keep) {
			plant_run();
			r->block_alloc = kbench_median(RUNS, block_alloc, NULL);
			r->block_free = kbench_median(RUNS, block_free, NULL);
		}
	}
}

void bench_pmm(void)
{
	static struct results r[NSIZES][2];

	take_storage();
	for (unsigned i = 0; i < NSIZES; i++)
		for (unsigned a = 0; a < 2; a++)
			measure(sizes[i], a == 1, &r[i][a]);

	kprintf("\n## frame allocators: pmm_free(random frame) + pmm_alloc() "
		"(ticks per pair, mean of %u)\n\n", PAIRS);
	kprintf("| memory | occupancy | bitmap | hbitmap |\n| --- | --- | ---: | ---: |\n");
	for (unsigned i = 0; i < NSIZES; i++)
		for (unsigned s = 0; s < NSTEPS; s++)
			kprintf("| %u MiB | %s | %llu | %llu |\n", (unsigned)(sizes[i] / MIB),
				steps[s].name, (unsigned long long)r[i][0].pair[s],
				(unsigned long long)r[i][1].pair[s]);
	kprintf("\n## a 4 MiB-aligned 4 MiB block at 90%% occupancy, the free one at 3/4 of memory "
		"(ticks per call, median of %u)\n\n", RUNS);
	kprintf("| memory | bitmap alloc_contig | bitmap free_contig | hbitmap alloc_contig "
		"| hbitmap free_contig |\n| --- | ---: | ---: | ---: | ---: |\n");
	for (unsigned i = 0; i < NSIZES; i++)
		if (r[i][0].block_alloc)
			kprintf("| %u MiB | %llu | %llu | %llu | %llu |\n", (unsigned)(sizes[i] / MIB),
				(unsigned long long)r[i][0].block_alloc,
				(unsigned long long)r[i][0].block_free,
				(unsigned long long)r[i][1].block_alloc,
				(unsigned long long)r[i][1].block_free);
}
