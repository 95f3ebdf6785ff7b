/*
 * vga.c - write the console to the VGA text buffer as well, so a machine
 * without a serial cable still shows what the kernel says.  Output only:
 * a cursor that wraps and scrolls, no colours beyond grey on black.
 */
#include "vga.h"

#include <stdint.h>
#include <string.h>

#include "memlayout.h"

#define COLS 80
#define ROWS 25
#define ATTR 0x0700 /* grey on black */

static uint16_t *const screen = P2V(0xB8000);
static unsigned row, col;

static void scroll(void)
{
	memmove(screen, screen + COLS, (ROWS - 1) * COLS * sizeof(*screen));
	for (unsigned i = 0; i < COLS; i++)
		screen[(ROWS - 1) * COLS + i] = ATTR | ' ';
	row = ROWS - 1;
}

void vga_init(void)
{
	for (unsigned i = 0; i < ROWS * COLS; i++)
		screen[i] = ATTR | ' ';
	row = col = 0;
}

void vga_putc(char c)
{
	if (c == '\n') {
		col = 0;
		row++;
	} else if (c == '\r') {
		col = 0;
	} else if (c == '\b') {
		if (col)
			col--;
	} else {
		screen[row * COLS + col] = ATTR | (uint8_t)c;
		if (++col == COLS) {
			col = 0;
			row++;
		}
	}
	if (row == ROWS)
		scroll();
}
