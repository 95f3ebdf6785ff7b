/*
 * test_user.c - user mode on the running kernel: every user test program
 * of the initrd (test-*) must exit with status 0 and leave behind neither
 * a frame nor a kernel allocation; every broken ELF file (bad-*) must be
 * refused by the loader before anything is created; and the copy-in/
 * copy-out helpers must refuse what is not a process's memory.
 *
 * What a run leaves behind is counted two ways.  Frames: those in use
 * outside the kernel heap (the free count, plus the heap's own pages,
 * which come and go by the heap's rules -- an object cache keeps an empty
 * slab, the top is given back a step late).  Kernel allocations: every
 * kmalloc block and cache object made during the run (numbered from a
 * leak mark) must be gone, the process's struct proc, address space and
 * region array included.
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
#include "mm/kheap.h"
#include "mm/pageref.h"

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The machine's memory at one moment, to compare with later. */
struct usage {
	uint32_t mark;   /* the number the next kernel allocation gets */
	uint32_t frames; /* free frames, and the kernel heap's */
};

static uint32_t heap_frames(void)
{
	return (uint32_t)((kheap.heap.stats.committed + kheap.stats.huge_bytes) / PAGE_SIZE);
}

static struct usage usage_now(void)
{
	return (struct usage){ kalloc_mark(&kheap), kpmm.stats.free_frames + heap_frames() };
}

static void count_one(void *arg, const struct heap_block_info *b)
{
	(void)b;
	(*(unsigned *)arg)++;
}

/* What is still taken of what was taken since `u`. */
struct leftovers {
	int32_t frames;   /* outside the kernel heap */
	unsigned objects; /* kernel allocations */
};

static struct leftovers left_since(struct usage u)
{
	struct leftovers left = { (int32_t)u.frames - (int32_t)usage_now().frames, 0 };

	kheap_for_each_live(u.mark, count_one, &left.objects);
	return left;
}

/* Run `name`; its wait status (or -errno), and what it left behind. */
static int run_counting(const char *name, struct leftovers *left)
{
	const char *argv[] = { name, NULL };
	struct usage before = usage_now();
	int status = proc_run(argv);

	*left = left_since(before);
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
	struct leftovers left;

	if (!need_initrd())
		return;
	/* The first run may make caches (address spaces, processes) for good. */
	KEXPECT(run_counting("hello", &left) == 0, "hello did not exit with status 0");
	while (initrd_next(&pos, &f)) {
		if (!has_prefix(f.name, "test-"))
			continue;
		user_frames_peak = 0;
		int status = run_counting(f.name, &left);
		bool ok = status == 0 && left.frames == 0 && left.objects == 0 && user_frames == 0;
		kprintf("# %s: %s, %d frames and %u kernel allocations leaked, at most %uK of user "
			"memory\n", f.name, status < 0 ? "could not start" : proc_status_text(status),
			left.frames, left.objects, user_frames_peak * 4);
		ran++;
		failed += !ok;
	}
	KEXPECT(ran >= 10, "only %u test programs in the initrd", ran);
	KEXPECT(failed == 0, "%u of %u user test programs failed or leaked", failed, ran);
}

static struct kmem_cache *cache_named(const char *name)
{
	struct kmem_cache *c = kheap_named_cache_next(NULL);

	while (c && strcmp(c->name, name))
		c = kheap_named_cache_next(c);
	return c;
}

/*
 * A process is an object of the "proc" cache and its regions a kmalloc
 * block; once it is reaped, no allocation made for it is left.  The
 * process is run to its end before anything is judged, so that a failed
 * check leaves nothing behind for the tests after this one.
 */
KTEST(user_process_memory_comes_from_the_heap)
{
	const char *argv[] = { "hello", NULL };
	struct kmem_cache *procs = cache_named("proc");

	if (!need_initrd())
		return;
	KEXPECT(procs != NULL, "no \"proc\" object cache");
	size_t live = procs->stats.live;
	struct usage before = usage_now();
	int pid = proc_spawn(argv);
	struct proc *p = proc_find(pid);
	size_t live_then = procs->stats.live;
	bool array_from_kmalloc = p && p->uvm.vmas.n > 0 &&
				  ksize(p->uvm.vmas.v) >= p->uvm.vmas.cap * sizeof(struct vma);
	proc_run_all();
	struct leftovers left = left_since(before);
	KEXPECT(pid > 0 && p, "hello did not start (%d)", pid);
	KEXPECT(live_then == live + 1, "%u processes in the cache while hello ran, %u before",
		(unsigned)live_then, (unsigned)live);
	KEXPECT(array_from_kmalloc, "hello's region array is not a kmalloc block");
	KEXPECT(procs->stats.live == live && left.objects == 0 && left.frames == 0,
		"after the reaping: %u processes in the cache (%u before), %u kernel allocations "
		"and %d frames left", (unsigned)procs->stats.live, (unsigned)live, left.objects,
		left.frames);
}

KTEST(user_bad_elf_files_refused)
{
	struct ustar_file f;
	size_t pos = 0;
	unsigned refused = 0, bad = 0;

	if (!need_initrd())
		return;
	struct usage before = usage_now();
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
	struct leftovers left = left_since(before);
	KEXPECT(left.frames == 0 && left.objects == 0,
		"refused programs left %d frames and %u kernel allocations", left.frames, left.objects);
	KEXPECT(!proc_any_alive(), "a refused program left a process");
}

/* Eating all memory ends in -ENOMEM or SIGKILL for the eater, and nothing is lost. */
KTEST(user_out_of_memory_kills_only_the_process)
{
	struct leftovers left;

	if (!need_initrd())
		return;
	if (kpmm.stats.free_frames > 256 * 1024 * 1024 / PAGE_SIZE) {
		ktest_skip("more than 256 MiB free: too slow to exhaust under emulation");
		return;
	}
	int status = run_counting("oom", &left);
	KEXPECT(status == 0, "oom %s", status < 0 ? "could not start" : proc_status_text(status));
	KEXPECT(left.frames == 0 && left.objects == 0 && user_frames == 0,
		"%d frames and %u kernel allocations leaked", left.frames, left.objects);
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
