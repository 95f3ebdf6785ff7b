/*
 * ksnprintf.c - the kernel's ksnprintf (kernel/printf.h) for host builds.
 *
 * Portable kernel code (kernel/elf.c, kernel/ustar.c) formats its error
 * messages with ksnprintf; on the host the C library's vsnprintf does it.
 * Only the conversions kernel/printf.h documents are used, and the C
 * library's behave the same.
 */
#include <stdio.h>

#include "kernel/printf.h"

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
