/* console.c - fan console output out to the serial line and the screen. */
#include "console.h"

#include "arch/x86/serial.h"
#include "arch/x86/vga.h"

void console_init(void)
{
	serial_init();
	vga_init();
}

void console_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	serial_putc(c);
	vga_putc(c);
}

char console_getc(void)
{
	return serial_getc();
}
