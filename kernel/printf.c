/*
 * printf.c - one formatting engine, two sinks (the console, a buffer).
 *
 * Numbers are converted through unsigned long long so every width shares one
 * path; the 64-bit division that needs comes from libgcc (__udivdi3).
 */
#include "printf.h"

#include <stdbool.h>
#include <stdint.h>

#include "console.h"

struct sink {
	void (*put)(struct sink *s, char c);
	char *buf;
	size_t size, len;
};

static void put_console(struct sink *s, char c)
{
	console_putc(c);
	s->len++;
}

static void put_buffer(struct sink *s, char c)
{
	if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

struct spec {
	bool left, zero;
	unsigned width;
};

static void emit_padded(struct sink *s, const char *str, size_t len, const struct spec *sp)
{
	size_t pad = sp->width > len ? sp->width - len : 0;

	if (!sp->left)
		while (pad--)
			s->put(s, sp->zero ? '0' : ' ');
	for (size_t i = 0; i < len; i++)
		s->put(s, str[i]);
	if (sp->left)
		while (pad--)
			s->put(s, ' ');
}

static void emit_number(struct sink *s, unsigned long long v, unsigned base, bool negative,
			bool upper, struct spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = sizeof(tmp);

	do {
		tmp[--n] = digits[v % base];
		v /= base;
	} while (v);
	if (negative) {
		if (sp->zero && sp->width) {
			s->put(s, '-');
			sp->width--;
		} else {
			tmp[--n] = '-';
		}
	}
	emit_padded(s, tmp + n, sizeof(tmp) - (size_t)n, sp);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			s->put(s, *fmt);
			continue;
		}
		struct spec sp = { false, false, 0 };
		for (;; fmt++) {
			if (fmt[1] == '-')
				sp.left = true;
			else if (fmt[1] == '0')
				sp.zero = true;
			else
				break;
		}
		while (fmt[1] >= '0' && fmt[1] <= '9')
			sp.width = sp.width * 10 + (unsigned)(*++fmt - '0');
		int longs = 0;
		while (fmt[1] == 'l') {
			longs++;
			fmt++;
		}
		char conv = *++fmt;
		unsigned long long u;
		switch (conv) {
		case 'd':
		case 'i': {
			long long v = longs >= 2 ? va_arg(ap, long long)
				    : longs    ? va_arg(ap, long) : va_arg(ap, int);
			emit_number(s, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v,
				    10, v < 0, false, &sp);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
			u = longs >= 2 ? va_arg(ap, unsigned long long)
			  : longs    ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			emit_number(s, u, conv == 'u' ? 10 : 16, false, conv == 'X', &sp);
			break;
		case 'p':
			s->put(s, '0');
			s->put(s, 'x');
			sp = (struct spec){ false, true, 8 };
			emit_number(s, (uintptr_t)va_arg(ap, void *), 16, false, false, &sp);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			size_t len = 0;
			while (str[len])
				len++;
			sp.zero = false;
			emit_padded(s, str, len, &sp);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			sp.zero = false;
			emit_padded(s, &c, 1, &sp);
			break;
		}
		case '%':
			s->put(s, '%');
			break;
		case '\0':
			return;
		default:
			s->put(s, '%');
			s->put(s, conv);
			break;
		}
	}
}

int kvprintf(const char *fmt, va_list ap)
{
	struct sink s = { put_console, NULL, 0, 0 };

	format(&s, fmt, ap);
	return (int)s.len;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	struct sink s = { put_buffer, buf, size, 0 };
	va_list ap;

	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}
