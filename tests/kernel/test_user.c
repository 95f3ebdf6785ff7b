/*
 * test_user.c - user mode on the running kernel: every user test program
 * of the initrd (test-*) must exit with status 0 and leave the free frame
 * count where it was; every broken ELF file (bad-*) must be refused by the
 * loader before anything is created; and the copy-in/copy-out helpers must
 * refuse what is not a process's memory.
 *
 * The test programs check their own results (user/test-*.c); here only
 * their exit status and the memory they leave behind are judged.  Boots
 * without an initrd skip these tests.
 */
#include <string.h>

#include "kernel/errno.h"
#include "kernel/initrd.h"
#include "kernel/ktest.h"
#include "kernel/memory.h"
#include "kernel/printf.h"
#include "kernel/proc.h"
#include "arch/x86/paging.h"
#include "mm/pageref.h"

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Run `name`; its wait status (or -errno), and the frames it left allocated. */
static int run_counting(const char *name, int32_t *leaked)
{
	const char *argv[] = { name, NULL };
	uint32_t before = kpmm.stats.free_frames;
	int status = proc_run(argv);

	*leaked = (int32_t)before - (int32_t)kpmm.stats.free_frames;
	return status;
}

static bool need_initrd(void)
{
	if (initrd_present())
		return true;
	ktest_skip("no initrd (boot with -initrd build/initrd.tar)");
	return false;
}

KTEST(user_programs_pass_and_leak_nothing)
{
	struct ustar_file f;
	size_t pos = 0;
	unsigned ran = 0, failed = 0;
	int32_t leaked;

	if (!need_initrd())
		return;
	/* The first run may grow caches (address spaces, vmalloc) for good. */
	KEXPECT(run_counting("hello", &leaked) == 0, "hello did not exit with status 0");
	while (initrd_next(&pos, &f)) {
		if (!has_prefix(f.name, "test-"))
			continue;
		user_frames_peak = 0;
		int status = run_counting(f.name, &leaked);
		bool ok = status == 0 && leaked == 0 && user_frames == 0;
		kprintf("# %s: %s, %d frames leaked, at most %uK of user memory\n", f.name,
			status < 0 ? "could not start" : proc_status_text(status), leaked,
			user_frames_peak * 4);
		ran++;
		failed += !ok;
	}
	KEXPECT(ran >= 10, "only %u test programs in the initrd", ran);
	KEXPECT(failed == 0, "%u of %u user test programs failed or leaked frames", failed, ran);
}

KTEST(user_bad_elf_files_refused)
{
	struct ustar_file f;
	size_t pos = 0;
	unsigned refused = 0, bad = 0;

	if (!need_initrd())
		return;
	uint32_t before = kpmm.stats.free_frames;
	while (initrd_next(&pos, &f)) {
		if (!has_prefix(f.name, "bad-"))
			continue;
		const char *argv[] = { f.name, NULL };
		int r = proc_spawn(argv);
		bad++;
		refused += r == -ENOEXEC;
		if (r >= 0)
			proc_run_all();
	}
	KEXPECT(bad >= 15, "only %u broken ELF files in the initrd", bad);
	KEXPECT(refused == bad, "%u of %u broken ELF files were not refused", bad - refused, bad);
	const char *missing[] = { "no-such-program", NULL };
	KEXPECT(proc_spawn(missing) == -ENOENT, "a missing program was not -ENOENT");
	KEXPECT(kpmm.stats.free_frames == before, "refused programs left %d frames allocated",
		(int)(before - kpmm.stats.free_frames));
	KEXPECT(!proc_any_alive(), "a refused program left a process");
}

/* Eating all memory ends in -ENOMEM or SIGKILL for the eater, and nothing is lost. */
KTEST(user_out_of_memory_kills_only_the_process)
{
	int32_t leaked;

	if (!need_initrd())
		return;
	if (kpmm.stats.free_frames > 256 * 1024 * 1024 / PAGE_SIZE) {
		ktest_skip("more than 256 MiB free: too slow to exhaust under emulation");
		return;
	}
	int status = run_counting("oom", &leaked);
	KEXPECT(status == 0, "oom %s", status < 0 ? "could not start" : proc_status_text(status));
	KEXPECT(leaked == 0 && user_frames == 0, "%d frames leaked", leaked);
}

KTEST(user_init_arguments_and_exit_status)
{
	const char *argv[] = { "hello", "first", "second", NULL };

	if (!need_initrd())
		return;
	KEXPECT(proc_run(argv) == 0, "hello with arguments did not exit with status 0");
}

KTEST(user_copy_helpers_refuse_without_process)
{
	char buf[8] = "kernel";

	/* No process is current: there is no user memory to copy to or from. */
	KEXPECT(copy_to_user(0x08048000, buf, sizeof(buf)) == -EFAULT, "copy_to_user accepted");
	KEXPECT(copy_from_user(buf, 0x08048000, sizeof(buf)) == -EFAULT, "copy_from_user accepted");
	KEXPECT(!strcmp(buf, "kernel"), "a refused copy changed the buffer");
}
