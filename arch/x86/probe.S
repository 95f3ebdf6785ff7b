/*
 * probe.S - probe_read / probe_write (see extable.h).
 * Each access instruction has an .extable entry naming its fixup.
 */
	.text
	.global probe_read
probe_read:                      /* int probe_read(const void *addr, uint32_t *value) */
	mov 4(%esp), %edx
1:	mov (%edx), %eax
	mov 8(%esp), %edx
	mov %eax, (%edx)
	xor %eax, %eax
	ret

	.global probe_write
probe_write:                     /* int probe_write(void *addr, uint32_t value) */
	mov 4(%esp), %edx
	mov 8(%esp), %eax
2:	mov %eax, (%edx)
	xor %eax, %eax
	ret

probe_failed:
	mov $-1, %eax
	ret

	.section .extable, "a"
	.long 1b, probe_failed
	.long 2b, probe_failed

	.section .note.GNU-stack, "", @progbits
