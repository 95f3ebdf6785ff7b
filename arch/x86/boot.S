/*
 * boot.S - the Multiboot header and the code that runs before paging.
 *
 * The loader enters _start in 32-bit protected mode with paging off, EAX =
 * 0x2BADB002 and EBX = the physical address of the Multiboot information
 * (Multiboot spec 3.2).  The stub builds a page directory of 4 MiB pages
 * (Intel SDM vol. 3A 4.3: CR4.PSE and PDE.PS), mapping
 *   - virtual 0..4 MiB to physical 0..4 MiB, so the stub survives the
 *     moment paging turns on (kmain removes it), and
 *   - KERNEL_BASE.. to physical 0..DIRECT_MAP_SIZE, where the kernel runs,
 *   - the last slot to the directory itself (the recursive mapping, see
 *     memlayout.h), so page tables can be edited through virtual addresses,
 * then turns paging on and jumps to the kernel's linked address.
 */
#include "arch/x86/memlayout.h"

#define MB_FLAGS        0x00000003 /* page-align modules, give memory info */

	.section .multiboot, "a"
	.balign 4
	.long 0x1BADB002
	.long MB_FLAGS
	.long -(0x1BADB002 + MB_FLAGS)

	.section .boot.text, "ax"
	.code32
	.global _start
_start:
	cli
	cld
	/* Fill boot_page_directory (physical address: its link address minus KERNEL_BASE). */
	mov $(boot_page_directory - KERNEL_BASE), %edi
	movl $(0 | PDE_PS | PTE_RW | PTE_P), (%edi)        /* identity 0..4 MiB */
	lea (PTE_RW | PTE_P)(%edi), %ecx                    /* the last slot points at */
	mov %ecx, 4092(%edi)                                /* the directory: recursive map */
	lea (KERNEL_BASE >> 20)(%edi), %edx                 /* &pd[768] */
	mov $(PDE_PS | PTE_RW | PTE_P), %ecx
	mov $(DIRECT_MAP_SIZE / LARGE_PAGE_SIZE), %esi
1:	mov %ecx, (%edx)
	add $LARGE_PAGE_SIZE, %ecx
	add $4, %edx
	dec %esi
	jnz 1b

	mov %cr4, %ecx
	or $CR4_PSE, %ecx
	mov %ecx, %cr4
	mov %edi, %cr3
	mov %cr0, %ecx
	or $CR0_PG, %ecx
	mov %ecx, %cr0

	mov $higher_half, %ecx
	jmp *%ecx

	.text
higher_half:
	mov $(boot_stack + BOOT_STACK_SIZE), %esp
	xor %ebp, %ebp
	push %ebx          /* Multiboot information, physical */
	push %eax          /* Multiboot magic */
	call kmain
	cli
2:	hlt
	jmp 2b

	/* Zeroed by the loader (Multiboot loads .bss as zeros).  The stack
	 * comes first so that, should it overflow before kmain moves to a
	 * guarded stack, it runs into other .bss rather than the live
	 * page directory. */
	.section .bss.pagealigned, "aw", @nobits
	.balign 4096
	.global boot_stack
boot_stack:
	.skip BOOT_STACK_SIZE
	.global boot_page_directory
boot_page_directory:
	.skip 4096

	.section .note.GNU-stack, "", @progbits
