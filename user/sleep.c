/*
 * sleep.c - sleep N seconds (default 1), then exit 0, like sleep(1).
 *
 * A process that stays alive while someone looks at it: the monitor
 * session in make test starts `sleep 60 &` and lists it with ps and vmas,
 * which a program that finishes its work first could not be relied on
 * for on a loaded machine.
 */
#include "lib/ulib.h"

static long seconds_in(const char *s)
{
	long n = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (*s - '0');
	return n;
}

int main(int argc, char **argv, char **envp)
{
	struct timespec t = { argc > 1 ? seconds_in(argv[1]) : 1, 0 };

	(void)envp;
	if (sys_nanosleep(&t, NULL) != 0) {
		printf("sleep: nanosleep failed\n");
		return 1;
	}
	return 0;
}
