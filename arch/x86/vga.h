/* vga.h - the VGA text screen (80x25 at physical 0xB8000), a mirror of the console. */
#ifndef ARCH_X86_VGA_H
#define ARCH_X86_VGA_H

void vga_init(void);
void vga_putc(char c);

#endif
