/*
 * trap.c - the IDT and what happens when the CPU raises an exception.
 *
 * Every one of the 32 exception vectors gets an interrupt gate (Intel SDM
 * vol. 3A 6.11), so interrupts stay off inside handlers.  The report names
 * the exception, its error code, where it happened, CR2 (the faulting
 * address for #PF) and the registers, so a crash explains itself.
 */
#include "trap.h"

#include "extable.h"
#include "gdt.h"
#include "io.h"
#include "kernel/panic.h"
#include "kernel/printf.h"

struct idt_gate {
	uint16_t offset_low, selector;
	uint8_t zero, type_attr;
	uint16_t offset_high;
} __attribute__((packed));

struct idt_pointer {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

#define GATE_INTERRUPT_32 0x8E /* present, ring 0, 32-bit interrupt gate */
#define GATE_TASK         0x85 /* present, ring 0, task gate */

extern const uint32_t trap_entries[TRAP_COUNT];
static struct idt_gate idt[256];
static trap_handler_t handlers[TRAP_COUNT];
static trap_explainer_t explainers[TRAP_COUNT];

static const char *const names[TRAP_COUNT] = {
	"#DE Divide Error", "#DB Debug", "NMI Interrupt", "#BP Breakpoint",
	"#OF Overflow", "#BR BOUND Range Exceeded", "#UD Invalid Opcode",
	"#NM Device Not Available", "#DF Double Fault", "Coprocessor Segment Overrun",
	"#TS Invalid TSS", "#NP Segment Not Present", "#SS Stack-Segment Fault",
	"#GP General Protection", "#PF Page Fault", "Reserved (15)",
	"#MF x87 Floating-Point Error", "#AC Alignment Check", "#MC Machine Check",
	"#XM SIMD Floating-Point", "#VE Virtualization", "#CP Control Protection",
	"Reserved (22)", "Reserved (23)", "Reserved (24)", "Reserved (25)",
	"Reserved (26)", "Reserved (27)", "Reserved (28)", "Reserved (29)",
	"Reserved (30)", "Reserved (31)",
};

void idt_init(void)
{
	for (unsigned v = 0; v < TRAP_COUNT; v++) {
		uint32_t off = trap_entries[v];
		idt[v] = (struct idt_gate){ off & 0xFFFF, GDT_KERNEL_CODE, 0, GATE_INTERRUPT_32,
					    off >> 16 };
	}
	struct idt_pointer p = { sizeof(idt) - 1, (uint32_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p));
}

void idt_set_task_gate(unsigned vector, unsigned selector)
{
	idt[vector] = (struct idt_gate){ 0, (uint16_t)selector, 0, GATE_TASK, 0 };
}

void trap_set_handler(unsigned vector, trap_handler_t handler)
{
	KASSERT(vector < TRAP_COUNT);
	handlers[vector] = handler;
}

void trap_set_explainer(unsigned vector, trap_explainer_t explainer)
{
	KASSERT(vector < TRAP_COUNT);
	explainers[vector] = explainer;
}

const char *trap_name(unsigned vector)
{
	return vector < TRAP_COUNT ? names[vector] : "interrupt";
}

void trap_report(const struct trap_frame *tf)
{
	kprintf("\nEXCEPTION: %s (vector %u), error code 0x%x\n", trap_name(tf->vector),
		tf->vector, tf->error);
	kprintf("  EIP=%08x CS=%04x EFLAGS=%08x CR2=%08x CR3=%08x\n", tf->eip, tf->cs,
		tf->eflags, read_cr2(), read_cr3());
	kprintf("  EAX=%08x EBX=%08x ECX=%08x EDX=%08x\n", tf->eax, tf->ebx, tf->ecx, tf->edx);
	kprintf("  ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n", tf->esi, tf->edi, tf->ebp,
		tf->esp_at_pusha + 20); /* ESP before the exception: skip vector, error, EIP, CS, EFLAGS */
	kprintf("  DS=%04x ES=%04x FS=%04x GS=%04x\n", tf->ds, tf->es, tf->fs, tf->gs);
}

void trap_dispatch(struct trap_frame *tf);
void trap_dispatch(struct trap_frame *tf)
{
	if (tf->vector < TRAP_COUNT && handlers[tf->vector] && handlers[tf->vector](tf))
		return;
	if (extable_fixup(tf))
		return;
	if (tf->vector < TRAP_COUNT && explainers[tf->vector])
		explainers[tf->vector](tf);
	trap_report(tf);
	panic("unhandled exception %s at EIP %08x", trap_name(tf->vector), tf->eip);
}
