/*
 * qemu_maps.h - pieces of the memory maps QEMU's BIOS hands a Multiboot
 * kernel (-machine pc; see ../shared/README.md), and the raw entry type the
 * host tests build maps from.  Every size of -m shares the low and top
 * entries; only the RAM in between differs.
 */
#ifndef TESTS_HOST_QEMU_MAPS_H
#define TESTS_HOST_QEMU_MAPS_H

#include <stdint.h>

#include "mm/multiboot.h"

struct raw {
	uint64_t base, length;
	uint32_t type;
};

/* Below 1 MiB: conventional memory, the EBDA, the BIOS ROM. */
#define QEMU_LOW                                                              \
	{ 0, 0x9fc00, MB_MEMORY_AVAILABLE },                                  \
	{ 0x9fc00, 0x400, MB_MEMORY_RESERVED },                               \
	{ 0xf0000, 0x10000, MB_MEMORY_RESERVED }
/* The BIOS ROM mapped just below 4 GiB. */
#define QEMU_BIOS { 0xfffc0000, 0x40000, MB_MEMORY_RESERVED }

#endif
