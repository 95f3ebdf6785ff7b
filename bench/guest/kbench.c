/*
 * kbench.c - the in-guest benchmark runner (see kernel/kbench.h).
 */
#include "arch/x86/io.h"
#include "arch/x86/machine.h"
#include "kernel/kbench.h"
#include "kernel/printf.h"

void bench_tlb(void);
void bench_map(void);
void bench_lookup(void);
void bench_pmm(void);

uint64_t kbench_median(unsigned runs, uint64_t (*fn)(void *arg), void *arg)
{
	uint64_t t[64];

	if (runs > 64)
		runs = 64;
	for (unsigned i = 0; i < runs; i++) {
		uint64_t v = fn(arg);
		unsigned j = i;
		for (; j > 0 && t[j - 1] > v; j--)
			t[j] = t[j - 1];
		t[j] = v;
	}
	return t[runs / 2];
}

void kbench_main(void)
{
	kprintf("# in-guest benchmarks (rdtsc ticks; under -icount shift=0 these are instructions)\n");
	bench_map();
	bench_lookup();
	bench_tlb();
	bench_pmm();
	kprintf("# done\n");
	machine_exit(EXIT_PASS);
}
