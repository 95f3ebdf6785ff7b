/*
 * serial.c - COM1 at 115200 baud, 8N1, no interrupts.
 *
 * Polling keeps the kernel free of interrupt handling for now: output waits
 * for the transmit holding register to empty, input waits for data ready.
 * Register offsets and bits are those of the 16550 UART.
 */
#include "serial.h"

#include "io.h"

#define COM1 0x3F8
#define REG_DATA 0
#define REG_IER  1 /* interrupt enable */
#define REG_FCR  2 /* FIFO control */
#define REG_LCR  3 /* line control; bit 7 selects the divisor latch */
#define REG_MCR  4 /* modem control */
#define REG_LSR  5 /* line status */
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

void serial_init(void)
{
	outb(COM1 + REG_IER, 0x00);
	outb(COM1 + REG_LCR, 0x80); /* divisor latch on */
	outb(COM1 + REG_DATA, 1);   /* 115200 / 1 */
	outb(COM1 + REG_IER, 0);
	outb(COM1 + REG_LCR, 0x03); /* 8 bits, no parity, 1 stop, latch off */
	/* FIFOs stay off: polling needs none, and enabling them would discard
	 * input typed before this point (the UART resets its FIFOs then). */
	outb(COM1 + REG_FCR, 0x00);
	outb(COM1 + REG_MCR, 0x03); /* DTR, RTS */
}

void serial_putc(char c)
{
	while (!(inb(COM1 + REG_LSR) & LSR_THR_EMPTY))
		;
	outb(COM1 + REG_DATA, (uint8_t)c);
}

bool serial_has_input(void)
{
	return inb(COM1 + REG_LSR) & LSR_DATA_READY;
}

char serial_getc(void)
{
	while (!serial_has_input())
		__asm__ volatile("pause");
	return (char)inb(COM1 + REG_DATA);
}
