/*
 * proc.c - processes and the scheduler (see proc.h).
 *
 * The process table is a fixed array, as in xv6: a limit on processes is
 * something the kernel must have anyway (a fork bomb meets it and gets
 * -EAGAIN).  It holds pointers: each struct proc is an object of the
 * "proc" cache (mm/kheap.h, `slabinfo` shows it), taken at spawn or fork
 * and given back when the process is reaped, so the memory of processes
 * that do not exist is not held, and the table itself cannot run out of
 * memory.  A process is set up (PROC_NEW) in its slot before it is seen.
 *
 * Scheduling.  There is no idle process: whoever calls proc_run (kmain,
 * the monitor, an in-kernel test) becomes the scheduler and, between
 * processes, runs on its own stack.  It picks the next runnable process in
 * round-robin order, loads its address space, its kernel stack into the
 * TSS and its code-segment limit into the GDT, and switches stacks
 * (arch/x86/switch.S).  The process runs until it blocks, yields, exits or
 * is preempted, and each of those switches back.  With nothing runnable,
 * the scheduler halts until the next interrupt.
 *
 * A new process's kernel stack is made to look as if it had been switched
 * out on its way back to user mode: a trap frame with the user registers,
 * under it the return address `trap_return` and four saved registers for
 * switch_stacks to pop.  fork copies the parent's trap frame with eax = 0.
 *
 * Orphans become the kernel's (parent NULL) and are reaped as they die; a
 * process run by proc_run is waited for by the kernel.
 */
#include "proc.h"

#include <string.h>

#include "arch/x86/gdt.h"
#include "arch/x86/io.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/pit.h"
#include "arch/x86/serial.h"
#include "arch/x86/tss.h"
#include "elf.h"
#include "errno.h"
#include "initrd.h"
#include "mm/fault.h"
#include "mm/kheap.h"
#include "mm/pageref.h"
#include "mm/vmalloc.h"
#include "panic.h"
#include "printf.h"

#define EFLAGS_IF       0x200
#define EFLAGS_RESERVED 0x002 /* bit 1 always reads 1 */

struct proc *proc_current;
static struct kmem_cache *proc_cache;
static struct proc *procs[PROC_MAX]; /* NULL: a free slot */
static uint32_t scheduler_esp;
static unsigned next_slot; /* round robin starts here */
static int last_pid;
static bool need_resched;

void switch_stacks(uint32_t *save, uint32_t next);
extern char trap_return[];

/* ---- the table ------------------------------------------------------------ */

/* The process in slot i, if there is one and it is set up; else NULL. */
static struct proc *slot_proc(unsigned i)
{
	struct proc *p = procs[i];

	return p && p->state != PROC_NEW ? p : NULL;
}

struct proc *proc_find(int pid)
{
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = slot_proc(i);
		if (p && p->pid == pid)
			return p;
	}
	return NULL;
}

bool proc_any_alive(void)
{
	for (unsigned i = 0; i < PROC_MAX; i++)
		if (slot_proc(i))
			return true;
	return false;
}

/* A new process in a free slot, with a kernel stack, or NULL (*error says why). */
static struct proc *proc_alloc(const char *name, int *error)
{
	unsigned i = 0;
	struct proc *p;

	while (i < PROC_MAX && procs[i])
		i++;
	if (i == PROC_MAX) {
		*error = -EAGAIN;
		return NULL;
	}
	if (!(p = kmem_cache_alloc(proc_cache))) {
		*error = -ENOMEM;
		return NULL;
	}
	memset(p, 0, sizeof(*p));
	if (!(p->kstack = kstack_alloc())) {
		kmem_cache_free(proc_cache, p);
		*error = -ENOMEM;
		return NULL;
	}
	p->pid = ++last_pid;
	p->slot = i;
	for (unsigned k = 0; k + 1 < sizeof(p->name) && name[k]; k++)
		p->name[k] = name[k];
	procs[i] = p;
	return p;
}

static void proc_free(struct proc *p)
{
	vfree(p->kstack);
	procs[p->slot] = NULL;
	kmem_cache_free(proc_cache, p);
}

/* The kernel stack of a process about to return to user mode with `tf`. */
static void prepare_stack(struct proc *p, const struct trap_frame *tf)
{
	uint32_t top = (uint32_t)p->kstack + KSTACK_SIZE;
	uint32_t *sp;

	p->tf = (struct trap_frame *)(top - sizeof(struct trap_frame));
	*p->tf = *tf;
	sp = (uint32_t *)p->tf;
	*--sp = (uint32_t)trap_return;
	for (int i = 0; i < 4; i++) /* ebp, ebx, esi, edi for switch_stacks */
		*--sp = 0;
	p->kesp = (uint32_t)sp;
}

/* ---- creating processes ----------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *base = path;

	for (; *path; path++)
		if (*path == '/')
			base = path + 1;
	return base;
}

static int load_program(struct proc *p, const char *const *argv, uint32_t *entry, uint32_t *esp)
{
	static const char *const envp[] = { "PATH=/", NULL };
	struct ustar_file f;
	struct elf_image img;
	const char *why;
	int r;

	if ((why = initrd_find(argv[0], &f))) {
		kprintf("exec %s: %s\n", argv[0], why);
		return -ENOENT;
	}
	if ((why = elf_check(f.data, f.size, USER_BASE, USER_MMAP_TOP, &img))) {
		kprintf("exec %s: refused: %s\n", argv[0], why);
		return -ENOEXEC;
	}
	if ((r = uvm_create(&p->uvm)))
		return r;
	*entry = img.entry;
	return uvm_load(&p->uvm, &img, initrd_file_pa(&f), argv, envp, esp);
}

int proc_spawn(const char *const *argv)
{
	struct trap_frame tf = { 0 };
	int r;
	struct proc *p = proc_alloc(base_name(argv[0]), &r);

	if (!p)
		return r;
	if ((r = load_program(p, argv, &tf.eip, &tf.user_esp))) {
		uvm_destroy(&p->uvm);
		proc_free(p);
		return r;
	}
	tf.cs = GDT_USER_CODE;
	tf.ds = tf.es = tf.fs = tf.gs = tf.user_ss = GDT_USER_DATA;
	tf.eflags = EFLAGS_IF | EFLAGS_RESERVED;
	prepare_stack(p, &tf);
	fpu_state_init(&p->fpu);
	p->job = p->pid;
	p->state = PROC_RUNNABLE;
	return p->pid;
}

int proc_fork(void)
{
	struct proc *parent = proc_current, *child;
	int r;

	if (!(child = proc_alloc(parent->name, &r)))
		return r;
	if ((r = uvm_fork(&child->uvm, &parent->uvm))) {
		proc_free(child);
		return r;
	}
	prepare_stack(child, parent->tf);
	child->tf->eax = 0; /* fork returns 0 in the child */
	fpu_save(&child->fpu); /* the parent's registers, live: it is running */
	fpu_restore(&child->fpu);
	child->parent = parent;
	child->job = parent->job;
	child->state = PROC_RUNNABLE;
	return child->pid;
}

/* ---- the scheduler ------------------------------------------------------------ */

static bool ready(const struct proc *p)
{
	return p->state == PROC_RUNNABLE ||
	       (p->state == PROC_SLEEPING && p->wake_tick && pit_ticks >= p->wake_tick);
}

static struct proc *pick_next(void)
{
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = slot_proc((next_slot + i) % PROC_MAX);
		if (p && ready(p)) {
			next_slot = p->slot + 1;
			return p;
		}
	}
	return NULL;
}

/*
 * Load p's code-segment limit: the end of its highest executable region
 * (none: one page over the unmapped page 0).  Called before every return
 * to user mode, since mmap, mprotect and munmap move it.
 */
static uint32_t code_segment_end(const struct proc *p)
{
	uint32_t end = p->uvm.code_end ? p->uvm.code_end : PAGE_SIZE;

	gdt_set_user_code_end(end);
	return end;
}

static void run(struct proc *p)
{
	uint32_t start = pit_ticks;

	p->state = PROC_RUNNING;
	p->wake_tick = 0;
	proc_current = p;
	tss_set_kernel_stack((uint32_t)p->kstack + KSTACK_SIZE);
	code_segment_end(p);
	as_switch(p->uvm.as);
	uvm_set_current(&p->uvm);
	fpu_restore(&p->fpu);
	switch_stacks(&scheduler_esp, p->kesp);
	fpu_save(&p->fpu);
	uvm_set_current(NULL);
	proc_current = NULL;
	p->ticks += pit_ticks - start;
}

/* Back to the scheduler; returns when this process is picked again. */
static void reschedule(void)
{
	switch_stacks(&proc_current->kesp, scheduler_esp);
}

/* Zombies nobody will wait for. */
static void reap_orphans(void)
{
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = slot_proc(i);
		if (p && p->state == PROC_ZOMBIE && !p->parent && !p->awaited)
			proc_free(p);
	}
}

/* One scheduling step: run the next ready process, or sleep until an interrupt. */
static void schedule_once(void)
{
	reap_orphans();
	struct proc *p = pick_next();

	if (p)
		run(p);
	else
		__asm__ volatile("sti; hlt; cli"); /* sti's shadow makes the pair atomic */
	if (vmm_current() != &kernel_space)
		as_switch(&kernel_space);
}

void proc_poll(void)
{
	while (proc_any_alive() && !serial_has_input())
		schedule_once();
}

void proc_run_all(void)
{
	while (proc_any_alive())
		schedule_once();
}

/* Ask a process to die; a sleeper is woken to notice. */
static void send_kill(struct proc *p, int sig)
{
	if (p->state == PROC_NEW || p->state == PROC_ZOMBIE)
		return;
	p->kill_signal = sig;
	if (p->state == PROC_SLEEPING)
		p->state = PROC_RUNNABLE;
}

static void kill_job(int job)
{
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = slot_proc(i);
		if (p && p->job == job)
			send_kill(p, SIGKILL);
	}
}

static bool job_alive(int job)
{
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = slot_proc(i);
		if (p && p->job == job)
			return true;
	}
	return false;
}

#define SIGNAL_MAX 64

int proc_kill(int pid, int sig)
{
	struct proc *p = pid > 0 ? proc_find(pid) : NULL;

	if (sig < 0 || sig > SIGNAL_MAX)
		return -EINVAL;
	if (!p)
		return -ESRCH;
	if (sig)
		send_kill(p, sig);
	return 0;
}

int proc_run(const char *const *argv)
{
	int pid = proc_spawn(argv), status;
	struct proc *p;

	if (pid < 0)
		return pid;
	p = proc_find(pid);
	p->awaited = true;
	while (p->state != PROC_ZOMBIE)
		schedule_once();
	status = p->status;
	proc_free(p);
	kill_job(pid);
	while (job_alive(pid))
		schedule_once();
	return status;
}

/* ---- exit and wait --------------------------------------------------------------- */

static void wake_waiting_parent(struct proc *p)
{
	if (p->parent && p->parent->state == PROC_SLEEPING && p->parent->waiting)
		p->parent->state = PROC_RUNNABLE;
}

void proc_exit(int wait_status)
{
	struct proc *p = proc_current;

	as_switch(&kernel_space);
	uvm_set_current(NULL);
	uvm_destroy(&p->uvm);
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *c = slot_proc(i);
		if (c && c->parent == p)
			c->parent = NULL;
	}
	p->status = wait_status;
	p->state = PROC_ZOMBIE;
	wake_waiting_parent(p);
	reschedule();
	panic("a zombie ran");
}

/* A zombie child matching `pid` (-1 or 0: any), or NULL; *any says whether one exists at all. */
static struct proc *find_child(struct proc *parent, int pid, bool *any)
{
	*any = false;
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *c = slot_proc(i);
		if (!c || c->parent != parent || (pid > 0 && c->pid != pid))
			continue;
		*any = true;
		if (c->state == PROC_ZOMBIE)
			return c;
	}
	return NULL;
}

int proc_waitpid(int pid, uint32_t status_addr, int options)
{
	struct proc *self = proc_current, *c;
	bool any;

	if (options & ~WNOHANG)
		return -EINVAL;
	/* A bad status pointer is refused before a child is reaped and lost. */
	if (status_addr && !uvm_user_range_ok(status_addr, sizeof(int), VMA_WRITE))
		return -EFAULT;
	while (!(c = find_child(self, pid, &any))) {
		if (!any)
			return -ECHILD;
		if (options & WNOHANG)
			return 0;
		if (self->kill_signal)
			return -EINTR;
		self->waiting = true;
		self->state = PROC_SLEEPING;
		reschedule();
		self->waiting = false;
	}
	int child_pid = c->pid;
	if (status_addr && copy_to_user(status_addr, &c->status, sizeof(int)))
		return -EFAULT;
	proc_free(c);
	return child_pid;
}

void proc_yield(void)
{
	proc_current->state = PROC_RUNNABLE;
	reschedule();
}

void proc_sleep_ticks(uint32_t ticks)
{
	proc_current->wake_tick = pit_ticks + (ticks ? ticks : 1);
	proc_current->state = PROC_SLEEPING;
	reschedule();
}

/* ---- traps from user mode ------------------------------------------------------- */

static int signal_of(unsigned vector)
{
	switch (vector) {
	case 0: case 16: case 19: return SIGFPE; /* #DE, #MF, #XM */
	case 1: case 3: return SIGTRAP;
	case 6: return SIGILL;
	default: return SIGSEGV;
	}
}

static void explain_user_fault(const struct proc *p, const struct trap_frame *tf, int sig)
{
	kprintf("pid %d (%s): killed by signal %d at EIP %08x: ", p->pid, p->name, sig, tf->eip);
	if (tf->vector == TRAP_PF)
		kprintf("page fault at %08x (%s): %s\n", read_cr2(),
			tf->error & PF_W ? "write" : "read", uvm_fault_reason);
	else if (tf->vector == 13 && tf->error == (GDT_USER_CODE & ~3u))
		kprintf("general protection fault: a jump to code outside the executable "
			"regions (the code segment ends at %08x)\n", code_segment_end(p));
	else if (tf->vector == 13)
		kprintf("general protection fault (error 0x%x): a privileged instruction, or a "
			"jump past the code segment's end at %08x\n", tf->error, code_segment_end(p));
	else
		kprintf("%s\n", trap_name(tf->vector));
}

static void user_fault(struct trap_frame *tf)
{
	int sig = signal_of(tf->vector);

	if (tf->vector == TRAP_PF && uvm_fault_oom)
		sig = SIGKILL; /* like Linux's OOM killer */
	explain_user_fault(proc_current, tf, sig);
	proc_exit(sig);
}

static void leaving_kernel(struct trap_frame *tf)
{
	struct proc *p = proc_current;

	if (!p)
		return;
	if (p->kill_signal)
		proc_exit(p->kill_signal);
	if (need_resched) {
		need_resched = false;
		proc_yield();
	}
	/*
	 * iret to an EIP past the code segment's end would raise #GP in the
	 * kernel (SDM vol. 2A, IRET): the process made its own code
	 * non-executable (mprotect, munmap), so that is its fault.
	 */
	uint32_t end = code_segment_end(p);
	if (tf->eip >= end) {
		kprintf("pid %d (%s): killed by signal %d at EIP %08x: its code is no longer "
			"executable (the code segment ends at %08x)\n", p->pid, p->name, SIGSEGV,
			tf->eip, end);
		proc_exit(SIGSEGV);
	}
}

static void on_tick(struct trap_frame *tf)
{
	if (proc_current && trap_from_user(tf))
		need_resched = true;
}

void syscall_init(void);

void proc_init(void)
{
	/* fxsave needs the register area 16-byte aligned (struct fpu_state) */
	proc_cache = kmem_cache_create("proc", sizeof(struct proc), 16, NULL);
	if (!proc_cache)
		panic("no memory for the process cache");
	fpu_init();
	pageref_init();
	fault_add_resolver(uvm_fault);
	trap_set_user_hooks(user_fault, leaving_kernel);
	syscall_init();
	pit_init(on_tick);
}

/* ---- reports ---------------------------------------------------------------------- */

const char *proc_status_text(int status)
{
	static char buf[48];

	if ((status & 0x7F) == 0)
		ksnprintf(buf, sizeof(buf), "exited with status %d", (status >> 8) & 0xFF);
	else
		ksnprintf(buf, sizeof(buf), "killed by signal %d", status & 0x7F);
	return buf;
}

static const char *const state_names[] = { "new", "runnable", "running", "sleeping", "zombie" };

void proc_print_table(void)
{
	kprintf("  PID  PPID STATE     TICKS  RSS(K) NAME\n");
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = slot_proc(i);
		if (!p)
			continue;
		kprintf("%5d %5d %-9s %5u %7u %s\n", p->pid, p->parent ? p->parent->pid : 0,
			state_names[p->state], p->ticks,
			p->uvm.as ? uvm_resident_pages(&p->uvm) * 4 : 0, p->name);
	}
}

void proc_print_regions(const struct proc *p)
{
	const struct vma_set *s = &p->uvm.vmas;

	kprintf("pid %d (%s): %u regions, brk %08x, code segment ends at %08x\n", p->pid, p->name,
		s->n, p->uvm.brk, p->uvm.code_end);
	for (unsigned i = 0; i < s->n; i++) {
		const struct vma *v = &s->v[i];
		kprintf("  %08x-%08x %c%c%c %-5s %6uK", v->start, v->end, v->prot & VMA_READ ? 'r' : '-',
			v->prot & VMA_WRITE ? 'w' : '-', v->prot & VMA_EXEC ? 'x' : '-',
			vma_kind_name(v->kind), (v->end - v->start) / 1024);
		if (v->file_start < v->file_end)
			kprintf("  file %08x-%08x from %08x", v->file_start, v->file_end, v->file_pa);
		kprintf("\n");
	}
	kprintf("  faults resolved: %u demand-zero, %u from the initrd, %u copy-on-write "
		"(%u copies, %u reuses)\n", p->uvm.faults_zero, p->uvm.faults_file,
		p->uvm.faults_cow + p->uvm.faults_cow_reuse, p->uvm.faults_cow, p->uvm.faults_cow_reuse);
}
