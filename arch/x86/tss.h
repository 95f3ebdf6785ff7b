/*
 * tss.h - the task-state segments: the kernel stack for traps from user
 * mode, and the double-fault task.
 *
 * A trap from ring 3 switches to the stack named by the TSS's SS0:ESP0
 * (SDM vol. 3A 6.12.1), so ESP0 follows the running process: the top of its
 * own kernel stack.
 *
 * A kernel stack overflow faults on the guard page; the CPU then cannot
 * push the page-fault frame on that same stack, which is a double fault,
 * and a double fault it cannot deliver either is a triple fault: a silent
 * reset.  So #DF goes through a task gate (Intel SDM vol. 3A 6.14.7 and
 * 7.3): the CPU saves the broken state in the main TSS and switches to a
 * separate task with its own stack, which prints a named report.
 */
#ifndef ARCH_X86_TSS_H
#define ARCH_X86_TSS_H

#include <stdint.h>

/*
 * Install both TSSs, load TR and point IDT vector 8 at the double-fault
 * task, which runs in the current (kernel) directory: call after vmm_init.
 * The kernel half is the same in every space, so that directory serves
 * whichever space faulted.
 */
void tss_init(void);

/* The stack the next trap from user mode starts on. */
void tss_set_kernel_stack(uint32_t esp0);

#endif
