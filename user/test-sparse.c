/*
 * test-sparse.c - demand-zero on a sparse 64 MiB mapping.  mmap2 reserves
 * the range; only touched pages ever get a frame.  One byte every 1 MiB,
 * and the very last byte, is read first (zero), then written, then all of
 * them are read back; bytes next to them on the same pages are still zero.
 * The whole region is unmapped at the end, and the kernel's runner checks
 * that every frame came back.  A machine with 16 MiB of RAM passes: only
 * 65 pages are ever touched.
 */
#include "lib/ulib.h"

#define MiB	(1024ul * 1024)
#define LEN	(64 * MiB)

int main(void)
{
	long r = sys_mmap_anon(LEN, PROT_READ | PROT_WRITE);
	volatile unsigned char *p = (volatile unsigned char *)r;
	unsigned long off;
	unsigned bad = 0, n = 0;

	CHECK(!sys_failed(r));
	for (off = 0; off < LEN; off += MiB) {
		bad += p[off] != 0;
		p[off] = (off / MiB) + 1;
		n++;
	}
	bad += p[LEN - 1] != 0;
	p[LEN - 1] = 0xee;
	CHECK_EQ(bad, 0);
	printf("ok: %u touched bytes of a 64 MiB mapping at %p read zero first\n", n + 1, (void *)r);

	for (off = 0; off < LEN; off += MiB) {
		bad += p[off] != (unsigned char)((off / MiB) + 1);
		bad += p[off + 1] != 0;
		bad += p[off + PAGE_SIZE - 1] != 0;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(p[LEN - 1], 0xee);
	CHECK_EQ(p[LEN - 2], 0);
	printf("ok: every touched byte kept its value, its neighbours are zero\n");

	CHECK_EQ(sys_munmap((void *)r, LEN), 0);
	expect_segv("touch the sparse region after munmap", peek, (void *)(r + 32 * MiB));
	return checks_done("test-sparse");
}
