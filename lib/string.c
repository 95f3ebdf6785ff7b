/*
 * string.c - memory and string helpers for the freestanding kernel.
 *
 * gcc may turn the kernel's own struct copies into calls to these, so they
 * must exist and be correct.  memset and memcpy move whole words with
 * `rep stosl` / `rep movsl` when there are enough bytes: clearing or copying
 * a 4 KiB frame is most of a demand-zero or copy-on-write fault, and a byte
 * loop made it four times longer (docs/design/user-memory.md).  The rest
 * are byte loops: their strings are short.
 */
#include <stdint.h>
#include <string.h>

#define WORDS_WORTH_IT 32 /* below this, the byte loop is as fast */

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	if (n >= WORDS_WORTH_IT) {
		uint32_t word = (unsigned char)c * 0x01010101u;
		size_t words = n / 4;
		__asm__ volatile("rep stosl" : "+D"(d), "+c"(words) : "a"(word) : "memory");
		n %= 4;
	}
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (n >= WORDS_WORTH_IT) {
		size_t words = n / 4;
		__asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(words) : : "memory");
		n %= 4;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, SIZE_MAX);
}

char *strchr(const char *s, int c)
{
	for (; *s; s++)
		if (*s == (char)c)
			return (char *)s;
	return c ? NULL : (char *)s;
}

char *strstr(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	for (; *haystack; haystack++)
		if (!strncmp(haystack, needle, n))
			return (char *)haystack;
	return n ? NULL : (char *)haystack;
}
