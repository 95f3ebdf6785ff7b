/*
 * vmcmds.c - monitor commands that show and change virtual memory:
 * showmappings, setperm, dump, ptdump, vmstat.  They work on the current
 * address space, read through the same pagetable.c walk the kernel uses.
 */
#include <string.h>

#include "arch/x86/extable.h"
#include "arch/x86/memlayout.h"
#include "memory.h"
#include "monitor.h"
#include "mm/vmalloc.h"
#include "mm/vmm.h"
#include "printf.h"

static struct pagetable *current_pt(void)
{
	return &vmm_current()->pt;
}

/* "RW US G" style text for PTE flags. */
static const char *flag_text(uint32_t flags, char *buf, size_t size)
{
	ksnprintf(buf, size, "%s %s%s%s%s%s%s", flags & PTE_RW ? "RW" : "RO",
		  flags & PTE_US ? "US" : "S ", flags & PTE_G ? " G" : "", flags & PTE_PCD ? " PCD" : "",
		  flags & PTE_PWT ? " PWT" : "", flags & PTE_A ? " A" : "", flags & PTE_D ? " D" : "");
	return buf;
}

static bool parse_args(int argc, char **argv, int want, uint32_t *a, uint32_t *b, const char *usage)
{
	if (argc != want + 1 || !monitor_parse_u32(argv[1], a) ||
	    (want > 1 && !monitor_parse_u32(argv[2], b))) {
		kprintf("usage: %s %s\n", argv[0], usage);
		return false;
	}
	return true;
}

static void cmd_showmappings(int argc, char **argv)
{
	uint32_t from, to;
	char f[40];

	if (!parse_args(argc, argv, 2, &from, &to, "<va> <va>"))
		return;
	for (uint64_t va = from & ~(PAGE_SIZE - 1); va <= to;) {
		struct pt_mapping m;
		if (!pt_query(current_pt(), (uint32_t)va, &m)) {
			kprintf("  %08llx  not mapped\n", (unsigned long long)va);
			va += PAGE_SIZE;
			continue;
		}
		kprintf("  %08llx -> %08x  %s  %s\n", (unsigned long long)va,
			m.pa + ((uint32_t)va - m.va), m.size == PAGE_SIZE ? "4K" : "4M",
			flag_text(m.flags, f, sizeof(f)));
		va = (uint64_t)m.va + m.size;
	}
}
MONITOR_COMMAND(showmappings, "<va> <va>", "each page's frame, flags and size", cmd_showmappings);

/* Flags from letters: w writable, u user, g global, c cache off, t write-through. */
static bool parse_flags(const char *s, uint32_t *flags)
{
	static const char letters[] = "wugct";
	static const uint32_t bits[] = { PTE_RW, PTE_US, PTE_G, PTE_PCD, PTE_PWT };

	*flags = 0;
	if (!strcmp(s, "-"))
		return true;
	for (; *s; s++) {
		const char *l = strchr(letters, *s);
		if (!l)
			return false;
		*flags |= bits[l - letters];
	}
	return true;
}

static void cmd_setperm(int argc, char **argv)
{
	uint32_t va, flags;
	struct pt_mapping m;

	if (argc != 3 || !monitor_parse_u32(argv[1], &va) || !parse_flags(argv[2], &flags)) {
		kprintf("usage: setperm <va> <flags>  (flags: letters of w u g c t, or - for read-only)\n");
		return;
	}
	va &= ~(PAGE_SIZE - 1);
	if (!pt_query(current_pt(), va, &m)) {
		kprintf("setperm: %08x is not mapped\n", va);
		return;
	}
	enum vm_result r = pt_protect(current_pt(), va, PAGE_SIZE, flags | (m.flags & VMM_OWNED));
	if (r != VM_OK)
		kprintf("setperm: %s\n", vm_result_name(r));
	else
		cmd_showmappings(3, (char *[]){ "showmappings", argv[1], argv[1] });
}
MONITOR_COMMAND(setperm, "<va> <flags>", "change one page's permissions (w u g c t, or -)", cmd_setperm);

static void cmd_dump(int argc, char **argv)
{
	uint32_t addr, len;
	bool physical = argc > 1 && !strcmp(argv[1], "p");

	if (argc != 4 || (!physical && strcmp(argv[1], "v")) || !monitor_parse_u32(argv[2], &addr) ||
	    !monitor_parse_u32(argv[3], &len)) {
		kprintf("usage: dump v|p <addr> <len>\n");
		return;
	}
	if (len > 4096) {
		kprintf("dump: at most 4096 bytes at a time\n");
		len = 4096;
	}
	addr &= ~3u;
	for (uint32_t off = 0; off < len; off += 4) {
		uint32_t a = addr + off, word;
		if (off % 16 == 0)
			kprintf("%s%c %08x:", off ? "\n" : "", physical ? 'p' : 'v', a);
		bool ok = physical ? (word = *(uint32_t *)kmap(KMAP_DUMP, a), true)
				   : probe_read((const void *)a, &word) == 0;
		if (ok)
			kprintf(" %08x", word);
		else
			kprintf(" --------");
	}
	kprintf("\n");
}
MONITOR_COMMAND(dump, "v|p <addr> <len>", "memory as words (-------- where unmapped)", cmd_dump);

static void print_run(void *arg, const struct pt_mapping *run)
{
	char f[40];
	(void)arg;
	kprintf("  %08x-%08x -> %08x-%08x %8uK  %s  %s\n", run->va, run->va + run->size - 1, run->pa,
		run->pa + run->size - 1, run->size >> 10, run->flags & PDE_PS ? "4M" : "4K",
		flag_text(run->flags, f, sizeof(f)));
}

static void cmd_ptdump(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kprintf("  virtual            -> physical              size  page  flags\n");
	pt_for_each_range(current_pt(), 0, 0x100000000ull, print_run, NULL);
}
MONITOR_COMMAND(ptdump, "", "the current space as coalesced ranges", cmd_ptdump);

static void cmd_vmstat(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kprintf("  address spaces %u (current directory at %08x), %u page tables in the kernel's\n",
		vmm_stats.spaces, current_pt()->dir, kernel_space.pt.tables);
	kprintf("  TLB: %u invlpg, %u full flushes, %u global flushes (threshold %u pages)\n",
		vmm_stats.invlpg, vmm_stats.full_flushes, vmm_stats.global_flushes, tlb_flush_threshold);
	kprintf("  kernel-half entries copied to other spaces: %u; page faults: %u\n",
		vmm_stats.kernel_pde_syncs, vmm_stats.page_faults);
	kprintf("  vmalloc: %u areas, %uK (refused frees %u)\n", vmalloc_stats.areas,
		vmalloc_stats.bytes >> 10, vmalloc_stats.refused_frees);
	vmalloc_print();
	kprintf("  frames: %u free, %u used\n", kpmm.stats.free_frames, kpmm.stats.used_frames);
}
MONITOR_COMMAND(vmstat, "", "virtual memory statistics", cmd_vmstat);
