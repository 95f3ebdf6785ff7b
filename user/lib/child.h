/*
 * child.h - running a dangerous action in a forked child.
 *
 * Tests that expect the kernel to kill a process for what it did (a bad
 * pointer, a write to text, a jump into data) do it in a child, and the
 * parent checks with waitpid that the child died of SIGSEGV, as it would
 * on Linux.  peek and poke are the usual actions: a one-byte volatile read
 * or write at an address.
 */
#ifndef USER_LIB_CHILD_H
#define USER_LIB_CHILD_H

/* Fork; the child runs fn(arg) and exits 0 if fn returns.  The parent
 * waits for that child and returns its wait status.  A failed fork or
 * waitpid fails the test (check.h). */
int child_run(void (*fn)(void *), void *arg);

/* child_run(fn, arg) and check that the child was killed by SIGSEGV;
 * print "ok: WHAT: killed by SIGSEGV" or fail, describing the status. */
void expect_segv(const char *what, void (*fn)(void *), void *arg);

/* The same for any signal: the child must be killed by `sig`. */
void expect_signal(const char *what, int sig, void (*fn)(void *), void *arg);

/* "exited with status N" or "killed by signal N", in a static buffer. */
const char *describe_status(int status);

/* Read / write one byte at arg (volatile: the access really happens). */
void peek(void *arg);
void poke(void *arg);

#endif
