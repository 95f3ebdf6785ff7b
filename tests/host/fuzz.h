/*
 * fuzz.h - shared by the libFuzzer targets (tests/host/fuzz_*.c).
 *
 * EXPECT(cond) stops the fuzzer with the broken invariant named, so
 * libFuzzer keeps the input that broke it (a crash artifact) for replay:
 * `build/host/fuzz_X crash-FILE`.
 */
#ifndef TESTS_HOST_FUZZ_H
#define TESTS_HOST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EXPECT(cond)                                                              \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, \
				__LINE__, #cond);                                 \
			__builtin_trap();                                         \
		}                                                                 \
	} while (0)

/* The fuzzer's input, consumed front to back. */
struct input {
	const uint8_t *p;
	size_t left;
};

/* The next `bytes` bytes (at most 8) as a little-endian number; zeros past the end. */
static inline uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->left; i++, in->p++, in->left--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

#endif
