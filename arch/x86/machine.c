/* machine.c - stop the machine, telling QEMU how the run went (see machine.h). */
#include "machine.h"

#include "io.h"

#define ISA_DEBUG_EXIT_PORT 0xf4

void machine_exit(uint32_t status)
{
	outl(ISA_DEBUG_EXIT_PORT, status);
	cpu_halt_forever();
}
