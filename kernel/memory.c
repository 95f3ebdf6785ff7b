/*
 * memory.c - bring up physical memory management at boot (see memory.h).
 *
 * Order matters: everything the loader left in RAM is recorded as a boot
 * region before the PMM's storage is placed, so it never lands on a module
 * or on the memory map; the storage (the frame bitmap, and the index of the
 * hbitmap allocator right after it) goes in the direct map (below 768 MiB)
 * because the kernel must reach it without the physical window.
 *
 * The allocator is chosen on the command line: pmm=hbitmap (the default)
 * or pmm=bitmap, the reference, which hands out the same frames more slowly
 * (mm/pmm.c, docs/design/pmm.md).
 */
#include "memory.h"

#include "arch/x86/memlayout.h"
#include "bootinfo.h"
#include "monitor.h"
#include "panic.h"
#include "printf.h"

#include <string.h>

struct memmap kmemmap;
struct pmm kpmm;
uint32_t boot_free_frames;
const char RESERVED_KERNEL[] = "kernel image";

static void reserve(uint64_t start, uint64_t end, const char *what)
{
	if (pmm_reserve(&kpmm, start, end, what) != PMM_OK)
		panic("cannot reserve %s at 0x%llx-0x%llx", what, (unsigned long long)start,
		      (unsigned long long)end);
}

/* Where the PMM's storage can go: usable, in the direct map, clear of the rest. */
static uint64_t place_pmm_storage(size_t bytes)
{
	struct mem_range avoid[BOOT_REGIONS_MAX + 1];
	unsigned n = 0;

	avoid[n++] = (struct mem_range){ V2P(__kernel_start), V2P(__kernel_end) };
	for (unsigned i = 0; i < boot_info.nregions; i++)
		avoid[n++] = boot_info.regions[i].range;
	uint64_t at = memmap_find_free(&kmemmap, avoid, n, bytes, PMM_LOW_MEMORY_END,
				       DIRECT_MAP_SIZE);
	if (!at)
		panic("no room for the %u bytes of frame bitmap and index below 768 MiB",
		      (unsigned)bytes);
	return at;
}

/* Does the command line ask for the hbitmap allocator (pmm=hbitmap, or nothing)? */
static bool hbitmap_wanted(void)
{
	char choice[16];

	if (!cmdline_get("pmm", choice, sizeof(choice)) || !strcmp(choice, "hbitmap"))
		return true;
	if (!strcmp(choice, "bitmap"))
		return false;
	kprintf("pmm: no allocator \"%s\" (pmm=hbitmap or pmm=bitmap): using hbitmap\n", choice);
	return true;
}

/* Which frame allocator runs, and what its storage costs. */
static void print_allocator(void)
{
	kprintf("Frame allocator: %s, bitmap %uK", pmm_allocator_name(&kpmm),
		(unsigned)(kpmm.nwords * sizeof(uint32_t) + 1023) / 1024);
	if (kpmm.indexed)
		kprintf(" + index %uK", (unsigned)(pmm_index_bytes(&kmemmap) + 1023) / 1024);
	kprintf(" (boot with pmm=%s for the other)\n", kpmm.indexed ? "bitmap" : "hbitmap");
}

void memory_init(void)
{
	if (memmap_from_multiboot(&kmemmap, &boot_info.mbi, boot_info.mmap) < 0 ||
	    kmemmap.count == 0)
		panic("the boot loader reported no usable memory");

	bool indexed = hbitmap_wanted();
	size_t bitmap_bytes = pmm_bitmap_bytes(&kmemmap);
	size_t index_bytes = indexed ? pmm_index_bytes(&kmemmap) : 0;
	uint64_t storage = place_pmm_storage(bitmap_bytes + index_bytes);
	if (pmm_init(&kpmm, &kmemmap, P2V(storage), bitmap_bytes) != PMM_OK)
		panic("cannot start the physical memory manager");
	if (indexed && pmm_attach_index(&kpmm, P2V(storage + bitmap_bytes), index_bytes) != PMM_OK)
		panic("cannot build the frame allocator's index");
	reserve(V2P(__kernel_start), V2P(__kernel_end), RESERVED_KERNEL);
	reserve(storage, storage + bitmap_bytes + index_bytes,
		indexed ? "frame bitmap and index" : "frame bitmap");
	for (unsigned i = 0; i < boot_info.nregions; i++)
		reserve(boot_info.regions[i].range.start, boot_info.regions[i].range.end,
			boot_info.regions[i].what);
	boot_free_frames = kpmm.stats.free_frames;

	memory_print_raw();
	memory_print_usable();
	memory_print_reservations();
	print_allocator();
	memory_print_summary();
}

void memory_print_raw(void)
{
	kprintf("Memory map from the boot loader (%u entries%s):\n", kmemmap.raw_count,
		kmemmap.from_fallback ? ", built from mem_lower/mem_upper" : "");
	for (unsigned i = 0; i < kmemmap.raw_count; i++) {
		const struct memmap_entry *e = &kmemmap.raw[i];
		kprintf("  %016llx-%016llx %s\n", (unsigned long long)e->base,
			(unsigned long long)(e->base + e->length - 1), memmap_type_name(e->type));
	}
}

void memory_print_usable(void)
{
	kprintf("Usable RAM, normalized (%u ranges):\n", kmemmap.count);
	for (unsigned i = 0; i < kmemmap.count; i++) {
		const struct mem_range *r = &kmemmap.usable[i];
		kprintf("  %016llx-%016llx %8lluK%s\n", (unsigned long long)r->start,
			(unsigned long long)(r->end - 1), (unsigned long long)(r->end - r->start) >> 10,
			r->start >= FOUR_GIB ? " (above 4 GiB, not used)" : "");
	}
	if (kmemmap.usable_above_4g)
		kprintf("  %lluK above 4 GiB: counted, not used by this 32-bit kernel\n",
			(unsigned long long)kmemmap.usable_above_4g >> 10);
}

void memory_print_reservations(void)
{
	kprintf("Reserved:\n");
	for (unsigned i = 0; i < kpmm.nreservations; i++) {
		const struct pmm_reservation *r = &kpmm.reservations[i];
		kprintf("  %016llx-%016llx %s\n", (unsigned long long)r->start,
			(unsigned long long)(r->end - 1), r->what);
	}
}

void memory_print_summary(void)
{
	kprintf("Memory: %uK/%lluK available\n", kpmm.stats.free_frames * (FRAME_SIZE / 1024),
		(unsigned long long)kmemmap.usable_below_4g >> 10);
}

static bool overlaps(uint64_t a, uint64_t b, uint64_t start, uint64_t end)
{
	return a < end && start < b;
}

/* One character for physical [a, b): the most notable thing in it. */
static char bar_cell(uint64_t a, uint64_t b)
{
	char best = ' '; /* a hole: no map entry at all */
	static const char rank[] = " r.RMK";

	for (unsigned i = 0; i < kmemmap.raw_count; i++)
		if (overlaps(a, b, kmemmap.raw[i].base, kmemmap.raw[i].base + kmemmap.raw[i].length))
			best = 'r';
	for (unsigned i = 0; i < kmemmap.count; i++)
		if (overlaps(a, b, kmemmap.usable[i].start, kmemmap.usable[i].end))
			best = '.';
	for (unsigned i = 0; i < kpmm.nreservations; i++) {
		const struct pmm_reservation *r = &kpmm.reservations[i];
		char c = r->what == RESERVED_KERNEL ? 'K' : r->what == BOOT_MODULE ? 'M' : 'R';
		if (overlaps(a, b, r->start, r->end) && strchr(rank, c) > strchr(rank, best))
			best = c;
	}
	return best;
}

void memory_print_bar(void)
{
	enum { CELLS = 64 };
	uint64_t top = memmap_top_below_4g(&kmemmap);
	uint64_t cell = (top / CELLS + FRAME_SIZE - 1) & ~(uint64_t)(FRAME_SIZE - 1);
	char bar[CELLS + 1];

	for (unsigned i = 0; i < CELLS; i++)
		bar[i] = bar_cell(i * cell, (i + 1) * cell);
	bar[CELLS] = '\0';
	kprintf("Physical memory 0-%lluK, %lluK per cell:\n  |%s|\n",
		(unsigned long long)(CELLS * cell) >> 10, (unsigned long long)cell >> 10, bar);
	kprintf("  K kernel  M module  R reserved (boot data, bitmap, low MiB)  . usable\n"
		"  r reserved by firmware  ' ' hole (no entry)\n");
}

static void cmd_meminfo(int argc, char **argv)
{
	const struct pmm_stats *s = &kpmm.stats;
	(void)argc;
	(void)argv;
	kprintf("  total      %10lluK  usable RAM below 4 GiB (%u frames)\n",
		(unsigned long long)kmemmap.usable_below_4g >> 10, s->total_frames);
	kprintf("  reserved   %10uK  low MiB, kernel, boot data, bitmap (%u frames)\n",
		s->reserved_frames * 4, s->reserved_frames);
	kprintf("  available  %10uK  after reservations (%u frames)\n",
		(s->total_frames - s->reserved_frames) * 4, s->total_frames - s->reserved_frames);
	kprintf("  free       %10uK  now (%u frames); %u frames in use\n", s->free_frames * 4,
		s->free_frames, s->used_frames);
	kprintf("  above 4GiB %10lluK  reported, not used\n",
		(unsigned long long)kmemmap.usable_above_4g >> 10);
}
MONITOR_COMMAND(meminfo, "", "total, available, reserved and free memory", cmd_meminfo);

static void cmd_memmap(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	memory_print_raw();
	memory_print_usable();
	memory_print_reservations();
	memory_print_bar();
}
MONITOR_COMMAND(memmap, "", "raw and normalized memory map, and a picture", cmd_memmap);

static void cmd_frames(int argc, char **argv)
{
	const struct pmm_stats *s = &kpmm.stats;
	(void)argc;
	(void)argv;
	print_allocator();
	kprintf("  bitmap: %u frames covered, %u words at %p, next-fit hint word %u\n",
		kpmm.nframes, kpmm.nwords, (void *)kpmm.bitmap, kpmm.hint);
	if (kpmm.indexed)
		kprintf("  index: %u orders (4K to 4M blocks), %u bytes at %p\n", PMM_ORDERS,
			(unsigned)pmm_index_bytes(&kmemmap), (void *)kpmm.index.storage);
	kprintf("  frames: %u total, %u reserved, %u free, %u used\n", s->total_frames,
		s->reserved_frames, s->free_frames, s->used_frames);
	kprintf("  refused calls: %u misaligned, %u out of range, %u reserved, %u double free, "
		"%u bad requests\n", s->misaligned, s->out_of_range, s->reserved_frees,
		s->double_frees, s->bad_requests);
	kprintf("  allocations that found nothing: %u\n", s->exhausted);
}
MONITOR_COMMAND(frames, "", "physical frame allocator statistics", cmd_frames);
