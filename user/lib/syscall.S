/*
 * syscall.S - syscall6, the one place a user program traps into the kernel.
 *
 * Linux i386 convention: the call number in eax, up to six arguments in
 * ebx, ecx, edx, esi, edi and ebp, `int $0x80`, the result in eax.  A
 * result in -4095..-1 is a negated errno; anything else is the call's
 * value (an address from mmap2 or brk may look negative as a signed long,
 * which is why callers test with sys_failed() in linux.h, not `< 0`).
 *
 * long syscall6(long nr, long a, long b, long c, long d, long e, long f)
 * is cdecl: ebx, esi, edi and ebp belong to the caller and are saved here.
 */
	.text
	.globl syscall6
	.type syscall6, @function
syscall6:
	pushl	%ebp
	pushl	%edi
	pushl	%esi
	pushl	%ebx
	/* 4 saved registers + return address = 20 bytes above esp */
	movl	20(%esp), %eax
	movl	24(%esp), %ebx
	movl	28(%esp), %ecx
	movl	32(%esp), %edx
	movl	36(%esp), %esi
	movl	40(%esp), %edi
	movl	44(%esp), %ebp
	int	$0x80
	popl	%ebx
	popl	%esi
	popl	%edi
	popl	%ebp
	ret
	.size syscall6, . - syscall6

	.section .note.GNU-stack, "", @progbits
