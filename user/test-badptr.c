/*
 * test-badptr.c - bad pointers given to system calls give -EFAULT and the
 * process lives on: the kernel copies user memory only through helpers
 * that check the address and survive a fault, never faulting itself.
 *
 *  - write(1, NULL, 10), write(1, 0xC0000000, 10), write(1, 0xC0100000,
 *    10) (kernel text), write(1, an unmapped page, 10): -EFAULT;
 *  - read(0, NULL, 10), read(0, main's text (read-only), 10), read(0,
 *    0xC0000000, 10): -EFAULT.  Needs data on fd 0 on Linux, which checks
 *    the buffer only when it copies (run_host.sh gives it a file); our
 *    kernel should check before it waits for console input;
 *  - waitpid(-1, 0xC0000000, 0) with a child that has exited: -EFAULT; the
 *    child is then reaped by a second waitpid (our kernel checks the
 *    pointer before it reaps), or already gone (-ECHILD: Linux reaps, then
 *    fails to store the status);
 *  - nanosleep(NULL) and nanosleep(0xC0000000): -EFAULT;
 *  - write of 200 bytes whose first 40 are the end of a mapped page and the
 *    rest an unmapped one: our kernel answers -EFAULT (nothing written);
 *    Linux answers -EFAULT on a pipe, but writes the readable part to a
 *    file and returns the short count 39.  Both are accepted here, and the
 *    test prints which it saw.
 * After each, a getpid() shows the process is alive and well.
 */
#include "lib/ulib.h"

static const char tail[] = "test-badptr: a half-valid buffer's end\n";

int main(void)
{
	long me = sys_getpid(), map, pid, r;
	int status;
	char *half;

	map = sys_mmap_anon(2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	CHECK(!sys_failed(map));
	CHECK_EQ(sys_munmap((void *)(map + PAGE_SIZE), PAGE_SIZE), 0);
	/* map: one page mapped, the next one not */

	CHECK_EQ(sys_write(1, NULL, 10), -EFAULT);
	CHECK_EQ(sys_write(1, (void *)0xc0000000, 10), -EFAULT);
	CHECK_EQ(sys_write(1, (void *)0xc0100000, 10), -EFAULT);
	CHECK_EQ(sys_write(1, (void *)(map + PAGE_SIZE), 10), -EFAULT);
	CHECK_EQ(sys_getpid(), me);
	printf("ok: write from NULL, 0xc0000000, 0xc0100000, an unmapped page: -EFAULT\n");

	CHECK_EQ(sys_read(0, NULL, 10), -EFAULT);
	CHECK_EQ(sys_read(0, (void *)(uintptr_t)main, 10), -EFAULT);
	CHECK_EQ(sys_read(0, (void *)0xc0000000, 10), -EFAULT);
	CHECK_EQ(sys_getpid(), me);
	printf("ok: read into NULL, main's text, 0xc0000000: -EFAULT\n");

	pid = sys_fork();
	CHECK(!sys_failed(pid));
	if (pid == 0)
		sys_exit_group(5);
	CHECK_EQ(sys_waitpid(-1, (int *)0xc0000000, 0), -EFAULT);
	status = -1;
	r = sys_waitpid(-1, &status, 0);
	if (r == -ECHILD) {
		printf("ok: waitpid to 0xc0000000: -EFAULT (the child was reaped anyway, as on Linux)\n");
	} else {
		CHECK_EQ(r, pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5);
		printf("ok: waitpid to 0xc0000000: -EFAULT, the child reaped by the next waitpid\n");
	}
	CHECK_EQ(sys_waitpid(-1, &status, 0), -ECHILD);

	CHECK_EQ(sys_nanosleep(NULL, NULL), -EFAULT);
	CHECK_EQ(sys_nanosleep((void *)0xc0000000, NULL), -EFAULT);
	printf("ok: nanosleep(NULL), nanosleep(0xc0000000): -EFAULT\n");

	half = (char *)(map + PAGE_SIZE - (sizeof(tail) - 1));
	memcpy(half, tail, sizeof(tail) - 1);
	r = sys_write(1, half, 200);
	CHECK(r == -EFAULT || r == (long)sizeof(tail) - 1);
	printf("ok: write of a half-valid buffer: %s\n",
	       r == -EFAULT ? "-EFAULT" : "short count (the readable part), as on Linux");

	CHECK_EQ(sys_getpid(), me);
	CHECK_EQ(sys_munmap((void *)map, PAGE_SIZE), 0);
	return checks_done("test-badptr");
}
