/* mm_log.c - the kernel's mm_warn(): the portable mm/ code reports on the console. */
#include "mm/mm_log.h"

#include "printf.h"

void mm_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
}
