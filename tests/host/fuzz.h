/*
 * fuzz.h - shared by the libFuzzer targets (tests/host/fuzz_*.c).
 *
 * EXPECT(cond) stops the fuzzer with the broken invariant named, so
 * libFuzzer keeps the input that broke it (a crash artifact) for replay:
 * `build/host/fuzz_X crash-FILE`.
 */
#ifndef TESTS_HOST_FUZZ_H
#define TESTS_HOST_FUZZ_H

#include <stdio.h>

#define EXPECT(cond)                                                              \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, \
				__LINE__, #cond);                                 \
			__builtin_trap();                                         \
		}                                                                 \
	} while (0)

#endif
