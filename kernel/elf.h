/*
 * elf.h - check a static ELF32 i386 executable before anything is loaded.
 *
 * The loader maps what elf_check() returns and nothing else, so every
 * property it relies on is checked here, once, against the raw bytes
 * (System V ABI, "Object Files" chapter, and its Intel386 supplement):
 * the header says ELF32, little-endian, version 1, ET_EXEC, EM_386; the
 * program headers lie in the file; no interpreter or dynamic section;
 * every loadable segment's bytes lie in the file and its pages in user
 * space, no two segments share a page, and the entry point is in an
 * executable segment.  Program headers of other types (PT_NOTE,
 * PT_GNU_STACK, PT_GNU_PROPERTY, PT_GNU_RELRO, PT_TLS, PT_PHDR, ...) are
 * skipped; PT_LOAD segments with p_memsz 0 are skipped too.
 *
 * "segment N" in a message is N's index in the program-header table, as
 * `readelf -l` numbers them.  Messages live in a static buffer: valid
 * until the next call that fails.  The caller serializes calls.
 */
#ifndef KERNEL_ELF_H
#define KERNEL_ELF_H

#include <stdint.h>

#define ELF_MAX_SEGMENTS 8
#define ELF_SEG_R 4 /* p_flags PF_R */
#define ELF_SEG_W 2 /* PF_W */
#define ELF_SEG_X 1 /* PF_X */
#define ELF_PAGE_SIZE 4096u

/* The ELF32 layout (System V ABI, "Object Files"): e_ident bytes and values, */
#define ELF_EI_CLASS            4
#define ELF_EI_DATA             5
#define ELF_EI_VERSION          6
#define ELF_CLASS32          1
#define ELF_CLASS64          2
#define ELF_DATA2LSB         1
#define ELF_DATA2MSB         2
#define ELF_EV_CURRENT          1

/* ELF header fields (offsets in an Elf32_Ehdr), */
#define ELF_E_TYPE              16
#define ELF_E_MACHINE           18
#define ELF_E_VERSION           20
#define ELF_E_ENTRY             24
#define ELF_E_PHOFF             28
#define ELF_E_EHSIZE            40
#define ELF_E_PHENTSIZE         42
#define ELF_E_PHNUM             44
#define ELF_EHDR_SIZE           52
#define ELF_PHDR_SIZE           32
#define ELF_ET_EXEC             2
#define ELF_EM_386              3

/* program header fields (offsets in an Elf32_Phdr) and types. */
#define ELF_P_TYPE              0
#define ELF_P_OFFSET            4
#define ELF_P_VADDR             8
#define ELF_P_FILESZ            16
#define ELF_P_MEMSZ             20
#define ELF_P_FLAGS             24
#define ELF_PT_LOAD             1
#define ELF_PT_DYNAMIC          2
#define ELF_PT_INTERP           3
#define ELF_PT_NOTE             4
#define ELF_PT_GNU_STACK        0x6474e551u
#define ELF_PT_GNU_PROPERTY     0x6474e553u

/*
 * One loadable segment: memory [vaddr, vaddr + memsz) holds file bytes
 * [offset, offset + filesz) at its start and zeros after them.  flags are
 * p_flags & (ELF_SEG_R | ELF_SEG_W | ELF_SEG_X).
 */
struct elf_segment { uint32_t vaddr, memsz, offset, filesz, flags; };
struct elf_image {
	uint32_t entry;
	unsigned nsegs;                             /* PT_LOAD segments, sorted by vaddr */
	struct elf_segment segs[ELF_MAX_SEGMENTS];
};

/*
 * Check that `file` (`size` bytes) is a static ELF32 i386 executable whose
 * loadable segments lie in [user_lo, user_hi) and fill `out`.  Returns NULL
 * if it is acceptable, else a clear reason naming the first problem found
 * ("not an ELF file (bad magic)", "64-bit ELF (ELFCLASS64), need 32-bit",
 * "big-endian", "not for i386 (e_machine 62)", "not an executable (e_type
 * 3, shared object)", "dynamically linked (PT_INTERP)", "program headers
 * past the end of the file", "segment 1: file range past the end of the
 * file", "segment 1: filesz > memsz", "segment 1: outside user space",
 * "segment 1: p_offset and p_vaddr differ modulo the page size", "segments
 * 1 and 2 overlap", "entry point 0x... not in an executable segment", "no
 * loadable segment", "too many loadable segments", ...).
 *
 * "Outside user space" is judged on whole pages: the page-rounded range of
 * every segment lies in [user_lo, user_hi).  Two segments that do not
 * overlap but share a page are refused too ("segments 1 and 2 share a
 * page"): the loader maps a page with one segment's rights.  `file` need
 * not be aligned.  `out` is only meaningful on success.
 */
const char *elf_check(const void *file, uint32_t size, uint32_t user_lo, uint32_t user_hi,
		      struct elf_image *out);

#endif
