/*
 * trap.h - CPU exceptions: the IDT, the saved register frame, and handlers.
 *
 * All 32 exception vectors enter through isr.S, which saves the registers
 * as a struct trap_frame and calls trap_dispatch(), which tries in order:
 *   1. the vector's handler (trap_set_handler), which returns true when it
 *      resolved the exception (later: demand paging, copy-on-write);
 *   2. the exception table (extable.h): a probe that was allowed to fault;
 *   3. an exception from user mode that nobody resolved goes to the user
 *      fault hook, which ends the offending process (kernel/proc.c), not
 *      the kernel;
 *   4. the vector's explainer (trap_set_explainer), which says in words what
 *      went wrong (the page-fault handler decodes its error code), then the
 *      full register report and a panic.  No exception passes silently.
 * Interrupts (vectors 32-47) and system calls (0x80) only have handlers.
 * Whatever the vector, a trap that came from user mode calls the return
 * hook before going back, where the scheduler may switch processes.
 */
#ifndef ARCH_X86_TRAP_H
#define ARCH_X86_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#define TRAP_NMI 2
#define TRAP_BP 3  /* int3 */
#define TRAP_OF 4  /* into */
#define TRAP_DF 8  /* double fault */
#define TRAP_MC 18 /* machine check */
#define TRAP_PF 14 /* page fault */
#define TRAP_COUNT 32 /* exceptions; vectors 32-47 are the PIC's IRQs */
#define TRAP_IRQ0  32
#define TRAP_SYSCALL 0x80

/* The stack as isr.S leaves it; the order matches the pushes there. */
struct trap_frame {
	uint32_t gs, fs, es, ds;
	uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax; /* pusha */
	uint32_t vector, error;     /* pushed by the stub (error 0 if none) */
	uint32_t eip, cs, eflags;   /* pushed by the CPU */
	uint32_t user_esp, user_ss; /* pushed by the CPU only on a trap from ring 3 */
};

static inline bool trap_from_user(const struct trap_frame *tf)
{
	return (tf->cs & 3) == 3;
}

typedef bool (*trap_handler_t)(struct trap_frame *tf);

void idt_init(void);
/* Deliver `vector` through a task gate to TSS `selector` (SDM vol. 3A 6.11). */
void idt_set_task_gate(unsigned vector, unsigned selector);
typedef void (*trap_explainer_t)(const struct trap_frame *tf);

/* Any vector 0-255; interrupt vectors and 0x80 get their gates here. */
void trap_set_handler(unsigned vector, trap_handler_t handler);
void trap_set_explainer(unsigned vector, trap_explainer_t explainer);
/*
 * `fault`: an unresolved exception from user mode (must not return to it);
 * `leaving`: called on every return to user mode.
 */
void trap_set_user_hooks(void (*fault)(struct trap_frame *tf),
			 void (*leaving)(struct trap_frame *tf));
const char *trap_name(unsigned vector);
void trap_report(const struct trap_frame *tf);

#endif
