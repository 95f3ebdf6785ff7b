/*
 * proc.h - processes: creation from the initrd, fork, exit, wait, and the
 * round-robin scheduler.
 *
 * A process is a user address space (mm/uvm.h), a kernel stack with a guard
 * page below it, and the registers saved on that stack.  The kernel itself
 * is not preemptible: it runs with interrupts off, and the PIT's tick only
 * preempts a process that was in user mode, which it does on the way back
 * to user mode (trap_set_user_hooks).  A process that blocks (waitpid,
 * nanosleep, read) or yields switches to the scheduler's own stack, the
 * stack of whoever called proc_run (the monitor, a test, kmain).
 *
 * Wait statuses are Linux's: exit code << 8, or the signal number that
 * killed the process in the low 7 bits.
 */
#ifndef KERNEL_PROC_H
#define KERNEL_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/fpu.h"
#include "arch/x86/trap.h"
#include "mm/uvm.h"

#define PROC_MAX 64 /* processes alive at once: fork beyond it gets -EAGAIN */
#define PROC_NAME_MAX 16

#define SIGILL  4
#define SIGTRAP 5
#define SIGFPE  8
#define SIGKILL 9
#define SIGSEGV 11

#define WAIT_EXITED(code) (((code) & 0xFF) << 8)
#define WNOHANG 1

/* PROC_NEW: in the table, being set up (spawn, fork); not yet a process the loops see. */
enum proc_state { PROC_NEW, PROC_RUNNABLE, PROC_RUNNING, PROC_SLEEPING, PROC_ZOMBIE };

struct proc {
	int pid;
	unsigned slot;          /* its entry in the process table */
	int job;                /* the pid of the proc_spawn'd ancestor: proc_run's unit */
	enum proc_state state;
	char name[PROC_NAME_MAX];
	struct proc *parent;    /* NULL: the kernel started it, or its parent died */
	struct uvm uvm;
	void *kstack;
	uint32_t kesp;          /* saved kernel stack pointer while switched out */
	struct trap_frame *tf;  /* the user registers of the current system call */
	uint32_t wake_tick;     /* SLEEPING in nanosleep: until pit_ticks reaches it */
	bool waiting;           /* SLEEPING in waitpid: a child's exit wakes it */
	bool awaited;           /* proc_run waits for it: not an orphan to reap */
	int kill_signal;        /* set: the process dies on its way to user mode */
	int status;             /* ZOMBIE: its wait status */
	uint32_t ticks;         /* timer ticks it was running at */
	struct fpu_state fpu;   /* x87/SSE registers while switched out */
};

extern struct proc *proc_current;

/* Claim the timer, the system-call vector and the user-fault hooks. */
void proc_init(void);

/*
 * Start argv[0] from the initrd with its arguments, as a child of the
 * kernel.  Its pid, or -ENOENT (no such file), -ENOEXEC (the ELF check
 * refused it: the reason is printed), -EAGAIN (process table full),
 * -ENOMEM, -E2BIG.
 */
int proc_spawn(const char *const *argv);

/*
 * Spawn argv and run processes until it has exited; then end whatever it
 * left running (its descendants, not other jobs) and reap them.  Its wait status, or a negative errno
 * from proc_spawn.
 */
int proc_run(const char *const *argv);

/* Run processes until none is left (the monitor's background jobs). */
void proc_run_all(void);
/* Let runnable processes run until none is ready or input arrives. */
void proc_poll(void);
bool proc_any_alive(void);

/* The system calls behind kernel/syscall.c. */
int proc_fork(void);
void __attribute__((noreturn)) proc_exit(int wait_status);
int proc_waitpid(int pid, uint32_t status_addr, int options);
void proc_yield(void);
void proc_sleep_ticks(uint32_t ticks);
/*
 * kill(pid, sig): with no signal handlers, every signal ends the process
 * (sig 0 only checks that it exists).  0, -ESRCH, or -EINVAL for a number
 * that is no signal.  The victim dies on its way back to user mode.
 */
int proc_kill(int pid, int sig);

struct proc *proc_find(int pid);
/* A one-line description of a wait status: "exited with status 3", ... */
const char *proc_status_text(int wait_status);
/* The monitor's `ps` and `vmas`. */
void proc_print_table(void);
void proc_print_regions(const struct proc *p);

#endif
