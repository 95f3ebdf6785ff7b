/* ktest.c - the KTAP runner behind ktest.h. */
#include "ktest.h"

#include <stdarg.h>
#include <string.h>

#include "arch/x86/machine.h"
#include "bootinfo.h"

extern const struct ktest __ktests_start[], __ktests_end[];

static const struct ktest *current;
static bool failed;
static const char *skipped;

void ktest_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	kprintf("    # %s: %s:%d: ", current->name, file, line);
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	failed = true;
}

void ktest_skip(const char *why)
{
	skipped = why;
}

bool ktest_failed(void)
{
	return failed;
}

/* test=NAME runs that test, test=PREFIX* the tests whose names start so. */
static bool selected(const struct ktest *t, const char *only)
{
	size_t n = strlen(only);

	if (n && only[n - 1] == '*')
		return !t->crash && !strncmp(t->name, only, n - 1);
	return n ? !strcmp(t->name, only) : !t->crash;
}

void ktest_main(void)
{
	char only[64] = "";
	unsigned planned = 0, number = 0, failures = 0;

	cmdline_get("test", only, sizeof(only));
	for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
		planned += selected(t, only);
	kprintf("KTAP version 1\n1..%u\n", planned);
	for (const struct ktest *t = __ktests_start; t < __ktests_end; t++) {
		if (!selected(t, only))
			continue;
		current = t;
		failed = false;
		skipped = NULL;
		t->run();
		number++;
		failures += failed;
		if (skipped && !failed)
			kprintf("ok %u %s # SKIP %s\n", number, t->name, skipped);
		else
			kprintf("%sok %u %s\n", failed ? "not " : "", number, t->name);
	}
	if (planned == 0) {
		kprintf("# no test named '%s'\n", only);
		failures = 1;
	}
	kprintf("# %u tests, %u failed\n", number, failures);
	machine_exit(failures ? EXIT_FAIL : EXIT_PASS);
}
