/*
 * pic.c - 8259A programming (see pic.h).
 *
 * The initialization words follow the 8259A data sheet: ICW1 starts the
 * sequence (edge triggered, cascade, ICW4 follows), ICW2 is the vector base,
 * ICW3 wires the slave to the master's IRQ 2, ICW4 selects 8086 mode.
 */
#include "pic.h"

#include <stdbool.h>
#include <stdint.h>

#include "io.h"
#include "trap.h"

#define MASTER_CMD  0x20
#define MASTER_DATA 0x21
#define SLAVE_CMD   0xA0
#define SLAVE_DATA  0xA1
#define ICW1_INIT_ICW4 0x11
#define ICW4_8086      0x01
#define CASCADE_IRQ    2
#define EOI            0x20
#define READ_ISR       0x0B
#define SPURIOUS_MASTER 7
#define SPURIOUS_SLAVE  15

static uint16_t mask = 0xFFFF & ~(1u << CASCADE_IRQ);

static void write_mask(void)
{
	outb(MASTER_DATA, mask & 0xFF);
	outb(SLAVE_DATA, mask >> 8);
}

/*
 * A line that drops before the PIC delivers its interrupt shows up as IRQ 7
 * (or 15 on the slave) with its in-service bit clear: a spurious interrupt,
 * to be ignored, and for the master not even acknowledged (the slave's
 * cascade input on the master was real, so the master gets its EOI).
 */
static bool spurious(struct trap_frame *tf)
{
	unsigned irq = tf->vector - TRAP_IRQ0;
	uint16_t cmd = irq >= 8 ? SLAVE_CMD : MASTER_CMD;

	outb(cmd, READ_ISR);
	if (inb(cmd) & 0x80) /* really in service: a real IRQ 7 or 15 */
		pic_eoi(irq);
	else if (irq >= 8)
		outb(MASTER_CMD, EOI);
	return true;
}

void pic_init(void)
{
	outb(MASTER_CMD, ICW1_INIT_ICW4);
	outb(SLAVE_CMD, ICW1_INIT_ICW4);
	outb(MASTER_DATA, TRAP_IRQ0);
	outb(SLAVE_DATA, TRAP_IRQ0 + 8);
	outb(MASTER_DATA, 1u << CASCADE_IRQ);
	outb(SLAVE_DATA, CASCADE_IRQ);
	outb(MASTER_DATA, ICW4_8086);
	outb(SLAVE_DATA, ICW4_8086);
	write_mask();
	trap_set_handler(TRAP_IRQ0 + SPURIOUS_MASTER, spurious);
	trap_set_handler(TRAP_IRQ0 + SPURIOUS_SLAVE, spurious);
}

void pic_unmask(unsigned irq)
{
	mask &= ~(1u << irq);
	write_mask();
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(SLAVE_CMD, EOI);
	outb(MASTER_CMD, EOI);
}
