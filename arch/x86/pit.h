/*
 * pit.h - the 8253/8254 programmable interval timer: the scheduler's clock.
 *
 * Channel 0 interrupts PIT_HZ times a second on IRQ 0.  Each tick
 * increments `pit_ticks` and calls the tick hook (the scheduler's
 * preemption) with the interrupted frame.
 */
#ifndef ARCH_X86_PIT_H
#define ARCH_X86_PIT_H

#include <stdint.h>

#include "trap.h"

#define PIT_HZ 100 /* a 10 ms time slice, as xv6 and early Linux */

extern volatile uint32_t pit_ticks;

void pit_init(void (*on_tick)(struct trap_frame *tf));

#endif
