/*
 * fuzz_elf.c - libFuzzer target for elf_check().
 *
 * Byte 0 picks the mode.  Even: the rest of the input is the file, as is
 * (random bytes, mostly refused early: this explores the header checks and
 * any out-of-bounds read).  Odd: the rest describes an image that usually
 * gets deep into the checks --
 *
 *   byte 1      bits 0-3 the number of program headers, bit 4-5 the user
 *               range (wide or tight), bit 6 a bad header field
 *   byte 2      the entry point: 0x8048000 + 16 * byte
 *   byte 3      extra file size in 256-byte units
 *   8 bytes per program header: type (mostly PT_LOAD), page, offset in the
 *               page, memsz, filesz, file page, flags, and a bit that makes
 *               a size huge
 *
 * -- and builds it into a buffer of exactly its size (so ASan sees any read
 * past the end).  Either way, the answer is compared with an independent
 * re-check written here from elf.h's rules (pairwise, not sorted; fields
 * read through structs): elf_check must accept exactly the files the
 * re-check accepts, and an accepted image's segments must be exactly the
 * file's non-empty PT_LOADs, sorted, each in the file and in user space, no
 * two in one page, the entry point in an executable one.  A refusal must
 * come with a short printable reason.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kernel/elf.h"
#include "mm/mm_log.h"

void mm_warn(const char *fmt, ...) /* the memory-manager core linked in reports here */
{
	(void)fmt;
}

struct ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

_Static_assert(sizeof(struct ehdr) == 52 && sizeof(struct phdr) == 32, "ELF32 layouts");

#define PAGE 4096ull
#define MAX_PH 15

static uint64_t pg_down(uint64_t a)
{
	return a / PAGE * PAGE;
}

static uint64_t pg_up(uint64_t a)
{
	return (a + PAGE - 1) / PAGE * PAGE;
}

/* The re-check: is `f` acceptable by the rules of elf.h?  Collects the loads in file order. */
static bool acceptable(const uint8_t *f, uint32_t size, uint32_t lo, uint32_t hi, struct phdr *loads,
		       unsigned *nloads)
{
	struct ehdr e;

	*nloads = 0;
	if (size < sizeof(e))
		return false;
	memcpy(&e, f, sizeof(e));
	if (memcmp(e.ident, "\x7f" "ELF\x01\x01\x01", 7) != 0 || e.type != 2 || e.machine != 3 ||
	    e.version != 1 || e.ehsize != 52 || e.phentsize != 32 ||
	    (uint64_t)e.phoff + 32ull * e.phnum > size)
		return false;
	for (unsigned i = 0; i < e.phnum; i++) {
		struct phdr p;
		memcpy(&p, f + e.phoff + 32ull * i, sizeof(p));
		if (p.type == 2 || p.type == 3)
			return false;
		if (p.type != 1 || p.memsz == 0)
			continue;
		if (*nloads == ELF_MAX_SEGMENTS || p.filesz > p.memsz ||
		    (uint64_t)p.offset + p.filesz > size || pg_down(p.vaddr) < lo ||
		    pg_up((uint64_t)p.vaddr + p.memsz) > hi || p.offset % PAGE != p.vaddr % PAGE)
			return false;
		loads[(*nloads)++] = p;
	}
	bool entry_ok = false;
	for (unsigned i = 0; i < *nloads; i++) {
		for (unsigned j = 0; j < i; j++)
			if (pg_down(loads[i].vaddr) < pg_up((uint64_t)loads[j].vaddr + loads[j].memsz) &&
			    pg_down(loads[j].vaddr) < pg_up((uint64_t)loads[i].vaddr + loads[i].memsz))
				return false;
		entry_ok |= (loads[i].flags & ELF_SEG_X) && e.entry >= loads[i].vaddr &&
			    e.entry < (uint64_t)loads[i].vaddr + loads[i].memsz;
	}
	return *nloads > 0 && entry_ok;
}

static void check(const uint8_t *f, uint32_t size, uint32_t lo, uint32_t hi)
{
	struct phdr loads[ELF_MAX_SEGMENTS];
	unsigned nloads;
	struct elf_image img;
	const char *r = elf_check(f, size, lo, hi, &img);
	bool ok = acceptable(f, size, lo, hi, loads, &nloads);

	EXPECT((r == NULL) == ok);
	if (r) {
		size_t len = strlen(r);
		EXPECT(len > 0 && len < 128);
		for (size_t i = 0; i < len; i++)
			EXPECT(r[i] >= ' ' && r[i] <= '~');
		return;
	}
	uint32_t entry;
	bool entry_ok = false;
	memcpy(&entry, f + 24, sizeof(entry));
	EXPECT(img.entry == entry);
	EXPECT(img.nsegs == nloads);
	for (unsigned i = 0; i < img.nsegs; i++) {
		const struct elf_segment *s = &img.segs[i];
		/* Sorted, and no page shared with the one before (so with none). */
		EXPECT(i == 0 || pg_up((uint64_t)img.segs[i - 1].vaddr + img.segs[i - 1].memsz) <=
					 pg_down(s->vaddr));
		entry_ok |= (s->flags & ELF_SEG_X) && entry - s->vaddr < s->memsz;
		/* It is one of the file's loads, field for field. */
		bool found = false;
		for (unsigned k = 0; k < nloads && !found; k++)
			found = loads[k].vaddr == s->vaddr && loads[k].memsz == s->memsz &&
				loads[k].offset == s->offset && loads[k].filesz == s->filesz &&
				(loads[k].flags & 7) == s->flags;
		EXPECT(found);
		EXPECT(s->filesz <= s->memsz && (uint64_t)s->offset + s->filesz <= size);
		EXPECT(pg_down(s->vaddr) >= lo && pg_up((uint64_t)s->vaddr + s->memsz) <= hi);
		EXPECT(s->offset % PAGE == s->vaddr % PAGE);
	}
	EXPECT(entry_ok);
}

/* Odd mode: build an image from the compact description (see the top). */
static void structured(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	unsigned ctl = (unsigned)take(&in, 1), nph = ctl & 15;
	uint32_t entry = 0x8048000 + 16 * (uint32_t)take(&in, 1);
	uint32_t fsize = 52 + 32 * nph + 256 * (uint32_t)take(&in, 1);
	static const uint32_t bounds[4][2] = { { 0x10000, 0xC0000000 }, { 0x8049000, 0x8050000 },
					       { 0x1000, 0xFFFFF000 }, { 0x8048800, 0x804f800 } };
	uint8_t *f = calloc(1, fsize);
	struct ehdr e = { .ident = "\x7f" "ELF\x01\x01\x01", .type = 2, .machine = 3, .version = 1,
			  .entry = entry, .phoff = 52, .ehsize = 52, .phentsize = 32, .phnum = nph };

	EXPECT(f != NULL);
	if (ctl & 0x40)
		e.ident[4 + take(&in, 1) % 3] ^= 3; /* class, data or version */
	memcpy(f, &e, sizeof(e));
	for (unsigned i = 0; i < nph; i++) {
		static const uint32_t types[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 0x6474e551,
						  0x6474e553, 3, 2, 0 };
		uint8_t b[8];
		for (unsigned k = 0; k < 8; k++)
			b[k] = (uint8_t)take(&in, 1);
		struct phdr p = {
			.type = types[b[0] & 15],
			.vaddr = 0x8048000 + 0x1000 * (b[1] & 15) + 16 * b[2],
			.memsz = 0x100 * (uint32_t)b[3],
			.filesz = 0x100 * (uint32_t)b[4],
			.offset = 0x1000 * (b[5] & 3) + 16 * b[2],
			.flags = b[6],
			.align = 0x1000,
		};
		if (b[0] & 0x40)
			p.offset += 16;                 /* misaligned against vaddr */
		if (b[0] & 0x80)
			p.vaddr = (uint32_t)b[1] << 24; /* anywhere */
		if (b[7] & 1)
			p.memsz = 0xfffff000 - 0x100 * (uint32_t)b[3];
		if (b[7] & 2)
			p.offset = 0xffffff00 + b[2];
		p.paddr = p.vaddr;
		memcpy(f + 52 + 32 * i, &p, sizeof(p));
	}
	check(f, fsize, bounds[ctl >> 4 & 3][0], bounds[ctl >> 4 & 3][1]);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1 << 20)
		return 0;
	if (data[0] & 1) {
		structured(data + 1, size - 1);
	} else {
		/* The file exactly as given, in its own allocation. */
		uint8_t *f = malloc(size - 1 ? size - 1 : 1);
		EXPECT(f != NULL);
		memcpy(f, data + 1, size - 1);
		check(f, (uint32_t)(size - 1), 0x10000, 0xC0000000);
		free(f);
	}
	return 0;
}
