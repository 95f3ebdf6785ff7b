/*
 * linux.h - the parts of the Linux i386 ABI our user programs rely on:
 * system-call numbers, errno values, mmap/mprotect flags, the wait status
 * encoding and struct timespec.  The numbers are Linux's own
 * (<asm/unistd_32.h>, <asm-generic/errno-base.h>, <bits/waitstatus.h>), so
 * a program built against this header runs unchanged on the host Linux and
 * on our kernel.
 */
#ifndef USER_LIB_LINUX_H
#define USER_LIB_LINUX_H

/* System-call numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
#define SYS_exit		1
#define SYS_fork		2
#define SYS_read		3
#define SYS_write		4
#define SYS_waitpid		7
#define SYS_getpid		20
#define SYS_kill		37
#define SYS_brk			45
#define SYS_getppid		64
#define SYS_munmap		91
#define SYS_mprotect		125
#define SYS_sched_yield		158
#define SYS_nanosleep		162
#define SYS_mmap2		192
#define SYS_exit_group		252

/* errno values: a failing call returns the negated value. */
#define ESRCH		3
#define EFAULT		14
#define ENOMEM		12
#define EINVAL		22
#define ENOSYS		38
#define EAGAIN		11
#define ECHILD		10

/* A system-call result in -4095..-1 is an error (-errno). */
#define MAX_ERRNO	4095
static inline int sys_failed(long ret)
{
	return (unsigned long)ret >= (unsigned long)-MAX_ERRNO;
}

/* mmap2 / mprotect. */
#define PROT_NONE	0x0
#define PROT_READ	0x1
#define PROT_WRITE	0x2
#define PROT_EXEC	0x4
#define MAP_SHARED	0x01
#define MAP_PRIVATE	0x02
#define MAP_FIXED	0x10
#define MAP_ANONYMOUS	0x20

#define PAGE_SIZE	4096u

/* Signals a test expects to see. */
#define SIGILL		4
#define SIGTRAP		5
#define SIGFPE		8
#define SIGKILL		9
#define SIGSEGV		11
#define WNOHANG		1

/*
 * Wait status, as Linux encodes it: a normal exit is (code << 8) with the
 * low 7 bits 0; death by a signal is the signal number in the low 7 bits
 * (bit 7 set if a core was dumped); 0x7f in the low bits means stopped.
 */
#define WEXITSTATUS(s)	(((s) >> 8) & 0xff)
#define WTERMSIG(s)	((s) & 0x7f)
#define WIFEXITED(s)	(WTERMSIG(s) == 0)
#define WIFSIGNALED(s)	(WTERMSIG(s) != 0 && WTERMSIG(s) != 0x7f)

/* nanosleep's argument: two 32-bit longs on i386. */
struct timespec {
	long tv_sec;
	long tv_nsec;
};

#endif
