/* check.c - the runner behind check.h, and the host's mm_warn(). */
#include "check.h"

#include <stdarg.h>

int check_failed, check_cases, check_failures;
bool check_echo_warnings;
static char warning[512];
static unsigned nwarnings;

void mm_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(warning, sizeof(warning), fmt, ap);
	va_end(ap);
	nwarnings++;
	if (check_echo_warnings)
		printf("# warn: %s\n", warning);
}

const char *last_warning(void)
{
	return warning;
}

unsigned warnings_seen(void)
{
	return nwarnings;
}

void reset_warnings(void)
{
	warning[0] = '\0';
	nwarnings = 0;
}

void check_run(const char *name, void (*fn)(void))
{
	check_failed = 0;
	reset_warnings();
	fn();
	check_cases++;
	if (check_failed)
		check_failures++;
	printf("%sok %d %s\n", check_failed ? "not " : "", check_cases, name);
	fflush(stdout);
}

static uint64_t random_state;

void check_seed(uint64_t seed)
{
	random_state = seed;
}

uint64_t check_random(void)
{
	uint64_t z = (random_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t check_random_below(uint64_t n)
{
	return check_random() % n;
}

const struct check_op *check_pick_op(const struct check_op *ops, unsigned n, bool filling)
{
	uint64_t total = 0, pick;

	for (unsigned i = 0; i < n; i++)
		total += filling ? ops[i].fill : ops[i].drain;
	pick = check_random_below(total);
	for (unsigned i = 0;; i++) {
		unsigned w = filling ? ops[i].fill : ops[i].drain;
		if (pick < w)
			return &ops[i];
		pick -= w;
	}
}

int check_done(void)
{
	printf("1..%d\n", check_cases);
	return check_failures ? 1 : 0;
}
