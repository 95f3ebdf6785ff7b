/*
 * memory.h - the kernel's physical memory: its map and its frame allocator.
 *
 * memory_init() turns the boot information into `kmemmap`, reserves what
 * must never be handed out (first MiB, kernel image, the loader's data and
 * modules, the PMM's own bitmap), and starts `kpmm`.  It prints the map and
 * the line "Memory: <available>K/<total>K available" that tools read.
 */
#ifndef KERNEL_MEMORY_H
#define KERNEL_MEMORY_H

#include "mm/memmap.h"
#include "mm/pmm.h"

extern struct memmap kmemmap;
extern struct pmm kpmm;
extern uint32_t boot_free_frames; /* free frames right after memory_init() */

void memory_init(void);

/* The `what` of the kernel image's reservation (compared by address). */
extern const char RESERVED_KERNEL[];

void memory_print_raw(void);
void memory_print_usable(void);
void memory_print_reservations(void);
void memory_print_summary(void);
void memory_print_bar(void);

#endif
