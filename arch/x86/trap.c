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
#define GATE_USER_INT_32  0xEE /* the same, callable from ring 3 (int $0x80) */
#define GATE_TASK         0x85 /* present, ring 0, task gate */

#define IDT_SIZE 256
#define IRQ_COUNT 16

extern const uint32_t trap_entries[TRAP_COUNT], irq_entries[IRQ_COUNT], syscall_entry;
static struct idt_gate idt[IDT_SIZE];
static trap_handler_t handlers[IDT_SIZE];
static trap_explainer_t explainers[TRAP_COUNT];
static void (*user_fault_hook)(struct trap_frame *tf);
static void (*user_leaving_hook)(struct trap_frame *tf);

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

static void set_gate(unsigned vector, uint32_t entry, uint8_t type)
{
	idt[vector] = (struct idt_gate){ entry & 0xFFFF, GDT_KERNEL_CODE, 0, type, entry >> 16 };
}

void idt_init(void)
{
	for (unsigned v = 0; v < TRAP_COUNT; v++)
		set_gate(v, trap_entries[v], GATE_INTERRUPT_32);
	/* int3 and into are instructions user programs may execute (debuggers,
	 * overflow checks): they must reach #BP and #OF, not #GP. */
	set_gate(TRAP_BP, trap_entries[TRAP_BP], GATE_USER_INT_32);
	set_gate(TRAP_OF, trap_entries[TRAP_OF], GATE_USER_INT_32);
	struct idt_pointer p = { sizeof(idt) - 1, (uint32_t)idt };
	__asm__ volatile("lidt %0" : : "m"(p));
}

void idt_set_task_gate(unsigned vector, unsigned selector)
{
	idt[vector] = (struct idt_gate){ 0, (uint16_t)selector, 0, GATE_TASK, 0 };
}

void trap_set_handler(unsigned vector, trap_handler_t handler)
{
	KASSERT(vector < IDT_SIZE);
	handlers[vector] = handler;
	if (vector >= TRAP_IRQ0 && vector < TRAP_IRQ0 + IRQ_COUNT)
		set_gate(vector, irq_entries[vector - TRAP_IRQ0], GATE_INTERRUPT_32);
	else if (vector == TRAP_SYSCALL)
		set_gate(vector, syscall_entry, GATE_USER_INT_32);
	else
		KASSERT(vector < TRAP_COUNT);
}

void trap_set_user_hooks(void (*fault)(struct trap_frame *tf),
			 void (*leaving)(struct trap_frame *tf))
{
	user_fault_hook = fault;
	user_leaving_hook = leaving;
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
	/* ESP before the trap: the user's, or past vector, error, EIP, CS, EFLAGS. */
	kprintf("  ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n", tf->esi, tf->edi, tf->ebp,
		trap_from_user(tf) ? tf->user_esp : tf->esp_at_pusha + 20);
	kprintf("  DS=%04x ES=%04x FS=%04x GS=%04x\n", tf->ds, tf->es, tf->fs, tf->gs);
}

/* NMI, #DF and #MC say something about the machine, not the program running. */
static bool caused_by_instruction(unsigned vector)
{
	return vector != TRAP_NMI && vector != TRAP_DF && vector != TRAP_MC;
}

static void __attribute__((noreturn)) unhandled(struct trap_frame *tf)
{
	if (explainers[tf->vector])
		explainers[tf->vector](tf);
	trap_report(tf);
	panic("unhandled exception %s at EIP %08x", trap_name(tf->vector), tf->eip);
}

void trap_dispatch(struct trap_frame *tf);
void trap_dispatch(struct trap_frame *tf)
{
	bool handled = handlers[tf->vector] && handlers[tf->vector](tf);

	if (!handled && tf->vector < TRAP_COUNT) {
		if (trap_from_user(tf) && user_fault_hook && caused_by_instruction(tf->vector))
			user_fault_hook(tf);
		else if (!extable_fixup(tf))
			unhandled(tf);
	}
	if (trap_from_user(tf) && user_leaving_hook)
		user_leaving_hook(tf);
}
