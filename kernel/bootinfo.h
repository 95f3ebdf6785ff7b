/*
 * bootinfo.h - what the boot loader told the kernel, copied to safety.
 *
 * The loader's structures lie wherever it put them, possibly in memory the
 * PMM will hand out, so bootinfo_init() copies everything the kernel needs
 * (the information block, the memory map, the command line, the module list)
 * into the kernel image, and records where the originals lie so the PMM can
 * keep them (and the modules' contents) reserved.
 */
#ifndef KERNEL_BOOTINFO_H
#define KERNEL_BOOTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/memmap.h"
#include "mm/multiboot.h"

#define BOOT_MMAP_MAX    4096 /* bytes of memory map kept (170 entries) */
#define BOOT_CMDLINE_MAX 256
#define BOOT_MODULES_MAX 8
#define BOOT_REGIONS_MAX (4 + 2 * BOOT_MODULES_MAX)

/* A physical range the loader's data occupies. */
struct boot_region {
	struct mem_range range;
	const char *what;
};

struct boot_info {
	uint32_t mbi_phys;
	struct multiboot_info mbi;
	uint8_t mmap[BOOT_MMAP_MAX]; /* mbi.mmap_length bytes (clipped to fit) */
	char cmdline[BOOT_CMDLINE_MAX];
	struct multiboot_module mods[BOOT_MODULES_MAX];
	unsigned nmods;
	struct boot_region regions[BOOT_REGIONS_MAX]; /* to reserve */
	unsigned nregions;
};

extern struct boot_info boot_info;
/* The `what` of every module region (compared by address). */
extern const char BOOT_MODULE[];

/* Check the loader's magic number and copy its data; panics if it is not Multiboot. */
void bootinfo_init(uint32_t magic, uint32_t mbi_phys);

/* Is `word` (alone, or as `word=...`) on the command line? */
bool cmdline_has(const char *word);

/*
 * The value of `key=value` on the command line, copied into `out` (at most
 * `size` bytes with the NUL).  Returns false when the key is absent.
 */
bool cmdline_get(const char *key, char *out, size_t size);

#endif
