/*
 * ktest.h - in-kernel tests that report in KTAP over the serial line.
 *
 * A test is a function declared with KTEST(name) anywhere in the kernel; the
 * linker collects them (section .ktests).  Inside, KEXPECT(cond, fmt, ...)
 * fails the test with a diagnostic that says what was expected and what was
 * seen, and returns from it.  ktest_skip(why) marks it skipped.
 *
 * Booting with "test" on the command line runs every test except the
 * crashing ones; "test=NAME" runs only NAME (crash tests such as
 * KTEST_CRASH(fault_ud) are run this way, and the harness checks the
 * report).  The run prints "KTAP version 1", the plan "1..N", one
 * "ok"/"not ok" line per test, and ends QEMU through isa-debug-exit:
 * status 0 when all passed, 1 otherwise.
 */
#ifndef KERNEL_KTEST_H
#define KERNEL_KTEST_H

#include <stdbool.h>

#include "printf.h"

struct ktest {
	const char *name;
	void (*run)(void);
	bool crash; /* ends the run on purpose: only run when named */
};

#define KTEST_DEFINE(name_, crash_)                                              \
	static void name_(void);                                                 \
	static const struct ktest ktest_##name_                                  \
		__attribute__((used, section(".ktests"), aligned(4))) = { #name_, name_, crash_ }; \
	static void name_(void)

#define KTEST(name) KTEST_DEFINE(name, false)
#define KTEST_CRASH(name) KTEST_DEFINE(name, true)

void ktest_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ktest_skip(const char *why);
bool ktest_failed(void);

#define KEXPECT(cond, ...)                                             \
	do {                                                           \
		if (!(cond)) {                                         \
			ktest_fail(__FILE__, __LINE__, __VA_ARGS__);   \
			return;                                        \
		}                                                      \
	} while (0)

/* Run the tests the command line asks for, then end the machine. */
__attribute__((noreturn)) void ktest_main(void);

#endif
