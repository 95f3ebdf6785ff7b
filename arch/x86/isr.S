/*
 * isr.S - entry stubs for the 32 exception vectors.
 *
 * Some exceptions push an error code and some do not (Intel SDM vol. 3A
 * 6.13, table 6-1); the stubs for the latter push a 0 so every frame looks
 * the same.  Then each pushes its vector and joins trap_common, which saves
 * the registers, calls trap_dispatch(frame) and returns with iret.  The 16
 * hardware interrupts (vectors 32-47 once the PIC is remapped) and the
 * system-call vector 0x80 enter the same way, so every entry into the
 * kernel leaves one struct trap_frame on the stack.
 */
#include "arch/x86/gdt.h"

.macro TRAP_NOERR n
	.global trap_entry_\n
trap_entry_\n:
	push $0
	push $\n
	jmp trap_common
.endm

.macro TRAP_ERR n
	.global trap_entry_\n
trap_entry_\n:
	push $\n
	jmp trap_common
.endm

	.text
TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR   8
TRAP_NOERR 9
TRAP_ERR   10
TRAP_ERR   11
TRAP_ERR   12
TRAP_ERR   13
TRAP_ERR   14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR   17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR   21
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_ERR   29
TRAP_ERR   30
TRAP_NOERR 31
.irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,128
TRAP_NOERR \n
.endr

trap_common:
	pusha
	cld                  /* C code expects the direction flag clear */
	push %ds
	push %es
	push %fs
	push %gs
	mov $GDT_KERNEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	push %esp            /* struct trap_frame * */
	call trap_dispatch
	add $4, %esp
	/* A new process's first return to user mode starts here (kernel/proc.c). */
	.global trap_return
trap_return:
	pop %gs
	pop %fs
	pop %es
	pop %ds
	popa
	add $8, %esp         /* vector and error code */
	iret

	/* The stubs' addresses, for idt_init(). */
	.section .rodata
	.global trap_entries
trap_entries:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long trap_entry_\n
	.endr
	.global irq_entries
irq_entries:
	.irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	.long trap_entry_\n
	.endr
	.global syscall_entry
syscall_entry:
	.long trap_entry_128

	.section .note.GNU-stack, "", @progbits
