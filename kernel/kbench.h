/*
 * kbench.h - in-guest benchmarks (bench/guest/), run by booting with "bench".
 *
 * They time with rdtsc.  Under QEMU's -icount shift=0 the guest clock
 * advances by one tick per instruction, so the figures are instruction
 * counts that repeat exactly from run to run; without -icount they are the
 * host time TCG takes, where work the emulator does for the guest (TLB
 * refills, page walks) shows up too.  `make bench` runs both.
 */
#ifndef KERNEL_KBENCH_H
#define KERNEL_KBENCH_H

#include <stdint.h>

/* Run every in-guest benchmark, print the tables, end the machine. */
__attribute__((noreturn)) void kbench_main(void);

/* Median of `runs` rdtsc deltas of fn(arg); runs <= 64. */
uint64_t kbench_median(unsigned runs, uint64_t (*fn)(void *arg), void *arg);

#endif
