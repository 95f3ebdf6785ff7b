/*
 * trap.h - CPU exceptions: the IDT, the saved register frame, and handlers.
 *
 * All 32 exception vectors enter through isr.S, which saves the registers
 * as a struct trap_frame and calls trap_dispatch(), which tries in order:
 *   1. the vector's handler (trap_set_handler), which returns true when it
 *      resolved the exception (later: demand paging, copy-on-write);
 *   2. the exception table (extable.h): a probe that was allowed to fault;
 *   3. the vector's explainer (trap_set_explainer), which says in words what
 *      went wrong (the page-fault handler decodes its error code), then the
 *      full register report and a panic.  No exception passes silently.
 */
#ifndef ARCH_X86_TRAP_H
#define ARCH_X86_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#define TRAP_DF 8  /* double fault */
#define TRAP_PF 14 /* page fault */
#define TRAP_COUNT 32

/* The stack as isr.S leaves it; the order matches the pushes there. */
struct trap_frame {
	uint32_t gs, fs, es, ds;
	uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax; /* pusha */
	uint32_t vector, error;     /* pushed by the stub (error 0 if none) */
	uint32_t eip, cs, eflags;   /* pushed by the CPU */
};

typedef bool (*trap_handler_t)(struct trap_frame *tf);

void idt_init(void);
/* Deliver `vector` through a task gate to TSS `selector` (SDM vol. 3A 6.11). */
void idt_set_task_gate(unsigned vector, unsigned selector);
typedef void (*trap_explainer_t)(const struct trap_frame *tf);

void trap_set_handler(unsigned vector, trap_handler_t handler);
void trap_set_explainer(unsigned vector, trap_explainer_t explainer);
const char *trap_name(unsigned vector);
void trap_report(const struct trap_frame *tf);

#endif
