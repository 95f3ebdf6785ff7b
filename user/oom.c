/*
 * oom.c - running out of memory ends the process that ran out, never the
 * kernel.  A child maps memory in the largest pieces mmap still grants and
 * writes every page, until mmap refuses even 1 MiB (-ENOMEM: the kernel
 * does not promise memory it does not have).  The last MiB or less stays
 * free for page tables and the pages the child itself still touches (its
 * own first touches would otherwise be the faults that find no frame, and
 * it, not the grandchild, would be killed).  Then it forks, which
 * costs only page tables, and the grandchild writes every page again: each
 * write must copy a shared frame, and there are none left, so a
 * copy-on-write fault finds no frame and the kernel kills the grandchild
 * with SIGKILL, as Linux's OOM killer would.  The parent checks both
 * endings, that brk cannot grow past free memory, and that fork works
 * again once the memory is back.  Not a test-* program: it takes all the machine's memory,
 * so only small machines run it (tests/kernel/test_user.c, the matrix's
 * init rows), and never the host.
 */
#include "lib/ulib.h"

#define LARGEST_TRY (1ul << 30)
#define SMALLEST_TRY (1ul << 20)
#define PIECES_MAX 64

static struct { long addr; unsigned long size; } pieces[PIECES_MAX];
static unsigned npieces;

static void write_every_page(char value)
{
	for (unsigned i = 0; i < npieces; i++)
		for (unsigned long off = 0; off < pieces[i].size; off += PAGE_SIZE)
			((volatile char *)pieces[i].addr)[off] = value;
}

/* Map and write the largest pieces mmap grants until it refuses 1 MiB. */
static void map_all_memory(void)
{
	unsigned long size = LARGEST_TRY;

	while (size >= SMALLEST_TRY && npieces < PIECES_MAX) {
		long p = sys_mmap_anon(size, PROT_READ | PROT_WRITE);
		if (sys_failed(p)) {
			CHECK_EQ(p, -ENOMEM);
			size /= 2;
			continue;
		}
		pieces[npieces].addr = p;
		pieces[npieces++].size = size;
		write_every_page(1);
	}
}

static void rewrite_everything(void *unused)
{
	(void)unused;
	write_every_page(2);
}

static void eat_everything(void *unused)
{
	(void)unused;
	map_all_memory();
	int status = child_run(rewrite_everything, NULL);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		dprintf(2, "FAIL the copy-on-write grandchild %s\n", describe_status(status));
		sys_exit_group(1);
	}
	printf("ok: copy-on-write with no frame left: the writer got SIGKILL\n");
}

static void exit_seven(void *unused)
{
	(void)unused;
	sys_exit_group(7);
}

int main(void)
{
	int status = child_run(eat_everything, NULL);
	long brk0 = sys_brk(0);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("ok: mmap refused what it could not back, with -ENOMEM\n");
	/* The next fault is judged on its own: SIGSEGV, not a stale "out of memory". */
	expect_segv("read of the kernel half after the OOM kill", peek, (void *)0xc0000000ul);
	CHECK_EQ(sys_brk((void *)(brk0 + 0x80000000l)), brk0);
	printf("ok: brk by 2 GiB refused, break unchanged\n");
	status = child_run(exit_seven, NULL);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	printf("ok: fork works again afterwards\n");
	return checks_done("oom");
}
