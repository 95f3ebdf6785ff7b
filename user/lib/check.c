/*
 * check.c - the failure reports and the pass count behind check.h.
 */
#include "lib/check.h"
#include "lib/printf.h"
#include "lib/syscall.h"

int checks_passed;

void check_fail(const char *file, int line, const char *expr)
{
	dprintf(2, "FAIL %s:%d: %s\n", file, line, expr);
	sys_exit_group(1);
}

void check_fail_eq(const char *file, int line, const char *a, const char *b, long va, long vb)
{
	dprintf(2, "FAIL %s:%d: %s == %s (%ld 0x%lx != %ld 0x%lx)\n",
		file, line, a, b, va, (unsigned long)va, vb, (unsigned long)vb);
	sys_exit_group(1);
}

int checks_done(const char *name)
{
	printf("%s: all %d checks passed\n", name, checks_passed);
	return 0;
}
