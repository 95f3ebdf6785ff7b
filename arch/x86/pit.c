/*
 * pit.c - channel 0 of the PIT in rate-generator mode (see pit.h).
 *
 * The PIT counts down from a divisor at 1 193 182 Hz; mode 2 reloads it and
 * pulses IRQ 0 each time it reaches 1, so the divisor sets the tick rate.
 */
#include "pit.h"

#include "io.h"
#include "pic.h"

#define PIT_INPUT_HZ 1193182u
#define PIT_CHANNEL0 0x40
#define PIT_COMMAND  0x43
#define CH0_LOHI_RATE_GENERATOR 0x34 /* channel 0, low then high byte, mode 2 */

volatile uint32_t pit_ticks;
static void (*tick_hook)(struct trap_frame *tf);

static bool on_irq0(struct trap_frame *tf)
{
	pit_ticks++;
	pic_eoi(0);
	if (tick_hook)
		tick_hook(tf);
	return true;
}

void pit_init(void (*on_tick)(struct trap_frame *tf))
{
	uint32_t divisor = PIT_INPUT_HZ / PIT_HZ;

	tick_hook = on_tick;
	trap_set_handler(TRAP_IRQ0, on_irq0);
	outb(PIT_COMMAND, CH0_LOHI_RATE_GENERATOR);
	outb(PIT_CHANNEL0, divisor & 0xFF);
	outb(PIT_CHANNEL0, divisor >> 8);
	pic_unmask(0);
}
