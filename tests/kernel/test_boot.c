/*
 * test_boot.c - the kernel's basics: printf, the memory map, exceptions.
 *
 * The crash tests (KTEST_CRASH) end the run on purpose and are started one
 * per boot with "test=NAME"; the harness checks the exception report.
 */
#include <string.h>

#include "arch/x86/memlayout.h"
#include "kernel/ktest.h"
#include "kernel/memory.h"

#define EXPECT_FORMAT(want, ...)                                                  \
	do {                                                                      \
		char got[64];                                                     \
		ksnprintf(got, sizeof(got), __VA_ARGS__);                         \
		KEXPECT(!strcmp(got, want), "expected \"%s\", got \"%s\"", want, got); \
	} while (0)

KTEST(printf_formats)
{
	EXPECT_FORMAT("-42 42 2a 2A", "%d %u %x %X", -42, 42u, 42u, 42u);
	EXPECT_FORMAT("0xc0100000", "%p", (void *)0xC0100000);
	EXPECT_FORMAT("[ab   ][   ab][007]", "[%-5s][%5s][%03d]", "ab", "ab", 7);
	EXPECT_FORMAT("x=y", "%c=%c", 'x', 'y');
	EXPECT_FORMAT("123456789abcdef0 18446744073709551615", "%llx %llu",
		      0x123456789abcdef0ull, 18446744073709551615ull);
	EXPECT_FORMAT("-9223372036854775808", "%lld", (long long)(-9223372036854775807ll - 1));
	EXPECT_FORMAT("100%", "100%%");
	char small[4];
	KEXPECT(ksnprintf(small, sizeof(small), "%s", "truncated") == 9 && !strcmp(small, "tru"),
		"truncation gave \"%s\"", small);
}

KTEST(memmap_normalized)
{
	uint64_t below = 0;

	KEXPECT(kmemmap.count > 0, "no usable memory");
	for (unsigned i = 0; i < kmemmap.count; i++) {
		const struct mem_range *r = &kmemmap.usable[i];
		KEXPECT(r->start < r->end, "range %u empty", i);
		KEXPECT(r->start % PAGE_SIZE == 0 && r->end % PAGE_SIZE == 0,
			"range %u 0x%llx-0x%llx not page aligned", i, (unsigned long long)r->start,
			(unsigned long long)r->end);
		KEXPECT(i == 0 || r->start > kmemmap.usable[i - 1].end,
			"range %u overlaps or touches the one before", i);
		if (r->start < FOUR_GIB)
			below += (r->end < FOUR_GIB ? r->end : FOUR_GIB) - r->start;
	}
	KEXPECT(below == kmemmap.usable_below_4g, "ranges add up to %llu, total says %llu",
		(unsigned long long)below, (unsigned long long)kmemmap.usable_below_4g);
	kprintf("    # %lluK usable below 4 GiB, %lluK above\n",
		(unsigned long long)kmemmap.usable_below_4g >> 10,
		(unsigned long long)kmemmap.usable_above_4g >> 10);
}

/* Crash tests: each must end in an exception report and a panic. */
KTEST_CRASH(fault_invalid_opcode)
{
	__asm__ volatile("ud2");
}

KTEST_CRASH(fault_null_dereference)
{
	/* Page 0 is unmapped once kmain drops the boot identity map. */
	kprintf("    # read NULL: %x\n", *(volatile uint32_t *)0);
}

KTEST_CRASH(fault_divide_error)
{
	/* In assembly: gcc would turn a C division 1/x into a comparison. */
	uint32_t quotient, zero = 0;
	__asm__ volatile("xor %%edx, %%edx; divl %1" : "=a"(quotient) : "r"(zero), "a"(1) : "edx");
	kprintf("    # %u\n", quotient);
}
