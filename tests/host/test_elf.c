/*
 * test_elf.c - host tests for kernel/elf.c, the executable checker.
 *
 * A valid image is built in memory with the shape `gcc -m32 -static
 * -nostdlib` gives a program (see `readelf -l build/user/hello`): a PT_NOTE,
 * text, read-only data and data+bss PT_LOAD segments, PT_GNU_STACK and
 * PT_GNU_PROPERTY, plus an empty PT_LOAD that must be skipped.  It must be
 * accepted with exactly its three segments, sorted.  Then each mutation
 * breaks one rule elf.h states, and the image must be refused with that
 * rule's reason: a table of (patches, expected words).  Separate cases
 * cover what a patch cannot express: segments out of order, more than
 * ELF_MAX_SEGMENTS loads, an unaligned buffer, and every truncation of the
 * file (all refused, none read past the end: ASan watches).
 *
 * Given file names on the command line (`build/host/test_elf build/user/hello
 * build/user/bad-...`), it also checks each file: accepted, unless its name
 * starts with "bad-".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernel/elf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define USER_LO 0x10000u
#define USER_HI 0xC0000000u
#define FILE_SIZE 0x2180u
#define NPHDR 7
#define ENTRY 0x8048200u

/* Offsets of the fields patched below. */
#define EH(off) (off)
#define PH(i, off) (ELF_EHDR_SIZE + ELF_PHDR_SIZE * (i) + (off))
#define RX (ELF_SEG_R | ELF_SEG_X)
#define RW (ELF_SEG_R | ELF_SEG_W)

static uint8_t image[FILE_SIZE];

static void put(uint8_t *f, unsigned off, unsigned width, uint32_t v)
{
	for (unsigned i = 0; i < width; i++)
		f[off + i] = (uint8_t)(v >> (8 * i));
}

static void put_phdr(uint8_t *f, unsigned i, uint32_t type, uint32_t offset, uint32_t vaddr,
		     uint32_t filesz, uint32_t memsz, uint32_t flags)
{
	const uint32_t fields[8] = { type, offset, vaddr, vaddr, filesz, memsz, flags, 0x1000 };

	for (unsigned k = 0; k < 8; k++)
		put(f, PH(i, 4 * k), 4, fields[k]);
}

static void put_ehdr(uint8_t *f, uint32_t entry, unsigned phnum)
{
	memcpy(f, "\x7f" "ELF\x01\x01\x01", 7);
	put(f, EH(16), 2, 2);       /* e_type ET_EXEC */
	put(f, EH(18), 2, 3);       /* e_machine EM_386 */
	put(f, EH(20), 4, 1);       /* e_version */
	put(f, EH(24), 4, entry);   /* e_entry */
	put(f, EH(28), 4, 52);      /* e_phoff */
	put(f, EH(40), 2, 52);      /* e_ehsize */
	put(f, EH(42), 2, 32);      /* e_phentsize */
	put(f, EH(44), 2, phnum);   /* e_phnum */
}

/* The valid image: what a small static program looks like. */
static void build(uint8_t *f)
{
	memset(f, 0xcc, FILE_SIZE);
	memset(f, 0, 52 + 32 * NPHDR);
	put_ehdr(f, ENTRY, NPHDR);
	put_phdr(f, 0, ELF_PT_NOTE, 0x100, 0x8048100, 0x20, 0x20, ELF_SEG_R);
	put_phdr(f, 1, ELF_PT_LOAD, 0, 0x8048000, 0x1800, 0x1800, RX);
	put_phdr(f, 2, ELF_PT_LOAD, 0x2000, 0x804a000, 0x100, 0x100, ELF_SEG_R);
	put_phdr(f, 3, ELF_PT_LOAD, 0x2100, 0x804b100, 0x80, 0x2000, RW);
	put_phdr(f, 4, ELF_PT_GNU_STACK, 0, 0, 0, 0, RW);
	put_phdr(f, 5, ELF_PT_GNU_PROPERTY, 0x100, 0x8048100, 0x20, 0x20, ELF_SEG_R);
	put_phdr(f, 6, ELF_PT_LOAD, 0x123, 0, 0, 0, RW); /* empty: skipped */
}

static const struct elf_segment valid_segs[] = {
	{ 0x8048000, 0x1800, 0, 0x1800, RX },
	{ 0x804a000, 0x100, 0x2000, 0x100, ELF_SEG_R },
	{ 0x804b100, 0x2000, 0x2100, 0x80, RW },
};

static const char *check(const uint8_t *f, uint32_t size, struct elf_image *img)
{
	return elf_check(f, size, USER_LO, USER_HI, img);
}

#define CHECK_REFUSED(reason, want)                                                     \
	CHECK((reason) && strstr((reason), (want)), "expected \"%s\", got \"%s\"", (want), \
	      (reason) ? (reason) : "accepted")

static void valid_image_accepted(void)
{
	struct elf_image img;
	const char *r;

	build(image);
	r = check(image, FILE_SIZE, &img);
	CHECK(r == NULL, "refused: %s", r);
	CHECK_EQ(img.entry, ENTRY);
	CHECK_EQ(img.nsegs, ARRAY_SIZE(valid_segs));
	CHECK(memcmp(img.segs, valid_segs, sizeof(valid_segs)) == 0, "segments differ");
	/* Exactly the user range is fine: [0x8048000, 0x804d100) rounds to 0x804e000. */
	CHECK(elf_check(image, FILE_SIZE, 0x8048000, 0x804e000, &img) == NULL, "tight bounds");
	CHECK_REFUSED(elf_check(image, FILE_SIZE, 0x8049000, 0x804e000, &img), "segment 1: outside");
	CHECK_REFUSED(elf_check(image, FILE_SIZE, 0x8048000, 0x804d000, &img), "segment 3: outside");
}

struct patch {
	unsigned off, width;
	uint32_t value;
};

struct mutation {
	const char *what;
	uint32_t size; /* 0: the whole image */
	struct patch p[3];
	const char *reason;
};

static const struct mutation mutations[] = {
	{ "bad magic", 0, { { 3, 1, 'G' } }, "not an ELF file (bad magic)" },
	{ "empty file", 0xffffffff, { { 0 } }, "empty file" },
	{ "three bytes", 3, { { 0 } }, "bad magic" },
	{ "truncated header", 40, { { 0 } }, "truncated ELF header (40 bytes, need 52)" },
	{ "ELFCLASS64", 0, { { 4, 1, 2 } }, "64-bit ELF (ELFCLASS64), need 32-bit" },
	{ "class 0", 0, { { 4, 1, 0 } }, "bad ELF class 0" },
	{ "big-endian", 0, { { 5, 1, 2 } }, "big-endian" },
	{ "data 3", 0, { { 5, 1, 3 } }, "bad ELF data encoding 3" },
	{ "EI_VERSION 0", 0, { { 6, 1, 0 } }, "bad ELF version 0" },
	{ "ET_DYN", 0, { { 16, 2, 3 } }, "not an executable (e_type 3, shared object)" },
	{ "ET_REL", 0, { { 16, 2, 1 } }, "not an executable (e_type 1, relocatable)" },
	{ "ET_CORE", 0, { { 16, 2, 4 } }, "(e_type 4, core file)" },
	{ "x86-64", 0, { { 18, 2, 62 } }, "not for i386 (e_machine 62)" },
	{ "e_version 0", 0, { { 20, 4, 0 } }, "bad e_version 0" },
	{ "e_ehsize 64", 0, { { 40, 2, 64 } }, "bad e_ehsize 64" },
	{ "e_phentsize 56", 0, { { 42, 2, 56 } }, "bad e_phentsize 56, need 32" },
	{ "e_phoff huge", 0, { { 28, 4, 0xfffffff0 } }, "program headers past the end of the file" },
	{ "e_phoff just past", 0, { { 28, 4, FILE_SIZE - 32 * NPHDR + 1 } }, "program headers past" },
	{ "e_phnum 65535", 0, { { 44, 2, 0xffff } }, "program headers past the end of the file" },
	{ "cut in the headers", 52 + 32 * NPHDR - 1, { { 0 } }, "program headers past the end" },
	{ "PT_INTERP", 0, { { PH(0, ELF_P_TYPE), 4, 3 } }, "dynamically linked (PT_INTERP)" },
	{ "PT_DYNAMIC", 0, { { PH(4, ELF_P_TYPE), 4, 2 } }, "dynamically linked (PT_DYNAMIC)" },
	{ "filesz > memsz", 0, { { PH(3, ELF_P_FILESZ), 4, 0x2001 } }, "segment 3: filesz > memsz" },
	{ "file range past the end", 0, { { PH(3, ELF_P_FILESZ), 4, 0x81 } },
	  "segment 3: file range past the end of the file" },
	{ "file range wraps", 0, { { PH(3, ELF_P_OFFSET), 4, 0xfffff100 } },
	  "segment 3: file range past the end of the file" },
	{ "below user space", 0, { { PH(1, ELF_P_VADDR), 4, 0x8000 } }, "segment 1: outside user space" },
	{ "in the kernel half", 0, { { PH(3, ELF_P_VADDR), 4, 0xbffff100 } },
	  "segment 3: outside user space" },
	{ "vaddr + memsz wraps", 0, { { PH(3, ELF_P_MEMSZ), 4, 0xfffff000 } },
	  "segment 3: outside user space" },
	{ "misaligned", 0, { { PH(3, ELF_P_VADDR), 4, 0x804b200 } },
	  "segment 3: p_offset and p_vaddr differ modulo the page size" },
	{ "overlap", 0, { { PH(2, ELF_P_VADDR), 4, 0x8049000 } }, "segments 1 and 2 overlap" },
	{ "share a page", 0, { { PH(2, ELF_P_MEMSZ), 4, 0x1080 } }, "segments 2 and 3 share a page" },
	{ "entry in data", 0, { { 24, 4, 0x804a010 } },
	  "entry point 0x804a010 not in an executable segment" },
	{ "entry past text", 0, { { 24, 4, 0x8049800 } }, "entry point 0x8049800 not in" },
	{ "entry nowhere", 0, { { 24, 4, 0 } }, "entry point 0x0 not in" },
	{ "no loadable segment", 0,
	  { { PH(1, ELF_P_TYPE), 4, ELF_PT_NOTE }, { PH(2, ELF_P_TYPE), 4, ELF_PT_NOTE }, { PH(3, ELF_P_TYPE), 4, ELF_PT_NOTE } },
	  "no loadable segment" },
	{ "no program headers", 0, { { 44, 2, 0 } }, "no loadable segment" },
};

static void each_mutation_refused(void)
{
	static uint8_t f[FILE_SIZE];
	struct elf_image img;

	for (unsigned i = 0; i < ARRAY_SIZE(mutations); i++) {
		const struct mutation *m = &mutations[i];
		uint32_t size = m->size == 0xffffffff ? 0 : m->size ? m->size : FILE_SIZE;
		build(f);
		for (unsigned k = 0; k < ARRAY_SIZE(m->p) && m->p[k].width; k++)
			put(f, m->p[k].off, m->p[k].width, m->p[k].value);
		/* A copy of exactly `size` bytes, so ASan catches a read past it. */
		uint8_t *copy = malloc(size ? size : 1);
		memcpy(copy, f, size);
		const char *r = check(copy, size, &img);
		free(copy);
		CHECK(r && strstr(r, m->reason), "%s: expected \"%s\", got \"%s\"", m->what, m->reason,
		      r ? r : "accepted");
	}
}

/* Program headers in any order: sorted by vaddr, messages name table indices. */
static void segments_sorted(void)
{
	uint8_t f[FILE_SIZE];
	struct elf_image img;
	const char *r;

	build(f);
	put_phdr(f, 1, ELF_PT_LOAD, 0x2100, 0x804b100, 0x80, 0x2000, RW);
	put_phdr(f, 3, ELF_PT_LOAD, 0, 0x8048000, 0x1800, 0x1800, RX);
	r = check(f, FILE_SIZE, &img);
	CHECK(r == NULL, "refused: %s", r);
	CHECK(img.nsegs == 3 && memcmp(img.segs, valid_segs, sizeof(valid_segs)) == 0, "not sorted");
	put(f, PH(2, ELF_P_VADDR), 4, 0x8049000);
	CHECK_REFUSED(check(f, FILE_SIZE, &img), "segments 3 and 2 overlap");
}

/* ELF_MAX_SEGMENTS loads are fine, one more is refused. */
static void too_many_segments(void)
{
	static uint8_t f[0x10000];
	struct elf_image img;
	const unsigned n = ELF_MAX_SEGMENTS + 1;

	memset(f, 0, sizeof(f));
	put_ehdr(f, 0x8048000, n);
	for (unsigned i = 0; i < n; i++)
		put_phdr(f, i, ELF_PT_LOAD, i * 0x1000, 0x8048000 + i * 0x1000, 0x1000, 0x1000, RX);
	CHECK_REFUSED(check(f, sizeof(f), &img), "too many loadable segments");
	put(f, EH(44), 2, n - 1);
	CHECK(check(f, sizeof(f), &img) == NULL, "%u segments refused", n - 1);
	CHECK_EQ(img.nsegs, n - 1);
	/* Empty loads do not count. */
	put(f, EH(44), 2, n);
	put(f, PH(n - 1, ELF_P_MEMSZ), 4, 0);
	put(f, PH(n - 1, ELF_P_FILESZ), 4, 0);
	CHECK(check(f, sizeof(f), &img) == NULL, "an empty load counted");
}

/* The file need not be aligned: every field is read byte by byte (UBSan watches). */
static void unaligned_buffer(void)
{
	static uint8_t buf[FILE_SIZE + 3];
	struct elf_image img;

	for (unsigned shift = 1; shift < 4; shift++) {
		build(buf + shift);
		const char *r = check(buf + shift, FILE_SIZE, &img);
		CHECK(r == NULL, "shift %u: %s", shift, r);
		CHECK(memcmp(img.segs, valid_segs, sizeof(valid_segs)) == 0, "shift %u", shift);
	}
}

/* Every prefix of the image is refused, and none is read past its end. */
static void every_truncation_refused(void)
{
	struct elf_image img;

	build(image);
	for (uint32_t size = 0; size < FILE_SIZE; size++) {
		uint8_t *copy = malloc(size ? size : 1);
		memcpy(copy, image, size);
		const char *r = check(copy, size, &img);
		free(copy);
		CHECK(r != NULL, "a %u-byte prefix was accepted", size);
	}
}

static char **files;
static int nfiles;

static void files_on_command_line(void)
{
	for (int i = 0; i < nfiles; i++) {
		FILE *fp = fopen(files[i], "rb");
		static uint8_t buf[1 << 24];
		struct elf_image img;
		CHECK(fp, "cannot open %s", files[i]);
		size_t size = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
		const char *r = check(buf, (uint32_t)size, &img);
		printf("# %s: %s\n", files[i], r ? r : "accepted");
		CHECK((r != NULL) == (strncmp(base, "bad-", 4) == 0), "%s: %s", files[i],
		      r ? r : "accepted");
	}
}

int main(int argc, char **argv)
{
	files = argv + 1;
	nfiles = argc - 1;
	RUN(valid_image_accepted);
	RUN(each_mutation_refused);
	RUN(segments_sorted);
	RUN(too_many_segments);
	RUN(unaligned_buffer);
	RUN(every_truncation_refused);
	if (nfiles)
		RUN(files_on_command_line);
	return check_done();
}
