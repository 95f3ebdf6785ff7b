/*
 * test-jumpdata.c - data is not code.  A `ret` instruction (0xC3) copied
 * into static data, into .bss, onto the stack and into the heap (brk) is
 * called through a function pointer, each in a child: each call kills the
 * child with SIGSEGV.  Our kernel enforces it as exec-shield did, through
 * the limit of the user code segment, which ends where the program's
 * executable segments end (a #GP the kernel reports as SIGSEGV); Linux
 * through the NX bit.  The same `ret` called in the program's own text
 * works, so the children die of where the code is, not of what it is.
 *
 * Each target is tried twice: by a near call and by a far call through the
 * program's own code selector.  Hardware checks the segment limit on both;
 * QEMU's TCG emulator (which `make test` runs) only on far transfers, so
 * there the near calls run: a near call that comes back is reported, not
 * failed, and the far calls test the limit everywhere.
 */
#include "lib/ulib.h"

#define NEAR_RET 0xc3
#define FAR_RET  0xcb

static unsigned char data_code[16] = { NEAR_RET, FAR_RET };
static unsigned char bss_code[16];

static void __attribute__((noinline)) call(void *code)
{
	((void (*)(void))code)();
}

/* A far call to code:CS, which a far return (at code + 1) would come back from. */
static void __attribute__((noinline)) far_call(void *code)
{
	struct {
		uint32_t offset;
		uint16_t selector;
	} __attribute__((packed)) target = { (uint32_t)code + 1, 0 };

	__asm__ volatile("mov %%cs, %0" : "=r"(target.selector));
	__asm__ volatile("lcall *%0" : : "m"(target) : "memory");
}

static void call_on_stack(void *far)
{
	volatile unsigned char stack_code[16] = { NEAR_RET, FAR_RET };

	if (far)
		far_call((void *)stack_code);
	else
		call((void *)stack_code);
}

static void __attribute__((noinline)) ret_in_text(void)
{
	__asm__ volatile("");
}

/* SIGSEGV expected; a near call that returned is only noted (see above). */
static void expect_near_segv(const char *what, void (*fn)(void *), void *arg)
{
	int status = child_run(fn, arg);

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("note: %s ran: this CPU does not check the code segment limit on "
		       "near transfers (QEMU's TCG does not)\n", what);
		return;
	}
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	printf("ok: %s: killed by SIGSEGV\n", what);
}

int main(void)
{
	long brk0, heap;

	call((void *)ret_in_text);
	CHECK(1);
	printf("ok: calling a function in the text works\n");

	expect_segv("far call into .data", far_call, data_code);
	expect_near_segv("near call into .data", call, data_code);
	bss_code[0] = NEAR_RET;
	bss_code[1] = FAR_RET;
	expect_segv("far call into .bss", far_call, bss_code);
	expect_near_segv("near call into .bss", call, bss_code);
	expect_segv("far call onto the stack", call_on_stack, (void *)1);
	expect_near_segv("near call onto the stack", call_on_stack, NULL);

	brk0 = sys_brk(0);
	heap = (brk0 + PAGE_SIZE - 1) & ~(long)(PAGE_SIZE - 1);
	CHECK_EQ(sys_brk((void *)(heap + PAGE_SIZE)), heap + PAGE_SIZE);
	((unsigned char *)heap)[0] = NEAR_RET;
	((unsigned char *)heap)[1] = FAR_RET;
	expect_segv("far call into the heap", far_call, (void *)heap);
	expect_near_segv("near call into the heap", call, (void *)heap);
	CHECK_EQ(sys_brk((void *)brk0), brk0);
	/* Code in a fresh PROT_EXEC mapping runs at once (the limit moves with mmap). */
	long exec = sys_mmap_anon(PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	CHECK(!sys_failed(exec));
	((unsigned char *)exec)[0] = NEAR_RET;
	((unsigned char *)exec)[1] = FAR_RET;
	int status = child_run(far_call, (void *)exec);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	call((void *)exec);
	CHECK_EQ(sys_munmap((void *)exec, PAGE_SIZE), 0);
	printf("ok: a far call into a new PROT_EXEC mapping returns\n");
	return checks_done("test-jumpdata");
}
