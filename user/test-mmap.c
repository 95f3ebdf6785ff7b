/*
 * test-mmap.c - anonymous private mappings: mmap2, mprotect, munmap.
 *
 *  - mmap2 of 16 pages read-write: zero-filled, page-aligned, every page
 *    writable and readable back;
 *  - mprotect to read-only: still readable with the same contents, a child
 *    writing is killed by SIGSEGV; back to read-write: writable again;
 *  - PROT_NONE on populated pages: reads, writes and a write() from them
 *    fail, and back to read-write the contents are still there;
 *  - munmap of a middle page splits the mapping in two: the pages on both
 *    sides keep their contents and stay writable, a child touching the
 *    hole is killed;
 *  - munmap of the whole range (holes included is fine), then a child
 *    touching it is killed;
 *  - mmap2 with MAP_FIXED at a page-aligned address it chose before works
 *    there;
 *  - bad arguments: length 0 -> -EINVAL; MAP_FIXED with an unaligned
 *    address -> -EINVAL; munmap or mprotect of an unaligned address ->
 *    -EINVAL; a length that can never fit (3.75 GiB, and 0xffffffff whose
 *    page rounding overflows) -> -ENOMEM, and so does mprotect of
 *    0xffffffff bytes;
 *  - PROT_WRITE alone can be read (on x86 it implies PROT_READ, on Linux
 *    too);
 *  - many regions: making every other page of a mapping read-only splits
 *    it into one region per page, well past the 8 the region array starts
 *    with and the 64 the kernel once had room for, until the kernel's
 *    limit of 1024 regions makes mprotect fail with -ENOMEM (as Linux's
 *    vm.max_map_count does, at 65530: there every call succeeds); the
 *    pages keep their contents and rights, a forked child (which copies
 *    the whole region array) sees them too, and one munmap takes them all
 *    away.
 */
#include "lib/ulib.h"

#define PAGES	16
#define LEN	(PAGES * PAGE_SIZE)

#define MANY_PAGES 1100 /* every other one read-only: more regions than the kernel allows */

static void child_reads_every_page(void *arg)
{
	volatile unsigned char *m = arg;

	for (unsigned i = 0; i < MANY_PAGES; i += 2)
		if (m[i * PAGE_SIZE] != (unsigned char)(i + 1))
			sys_exit(1);
}

static void many_regions(void)
{
	long r = sys_mmap_anon(MANY_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE);
	volatile unsigned char *m = (volatile unsigned char *)r;
	unsigned made = 0, i;
	long last = 0;

	CHECK(!sys_failed(r));
	for (i = 0; i < MANY_PAGES; i += 2)
		m[i * PAGE_SIZE] = (unsigned char)(i + 1);
	for (i = 1; i < MANY_PAGES && !(last = sys_mprotect((void *)(r + i * PAGE_SIZE), PAGE_SIZE,
							      PROT_READ)); i += 2)
		made++;
	/*
	 * Each call adds two regions; the program has a handful of others.
	 * On our kernel (user space below 0xC0000000) the limit of 1024 ends
	 * the loop; Linux's is 65530 by default, far past MANY_PAGES.
	 */
	if ((unsigned long)&made < 0xc0000000ul) {
		CHECK_EQ(last, -ENOMEM);
		CHECK(made > 500 && made < 512);
	} else {
		CHECK_EQ(last, 0);
		CHECK_EQ(made, MANY_PAGES / 2);
	}
	CHECK_EQ(m[0], 1);
	m[0] = 7;
	CHECK_EQ(m[0], 7);
	m[0] = 1;
	expect_segv("write to a page in the middle of 1000 regions", poke,
		    (void *)(r + 401 * PAGE_SIZE));
	CHECK_EQ(child_run(child_reads_every_page, (void *)r), 0);
	CHECK_EQ(sys_munmap((void *)r, MANY_PAGES * PAGE_SIZE), 0);
	expect_segv("read after one munmap of all of them", peek, (void *)(r + 401 * PAGE_SIZE));
	printf("ok: %u mprotect calls split a mapping into %u regions%s; "
	       "a child saw them all; one munmap took them away\n", made, 2 * made + 1,
	       last ? ", the next got -ENOMEM" : "");
}

int main(void)
{
	long r = sys_mmap_anon(LEN, PROT_READ | PROT_WRITE);
	volatile unsigned char *p = (volatile unsigned char *)r;
	unsigned i, bad = 0;

	CHECK(!sys_failed(r));
	CHECK_EQ(r & (PAGE_SIZE - 1), 0);
	for (i = 0; i < LEN; i += 64)
		bad += p[i] != 0;
	CHECK_EQ(bad, 0);
	for (i = 0; i < PAGES; i++) {
		p[i * PAGE_SIZE] = i + 1;
		p[i * PAGE_SIZE + PAGE_SIZE - 1] = 100 + i;
	}
	for (i = 0; i < PAGES; i++) {
		CHECK_EQ(p[i * PAGE_SIZE], i + 1);
		CHECK_EQ(p[i * PAGE_SIZE + PAGE_SIZE - 1], 100 + i);
	}
	printf("ok: mmap2 %u pages at %p: zeroed, written, read back\n", PAGES, (void *)r);

	CHECK_EQ(sys_mprotect((void *)r, LEN, PROT_READ), 0);
	CHECK_EQ(p[5 * PAGE_SIZE], 6);
	expect_segv("write to a page made read-only by mprotect", poke, (void *)(r + 5 * PAGE_SIZE));
	CHECK_EQ(sys_mprotect((void *)r, LEN, PROT_READ | PROT_WRITE), 0);
	p[5 * PAGE_SIZE] = 55;
	CHECK_EQ(p[5 * PAGE_SIZE], 55);
	p[5 * PAGE_SIZE] = 6;
	printf("ok: mprotect read-only, then read-write again\n");

	/* mprotect of part of the mapping splits it too. */
	CHECK_EQ(sys_mprotect((void *)(r + 2 * PAGE_SIZE), PAGE_SIZE, PROT_READ), 0);
	expect_segv("write to the one page made read-only", poke, (void *)(r + 2 * PAGE_SIZE));
	p[1 * PAGE_SIZE] = 2;
	p[3 * PAGE_SIZE] = 4;
	CHECK_EQ(sys_mprotect((void *)(r + 2 * PAGE_SIZE), PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
	printf("ok: mprotect of one middle page\n");

	/* PROT_NONE on populated pages: no access at all, contents kept for later. */
	CHECK_EQ(sys_mprotect((void *)r, LEN, PROT_NONE), 0);
	expect_segv("read of a PROT_NONE page", peek, (void *)(r + 5 * PAGE_SIZE));
	expect_segv("write to a PROT_NONE page", poke, (void *)(r + 5 * PAGE_SIZE));
	CHECK_EQ(sys_write(1, (void *)(r + 5 * PAGE_SIZE), 1), -EFAULT);
	CHECK_EQ(sys_mprotect((void *)r, LEN, PROT_READ | PROT_WRITE), 0);
	CHECK_EQ(p[5 * PAGE_SIZE], 6);
	printf("ok: PROT_NONE on populated pages, then back: contents intact\n");

	CHECK_EQ(sys_munmap((void *)(r + 7 * PAGE_SIZE), 2 * PAGE_SIZE), 0);
	expect_segv("read the unmapped middle of a mapping", peek, (void *)(r + 7 * PAGE_SIZE));
	expect_segv("write the unmapped middle of a mapping", poke, (void *)(r + 8 * PAGE_SIZE + 100));
	for (i = 0; i < PAGES; i++) {
		if (i == 7 || i == 8)
			continue;
		CHECK_EQ(p[i * PAGE_SIZE], i + 1);
		CHECK_EQ(p[i * PAGE_SIZE + PAGE_SIZE - 1], 100 + i);
		p[i * PAGE_SIZE + 1] = i;
	}
	printf("ok: munmap of pages 7-8 split the mapping; both sides intact and writable\n");

	CHECK_EQ(sys_munmap((void *)r, LEN), 0);
	expect_segv("read the first page after munmap", peek, (void *)r);
	expect_segv("write the last page after munmap", poke, (void *)(r + LEN - 1));
	printf("ok: munmap of the whole range\n");

	/* MAP_FIXED at the address just freed. */
	CHECK_EQ(sys_mmap2((void *)r, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), r);
	CHECK_EQ(p[0], 0);
	p[PAGE_SIZE + 7] = 9;
	CHECK_EQ(p[PAGE_SIZE + 7], 9);
	CHECK_EQ(sys_munmap((void *)r, 2 * PAGE_SIZE), 0);
	printf("ok: MAP_FIXED at %p\n", (void *)r);

	CHECK_EQ(sys_mmap_anon(0, PROT_READ | PROT_WRITE), -EINVAL);
	CHECK_EQ(sys_mmap2((void *)(r + 12), PAGE_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), -EINVAL);
	CHECK_EQ(sys_munmap((void *)(r + 12), PAGE_SIZE), -EINVAL);
	CHECK_EQ(sys_mprotect((void *)(r + 12), PAGE_SIZE, PROT_READ), -EINVAL);
	CHECK_EQ(sys_mmap_anon(0xf0000000ul, PROT_READ | PROT_WRITE), -ENOMEM);
	CHECK_EQ(sys_mmap_anon(0xfffffffful, PROT_READ | PROT_WRITE), -ENOMEM);
	CHECK_EQ(sys_mprotect((void *)r, 0xfffffffful, PROT_READ), -ENOMEM);
	printf("ok: length 0, unaligned MAP_FIXED/munmap/mprotect -> -EINVAL; "
	       "3.75 GiB and 0xffffffff -> -ENOMEM, mprotect of 0xffffffff bytes too\n");

	/*
	 * A write-only mapping can be written and read, as x86 pages always
	 * can.  (Exec-only is not checked: Linux on a CPU with protection keys
	 * makes it really execute-only.)
	 */
	long w = sys_mmap_anon(PAGE_SIZE, PROT_WRITE);
	CHECK(!sys_failed(w));
	*(volatile char *)w = 5;
	CHECK_EQ(*(volatile char *)w, 5);
	CHECK_EQ(sys_munmap((void *)w, PAGE_SIZE), 0);
	printf("ok: PROT_WRITE alone can be written and read\n");

	many_regions();
	return checks_done("test-mmap");
}
