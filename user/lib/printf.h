/*
 * printf.h - formatted output to a file descriptor.
 *
 * Conversions: %d %i %u %x %X %s %c %p %%, with an optional '-' or '0'
 * flag, a field width, and an 'l' length that is accepted and ignored (int
 * and long are both 32 bits here).  Output is collected in a buffer on the
 * stack and written with as few write calls as possible, so lines from
 * different processes interleave whole in practice.  Returns the number of
 * bytes written, or the negative result of the write that failed.
 */
#ifndef USER_LIB_PRINTF_H
#define USER_LIB_PRINTF_H

#include <stdarg.h>

int vdprintf(int fd, const char *fmt, va_list ap);
int dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
