/*
 * fpu.c - per-process FPU state (see fpu.h).
 *
 * CR0: MP with TS makes WAIT/FWAIT trap too; NE reports x87 errors as #MF
 * rather than through the legacy IRQ 13; EM off lets FPU instructions run.
 * CR4.OSFXSR says the OS saves SSE state with FXSAVE (SSE instructions
 * raise #UD without it); OSXMMEXCPT routes SIMD exceptions to #XM.
 * (Intel SDM vol. 3A 2.5 and 13.1.)
 */
#include "fpu.h"

#include <stdbool.h>
#include <string.h>

#include "io.h"

#define CR0_MP 0x00000002
#define CR0_EM 0x00000004
#define CR0_TS 0x00000008
#define CR0_NE 0x00000020
#define CR4_OSFXSR     0x00000200
#define CR4_OSXMMEXCPT 0x00000400
#define CPUID_EDX_FXSR (1u << 24)

static bool fxsr;
static struct fpu_state initial;

static uint32_t cpuid_edx(uint32_t leaf)
{
	uint32_t a = leaf, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return d;
}

void fpu_save(struct fpu_state *s)
{
	if (fxsr)
		__asm__ volatile("fxsave %0" : "=m"(*s));
	else
		__asm__ volatile("fnsave %0; fwait" : "=m"(*s)); /* fnsave also reinitializes */
}

void fpu_restore(const struct fpu_state *s)
{
	if (fxsr)
		__asm__ volatile("fxrstor %0" : : "m"(*s));
	else
		__asm__ volatile("frstor %0" : : "m"(*s));
}

void fpu_init(void)
{
	fxsr = cpuid_edx(1) & CPUID_EDX_FXSR;
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	if (fxsr)
		write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	__asm__ volatile("fninit");
	fpu_save(&initial);
}

void fpu_state_init(struct fpu_state *s)
{
	memcpy(s, &initial, sizeof(*s));
}
