/*
 * check.h - self-checking for test programs.
 *
 * CHECK(cond) and CHECK_EQ(a, b) count a passed check, or print
 *     FAIL file:line: expr (values)
 * to fd 2 and end the process with exit status 1.  CHECK_EQ compares its
 * operands as longs (pointers, ints and system-call results alike) and
 * prints both in decimal and hex, so "-14" reads as -EFAULT and an address
 * reads as an address.  In a forked child a failed check ends only the
 * child, whose parent sees exit status 1.
 *
 * A test ends with `return checks_done("test-name");`, which prints the
 * number of checks that passed and returns 0.
 */
#ifndef USER_LIB_CHECK_H
#define USER_LIB_CHECK_H

extern int checks_passed;

void check_fail(const char *file, int line, const char *expr) __attribute__((noreturn));
void check_fail_eq(const char *file, int line, const char *a, const char *b, long va, long vb)
	__attribute__((noreturn));
int checks_done(const char *name);

#define CHECK(cond)							\
	do {								\
		if (!(cond))						\
			check_fail(__FILE__, __LINE__, #cond);		\
		checks_passed++;					\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long check_a_ = (long)(a), check_b_ = (long)(b);	\
		if (check_a_ != check_b_)				\
			check_fail_eq(__FILE__, __LINE__, #a, #b,	\
				      check_a_, check_b_);		\
		checks_passed++;					\
	} while (0)

#endif
