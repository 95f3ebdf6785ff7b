/*
 * report.c - format report lines without stdio (see report.h).
 *
 * The line is built in a buffer on the stack and written at once, so lines
 * from several threads or processes never interleave mid-line.  A write
 * after free is found only when the block is handed out again, too late to
 * refuse anything: those say "reported"; everything else was refused.
 */
#include "report.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 256

struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
};

static void put_str(struct line *l, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(l->buf) - 1 - l->len)
		n = sizeof(l->buf) - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void put_hex(struct line *l, uintptr_t v)
{
	char digits[2 + 2 * sizeof(v) + 1];
	char *p = digits + sizeof(digits) - 1;

	*p = '\0';
	do {
		*--p = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	put_str(l, p);
}

void report_line(const char *what, const void *ptr, const char *detail, const char *outcome)
{
	struct line l = { .len = 0 };
	int saved = errno;

	put_str(&l, "kheap: ");
	put_str(&l, what);
	put_str(&l, " at ");
	put_hex(&l, (uintptr_t)ptr);
	put_str(&l, ": ");
	put_str(&l, detail);
	put_str(&l, "; ");
	put_str(&l, outcome);
	put_str(&l, "\n");
	ssize_t written = write(STDERR_FILENO, l.buf, l.len);
	(void)written; /* if stderr is gone, there is nowhere left to say it */
	errno = saved;
}

static const char *outcome(enum heap_error e)
{
	return e == HEAP_ERR_USE_AFTER_FREE ? "reported" : "refused";
}

static void from_heap(struct heap *h, enum heap_error e, const void *p, const char *detail)
{
	(void)h;
	report_line(heap_error_name(e), p, detail, outcome(e));
}

static void from_cache(struct kmem_cache *c, enum heap_error e, const void *p, const char *detail)
{
	(void)c;
	report_line(heap_error_name(e), p, detail, outcome(e));
}

static void from_front(struct kalloc *ka, enum heap_error e, const void *p, const char *detail)
{
	(void)ka;
	report_line(heap_error_name(e), p, detail, outcome(e));
}

void report_attach(struct kalloc *ka)
{
	ka->report = from_front;
	ka->heap.report = from_heap;
	ka->huge_records.report = from_cache;
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		ka->classes[i].report = from_cache;
}
