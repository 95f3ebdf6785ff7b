/*
 * multiboot.h - the Multiboot (version 0.6.96) structures a boot loader hands
 * the kernel, as the specification lays them out in memory.
 *
 * Only what the kernel reads is named here.  Every field past `flags` is
 * valid only when its flag bit is set (Multiboot spec, section 3.3), so code
 * must test the bit before it trusts the field.  This header is portable: the
 * host tests and fuzzers build the same structures in ordinary memory.
 */
#ifndef MM_MULTIBOOT_H
#define MM_MULTIBOOT_H

#include <stdint.h>

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002u /* in the kernel image's header */
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u /* in EAX at the kernel's entry */

/* Bits of multiboot_info.flags (spec section 3.3). */
#define MB_INFO_MEMORY   (1u << 0) /* mem_lower, mem_upper */
#define MB_INFO_CMDLINE  (1u << 2) /* cmdline */
#define MB_INFO_MODS     (1u << 3) /* mods_count, mods_addr */
#define MB_INFO_MMAP     (1u << 6) /* mmap_length, mmap_addr */

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB of memory from 0 (at most 640) */
	uint32_t mem_upper; /* KiB of memory from 1 MiB to the first hole */
	uint32_t boot_device;
	uint32_t cmdline; /* physical address of a NUL-terminated string */
	uint32_t mods_count;
	uint32_t mods_addr; /* physical address of mods_count multiboot_module */
	uint32_t syms[4];
	uint32_t mmap_length; /* bytes of memory map */
	uint32_t mmap_addr;   /* physical address of the first entry */
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe[6];
} __attribute__((packed));

/*
 * One memory-map entry.  `size` counts the bytes that follow it, so the next
 * entry starts at (char *)entry + size + 4.  Loaders use 20; a larger value
 * must be honoured (extra fields are skipped), a smaller one is malformed.
 */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t base;
	uint64_t length;
	uint32_t type;
} __attribute__((packed));

#define MB_MMAP_ENTRY_MIN_SIZE 20u

/* Types of memory-map entries (spec section 3.3; ACPI adds 3 to 5). */
#define MB_MEMORY_AVAILABLE        1u
#define MB_MEMORY_RESERVED         2u
#define MB_MEMORY_ACPI_RECLAIMABLE 3u
#define MB_MEMORY_NVS              4u
#define MB_MEMORY_BADRAM           5u

struct multiboot_module {
	uint32_t mod_start; /* physical, first byte */
	uint32_t mod_end;   /* physical, one past the last byte */
	uint32_t string;    /* physical address of the module's command line */
	uint32_t reserved;
} __attribute__((packed));

#endif
