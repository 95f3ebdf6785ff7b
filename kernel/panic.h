/* panic.h - stop the kernel with a message; the run ends as a failure. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

/* Like assert(), but always on: the kernel must not go on with broken state. */
#define KASSERT(cond)                                                             \
	do {                                                                      \
		if (!(cond))                                                      \
			panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
