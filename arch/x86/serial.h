/* serial.h - the COM1 UART (16550), polled: the console and the test channel. */
#ifndef ARCH_X86_SERIAL_H
#define ARCH_X86_SERIAL_H

#include <stdbool.h>

void serial_init(void);
void serial_putc(char c);
bool serial_has_input(void);
char serial_getc(void); /* waits for a byte */

#endif
