/*
 * string.h - the memory and string functions user programs use.  gcc may
 * also emit calls to memcpy, memset, memmove and memcmp on its own (struct
 * copies, loops it recognizes), even with -ffreestanding, so these must
 * exist under exactly these names.
 */
#ifndef USER_LIB_STRING_H
#define USER_LIB_STRING_H

#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

#endif
