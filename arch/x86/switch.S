/*
 * switch.S - switch_stacks(save, next): the kernel's context switch.
 *
 * Saves the callee-saved registers (the C calling convention says nothing
 * else survives a call anyway) on the current stack, stores its pointer in
 * *save, loads `next` and pops the registers saved there.  Returning then
 * continues whatever called switch_stacks on that stack earlier -- or, for
 * a new process, `trap_return` (arch/x86/isr.S), which kernel/proc.c puts
 * there so that the first switch to a process drops into user mode.
 */
	.text
	.global switch_stacks
switch_stacks:                   /* void switch_stacks(uint32_t *save, uint32_t next) */
	mov 4(%esp), %eax
	mov 8(%esp), %edx
	push %ebp
	push %ebx
	push %esi
	push %edi
	mov %esp, (%eax)
	mov %edx, %esp
	pop %edi
	pop %esi
	pop %ebx
	pop %ebp
	ret

	.section .note.GNU-stack, "", @progbits
