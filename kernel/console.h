/* console.h - the kernel's console: COM1, mirrored to the VGA screen. */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

void console_init(void);
void console_putc(char c);
char console_getc(void); /* waits for a key from the serial line */

#endif
