/*
 * string.h - the memory and string functions user programs use: the
 * kernel's own freestanding ones (lib/string.c, built into the user library
 * too), since both sides are freestanding i386 code.  gcc may also emit
 * calls to memcpy, memset, memmove and memcmp on its own (struct copies,
 * loops it recognizes), even with -ffreestanding, so these must exist.
 */
#ifndef USER_LIB_STRING_H
#define USER_LIB_STRING_H

#include "../../lib/include/string.h"

#endif
