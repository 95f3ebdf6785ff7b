/*
 * uvm.h - a process's user memory: its address space, its regions, and the
 * page faults that fill them in.
 *
 * Nothing of a user region is mapped when it is made.  The page-fault
 * resolver (uvm_fault, registered with mm/fault.h) maps each page on its
 * first touch: a zeroed frame for bss, heap, stack and anonymous regions
 * (demand-zero), the program's bytes copied from the initrd for text and
 * data (demand paging of executables).  fork shares every frame with the
 * child, read-only, and the first write to a shared frame copies it
 * (copy-on-write, counted by mm/pageref.h).  A fault no region explains is
 * the process's fault, and uvm_fault_reason says why.
 *
 * Every function works on the uvm given, except those that touch memory
 * through the user's addresses (copy_*_user, the resolver), which work on
 * the current one (uvm_set_current).  Errors are negative Linux errno
 * values (kernel/errno.h).
 */
#ifndef MM_UVM_H
#define MM_UVM_H

#include <stdbool.h>
#include <stdint.h>

#include "fault.h"
#include "vma.h"
#include "vmm.h"

struct elf_image;

struct uvm {
	struct addrspace *as;
	struct vma_set vmas;
	uint32_t brk_start, brk; /* the heap is [brk_start, brk) */
	uint32_t code_end;       /* end of the highest executable region (CS limit) */
	uint32_t faults_zero, faults_file, faults_cow, faults_cow_reuse; /* resolved */
};

/* A new empty user space: 0 or -ENOMEM. */
int uvm_create(struct uvm *u);

/* Drop every page (each frame is freed with its last reference) and the space. */
void uvm_destroy(struct uvm *u);

/*
 * `child` becomes a copy-on-write copy of `parent`, which must be current:
 * 0 or -ENOMEM (then `child` holds nothing).  With FORK_EAGER defined at
 * build time every page is copied at once instead, for the benchmark.
 */
int uvm_fork(struct uvm *child, struct uvm *parent);

/*
 * The regions of a checked ELF image whose file bytes start at physical
 * address `file_pa` (in the initrd), the empty heap after them, and the
 * stack holding argv, envp and the auxiliary vector as Linux lays them out
 * (System V i386 ABI, "Process Initialization").  *esp receives the initial
 * stack pointer.  0, -E2BIG (arguments over a page) or -ENOMEM.
 */
int uvm_load(struct uvm *u, const struct elf_image *img, uint32_t file_pa,
	     const char *const *argv, const char *const *envp, uint32_t *esp);

/* Make `u` the space copy_*_user and the fault resolver act on (NULL: none). */
void uvm_set_current(struct uvm *u);

/* The page-fault resolver (fault_add_resolver). */
bool uvm_fault(const struct page_fault *pf);
/* Why the last fault uvm_fault refused was refused, in words. */
extern const char *uvm_fault_reason;
/* Did the last refusal come from running out of memory? */
extern bool uvm_fault_oom;

/* System calls on the current process's memory (Linux semantics). */
uint32_t uvm_brk(struct uvm *u, uint32_t new_brk);
int32_t uvm_mmap(struct uvm *u, uint32_t addr, uint32_t len, uint32_t prot, uint32_t flags);
int32_t uvm_munmap(struct uvm *u, uint32_t addr, uint32_t len);
int32_t uvm_mprotect(struct uvm *u, uint32_t addr, uint32_t len, uint32_t prot);

/* Linux's mmap flag bits that are understood. */
#define MAP_SHARED    0x01
#define MAP_PRIVATE   0x02
#define MAP_FIXED     0x10
#define MAP_ANONYMOUS 0x20

/*
 * Copy between the kernel and the current process's memory: 0, or -EFAULT
 * when a byte of the user range is outside its regions (or lacks the
 * access) or could not be brought in.  Never a kernel fault.
 */
int copy_to_user(uint32_t dst, const void *src, uint32_t n);
int copy_from_user(void *dst, uint32_t src, uint32_t n);

/* Is [addr, addr + n) inside the current process's regions, all allowing `prot`? */
bool uvm_user_range_ok(uint32_t addr, uint32_t n, uint32_t prot);

/* Pages of `u` mapped now (resident), counted from its page tables. */
uint32_t uvm_resident_pages(struct uvm *u);

#endif
