/*
 * fuzz_ustar.c - libFuzzer target for ustar_next() and ustar_find().
 *
 * Byte 0 picks the mode.  Even: the rest of the input is the archive.  Odd:
 * the rest describes members, which are written as valid headers unless the
 * description says otherwise, so the walk gets past the first header:
 *
 *   byte 0     bit 0 GNU magic, bit 1 a wrong checksum, bit 2 a signed
 *              checksum, bit 3 the size field's 12 bytes taken raw, bit 4 a
 *              prefix, bit 5 a leading "./", bit 6 a zero block instead of
 *              a member, bit 7 a bad magic
 *   byte 1     the type
 *   bytes 2-3  the size (when not raw), then name and prefix lengths and a
 *              name character
 *
 * followed, at the end of the input, by a chosen cut: the archive is then
 * given in an allocation of exactly its length (ASan sees any read past it).
 *
 * Each member the walk returns is checked against the header bytes again,
 * here: magic, an unsigned or signed checksum, the size field as octal,
 * data inside the buffer right after the header, the name joined and
 * without "./", and *pos moved to the next block boundary after the data
 * (or the end).  An error must leave *pos alone and be a short message
 * (it may quote a member's name, whatever bytes that holds).  ustar_find must then find the first regular member of each name
 * the walk saw, at the same offset, and report the walk's error (or "not
 * found") for a name that is not there.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kernel/ustar.h"
#include "mm/mm_log.h"

void mm_warn(const char *fmt, ...) /* the memory-manager core linked in reports here */
{
	(void)fmt;
}

#define BLOCK USTAR_BLOCK
#define MAX_MEMBERS 24

static bool octal(const uint8_t *f, size_t n, uint64_t *v)
{
	size_t i = 0;
	bool digits = false;

	*v = 0;
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits = true)
		*v = *v * 8 + (f[i] - '0');
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != 0)
			return false;
	return digits;
}

/* Is `f` what the header at `h` (offset `at` of archive `a`, `len` long) describes? */
static void check_member(const uint8_t *a, size_t len, size_t at, size_t next,
			 const struct ustar_file *f)
{
	const uint8_t *h = a + at;
	uint64_t want_sum, size;
	uint32_t usum = 0;
	int32_t ssum = 0;
	char name[300] = "";

	EXPECT(len - at >= BLOCK);
	EXPECT(memcmp(h + 257, "ustar\0" "00", 8) == 0 || memcmp(h + 257, "ustar  \0", 8) == 0);
	for (unsigned i = 0; i < BLOCK; i++) {
		uint8_t b = i >= 148 && i < 156 ? ' ' : h[i];
		usum += b;
		ssum += (int8_t)b;
	}
	EXPECT(octal(h + 148, 8, &want_sum) && (want_sum == usum || (int64_t)want_sum == ssum));
	EXPECT(octal(h + 124, 12, &size) && size == f->size);
	EXPECT(f->offset == at + BLOCK && f->data == a + f->offset && f->offset + size <= len);
	EXPECT(f->type == (char)h[156]);
	/* The name: prefix "/" name, each up to its field's end, then no leading "./". */
	if (h[345])
		snprintf(name, sizeof(name), "%.155s/", (const char *)h + 345);
	snprintf(name + strlen(name), sizeof(name) - strlen(name), "%.100s", (const char *)h);
	const char *n = name;
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	EXPECT(strcmp(n, f->name) == 0);
	/* The next header: after the data, rounded up to a block. */
	size_t end = f->offset + (size_t)size, padded = (end + BLOCK - 1) / BLOCK * BLOCK;
	EXPECT(next == (padded > len ? len : padded));
}

static void check(const uint8_t *a, size_t len)
{
	struct ustar_file f, g;
	struct { char name[256]; uint32_t offset; } seen[MAX_MEMBERS];
	unsigned nseen = 0;
	const char *err;
	size_t pos = 0, at = 0;

	while (at = pos, ustar_next(a, len, &pos, &f, &err)) {
		EXPECT(err == NULL && pos > at);
		check_member(a, len, at, pos, &f);
		if (ustar_is_regular(f.type) && nseen < MAX_MEMBERS) {
			bool dup = false;
			for (unsigned i = 0; i < nseen; i++)
				dup |= strcmp(seen[i].name, f.name) == 0;
			if (!dup) {
				memcpy(seen[nseen].name, f.name, sizeof(f.name));
				seen[nseen++].offset = f.offset;
			}
		}
	}
	EXPECT(pos == at); /* the end or an error: *pos untouched */
	char error[256] = "";
	if (err) {
		EXPECT(strlen(err) > 0 && strlen(err) < 200);
		snprintf(error, sizeof(error), "%s", err);
	}
	for (unsigned i = 0; i < nseen; i++) {
		EXPECT(ustar_find(a, len, seen[i].name, &g) == NULL);
		EXPECT(g.offset == seen[i].offset);
	}
	const char *r = ustar_find(a, len, "no such file\x01", &g);
	EXPECT(r ? strcmp(r, err ? error : "not found") == 0 : strcmp(g.name, "no such file\x01") == 0);
}

/* Odd mode: write the described members (see the top) into a buffer. */
static uint8_t *build(struct input *in, size_t *len)
{
	size_t cap = (MAX_MEMBERS * 3 + 2) * BLOCK;
	uint8_t *a = calloc(1, cap), *h;
	size_t n = 0;

	EXPECT(a != NULL);
	for (unsigned m = 0; m < MAX_MEMBERS && in->left; m++) {
		unsigned flags = (unsigned)take(in, 1);
		h = a + n;
		n += BLOCK;
		if (flags & 0x40)
			continue; /* a zero block */
		h[156] = (uint8_t)take(in, 1);
		unsigned size = (unsigned)take(in, 2) % (2 * BLOCK);
		unsigned nlen = (unsigned)take(in, 1) % 101, plen = (unsigned)take(in, 1) % 156;
		uint8_t c = (uint8_t)take(in, 1);
		memset(h, 'a' + c % 3, nlen);
		if (c & 0x80)
			h[nlen / 2] = c; /* a high byte: the signed sum differs */
		if (flags & 0x20 && nlen >= 2)
			memcpy(h, "./", 2);
		if (flags & 0x10)
			memset(h + 345, 'p', plen);
		if (flags & 0x08)
			for (unsigned i = 0; i < 12; i++)
				h[124 + i] = (uint8_t)take(in, 1);
		else
			snprintf((char *)h + 124, 12, "%011o", size);
		memcpy(h + 257, flags & 1 ? "ustar  \0" : "ustar\0" "00", 8);
		if (flags & 0x80)
			h[258] ^= 4;
		uint32_t sum = 0;
		for (unsigned i = 0; i < BLOCK; i++)
			sum += flags & 4 ? (uint32_t)(int8_t)(i >= 148 && i < 156 ? ' ' : h[i])
					 : (i >= 148 && i < 156 ? ' ' : h[i]);
		snprintf((char *)h + 148, 8, "%06o", (sum + (flags & 2 ? 1 : 0)) & 0777777);
		uint64_t real;
		if (octal(h + 124, 12, &real) && real < 2 * BLOCK)
			n += (size_t)(real + BLOCK - 1) / BLOCK * BLOCK;
	}
	n += 2 * BLOCK;
	*len = n;
	return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data + 1, size ? size - 1 : 0 };
	uint8_t *a, *copy;
	size_t len;

	if (size < 1 || size > 1 << 20)
		return 0;
	if (data[0] & 1) {
		a = build(&in, &len);
		size_t cut = (size_t)(data[0] >> 1) * 37; /* 0: none, else cut this much off the end */
		len = cut < len ? len - cut : len;
	} else {
		a = NULL;
		len = size - 1;
	}
	copy = malloc(len ? len : 1);
	EXPECT(copy != NULL);
	memcpy(copy, a ? a : data + 1, len);
	check(copy, len);
	free(copy);
	free(a);
	return 0;
}
