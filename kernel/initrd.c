/*
 * initrd.c - the initrd module (see initrd.h).
 *
 * The archive is read through the direct map: both QEMU and GRUB put
 * modules just above the kernel, far below the direct map's end.  One
 * that is not gets a clear refusal rather than a slower path nobody uses.
 */
#include "initrd.h"

#include "arch/x86/memlayout.h"
#include "arch/x86/physmem.h"
#include "bootinfo.h"

static const void *archive(size_t *len)
{
	const struct multiboot_module *m = &boot_info.mods[0];

	if (boot_info.nmods == 0 || m->mod_end > direct_map_end)
		return NULL;
	*len = m->mod_end - m->mod_start;
	return P2V(m->mod_start);
}

bool initrd_present(void)
{
	size_t len;

	return archive(&len) != NULL;
}

const char *initrd_find(const char *name, struct ustar_file *out)
{
	size_t len;
	const void *a = archive(&len);

	if (!a)
		return boot_info.nmods ? "the initrd lies outside the direct map" : "no initrd";
	return ustar_find(a, len, name, out);
}

uint32_t initrd_file_pa(const struct ustar_file *f)
{
	return boot_info.mods[0].mod_start + f->offset;
}

bool initrd_next(size_t *pos, struct ustar_file *out)
{
	size_t len;
	const void *a = archive(&len);
	const char *error;

	return a && ustar_next(a, len, pos, out, &error);
}
