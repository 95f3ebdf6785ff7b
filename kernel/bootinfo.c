/*
 * bootinfo.c - copy the Multiboot information out of the loader's memory.
 *
 * Every field is read only when its flag bit says it is valid (Multiboot
 * spec 3.3), and every length is clipped to the copy's size, so a strange
 * loader produces a warning and a smaller copy, never an overrun.
 */
#include "bootinfo.h"

#include <string.h>

#include "arch/x86/physmem.h"
#include "panic.h"
#include "printf.h"

struct boot_info boot_info;
const char BOOT_MODULE[] = "module";

static void add_region(uint64_t start, uint64_t len, const char *what)
{
	if (len == 0)
		return;
	if (boot_info.nregions == BOOT_REGIONS_MAX)
		panic("bootinfo: more than %d boot regions to keep reserved", BOOT_REGIONS_MAX);
	boot_info.regions[boot_info.nregions++] =
		(struct boot_region){ { start, start + len }, what };
}

/* Length of the NUL-terminated string at physical `pa`, at most max - 1. */
static size_t copy_string(char *dst, uint32_t pa, size_t max)
{
	size_t n = 0;

	for (; n + 1 < max; n++) {
		phys_read(&dst[n], pa + (uint32_t)n, 1);
		if (dst[n] == '\0')
			return n;
	}
	dst[n] = '\0';
	return n;
}

static void copy_mmap(struct multiboot_info *mbi)
{
	uint32_t len = mbi->mmap_length;

	if (len > BOOT_MMAP_MAX) {
		kprintf("bootinfo: memory map of %u bytes clipped to %u\n", len, BOOT_MMAP_MAX);
		len = BOOT_MMAP_MAX;
	}
	phys_read(boot_info.mmap, mbi->mmap_addr, len);
	add_region(mbi->mmap_addr, mbi->mmap_length, "multiboot memory map");
	mbi->mmap_length = len;
}

static void copy_modules(const struct multiboot_info *mbi)
{
	unsigned n = mbi->mods_count;

	if (n > BOOT_MODULES_MAX) {
		kprintf("bootinfo: %u modules, only the first %u are kept\n", n, BOOT_MODULES_MAX);
		n = BOOT_MODULES_MAX;
	}
	phys_read(boot_info.mods, mbi->mods_addr, n * sizeof(struct multiboot_module));
	add_region(mbi->mods_addr, (uint64_t)mbi->mods_count * sizeof(struct multiboot_module),
		   "multiboot module list");
	for (unsigned i = 0; i < n; i++) {
		struct multiboot_module *m = &boot_info.mods[i];
		if (m->mod_end < m->mod_start) {
			kprintf("bootinfo: module %u ends before it starts, ignored\n", i);
			m->mod_end = m->mod_start;
		}
		add_region(m->mod_start, m->mod_end - m->mod_start, BOOT_MODULE);
		if (m->string) {
			char name[BOOT_CMDLINE_MAX];
			add_region(m->string, copy_string(name, m->string, sizeof(name)) + 1,
				   "module string");
		}
	}
	boot_info.nmods = n;
}

void bootinfo_init(uint32_t magic, uint32_t mbi_phys)
{
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		panic("not started by a Multiboot loader (EAX=0x%x, expected 0x%x)", magic,
		      MULTIBOOT_BOOTLOADER_MAGIC);

	struct multiboot_info *mbi = &boot_info.mbi;
	boot_info.mbi_phys = mbi_phys;
	phys_read(mbi, mbi_phys, sizeof(*mbi));
	add_region(mbi_phys, sizeof(*mbi), "multiboot info");

	if (mbi->flags & MB_INFO_MMAP)
		copy_mmap(mbi);
	if (mbi->flags & MB_INFO_CMDLINE)
		add_region(mbi->cmdline,
			   copy_string(boot_info.cmdline, mbi->cmdline, sizeof(boot_info.cmdline)) + 1,
			   "command line");
	if (mbi->flags & MB_INFO_MODS)
		copy_modules(mbi);
}

/* The start of `word` as a whole word of the command line, or NULL. */
static const char *find_word(const char *word)
{
	size_t n = strlen(word);

	for (const char *p = boot_info.cmdline; (p = strstr(p, word)) != NULL; p += n) {
		bool starts = p == boot_info.cmdline || p[-1] == ' ';
		bool ends = p[n] == '\0' || p[n] == ' ' || p[n] == '=';
		if (starts && ends)
			return p;
	}
	return NULL;
}

bool cmdline_has(const char *word)
{
	return find_word(word) != NULL;
}

bool cmdline_get(const char *key, char *out, size_t size)
{
	const char *p = find_word(key);

	if (!p || p[strlen(key)] != '=' || size == 0)
		return false;
	p += strlen(key) + 1;
	size_t n = 0;
	while (p[n] && p[n] != ' ' && n + 1 < size) {
		out[n] = p[n];
		n++;
	}
	out[n] = '\0';
	return true;
}
