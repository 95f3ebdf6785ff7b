/*
 * elf.c - validate an ELF32 executable's headers for the loader.
 *
 * One pass, in file order: the ELF header field by field, then the program
 * header table, then each program header, then the properties that need
 * all segments at once (sorted, no shared page, entry point).  The first
 * problem found is the one reported, in words a user can act on.
 *
 * Why these checks (System V ABI and its i386 supplement):
 *   - e_ident class/data/version, e_type, e_machine, e_version: the loader
 *     knows one layout (ELF32, little-endian) and one kind of file (a
 *     static ET_EXEC for EM_386: no relocation, no interpreter);
 *   - e_ehsize and e_phentsize: the structures are read at the sizes the
 *     ABI gives; a file claiming other sizes is not one we understand;
 *   - e_phoff + e_phnum * e_phentsize inside the file, computed in 64 bits
 *     so a huge e_phoff cannot wrap around;
 *   - PT_INTERP and PT_DYNAMIC mean the program expects a dynamic linker;
 *   - per PT_LOAD segment: p_filesz <= p_memsz (the file part is a prefix
 *     of memory), the file bytes in the file, the pages in user space, and
 *     p_offset == p_vaddr modulo the page size (the ABI's requirement, and
 *     what lets a page be filled straight from the file's page);
 *   - no two segments in one page: a page gets one set of rights, and the
 *     loader must not have to merge two segments' bytes into it;
 *   - the entry point in an executable segment, or the first instruction
 *     faults.
 *
 * All arithmetic on file values is done in 64 bits.  Fields are assembled
 * from bytes, so `file` may have any alignment and the host's byte order
 * does not matter.
 */
#include "elf.h"

#include <stdbool.h>
#include <stddef.h>

#include "kernel/printf.h"

#define PAGE_MASK ((uint64_t)ELF_PAGE_SIZE - 1)

static char reason[128];

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | le16(p + 2) << 16;
}

static uint64_t page_down(uint64_t a)
{
	return a & ~PAGE_MASK;
}

static uint64_t page_up(uint64_t a)
{
	return (a + PAGE_MASK) & ~PAGE_MASK;
}

static const char *type_name(uint32_t type)
{
	static const char *const names[] = { "no file type", "relocatable", "executable",
					     "shared object", "core file" };
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown type";
}

#define FAIL(...)                                                \
	do {                                                     \
		ksnprintf(reason, sizeof(reason), __VA_ARGS__);  \
		return reason;                                   \
	} while (0)

static const char *check_header(const uint8_t *f, uint32_t size)
{
	uint32_t v;

	if (size == 0)
		return "empty file (no ELF header)";
	if (size < 4 || f[0] != 0x7f || f[1] != 'E' || f[2] != 'L' || f[3] != 'F')
		return "not an ELF file (bad magic)";
	if (size < ELF_EHDR_SIZE)
		FAIL("truncated ELF header (%u bytes, need %u)", size, ELF_EHDR_SIZE);
	if (f[ELF_EI_CLASS] == ELF_CLASS64)
		return "64-bit ELF (ELFCLASS64), need 32-bit";
	if (f[ELF_EI_CLASS] != ELF_CLASS32)
		FAIL("bad ELF class %u", f[ELF_EI_CLASS]);
	if (f[ELF_EI_DATA] == ELF_DATA2MSB)
		return "big-endian";
	if (f[ELF_EI_DATA] != ELF_DATA2LSB)
		FAIL("bad ELF data encoding %u", f[ELF_EI_DATA]);
	if (f[ELF_EI_VERSION] != ELF_EV_CURRENT)
		FAIL("bad ELF version %u in e_ident", f[ELF_EI_VERSION]);
	if ((v = le16(f + ELF_E_TYPE)) != ELF_ET_EXEC)
		FAIL("not an executable (e_type %u, %s)", v, type_name(v));
	if ((v = le16(f + ELF_E_MACHINE)) != ELF_EM_386)
		FAIL("not for i386 (e_machine %u)", v);
	if ((v = le32(f + ELF_E_VERSION)) != ELF_EV_CURRENT)
		FAIL("bad e_version %u", v);
	if ((v = le16(f + ELF_E_EHSIZE)) != ELF_EHDR_SIZE)
		FAIL("bad e_ehsize %u, need %u", v, ELF_EHDR_SIZE);
	if ((v = le16(f + ELF_E_PHENTSIZE)) != ELF_PHDR_SIZE)
		FAIL("bad e_phentsize %u, need %u", v, ELF_PHDR_SIZE);
	if ((uint64_t)le32(f + ELF_E_PHOFF) + (uint64_t)le16(f + ELF_E_PHNUM) * ELF_PHDR_SIZE > size)
		return "program headers past the end of the file";
	return NULL;
}

/* Check program header i (a PT_LOAD with p_memsz > 0) and describe it in *seg. */
static const char *check_load(const uint8_t *ph, unsigned i, uint32_t size, uint32_t user_lo,
			      uint32_t user_hi, struct elf_segment *seg)
{
	*seg = (struct elf_segment){
		.vaddr = le32(ph + ELF_P_VADDR),
		.memsz = le32(ph + ELF_P_MEMSZ),
		.offset = le32(ph + ELF_P_OFFSET),
		.filesz = le32(ph + ELF_P_FILESZ),
		.flags = le32(ph + ELF_P_FLAGS) & (ELF_SEG_R | ELF_SEG_W | ELF_SEG_X),
	};
	if (seg->filesz > seg->memsz)
		FAIL("segment %u: filesz > memsz (0x%x > 0x%x)", i, seg->filesz, seg->memsz);
	if ((uint64_t)seg->offset + seg->filesz > size)
		FAIL("segment %u: file range past the end of the file", i);
	if (page_down(seg->vaddr) < user_lo || page_up((uint64_t)seg->vaddr + seg->memsz) > user_hi)
		FAIL("segment %u: outside user space (0x%x, 0x%x bytes)", i, seg->vaddr, seg->memsz);
	if ((seg->offset ^ seg->vaddr) & PAGE_MASK)
		FAIL("segment %u: p_offset and p_vaddr differ modulo the page size", i);
	return NULL;
}

/* Sort by vaddr (insertion sort: at most ELF_MAX_SEGMENTS), keeping each one's index. */
static void sort_segments(struct elf_image *img, unsigned *index)
{
	for (unsigned i = 1; i < img->nsegs; i++)
		for (unsigned j = i; j > 0 && img->segs[j - 1].vaddr > img->segs[j].vaddr; j--) {
			struct elf_segment s = img->segs[j];
			unsigned x = index[j];
			img->segs[j] = img->segs[j - 1];
			index[j] = index[j - 1];
			img->segs[j - 1] = s;
			index[j - 1] = x;
		}
}

/* After sorting: no overlap and no shared page between neighbours (hence between any two). */
static const char *check_layout(const struct elf_image *img, const unsigned *index)
{
	for (unsigned i = 1; i < img->nsegs; i++) {
		const struct elf_segment *a = &img->segs[i - 1], *b = &img->segs[i];
		uint64_t a_end = (uint64_t)a->vaddr + a->memsz;
		if (a_end > b->vaddr)
			FAIL("segments %u and %u overlap", index[i - 1], index[i]);
		if (page_up(a_end) > page_down(b->vaddr))
			FAIL("segments %u and %u share a page", index[i - 1], index[i]);
	}
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct elf_segment *s = &img->segs[i];
		if ((s->flags & ELF_SEG_X) && img->entry >= s->vaddr &&
		    img->entry - s->vaddr < s->memsz)
			return NULL;
	}
	FAIL("entry point 0x%x not in an executable segment", img->entry);
}

const char *elf_check(const void *file, uint32_t size, uint32_t user_lo, uint32_t user_hi,
		      struct elf_image *out)
{
	const uint8_t *f = file;
	unsigned index[ELF_MAX_SEGMENTS];
	const char *err;

	if ((err = check_header(f, size)))
		return err;
	uint32_t phoff = le32(f + ELF_E_PHOFF), phnum = le16(f + ELF_E_PHNUM);
	out->entry = le32(f + ELF_E_ENTRY);
	out->nsegs = 0;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = f + phoff + (size_t)i * ELF_PHDR_SIZE;
		uint32_t type = le32(ph + ELF_P_TYPE);
		if (type == ELF_PT_INTERP)
			return "dynamically linked (PT_INTERP)";
		if (type == ELF_PT_DYNAMIC)
			return "dynamically linked (PT_DYNAMIC)";
		if (type != ELF_PT_LOAD || le32(ph + ELF_P_MEMSZ) == 0)
			continue;
		if (out->nsegs == ELF_MAX_SEGMENTS)
			FAIL("too many loadable segments (more than %u)", ELF_MAX_SEGMENTS);
		index[out->nsegs] = i;
		if ((err = check_load(ph, i, size, user_lo, user_hi, &out->segs[out->nsegs])))
			return err;
		out->nsegs++;
	}
	if (out->nsegs == 0)
		return "no loadable segment";
	sort_segments(out, index);
	return check_layout(out, index);
}
