/*
 * extable.h - memory accesses that are allowed to fault.
 *
 * probe_read() and probe_write() touch one word; if the access faults, the
 * trap code finds the faulting instruction in the exception table (section
 * .extable: pairs of "instruction that may fault, where to resume") and
 * resumes at the fixup, which makes the probe return -1 instead of the
 * kernel panicking.  The fault is recorded in `last_probe_fault`, so a test
 * can check it happened with the right error code and address.  The same
 * table will let copy-in/copy-out survive bad user pointers.
 */
#ifndef ARCH_X86_EXTABLE_H
#define ARCH_X86_EXTABLE_H

#include <stdbool.h>
#include <stdint.h>

struct trap_frame;

struct fault_record {
	uint32_t vector, error, address, eip;
	uint32_t count; /* faults fixed up so far */
};

extern struct fault_record last_probe_fault;

/* 0 and the word at `addr` in *value, or -1 if reading it faulted. */
int probe_read(const volatile void *addr, uint32_t *value);
/* 0, or -1 if writing `value` to `addr` faulted. */
int probe_write(volatile void *addr, uint32_t value);

/* If the fault in `tf` happened at a listed instruction, resume at its fixup. */
bool extable_fixup(struct trap_frame *tf);

#endif
