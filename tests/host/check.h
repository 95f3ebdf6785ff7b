/*
 * check.h - a tiny TAP test framework for the host tests.
 *
 * Each test program runs its cases with RUN(fn); a case fails as soon as a
 * CHECK inside it fails, printing what was expected and what was seen.  The
 * program prints TAP ("ok N name" / "not ok N name"), then "1..N", and exits
 * non-zero if any case failed, so tests/run.sh can count the results.
 *
 * mm_warn() messages from the code under test are captured: last_warning()
 * returns the most recent one and warnings_seen() how many there were, so a
 * test can check that a bad call was refused for the right reason.
 */
#ifndef TESTS_HOST_CHECK_H
#define TESTS_HOST_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int check_failed;       /* the current case failed */
extern int check_cases, check_failures;
extern bool check_echo_warnings; /* print mm_warn lines as TAP diagnostics */

const char *last_warning(void);
unsigned warnings_seen(void);
void reset_warnings(void);

#define CHECK(cond, ...)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			printf("# %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                      \
			printf("\n");                                             \
			check_failed = 1;                                         \
			return;                                                   \
		}                                                                 \
	} while (0)

#define CHECK_EQ(a, b)                                                              \
	CHECK((unsigned long long)(a) == (unsigned long long)(b),                   \
	      "expected %s == 0x%llx, got 0x%llx", #a, (unsigned long long)(b),      \
	      (unsigned long long)(a))

#define CHECK_WARNED(substr)                                                          \
	CHECK(strstr(last_warning(), (substr)) != NULL,                             \
	      "expected a warning containing \"%s\", last was \"%s\"", (substr),      \
	      last_warning())

/*
 * A repeatable random sequence (splitmix64: small, and the same on every
 * host), so a randomized test that fails can print its seed and be rerun.
 */
void check_seed(uint64_t seed);
uint64_t check_random(void);
uint64_t check_random_below(uint64_t n); /* 0 .. n-1; n > 0 */

/* A weighted choice of operation for randomized tests that fill, then drain. */
struct check_op {
	const char *name;
	void (*fn)(void);
	unsigned fill, drain; /* weights while filling up / draining */
};

const struct check_op *check_pick_op(const struct check_op *ops, unsigned n, bool filling);

#define RUN(fn) check_run(#fn, fn)
void check_run(const char *name, void (*fn)(void));

/* Print the plan and return the exit status for main(). */
int check_done(void);

#endif
