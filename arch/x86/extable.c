/* extable.c - look up a faulting instruction in the exception table (see extable.h). */
#include "extable.h"

#include "io.h"
#include "trap.h"

struct extable_entry {
	uint32_t insn, fixup;
};

extern const struct extable_entry __extable_start[], __extable_end[];
struct fault_record last_probe_fault;

bool extable_fixup(struct trap_frame *tf)
{
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
		if (e->insn != tf->eip)
			continue;
		last_probe_fault = (struct fault_record){ tf->vector, tf->error,
			tf->vector == TRAP_PF ? read_cr2() : 0, tf->eip, last_probe_fault.count + 1 };
		tf->eip = e->fixup;
		return true;
	}
	return false;
}
