/*
 * syscall.c - the typed system-call wrappers declared in syscall.h, each a
 * call of syscall6 (syscall.S) with its Linux number.  Nothing is checked
 * or translated here: tests want to see the kernel's raw answers.
 */
#include "lib/syscall.h"

#define L(x) ((long)(x))

void sys_exit(int status)
{
	syscall6(SYS_exit, status, 0, 0, 0, 0, 0);
	for (;;)
		;
}

void sys_exit_group(int status)
{
	syscall6(SYS_exit_group, status, 0, 0, 0, 0, 0);
	for (;;)
		;
}

long sys_fork(void)
{
	return syscall6(SYS_fork, 0, 0, 0, 0, 0, 0);
}

long sys_read(int fd, void *buf, unsigned long count)
{
	return syscall6(SYS_read, fd, L(buf), L(count), 0, 0, 0);
}

long sys_write(int fd, const void *buf, unsigned long count)
{
	return syscall6(SYS_write, fd, L(buf), L(count), 0, 0, 0);
}

long sys_waitpid(long pid, int *status, int options)
{
	return syscall6(SYS_waitpid, pid, L(status), options, 0, 0, 0);
}

long sys_getpid(void)
{
	return syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
}

long sys_getppid(void)
{
	return syscall6(SYS_getppid, 0, 0, 0, 0, 0, 0);
}

long sys_kill(long pid, int sig)
{
	return syscall6(SYS_kill, pid, sig, 0, 0, 0, 0);
}

long sys_brk(void *addr)
{
	return syscall6(SYS_brk, L(addr), 0, 0, 0, 0, 0);
}

long sys_mmap2(void *addr, unsigned long len, int prot, int flags, int fd, unsigned long pgoff)
{
	return syscall6(SYS_mmap2, L(addr), L(len), prot, flags, fd, L(pgoff));
}

long sys_mmap_anon(unsigned long len, int prot)
{
	return sys_mmap2(0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

long sys_munmap(void *addr, unsigned long len)
{
	return syscall6(SYS_munmap, L(addr), L(len), 0, 0, 0, 0);
}

long sys_mprotect(void *addr, unsigned long len, int prot)
{
	return syscall6(SYS_mprotect, L(addr), L(len), prot, 0, 0, 0);
}

long sys_sched_yield(void)
{
	return syscall6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
}

long sys_nanosleep(const struct timespec *req, struct timespec *rem)
{
	return syscall6(SYS_nanosleep, L(req), L(rem), 0, 0, 0, 0);
}
