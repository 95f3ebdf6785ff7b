/*
 * test-stack.c - the stack grows on demand, up to its limit.
 *
 * 1. Recursion 1024 calls deep, each frame holding a 1 KiB array filled
 *    with a pattern of its depth: the stack grows by about 1 MiB one page
 *    fault at a time (every access stays within the frame, above esp), and
 *    on the way back every frame still holds its own pattern.
 * 2. In a child, recursion without end: past the 8 MiB stack limit the
 *    fault is no longer a growth but a kill, SIGSEGV.  On Linux the same
 *    happens at RLIMIT_STACK (8 MiB by default; tests/user/run_host.sh
 *    sets it).
 */
#include "lib/ulib.h"

#define FRAME_BYTES	1024
#define DEPTH		1024	/* x ~1 KiB a frame: ~1 MiB */

static unsigned pattern(unsigned depth, unsigned i)
{
	return (depth * 131 + i * 7) & 0xff;
}

/* Returns the number of bytes that did not hold their pattern on the way back. */
static unsigned __attribute__((noinline)) grow(unsigned depth)
{
	volatile unsigned char frame[FRAME_BYTES];
	unsigned bad = 0, i;

	for (i = FRAME_BYTES; i-- > 0;)
		frame[i] = pattern(depth, i);
	if (depth + 1 < DEPTH)
		bad = grow(depth + 1);
	for (i = 0; i < FRAME_BYTES; i++)
		bad += frame[i] != pattern(depth, i);
	return bad;
}

/* Never returns normally: each frame touches its array and recurses (the
 * volatile bound only hides that from gcc's infinite-recursion warning). */
static volatile unsigned no_bound = ~0u;

static unsigned __attribute__((noinline)) forever(unsigned depth)
{
	volatile unsigned char frame[FRAME_BYTES];

	if (depth == no_bound)
		return 0;
	frame[FRAME_BYTES - 1] = depth;
	frame[0] = depth;
	return forever(depth + 1) + frame[0];
}

static void overflow(void *unused)
{
	(void)unused;
	forever(0);
}

int main(void)
{
	CHECK_EQ(grow(0), 0);
	printf("ok: %d frames of %d bytes (~1 MiB of stack) kept their values\n",
	       DEPTH, FRAME_BYTES);
	/* The grown stack is still there and usable a second time. */
	CHECK_EQ(grow(0), 0);
	printf("ok: the same again on the already grown stack\n");

	expect_segv("unbounded recursion past the 8 MiB stack limit", overflow, NULL);
	return checks_done("test-stack");
}
