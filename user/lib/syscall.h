/*
 * syscall.h - one typed wrapper per Linux system call the programs use.
 *
 * Each wrapper is the raw call: it returns exactly what the kernel put in
 * eax.  There is no errno: a result for which sys_failed() (linux.h) is
 * true is -errno, e.g. sys_fork() == -EAGAIN.  Calls that return an address
 * (sys_brk, sys_mmap2) return it as a long for the same reason.
 */
#ifndef USER_LIB_SYSCALL_H
#define USER_LIB_SYSCALL_H

#include "lib/linux.h"

/* The trap itself (syscall.S): number, then up to six arguments. */
long syscall6(long nr, long a, long b, long c, long d, long e, long f);

void sys_exit(int status) __attribute__((noreturn));
void sys_exit_group(int status) __attribute__((noreturn));
long sys_fork(void);
long sys_read(int fd, void *buf, unsigned long count);
long sys_write(int fd, const void *buf, unsigned long count);
/* waitpid(pid, status, options): pid -1 waits for any child; status may be NULL. */
long sys_waitpid(long pid, int *status, int options);
long sys_getpid(void);
long sys_getppid(void);
long sys_kill(long pid, int sig);
/* brk(addr): asks for a new break and returns the break now in force (the
 * old one if the request failed); brk(0) only asks. */
long sys_brk(void *addr);
/* mmap2's offset is in pages (anonymous mappings pass 0 and fd -1). */
long sys_mmap2(void *addr, unsigned long len, int prot, int flags, int fd, unsigned long pgoff);
long sys_munmap(void *addr, unsigned long len);
long sys_mprotect(void *addr, unsigned long len, int prot);
long sys_sched_yield(void);
long sys_nanosleep(const struct timespec *req, struct timespec *rem);

/* An anonymous private mapping anywhere: mmap2(NULL, len, prot, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0). */
long sys_mmap_anon(unsigned long len, int prot);

#endif
