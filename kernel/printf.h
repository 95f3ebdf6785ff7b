/*
 * printf.h - formatted output for the kernel.
 *
 * Conversions: %d %i %u %x %X %p %s %c %%, with the length modifiers l and ll
 * (so %llx and %llu print 64-bit values), a width, and the flags '-' (left
 * align) and '0' (zero pad).  Anything else is printed as it stands.
 */
#ifndef KERNEL_PRINTF_H
#define KERNEL_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* Like snprintf: always NUL-terminates, returns the length it wanted. */
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
