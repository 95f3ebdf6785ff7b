/*
 * syscall.c - the system-call table, on the Linux i386 ABI.
 *
 * `int $0x80` with the call's number in eax and its arguments in ebx, ecx,
 * edx, esi, edi, ebp; the result comes back in eax, a negative errno on
 * failure.  The numbers are Linux's (arch/x86/entry/syscalls/syscall_32.tbl),
 * so a static i386 Linux program that sticks to these calls runs unchanged.
 * Unknown numbers get -ENOSYS, as on Linux.
 *
 * Every user pointer goes through copy_to_user / copy_from_user
 * (mm/uvm.h): a bad one is -EFAULT, never a kernel fault.
 */
#include <stdint.h>

#include "arch/x86/pit.h"
#include "arch/x86/serial.h"
#include "console.h"
#include "errno.h"
#include "proc.h"

typedef int32_t (*syscall_fn)(uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e,
			      uint32_t f);

#define IO_CHUNK 256

static int32_t sys_exit(uint32_t code, uint32_t b, uint32_t c, uint32_t d, uint32_t e, uint32_t f)
{
	(void)b, (void)c, (void)d, (void)e, (void)f;
	proc_exit(WAIT_EXITED(code));
}

static int32_t sys_fork(uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e, uint32_t f)
{
	(void)a, (void)b, (void)c, (void)d, (void)e, (void)f;
	return proc_fork();
}

/* fd 0 is the serial line: block until a byte arrives, return what is there. */
static int32_t sys_read(uint32_t fd, uint32_t buf, uint32_t len, uint32_t d, uint32_t e,
			uint32_t f)
{
	char chunk[IO_CHUNK];
	uint32_t n = 0;

	(void)d, (void)e, (void)f;
	if (fd != 0)
		return -EBADF;
	if (len == 0)
		return 0;
	/* Check the whole buffer first: a bad one must not eat input. */
	if (!uvm_user_range_ok(buf, len, VMA_WRITE))
		return -EFAULT;
	while (!serial_has_input()) {
		if (proc_current->kill_signal)
			return -EINTR;
		proc_sleep_ticks(1);
	}
	while (n < len && n < IO_CHUNK && serial_has_input()) {
		char ch = serial_getc();
		chunk[n++] = ch == '\r' ? '\n' : ch;
		if (ch == '\r' || ch == '\n')
			break;
	}
	return copy_to_user(buf, chunk, n) ? -EFAULT : (int32_t)n;
}

/* fd 1 and 2 are the console.  All of the buffer is checked before any is written. */
static int32_t sys_write(uint32_t fd, uint32_t buf, uint32_t len, uint32_t d, uint32_t e,
			 uint32_t f)
{
	char chunk[IO_CHUNK];

	(void)d, (void)e, (void)f;
	if (fd != 1 && fd != 2)
		return -EBADF;
	if ((int32_t)len < 0)
		return -EINVAL;
	if (!uvm_user_range_ok(buf, len, VMA_READ))
		return -EFAULT;
	for (uint32_t done = 0; done < len;) {
		uint32_t n = len - done < IO_CHUNK ? len - done : IO_CHUNK;
		if (copy_from_user(chunk, buf + done, n))
			return done ? (int32_t)done : -EFAULT;
		for (uint32_t i = 0; i < n; i++)
			console_putc(chunk[i]);
		done += n;
	}
	return (int32_t)len;
}

static int32_t sys_waitpid(uint32_t pid, uint32_t status, uint32_t options, uint32_t d,
			   uint32_t e, uint32_t f)
{
	(void)d, (void)e, (void)f;
	return proc_waitpid((int)pid, status, (int)options);
}

static int32_t sys_getpid(uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e, uint32_t f)
{
	(void)a, (void)b, (void)c, (void)d, (void)e, (void)f;
	return proc_current->pid;
}

static int32_t sys_getppid(uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e, uint32_t f)
{
	(void)a, (void)b, (void)c, (void)d, (void)e, (void)f;
	return proc_current->parent ? proc_current->parent->pid : 0;
}

static int32_t sys_kill(uint32_t pid, uint32_t sig, uint32_t c, uint32_t d, uint32_t e,
			uint32_t f)
{
	(void)c, (void)d, (void)e, (void)f;
	return proc_kill((int)pid, (int)sig);
}

static int32_t sys_brk(uint32_t addr, uint32_t b, uint32_t c, uint32_t d, uint32_t e, uint32_t f)
{
	(void)b, (void)c, (void)d, (void)e, (void)f;
	return (int32_t)uvm_brk(&proc_current->uvm, addr);
}

static int32_t sys_munmap(uint32_t addr, uint32_t len, uint32_t c, uint32_t d, uint32_t e,
			  uint32_t f)
{
	(void)c, (void)d, (void)e, (void)f;
	return uvm_munmap(&proc_current->uvm, addr, len);
}

static int32_t sys_mprotect(uint32_t addr, uint32_t len, uint32_t prot, uint32_t d, uint32_t e,
			    uint32_t f)
{
	(void)d, (void)e, (void)f;
	return uvm_mprotect(&proc_current->uvm, addr, len, prot);
}

static int32_t sys_sched_yield(uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e,
			       uint32_t f)
{
	(void)a, (void)b, (void)c, (void)d, (void)e, (void)f;
	proc_yield();
	return 0;
}

#define NSEC_PER_TICK (1000000000u / PIT_HZ)

static int32_t sys_nanosleep(uint32_t req, uint32_t rem, uint32_t c, uint32_t d, uint32_t e,
			     uint32_t f)
{
	int32_t ts[2]; /* struct timespec: tv_sec, tv_nsec (32-bit time_t) */
	uint64_t ticks;

	(void)c, (void)d, (void)e, (void)f;
	if (copy_from_user(ts, req, sizeof(ts)))
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
		return -EINVAL;
	ticks = (uint64_t)ts[0] * PIT_HZ + ((uint32_t)ts[1] + NSEC_PER_TICK - 1) / NSEC_PER_TICK;
	if (ticks)
		proc_sleep_ticks(ticks > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)ticks);
	if (proc_current->kill_signal)
		return -EINTR;
	if (rem && copy_to_user(rem, &(int32_t[2]){ 0, 0 }, sizeof(ts)))
		return -EFAULT;
	return 0;
}

static int32_t sys_mmap2(uint32_t addr, uint32_t len, uint32_t prot, uint32_t flags, uint32_t fd,
			 uint32_t pgoff)
{
	(void)fd, (void)pgoff; /* anonymous mappings only: both are ignored */
	return uvm_mmap(&proc_current->uvm, addr, len, prot, flags);
}

static const syscall_fn table[] = {
	[1] = sys_exit,
	[2] = sys_fork,
	[3] = sys_read,
	[4] = sys_write,
	[7] = sys_waitpid,
	[20] = sys_getpid,
	[37] = sys_kill,
	[45] = sys_brk,
	[64] = sys_getppid,
	[91] = sys_munmap,
	[125] = sys_mprotect,
	[158] = sys_sched_yield,
	[162] = sys_nanosleep,
	[192] = sys_mmap2,
	[252] = sys_exit, /* exit_group: one thread per process */
};

#define TABLE_SIZE (sizeof(table) / sizeof(table[0]))

static bool syscall(struct trap_frame *tf)
{
	uint32_t nr = tf->eax;

	proc_current->tf = tf;
	if (nr < TABLE_SIZE && table[nr])
		tf->eax = (uint32_t)table[nr](tf->ebx, tf->ecx, tf->edx, tf->esi, tf->edi, tf->ebp);
	else
		tf->eax = (uint32_t)-ENOSYS;
	return true;
}

void syscall_init(void);
void syscall_init(void)
{
	trap_set_handler(TRAP_SYSCALL, syscall);
}
