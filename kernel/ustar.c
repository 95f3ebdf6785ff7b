/*
 * ustar.c - walk a USTAR archive without trusting it.
 *
 * The initrd is the first input the kernel reads from a file rather than
 * from firmware, and every length in it is a string of octal digits some
 * tool wrote.  So each header is checked before anything in it is used, in
 * the order a reader would want to hear about it: is this a ustar header at
 * all (magic), is it intact (checksum), is its size a number, and does the
 * data it announces fit in what we were given.  Sizes are parsed into 64
 * bits and compared against what is left of the buffer by subtraction, so a
 * size of 077777777777 cannot wrap an offset past the end.
 *
 * Header layout (POSIX.1-1988, offsets in bytes):
 *
 *     0 name[100]   100 mode[8]    108 uid[8]     116 gid[8]
 *   124 size[12]    136 mtime[12]  148 chksum[8]  156 typeflag
 *   157 linkname[100]              257 magic[6]   263 version[2]
 *   265 uname[32]   297 gname[32]  329 devmajor[8] 337 devminor[8]
 *   345 prefix[155]
 *
 * Numeric fields are octal, optionally led by spaces and ended by a space or
 * NUL.  The checksum is the sum of the header's bytes with the checksum
 * field read as eight spaces; the standard's rationale notes that historic
 * implementations summed signed chars, so either sum is accepted.  Names
 * are not NUL-terminated when they fill their field; the full name is
 * prefix "/" name when prefix is not empty.
 */
#include "ustar.h"

#include <string.h>

#include "kernel/printf.h"

#define NAME_OFF     0
#define NAME_LEN     100
#define SIZE_OFF     124
#define SIZE_LEN     12
#define CHKSUM_OFF   148
#define CHKSUM_LEN   8
#define TYPE_OFF     156
#define MAGIC_OFF    257
#define MAGIC_LEN    8 /* magic[6] and version[2] together */
#define PREFIX_OFF   345
#define PREFIX_LEN   155

static char reason[160];

/* Every byte of a[from, to) is zero (true for an empty range). */
static bool all_zero(const uint8_t *a, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (a[i])
			return false;
	return true;
}

/*
 * An octal field: leading spaces, at least one digit, then only spaces and
 * NULs to the end of the field.  False for anything else (including GNU's
 * base-256 encoding, whose first byte has the top bit set).
 */
static bool parse_octal(const uint8_t *f, size_t n, uint64_t *value)
{
	size_t i = 0;
	uint64_t v = 0;

	while (i < n && f[i] == ' ')
		i++;
	if (i == n || f[i] < '0' || f[i] > '7')
		return false;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		v = v << 3 | (uint64_t)(f[i] - '0'); /* at most 12 digits: 36 bits */
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return false;
	*value = v;
	return true;
}

static bool checksum_ok(const uint8_t *h)
{
	uint64_t want;
	uint32_t unsigned_sum = 0;
	int32_t signed_sum = 0;

	if (!parse_octal(h + CHKSUM_OFF, CHKSUM_LEN, &want))
		return false;
	for (unsigned i = 0; i < USTAR_BLOCK; i++) {
		bool in_field = i >= CHKSUM_OFF && i < CHKSUM_OFF + CHKSUM_LEN;
		uint8_t b = in_field ? ' ' : h[i];
		unsigned_sum += b;
		signed_sum += (int8_t)b;
	}
	return want == unsigned_sum || (int64_t)want == signed_sum;
}

/* "ustar\0" "00" (POSIX) or "ustar  \0" (GNU tar's older format). */
static bool magic_ok(const uint8_t *h)
{
	return memcmp(h + MAGIC_OFF, "ustar\0" "00", MAGIC_LEN) == 0 ||
	       memcmp(h + MAGIC_OFF, "ustar  \0", MAGIC_LEN) == 0;
}

/* Length of a field that is NUL-terminated unless it fills all n bytes. */
static size_t field_len(const uint8_t *f, size_t n)
{
	size_t len = 0;

	while (len < n && f[len])
		len++;
	return len;
}

/* Drop every leading "./" (so "./bin/x" and "bin/x" name the same file). */
static const char *skip_dot_slash(const char *s)
{
	while (s[0] == '.' && s[1] == '/')
		s++, s++;
	return s;
}

/* prefix "/" name into out (256 bytes), without a leading "./"; false if too long. */
static bool full_name(const uint8_t *h, char *out)
{
	char tmp[PREFIX_LEN + 1 + NAME_LEN + 1];
	size_t plen = field_len(h + PREFIX_OFF, PREFIX_LEN);
	size_t nlen = field_len(h + NAME_OFF, NAME_LEN);
	size_t len = 0;
	const char *name;

	if (plen) {
		memcpy(tmp, h + PREFIX_OFF, plen);
		tmp[plen] = '/';
		len = plen + 1;
	}
	memcpy(tmp + len, h + NAME_OFF, nlen);
	tmp[len + nlen] = '\0';
	name = skip_dot_slash(tmp);
	if (strlen(name) >= sizeof(((struct ustar_file *)0)->name))
		return false;
	memcpy(out, name, strlen(name) + 1);
	return true;
}

bool ustar_is_regular(char type)
{
	return type == '0' || type == '\0' || type == '7';
}

/* Set *error to a formatted reason and return false. */
#define FAIL(...)                                            \
	do {                                                 \
		ksnprintf(reason, sizeof(reason), __VA_ARGS__); \
		*error = reason;                             \
		return false;                                \
	} while (0)

bool ustar_next(const void *archive, size_t len, size_t *pos, struct ustar_file *out,
		const char **error)
{
	const uint8_t *a = archive;
	size_t at = *pos, data, left, padded;
	unsigned long long where = at;
	const uint8_t *h;
	uint64_t size;

	*error = NULL;
	if (at >= len)
		return false;
	if (len - at < USTAR_BLOCK) {
		if (all_zero(a, at, len))
			return false;
		FAIL("truncated header at offset %llu (%llu bytes left)", where,
		     (unsigned long long)(len - at));
	}
	h = a + at;
	if (all_zero(h, 0, USTAR_BLOCK)) {
		size_t next = at + USTAR_BLOCK;
		size_t end = len - next < USTAR_BLOCK ? len : next + USTAR_BLOCK;
		if (all_zero(a, next, end))
			return false;
		FAIL("lone zero block at offset %llu (the archive goes on after it)", where);
	}
	if (!magic_ok(h))
		FAIL("bad magic at offset %llu (not a ustar header)", where);
	if (!checksum_ok(h))
		FAIL("bad checksum at offset %llu", where);
	if (!parse_octal(h + SIZE_OFF, SIZE_LEN, &size))
		FAIL("size field not octal at offset %llu", where);
	if (!full_name(h, out->name))
		FAIL("name longer than %u bytes at offset %llu",
		     (unsigned)sizeof(out->name) - 1, where);
	data = at + USTAR_BLOCK;
	left = len - data;
	if (size > left)
		FAIL("truncated member %s at offset %llu: %llu bytes, only %llu in the archive",
		     out->name, where, (unsigned long long)size, (unsigned long long)left);
	if ((uint64_t)data + size > UINT32_MAX)
		FAIL("member %s at offset %llu lies beyond 4 GiB", out->name, where);

	out->data = a + data;
	out->size = (uint32_t)size;
	out->offset = (uint32_t)data;
	out->type = (char)h[TYPE_OFF];
	padded = (size_t)size + (USTAR_BLOCK - (size_t)size % USTAR_BLOCK) % USTAR_BLOCK;
	*pos = padded > left ? len : data + padded;
	return true;
}

const char *ustar_find(const void *archive, size_t len, const char *name, struct ustar_file *out)
{
	const char *error;
	size_t pos = 0;

	name = skip_dot_slash(name);
	while (ustar_next(archive, len, &pos, out, &error))
		if (ustar_is_regular(out->type) && strcmp(out->name, name) == 0)
			return NULL;
	return error ? error : "not found";
}
