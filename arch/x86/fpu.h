/*
 * fpu.h - the x87/SSE register file, saved and restored per process.
 *
 * Ordinary Linux programs use floating point (and a static glibc picks SSE
 * string functions when CPUID offers them), so each process needs its own
 * FPU state: the scheduler saves the running process's registers when it
 * switches away and restores the next one's (eagerly: a lazy scheme with
 * CR0.TS and #NM saves work only when few processes use the FPU, and costs
 * a trap when they do).  The kernel never touches these registers itself:
 * it is built with -mgeneral-regs-only.
 *
 * With FXSR (every CPU since the Pentium III, and QEMU's default models)
 * the state is FXSAVE's 512-byte image and SSE is enabled for user mode
 * (CR4.OSFXSR, OSXMMEXCPT); without it, FSAVE's 108 bytes and x87 only.
 */
#ifndef ARCH_X86_FPU_H
#define ARCH_X86_FPU_H

#include <stdint.h>

struct fpu_state {
	uint8_t bytes[512];
} __attribute__((aligned(16)));

/* Enable the FPU (and SSE when there is FXSR); capture the initial state. */
void fpu_init(void);

/* The state a new program starts with (after FNINIT, MXCSR at reset value). */
void fpu_state_init(struct fpu_state *s);

void fpu_save(struct fpu_state *s);
void fpu_restore(const struct fpu_state *s);

#endif
