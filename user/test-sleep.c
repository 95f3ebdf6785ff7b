/*
 * test-sleep.c - the small scheduling calls and unknown numbers.
 *
 *  - nanosleep for 20 ms returns 0 (it cannot be timed from here: there is
 *    no clock call yet), and a zero-length sleep returns 0 too;
 *  - nanosleep with tv_nsec >= 1000000000 or negative: -EINVAL;
 *  - sched_yield returns 0, a hundred times in a row;
 *  - system calls 9999, 0x1000 and -1 do not exist: -ENOSYS, and the
 *    process carries on.
 */
#include "lib/ulib.h"

int main(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 }, zero = { 0, 0 };
	struct timespec bad = { 0, 1000 * 1000 * 1000 }, neg = { 0, -1 };
	int i;

	CHECK_EQ(sys_nanosleep(&ts, NULL), 0);
	CHECK_EQ(sys_nanosleep(&zero, NULL), 0);
	printf("ok: nanosleep 20 ms and 0 ms return 0\n");
	CHECK_EQ(sys_nanosleep(&bad, NULL), -EINVAL);
	CHECK_EQ(sys_nanosleep(&neg, NULL), -EINVAL);
	printf("ok: nanosleep with tv_nsec 1000000000 or -1: -EINVAL\n");

	for (i = 0; i < 100; i++)
		CHECK_EQ(sys_sched_yield(), 0);
	printf("ok: sched_yield returns 0\n");

	CHECK_EQ(syscall6(9999, 1, 2, 3, 4, 5, 6), -ENOSYS);
	CHECK_EQ(syscall6(0x1000, 0, 0, 0, 0, 0, 0), -ENOSYS);
	CHECK_EQ(syscall6(-1, 0, 0, 0, 0, 0, 0), -ENOSYS);
	printf("ok: system calls 9999, 0x1000 and -1: -ENOSYS\n");
	return checks_done("test-sleep");
}
