/*
 * start.S - _start, where every user program begins.
 *
 * The kernel (or Linux) enters here with the initial stack laid out as the
 * Linux i386 ABI describes it, and nothing else set up:
 *
 *     esp ->  argc
 *             argv[0] .. argv[argc-1], NULL
 *             envp[0] .. envp[n-1], NULL
 *             auxv pairs (type, value) .. AT_NULL
 *             the strings themselves, higher up
 *
 * _start computes argv = esp + 4 and envp = argv + argc + 1, aligns the
 * stack to 16 bytes as the System V i386 ABI expects at a call (gcc may keep
 * locals there that assume it), calls main(argc, argv, envp), and passes
 * main's return value to exit_group.  ebp is cleared first so that a
 * backtrace stops here.
 */
#define SYS_exit_group 252

	.text
	.globl _start
	.type _start, @function
_start:
	xorl	%ebp, %ebp
	movl	(%esp), %eax			/* argc */
	leal	4(%esp), %ecx			/* argv */
	leal	8(%esp,%eax,4), %edx		/* envp: past argv's NULL */
	andl	$-16, %esp
	subl	$4, %esp			/* 3 arguments + 4 = 16: aligned at the call */
	pushl	%edx
	pushl	%ecx
	pushl	%eax
	call	main
	movl	%eax, %ebx
	movl	$SYS_exit_group, %eax
	int	$0x80
	hlt					/* not reached: a fault if it ever is */
	.size _start, . - _start

/* No executable stack: without this note ld would ask for one. */
	.section .note.GNU-stack, "", @progbits
