/*
 * initrd.h - the initial ramdisk: a USTAR archive loaded as Multiboot
 * module 0 (`qemu -initrd build/initrd.tar`, or `module` in grub.cfg),
 * where the kernel finds its user programs.
 *
 * The archive stays where the loader put it (memory.c reserves modules);
 * a program's pages are copied out of it when first touched (mm/uvm.c),
 * which is why a file is described by its physical address too.
 */
#ifndef KERNEL_INITRD_H
#define KERNEL_INITRD_H

#include <stdbool.h>
#include <stdint.h>

#include "ustar.h"

/* Is there an initrd?  It must be a USTAR archive inside the direct map. */
bool initrd_present(void);

/* Find a regular file: NULL, or why not ("no initrd", "not found", ...). */
const char *initrd_find(const char *name, struct ustar_file *out);

/* The physical address of a found file's first byte. */
uint32_t initrd_file_pa(const struct ustar_file *f);

/* Walk the members (see ustar_next); false at the end. */
bool initrd_next(size_t *pos, struct ustar_file *out);

#endif
