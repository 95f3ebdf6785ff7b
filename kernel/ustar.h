/*
 * ustar.h - read the members of a USTAR archive (the initrd) in place.
 *
 * The archive is a buffer the kernel was handed (a Multiboot module); every
 * field of it is untrusted.  Nothing here allocates or copies file data:
 * a member's `data` points into the archive.  No call reads outside
 * [archive, archive + len), whatever the bytes say.
 *
 * Format: POSIX.1-1988 ustar (IEEE Std 1003.1, "pax" chapter, ustar
 * Interchange Format): 512-byte header blocks, each followed by the
 * member's data padded to 512 bytes; two zero blocks end the archive.
 * GNU tar's "ustar  \0" magic is accepted as well.  GNU and pax extension
 * members (types 'L', 'K', 'x', 'g') are returned like any other member;
 * their contents are not interpreted.
 *
 * Error messages live in a static buffer: valid until the next call that
 * fails.  The caller serializes calls.
 */
#ifndef KERNEL_USTAR_H
#define KERNEL_USTAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USTAR_BLOCK 512

/* One member of a USTAR archive (POSIX.1-1988 ustar format). */
struct ustar_file {
	char name[256];      /* prefix "/" name, NUL-terminated, leading "./" removed */
	const uint8_t *data; /* its contents, inside the archive */
	uint32_t size;
	uint32_t offset;     /* of data from the archive's start */
	char type;           /* '0' or '\0' regular file, '5' directory, ... */
};

/*
 * Errors are NULL on success, else a clear reason ("bad checksum at offset
 * 1024", "truncated member ...", "size field not octal ...").
 *
 * Walk members: *pos starts at 0; returns false at the end of the archive
 * (two zero blocks or the end of the buffer) or on error, with *error set
 * (NULL at a clean end).  On true, `out` holds the member and *pos has moved
 * past its data.  Each header is checked: the "ustar" magic, the checksum
 * (unsigned or signed sum, as the standard's rationale allows), an octal
 * size field, and data that lies inside the buffer.  A zero block followed
 * by anything but another zero block or the end is an error (a lone zero
 * block), as is a partial header block that is not all zeros.  After false,
 * *pos stays where it was, so calling again gives the same answer.
 */
bool ustar_next(const void *archive, size_t len, size_t *pos, struct ustar_file *out,
		const char **error);

/*
 * Find regular file `name` (a leading "./" on either side ignored): the
 * first member of that name whose type is '0', '\0' or '7' (contiguous,
 * read as regular).  NULL on success; else "not found" or the archive's
 * error (an error before the member is reached).
 */
const char *ustar_find(const void *archive, size_t len, const char *name, struct ustar_file *out);

/* Regular file types: '0', '\0', and '7' (contiguous file, read as regular). */
bool ustar_is_regular(char type);

#endif
