/*
 * ulib.h - the whole user library in one include: the Linux ABI constants
 * (linux.h), system-call wrappers (syscall.h), string functions
 * (string.h), printf to a descriptor (printf.h), self-checks (check.h) and
 * the forked-child runner (child.h).  The library's objects are linked into
 * every program in user/; start.S provides _start.
 */
#ifndef USER_LIB_ULIB_H
#define USER_LIB_ULIB_H

#include <stddef.h>
#include <stdint.h>

#include "lib/check.h"
#include "lib/child.h"
#include "lib/linux.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/syscall.h"

#endif
