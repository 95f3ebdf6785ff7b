/*
 * printf.c - vdprintf and its two front ends (see printf.h for the format
 * language).  The output goes through a 256-byte buffer that is flushed
 * with write when full and at the end.
 */
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/syscall.h"

struct out {
	int fd;
	int len;		/* bytes in buf */
	int total;		/* bytes written so far */
	int error;		/* first failing write's result, or 0 */
	char buf[256];
};

static void flush(struct out *o)
{
	int done = 0;

	while (done < o->len && !o->error) {
		long n = sys_write(o->fd, o->buf + done, o->len - done);
		if (n <= 0)
			o->error = n ? (int)n : -1;
		else
			done += n, o->total += n;
	}
	o->len = 0;
}

static void put(struct out *o, char c)
{
	if (o->len == (int)sizeof(o->buf))
		flush(o);
	o->buf[o->len++] = c;
}

/* Emit s (n bytes) padded to width: on the left with pad, or on the right. */
static void field(struct out *o, const char *s, int n, int width, int left, char pad)
{
	int i;

	if (!left)
		for (i = n; i < width; i++)
			put(o, pad);
	for (i = 0; i < n; i++)
		put(o, s[i]);
	if (left)
		for (i = n; i < width; i++)
			put(o, ' ');
}

/* Digits of v in base (10 or 16) into the end of buf; returns the start. */
static char *digits(char *end, unsigned long v, unsigned base, int upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	*--end = 0;
	do {
		*--end = set[v % base];
		v /= base;
	} while (v);
	return end;
}

int vdprintf(int fd, const char *fmt, va_list ap)
{
	struct out o = { .fd = fd };
	char num[16], *s;

	for (; *fmt; fmt++) {
		int left = 0, width = 0;
		char pad = ' ';

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			fmt++;
		switch (*fmt) {
		case 'd':
		case 'i': {
			long v = va_arg(ap, long);
			unsigned long mag = v < 0 ? -(unsigned long)v : (unsigned long)v;

			s = digits(num + sizeof(num), mag, 10, 0);
			if (v < 0)
				*--s = '-';
			field(&o, s, strlen(s), width, left, pad);
			break;
		}
		case 'u':
			s = digits(num + sizeof(num), va_arg(ap, unsigned long), 10, 0);
			field(&o, s, strlen(s), width, left, pad);
			break;
		case 'x':
		case 'X':
			s = digits(num + sizeof(num), va_arg(ap, unsigned long), 16, *fmt == 'X');
			field(&o, s, strlen(s), width, left, pad);
			break;
		case 'p':
			s = digits(num + sizeof(num), (unsigned long)va_arg(ap, void *), 16, 0);
			put(&o, '0');
			put(&o, 'x');
			field(&o, s, strlen(s), 8, 0, '0');
			break;
		case 's':
			s = va_arg(ap, char *);
			if (!s)
				s = "(null)";
			field(&o, s, strlen(s), width, left, ' ');
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);

			field(&o, &c, 1, width, left, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case 0:
			fmt--;	/* a lone '%' at the end: stop at the NUL */
			break;
		default:	/* unknown: print it as written */
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	flush(&o);
	return o.error ? o.error : o.total;
}

int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(1, fmt, ap);
	va_end(ap);
	return n;
}
