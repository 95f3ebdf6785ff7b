/*
 * test_ustar.c - host tests for kernel/ustar.c, the initrd reader.
 *
 * Archives are written here, header by header, the way POSIX describes
 * them (octal fields, checksum over the header with its own field as
 * spaces), so each test can bend exactly one thing: the magic, the
 * checksum, the size field, the name fields, the end-of-archive blocks.
 * Every archive is handed over in an allocation of exactly its length, so
 * ASan reports any read past the end.  Cases:
 *
 *   - members come back in order with their names (prefix joined, "./"
 *     dropped), types, sizes, offsets and data; both ends of an archive
 *     (two zero blocks, or just the end of the buffer) are clean ends;
 *   - each damage is refused with its reason and leaves *pos where it was;
 *   - ustar_find finds regular files only, with or without "./";
 *   - every prefix of a valid archive is read without a fault, and gives
 *     only members that lie inside it;
 *   - the project's own build/initrd.tar, when it has been built: every
 *     member is a program elf_check accepts, or a bad-* file it refuses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernel/elf.h"
#include "kernel/ustar.h"

#define BLOCK USTAR_BLOCK
#define MAX_ARCHIVE (64 * BLOCK)

static uint8_t ar[MAX_ARCHIVE];
static size_t ar_len;

enum magic_style { POSIX, GNU };

/* The header's checksum as an unsigned sum, its field counted as spaces. */
static unsigned header_sum(const uint8_t *h)
{
	unsigned sum = 0;

	for (unsigned i = 0; i < BLOCK; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	return sum;
}

static void set_checksum(uint8_t *h, unsigned sum)
{
	char field[9];

	snprintf(field, sizeof(field), "%06o", sum);
	memcpy(h + 148, field, 7); /* six digits, NUL, then a space */
	h[155] = ' ';
}

/* Append a member; returns its header so a test can damage it. */
static uint8_t *add(const char *prefix, const char *name, char type, const void *data, size_t size,
		    enum magic_style style)
{
	uint8_t *h = ar + ar_len;
	char num[13];

	memset(h, 0, BLOCK);
	memcpy(h, name, strnlen(name, 100));
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf(num, sizeof(num), "%011zo", size);
	memcpy(h + 124, num, 12);
	memcpy(h + 136, "00000000000", 12);
	h[156] = (uint8_t)type;
	memcpy(h + 257, style == POSIX ? "ustar\0" "00" : "ustar  \0", 8);
	if (prefix)
		memcpy(h + 345, prefix, strnlen(prefix, 155));
	set_checksum(h, header_sum(h));
	ar_len += BLOCK;
	if (size)
		memcpy(ar + ar_len, data, size);
	ar_len += (size + BLOCK - 1) / BLOCK * BLOCK;
	return h;
}

static void end_archive(void)
{
	memset(ar + ar_len, 0, 2 * BLOCK);
	ar_len += 2 * BLOCK;
}

static void reset(void)
{
	memset(ar, 0, sizeof(ar));
	ar_len = 0;
}

/* A copy of the first `len` bytes in an allocation of exactly that size. */
static uint8_t *exact(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	memcpy(p, ar, len);
	return p;
}

static const char hello[] = "hello, world\n";
static uint8_t big[3 * BLOCK + 7];

/* The archive most tests start from. */
static void sample(void)
{
	reset();
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	add(NULL, "./", '5', NULL, 0, POSIX);
	add(NULL, "./hello", '0', hello, sizeof(hello) - 1, POSIX);
	add("usr/share/a/long/directory/name", "big.bin", '0', big, sizeof(big), POSIX);
	add(NULL, "empty", '\0', NULL, 0, GNU);
	add(NULL, "bin", '5', NULL, 0, POSIX);
	end_archive();
}

static void walk_members(void)
{
	const char *err = "unset";
	struct ustar_file f;
	size_t pos = 0;
	uint8_t *a;

	sample();
	a = exact(ar_len);
	CHECK(ustar_next(a, ar_len, &pos, &f, &err) && err == NULL, "first: %s", err);
	CHECK(strcmp(f.name, "") == 0 && f.type == '5' && f.size == 0, "\"./\" is \"\": %s", f.name);
	CHECK(ustar_next(a, ar_len, &pos, &f, &err), "second: %s", err);
	CHECK(strcmp(f.name, "hello") == 0, "name %s", f.name);
	CHECK(f.type == '0' && f.size == sizeof(hello) - 1 && f.offset == 2 * BLOCK, "hello fields");
	CHECK(f.data == a + f.offset && memcmp(f.data, hello, f.size) == 0, "hello data");
	CHECK_EQ(pos, 3 * BLOCK);
	CHECK(ustar_next(a, ar_len, &pos, &f, &err), "third: %s", err);
	CHECK(strcmp(f.name, "usr/share/a/long/directory/name/big.bin") == 0, "joined: %s", f.name);
	CHECK(f.size == sizeof(big) && memcmp(f.data, big, sizeof(big)) == 0, "big data");
	CHECK_EQ(f.offset, 4 * BLOCK);
	CHECK(ustar_next(a, ar_len, &pos, &f, &err), "fourth (GNU magic): %s", err);
	CHECK(strcmp(f.name, "empty") == 0 && f.type == '\0' && f.size == 0, "empty");
	CHECK(ustar_next(a, ar_len, &pos, &f, &err), "fifth: %s", err);
	CHECK(strcmp(f.name, "bin") == 0 && f.type == '5', "bin");
	size_t end = pos;
	CHECK(!ustar_next(a, ar_len, &pos, &f, &err) && err == NULL, "clean end: %s", err);
	CHECK(pos == end, "pos moved at the end");
	CHECK(!ustar_next(a, ar_len, &pos, &f, &err) && err == NULL, "again: %s", err);
	free(a);
}

/* Two zero blocks, one, a partial zero block, or none: all clean ends. */
static void end_of_archive_forms(void)
{
	const char *err;
	struct ustar_file f;
	size_t pos, len_files;
	unsigned n;
	const size_t tails[] = { 2 * BLOCK, BLOCK + 100, BLOCK, 100, 0 };

	reset();
	add(NULL, "a", '0', hello, 5, POSIX);
	add(NULL, "b", '0', hello, 6, POSIX);
	len_files = ar_len;
	for (unsigned t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
		uint8_t *a = exact(len_files + tails[t]);
		for (pos = 0, n = 0; ustar_next(a, len_files + tails[t], &pos, &f, &err); n++)
			;
		free(a);
		CHECK(n == 2 && err == NULL, "tail of %zu zero bytes: %u members, %s", tails[t], n, err);
	}
	/* An empty buffer is an empty archive. */
	pos = 0;
	CHECK(!ustar_next(NULL, 0, &pos, &f, &err) && err == NULL, "empty buffer");
}

/* Walk the archive; the first error must contain `want` and be at `at`. */
static void expect_error(const char *want, size_t at)
{
	const char *err = NULL;
	struct ustar_file f;
	size_t pos = 0;
	uint8_t *a = exact(ar_len);

	while (ustar_next(a, ar_len, &pos, &f, &err))
		;
	free(a);
	CHECK(err && strstr(err, want), "expected \"%s\", got \"%s\"", want, err ? err : "no error");
	CHECK(pos == at, "error left pos at %zu, expected %zu", pos, at);
}

static void damage_refused(void)
{
	uint8_t *h;

	sample();
	ar[2 * BLOCK + 1] ^= 1; /* the hello member's first data byte: not checked */
	h = ar + 3 * BLOCK;     /* big.bin's header */
	memcpy(h + 257, "ustaR", 5);
	expect_error("bad magic at offset 1536 (not a ustar header)", 3 * BLOCK);
	if (check_failed)
		return;

	sample();
	ar[BLOCK + 5] ^= 0x20; /* a name byte of hello's header */
	expect_error("bad checksum at offset 512", BLOCK);
	if (check_failed)
		return;

	sample();
	memcpy(ar + BLOCK + 148, "01x", 3); /* the checksum field itself */
	expect_error("bad checksum at offset 512", BLOCK);
	if (check_failed)
		return;

	const char *bad_sizes[] = { "0000000001a\0", "           \0", "\x80\0\0\0\0\0\0\0\0\0\0\x10",
				    "00000000009\0", "00 1\0\0\0\0\0\0\0\0" };
	for (unsigned i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		sample();
		h = ar + BLOCK;
		memcpy(h + 124, bad_sizes[i], 12);
		set_checksum(h, header_sum(h));
		expect_error("size field not octal at offset 512", BLOCK);
		if (check_failed)
			return;
	}

	/* Sizes past the end, up to the largest the field holds. */
	const char *long_sizes[] = { "00000010001\0", "77777777777\0", "777777777777" };
	for (unsigned i = 0; i < sizeof(long_sizes) / sizeof(long_sizes[0]); i++) {
		sample();
		h = ar + 3 * BLOCK;
		memcpy(h + 124, long_sizes[i], 12);
		set_checksum(h, header_sum(h));
		expect_error("truncated member usr/share/a/long/directory/name/big.bin at offset 1536",
			     3 * BLOCK);
		if (check_failed)
			return;
	}

	/* A zero block in the middle (then a member): a lone zero block. */
	reset();
	add(NULL, "a", '0', hello, 5, POSIX);
	ar_len += BLOCK;
	add(NULL, "b", '0', hello, 5, POSIX);
	end_archive();
	expect_error("lone zero block at offset 1024", 2 * BLOCK);
	if (check_failed)
		return;

	/* A partial header at the end. */
	sample();
	ar_len -= 2 * BLOCK;
	ar[ar_len] = 'x';
	ar_len += 100;
	expect_error("truncated header at offset", ar_len - 100);
}

static void checksum_forms(void)
{
	const char *err;
	struct ustar_file f;
	size_t pos = 0;
	uint8_t *h;
	uint8_t *a;

	/* A name with high bytes, checksummed as historic tars did: signed chars. */
	reset();
	h = add(NULL, "caf\xc3\xa9", '0', hello, 5, POSIX);
	int sum = 0;
	for (unsigned i = 0; i < BLOCK; i++)
		sum += (int8_t)(i >= 148 && i < 156 ? ' ' : h[i]);
	set_checksum(h, (unsigned)sum);
	CHECK((unsigned)sum != header_sum(h), "the sums should differ");
	end_archive();
	a = exact(ar_len);
	CHECK(ustar_next(a, ar_len, &pos, &f, &err), "signed sum refused: %s", err);
	CHECK(strcmp(f.name, "caf\xc3\xa9") == 0, "name %s", f.name);
	free(a);
	/* Leading spaces and a space terminator, as some writers emit. */
	reset();
	h = add(NULL, "x", '0', hello, 5, POSIX);
	memcpy(h + 124, "         5 ", 12);
	snprintf((char *)h + 148, 8, " %5o", header_sum(h));
	h[154] = ' ', h[155] = ' ';
	end_archive();
	a = exact(ar_len);
	pos = 0;
	CHECK(ustar_next(a, ar_len, &pos, &f, &err) && f.size == 5, "spaces: %s", err);
	free(a);
}

static void names(void)
{
	char name100[101], prefix155[156], want[300];
	const char *err;
	struct ustar_file f;
	size_t pos = 0;
	uint8_t *a;

	memset(name100, 'n', 100);
	name100[100] = '\0';
	memset(prefix155, 'p', 155);
	prefix155[155] = '\0';
	memcpy(prefix155, "./", 2);
	reset();
	add(NULL, name100, '0', hello, 1, POSIX); /* fills its field: no NUL */
	add(prefix155, "x", '0', hello, 1, POSIX);
	add(prefix155, name100, '0', hello, 1, POSIX); /* 254 bytes without "./" */
	add("pp", "././y", '0', hello, 1, POSIX);      /* "./" only counts at the start */
	end_archive();
	a = exact(ar_len);
	CHECK(ustar_next(a, ar_len, &pos, &f, &err) && strcmp(f.name, name100) == 0, "100: %s", err);
	CHECK(ustar_next(a, ar_len, &pos, &f, &err), "prefix: %s", err);
	snprintf(want, sizeof(want), "%s/x", prefix155 + 2);
	CHECK(strcmp(f.name, want) == 0, "prefix: %s", f.name);
	CHECK(ustar_next(a, ar_len, &pos, &f, &err), "254 bytes: %s", err);
	CHECK(strlen(f.name) == 254, "%zu bytes", strlen(f.name));
	CHECK(ustar_next(a, ar_len, &pos, &f, &err) && strcmp(f.name, "pp/././y") == 0, "%s", f.name);
	free(a);
	/* 155 + "/" + 100 = 256 bytes: one more than the name holds. */
	prefix155[0] = 'p', prefix155[1] = 'p';
	reset();
	add(prefix155, name100, '0', hello, 1, POSIX);
	end_archive();
	expect_error("name longer than 255 bytes at offset 0", 0);
}

static void find(void)
{
	struct ustar_file f;
	uint8_t *a;

	sample();
	a = exact(ar_len);
	CHECK(ustar_find(a, ar_len, "hello", &f) == NULL && f.size == sizeof(hello) - 1, "hello");
	CHECK(ustar_find(a, ar_len, "./hello", &f) == NULL, "./hello");
	CHECK(ustar_find(a, ar_len, "usr/share/a/long/directory/name/big.bin", &f) == NULL, "big");
	CHECK(ustar_find(a, ar_len, "empty", &f) == NULL && f.type == '\0', "old-style regular");
	const char *r = ustar_find(a, ar_len, "bin", &f);
	CHECK(r && strcmp(r, "not found") == 0, "a directory is not a file: %s", r);
	r = ustar_find(a, ar_len, "hell", &f);
	CHECK(r && strcmp(r, "not found") == 0, "prefix of a name: %s", r);
	free(a);
	/* An archive broken before the member: its error, not "not found". */
	ar[BLOCK + 5] ^= 0x20;
	a = exact(ar_len);
	r = ustar_find(a, ar_len, "empty", &f);
	CHECK(r && strstr(r, "bad checksum at offset 512"), "got %s", r);
	free(a);
}

/* Every prefix of the sample: no fault, and only members that fit. */
static void every_truncation(void)
{
	sample();
	size_t full = ar_len;
	for (size_t len = 0; len <= full; len++) {
		uint8_t *a = exact(len);
		const char *err;
		struct ustar_file f;
		size_t pos = 0;
		unsigned n = 0;
		while (ustar_next(a, len, &pos, &f, &err)) {
			n++;
			CHECK((size_t)f.offset + f.size <= len && f.data == a + f.offset,
			      "len %zu: member past the end", len);
		}
		free(a);
		/*
		 * A cut inside a header, or before the end of a member's data
		 * (hello: 13 bytes at 1024, big.bin: 1543 at 2048), is an error;
		 * a cut before a header, in padding or in the end blocks is not.
		 */
		static const size_t headers[] = { 0, 512, 1536, 4096, 4608 };
		bool cut = (len >= 1024 && len < 1037) || (len >= 2048 && len < 3591);
		for (unsigned i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
			cut |= len > headers[i] && len < headers[i] + BLOCK;
		CHECK((err != NULL) == cut, "len %zu: %s", len, err ? err : "no error");
	}
}

static void real_initrd(void)
{
	static uint8_t buf[1 << 24];
	FILE *fp = fopen("build/initrd.tar", "rb");
	const char *err;
	struct ustar_file f;
	size_t pos = 0, len;
	unsigned good = 0, bad = 0;

	if (!fp) {
		printf("# no build/initrd.tar (run make first): nothing to check\n");
		return;
	}
	len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	while (ustar_next(buf, len, &pos, &f, &err)) {
		struct elf_image img;
		CHECK(ustar_is_regular(f.type), "%s: type %c", f.name, f.type);
		const char *r = elf_check(f.data, f.size, 0x10000, 0xC0000000u, &img);
		bool want_bad = strncmp(f.name, "bad-", 4) == 0;
		CHECK((r != NULL) == want_bad, "%s: %s", f.name, r ? r : "accepted");
		good += !want_bad;
		bad += want_bad;
	}
	CHECK(err == NULL, "initrd: %s", err);
	CHECK(ustar_find(buf, len, "hello", &f) == NULL, "hello not found");
	printf("# build/initrd.tar: %u programs accepted, %u bad files refused\n", good, bad);
}

int main(void)
{
	RUN(walk_members);
	RUN(end_of_archive_forms);
	RUN(damage_refused);
	RUN(checksum_forms);
	RUN(names);
	RUN(find);
	RUN(every_truncation);
	RUN(real_initrd);
	return check_done();
}
