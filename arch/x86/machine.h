/*
 * machine.h - ending the run.
 *
 * machine_exit(status) writes `status` to QEMU's isa-debug-exit device (port
 * 0xf4), which ends QEMU with exit code (status << 1) | 1: 0 -> 1 ("pass"),
 * 1 -> 3 ("fail").  On a machine without that device (real hardware, or
 * QEMU started without it) the write does nothing and the CPU halts.
 */
#ifndef ARCH_X86_MACHINE_H
#define ARCH_X86_MACHINE_H

#include <stdint.h>

#define EXIT_PASS 0
#define EXIT_FAIL 1

__attribute__((noreturn)) void machine_exit(uint32_t status);

#endif
