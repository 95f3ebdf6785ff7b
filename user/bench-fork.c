/*
 * bench-fork.c - what user memory costs, in cycles (rdtsc, which ring 3 may
 * read): a demand-zero fault, a copy-on-write fault, and fork of a process
 * with 64 MiB touched.  bench/run.sh boots it with init=bench-fork in the
 * normal kernel and in one built with FORK_EAGER (fork copies every page),
 * under -icount shift=0 so that cycles are instruction counts and repeat.
 *
 * Each fault is timed alone (rdtsc, one write, rdtsc) and reported as the
 * median over many pages, next to the same write to a page already mapped,
 * so the fault's own cost is the difference.  Output lines are
 * "bench: NAME VALUE" for bench/run.sh to tabulate.
 */
#include "lib/ulib.h"

#define MIB (1024ul * 1024)
#define BIG (64 * MIB)
#define SAMPLES 512
#define FORKS 5

static uint32_t samples[SAMPLES];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint32_t median(uint32_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) /* insertion sort: n is small */
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint32_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* Median cycles of one write to each of SAMPLES pages from `base`. */
static uint32_t time_page_writes(volatile char *base, char value)
{
	for (unsigned i = 0; i < SAMPLES; i++) {
		uint64_t t0 = rdtsc();
		base[(unsigned long)i * PAGE_SIZE] = value;
		samples[i] = (uint32_t)(rdtsc() - t0);
	}
	return median(samples, SAMPLES);
}

static void report(const char *name, uint32_t value)
{
	printf("bench: %s %u\n", name, value);
}

static void touch_all(char *base, unsigned long len)
{
	for (unsigned long off = 0; off < len; off += PAGE_SIZE)
		base[off] = 1;
}

int main(void)
{
	char *small = (char *)sys_mmap_anon(SAMPLES * PAGE_SIZE, PROT_READ | PROT_WRITE);
	char *big = (char *)sys_mmap_anon(BIG, PROT_READ | PROT_WRITE);
	uint32_t fork_cycles[FORKS];
	int status;

	CHECK(!sys_failed((long)small) && !sys_failed((long)big));
	report("demand_zero_fault", time_page_writes(small, 1));
	report("write_mapped_page", time_page_writes(small, 2));

	touch_all(big, BIG);
	for (unsigned i = 0; i < FORKS; i++) {
		uint64_t t0 = rdtsc();
		long pid = sys_fork();
		if (pid == 0)
			sys_exit_group(0);
		fork_cycles[i] = (uint32_t)(rdtsc() - t0);
		CHECK_EQ(sys_waitpid(pid, &status, 0), pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	report("fork_64MiB_touched", median(fork_cycles, FORKS));

	/* The child's writes each copy a shared frame (or, eager, find it copied). */
	long pid = sys_fork();
	if (pid == 0) {
		report("cow_fault_child_write", time_page_writes(big, 3));
		sys_exit_group(0);
	}
	CHECK_EQ(sys_waitpid(pid, &status, 0), pid);
	/* The child is gone: the parent's write finds its frames unshared (no copy). */
	report("cow_fault_sole_owner", time_page_writes(big, 4));
	return 0;
}
