/*
 * usercopy.S - uaccess_copy(dst, src, n): memcpy that survives a fault.
 *
 * The kernel copies to and from user memory only through this (mm/uvm.c).
 * A fault on the `rep movsb` first goes to the page-fault resolver, which
 * brings the user page in (demand paging, copy-on-write) and lets the
 * instruction resume where it stopped (ECX still counts what is left).  A
 * fault nobody resolves finds the instruction in the exception table
 * (arch/x86/extable.h) and resumes at the fixup, which returns the bytes
 * not copied instead of the kernel panicking.
 */
	.text
	.global uaccess_copy
uaccess_copy:                    /* uint32_t uaccess_copy(void *dst, const void *src, uint32_t n) */
	push %esi
	push %edi
	mov 12(%esp), %edi
	mov 16(%esp), %esi
	mov 20(%esp), %ecx
1:	rep movsb
	xor %eax, %eax
	pop %edi
	pop %esi
	ret

uaccess_failed:
	mov %ecx, %eax
	pop %edi
	pop %esi
	ret

	.section .extable, "a"
	.long 1b, uaccess_failed

	.section .note.GNU-stack, "", @progbits
