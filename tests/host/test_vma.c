/*
 * test_vma.c - host tests for mm/vma.c, a process's regions.
 *
 * The model is one entry per 4 KiB page of a window of NPAGES pages: unused,
 * or the attributes (kind, prot, file fields) that page has.  The rules of
 * vma.h then say exactly what the set must be -- the maximal runs of used
 * pages with equal attributes, in order -- and what every call must return:
 * EINVAL for a bad range or prot, EEXIST for an insert over a used page or
 * a resize whose new pages come within the gap of another region, ENOENT
 * for a protect over an unused page, EFULL when the resulting runs would be
 * more than the set's max (TEST_MAX here), ENOMEM when they would not fit
 * the array and the allocator is made to fail (one call in twenty), VMA_OK
 * otherwise.  The model is written from those rules, not from the code.
 *
 * After every call the set must pass vma_check(), match the model's runs
 * field by field, and, if the call was refused, be byte for byte what it
 * was.  Lookups (vma_find, vma_range_ok, vma_find_free) are checked against
 * a scan of the model.  The window sits either at address 0 or at the top
 * of the 4 GiB space, so ranges ending at 4 GiB (refused: end would wrap to
 * 0) come up.  Small ranges in a 256-page window fill the set past
 * TEST_MAX, so EFULL, and the in-place rewrite of a full array, are
 * exercised often.  Every array the set allocates must be freed by the end
 * (vma_arrays_out), and there is one while the set has regions.
 *
 * Directed cases pin the rules one by one: splitting in the middle, merging,
 * EFULL and merging on a full set, refusals of bad and wrapping ranges,
 * resize and its gap, find_free's top-down search, and the file fields,
 * the array's growth to TEST_MAX, ENOMEM, and vma_copy.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "mm/vma.h"
#include "vma_memory.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PAGE VMA_PAGE_SIZE
#define NPAGES 256u
#define FOUR_GIB 0x100000000ull
#define MODEL_SEEDS 12
#define MODEL_OPS 30000
#define RW (VMA_READ | VMA_WRITE)
#define RX (VMA_READ | VMA_EXEC)
#define R VMA_READ
#define TEST_MAX 64u /* the sets' max here: the window fills it */

#define CHECK_VMA(call, want)                                                          \
	do {                                                                           \
		enum vma_result r_ = (call);                                           \
		CHECK(r_ == (want), "%s returned %s, expected %s", #call,              \
		      vma_result_name(r_), vma_result_name(want));                     \
	} while (0)

static struct vma_set set;

/* An empty set (the last one's array freed) of at most TEST_MAX regions. */
static void init_set(void)
{
	vma_release(&set);
	vma_init(&set, &vma_test_memory);
	set.max = TEST_MAX;
}

/* A region with no file part. */
static struct vma region(uint32_t start, uint32_t end, uint32_t prot, enum vma_kind kind)
{
	return (struct vma){ .start = start, .end = end, .prot = prot, .kind = kind };
}

static void print_set(const struct vma_set *s)
{
	for (unsigned i = 0; i < s->n; i++)
		printf("#   [%u] %08x-%08x prot %u %s file %08x-%08x @%08x\n", i, s->v[i].start,
		       s->v[i].end, s->v[i].prot, vma_kind_name(s->v[i].kind), s->v[i].file_start,
		       s->v[i].file_end, s->v[i].file_pa);
}

/* The set must equal `want` (n regions) exactly. */
static bool set_is(const struct vma *want, unsigned n)
{
	const char *why = vma_check(&set);

	if (why || set.n != n || (n && memcmp(set.v, want, n * sizeof(*want)) != 0)) {
		printf("# set is not as expected (%s); it holds:\n", why ? why : "valid");
		print_set(&set);
		return false;
	}
	return true;
}

#define CHECK_SET(...)                                                                  \
	do {                                                                            \
		const struct vma want_[] = { __VA_ARGS__ };                            \
		CHECK(set_is(want_, ARRAY_SIZE(want_)), "set differs");                \
	} while (0)

/* ---- directed cases -------------------------------------------------------- */

static void insert_find_and_names(void)
{
	struct vma text = region(0x8048000, 0x804a000, RX, VMA_TEXT);

	init_set();
	CHECK(vma_find(&set, 0x8048000) == NULL, "empty set finds nothing");
	CHECK_VMA(vma_insert(&set, &text), VMA_OK);
	CHECK(vma_find(&set, 0x8048000) == &set.v[0], "first byte");
	CHECK(vma_find(&set, 0x8049fff) == &set.v[0], "last byte");
	CHECK(vma_find(&set, 0x804a000) == NULL, "end is exclusive");
	CHECK(vma_find(&set, 0x8047fff) == NULL, "byte before");
	CHECK_VMA(vma_insert(&set, &text), VMA_EEXIST);
	CHECK(strcmp(vma_kind_name(VMA_STACK), "stack") == 0, "kind name");
	CHECK(strcmp(vma_kind_name((enum vma_kind)99), "?") == 0, "bad kind name");
	CHECK(strcmp(vma_result_name(VMA_EFULL), "VMA_EFULL") == 0, "result name");
	CHECK_SET(text);
}

static void split_in_the_middle(void)
{
	init_set();
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x10000, 0x20000, RW, VMA_ANON, 0, 0, 0 }),
		  VMA_OK);
	CHECK_VMA(vma_remove(&set, 0x14000, 0x15000), VMA_OK);
	CHECK_SET(region(0x10000, 0x14000, RW, VMA_ANON), region(0x15000, 0x20000, RW, VMA_ANON));
	CHECK_VMA(vma_protect(&set, 0x16000, 0x18000, R), VMA_OK);
	CHECK_SET(region(0x10000, 0x14000, RW, VMA_ANON), region(0x15000, 0x16000, RW, VMA_ANON),
		  region(0x16000, 0x18000, R, VMA_ANON), region(0x18000, 0x20000, RW, VMA_ANON));
	/* Back to RW: the three pieces merge again. */
	CHECK_VMA(vma_protect(&set, 0x16000, 0x18000, RW), VMA_OK);
	CHECK_SET(region(0x10000, 0x14000, RW, VMA_ANON), region(0x15000, 0x20000, RW, VMA_ANON));
	/* A protect over the hole is refused and changes nothing. */
	CHECK_VMA(vma_protect(&set, 0x13000, 0x16000, R), VMA_ENOENT);
	CHECK_SET(region(0x10000, 0x14000, RW, VMA_ANON), region(0x15000, 0x20000, RW, VMA_ANON));
	/* Removing across the hole trims both sides; removing nothing is fine. */
	CHECK_VMA(vma_remove(&set, 0x12000, 0x17000), VMA_OK);
	CHECK_SET(region(0x10000, 0x12000, RW, VMA_ANON), region(0x17000, 0x20000, RW, VMA_ANON));
	CHECK_VMA(vma_remove(&set, 0x40000, 0x50000), VMA_OK);
	CHECK_VMA(vma_remove(&set, 0, 0xfffff000), VMA_OK);
	CHECK_EQ(set.n, 0);
}

static void merge_identical_neighbours(void)
{
	struct vma a = region(0x10000, 0x12000, RW, VMA_ANON);
	struct vma b = region(0x14000, 0x16000, RW, VMA_ANON);
	struct vma hole = region(0x12000, 0x14000, RW, VMA_ANON);
	struct vma heap = region(0x16000, 0x17000, RW, VMA_HEAP);

	init_set();
	CHECK_VMA(vma_insert(&set, &a), VMA_OK);
	CHECK_VMA(vma_insert(&set, &b), VMA_OK);
	CHECK_VMA(vma_insert(&set, &heap), VMA_OK); /* other kind: stays apart */
	CHECK_SET(a, b, heap);
	CHECK_VMA(vma_insert(&set, &hole), VMA_OK); /* joins a and b */
	CHECK_SET(region(0x10000, 0x16000, RW, VMA_ANON), heap);
	/* Other prot: no merge, until protect makes them equal. */
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0xf000, 0x10000, R, VMA_ANON, 0, 0, 0 }), VMA_OK);
	CHECK_EQ(set.n, 3);
	CHECK_VMA(vma_protect(&set, 0xf000, 0x10000, RW), VMA_OK);
	CHECK_SET(region(0xf000, 0x16000, RW, VMA_ANON), heap);
}

/* Insert the i-th of a row of separate one-page regions: 0x10000, 0x12000, ... */
static enum vma_result add_separate(unsigned i)
{
	uint32_t at = 0x10000 + 2 * i * PAGE;

	return vma_insert(&set, &(struct vma){ at, at + PAGE, RW, VMA_ANON, 0, 0, 0 });
}

/* TEST_MAX separate one-page regions at 0x10000, 0x12000, ... */
static void fill_set(void)
{
	init_set();
	for (unsigned i = 0; i < TEST_MAX; i++) {
		enum vma_result r = add_separate(i);
		CHECK(r == VMA_OK, "insert %u: %s", i, vma_result_name(r));
	}
}

static void full_set(void)
{
	static struct vma_snapshot before;
	uint32_t last = 0x10000 + 2 * (TEST_MAX - 1) * PAGE;

	fill_set();
	CHECK_EQ(set.n, TEST_MAX);
	vma_snap(&before, &set);
	/* A new separate region has no slot. */
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x1000, 0x2000, RW, VMA_ANON, 0, 0, 0 }), VMA_EFULL);
	CHECK(vma_unchanged(&before, &set), "EFULL insert changed the set");
	/* Bridging two regions needs none: 64 become 63. */
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x11000, 0x12000, RW, VMA_ANON, 0, 0, 0 }), VMA_OK);
	CHECK_EQ(set.n, TEST_MAX - 1);
	CHECK(set.v[0].start == 0x10000 && set.v[0].end == 0x13000, "bridged");
	/* Extending one at its end needs none either. */
	CHECK_VMA(vma_insert(&set, &(struct vma){ last + PAGE, last + 3 * PAGE, RW, VMA_ANON, 0, 0, 0 }),
		  VMA_OK);
	CHECK_EQ(set.n, TEST_MAX - 1);
	/* One free slot: a split in two works, a split in three does not. */
	CHECK_VMA(vma_protect(&set, 0x10000, 0x11000, R), VMA_OK);
	CHECK_EQ(set.n, TEST_MAX);
	vma_snap(&before, &set);
	CHECK_VMA(vma_protect(&set, last + PAGE, last + 2 * PAGE, R), VMA_EFULL);
	CHECK(vma_unchanged(&before, &set), "EFULL protect changed the set");
	CHECK_VMA(vma_remove(&set, last + PAGE, last + 2 * PAGE), VMA_EFULL);
	CHECK(vma_unchanged(&before, &set), "EFULL remove changed the set");
	/* Trimming an end, or removing a region whole, needs no slot. */
	CHECK_VMA(vma_remove(&set, last + 2 * PAGE, last + 3 * PAGE), VMA_OK);
	CHECK_VMA(vma_remove(&set, 0x14000, 0x15000), VMA_OK);
	CHECK_EQ(set.n, TEST_MAX - 1);
	CHECK(vma_check(&set) == NULL, "%s", vma_check(&set));
}

/*
 * A full set where a protect splits both edge regions and merges them with
 * the changed middle: the count stays TEST_MAX, and the in-place rewrite must
 * not overwrite regions it has not read yet.
 */
static void full_set_split_and_merge(void)
{
	static struct vma_snapshot want;

	init_set();
	/* Three touching regions R | RW | R at the start, then 61 separate ones. */
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x10000, 0x14000, R, VMA_ANON, 0, 0, 0 }), VMA_OK);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x14000, 0x18000, RW, VMA_ANON, 0, 0, 0 }), VMA_OK);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x18000, 0x1c000, R, VMA_ANON, 0, 0, 0 }), VMA_OK);
	for (unsigned i = 0; set.n < TEST_MAX; i++) {
		uint32_t at = 0x100000 + 2 * i * PAGE;
		CHECK_VMA(vma_insert(&set, &(struct vma){ at, at + PAGE, RX, VMA_TEXT, 0, 0, 0 }), VMA_OK);
	}
	vma_snap(&want, &set);
	want.v[0].end = 0x12000;
	want.v[1] = region(0x12000, 0x1a000, RW, VMA_ANON);
	want.v[2].start = 0x1a000;
	CHECK_VMA(vma_protect(&set, 0x12000, 0x1a000, RW), VMA_OK);
	CHECK(vma_unchanged(&want, &set), "protect on a full set");
	/* And back: R over the middle of the RW one splits it in three: EFULL. */
	CHECK_VMA(vma_protect(&set, 0x14000, 0x16000, R), VMA_EFULL);
	CHECK(vma_unchanged(&want, &set), "refused protect changed the set");
	/* R over [0x12000, 0x16000): the R run grows, RW shrinks, count the same. */
	CHECK_VMA(vma_protect(&set, 0x12000, 0x16000, R), VMA_OK);
	CHECK(set.n == TEST_MAX && set.v[0].end == 0x16000 && set.v[1].start == 0x16000,
	      "boundary moved");
	CHECK(vma_check(&set) == NULL, "%s", vma_check(&set));
}

static void bad_ranges_refused(void)
{
	static struct vma_snapshot before;

	init_set();
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x10000, 0x20000, RW, VMA_ANON, 0, 0, 0 }), VMA_OK);
	vma_snap(&before, &set);
	/* Unaligned, empty, reversed, wrapping (end 0 means 4 GiB). */
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x30001, 0x31000, RW, VMA_ANON, 0, 0, 0 }), VMA_EINVAL);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x30000, 0x30fff, RW, VMA_ANON, 0, 0, 0 }), VMA_EINVAL);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x30000, 0x30000, RW, VMA_ANON, 0, 0, 0 }), VMA_EINVAL);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x31000, 0x30000, RW, VMA_ANON, 0, 0, 0 }), VMA_EINVAL);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0xfffff000, 0, RW, VMA_ANON, 0, 0, 0 }), VMA_EINVAL);
	/* Bad prot, kind, file fields. */
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x30000, 0x31000, 8, VMA_ANON, 0, 0, 0 }), VMA_EINVAL);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x30000, 0x31000, R, (enum vma_kind)6, 0, 0, 0 }),
		  VMA_EINVAL);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x30000, 0x31000, R, VMA_TEXT, 0x30800, 0x30400, 0 }),
		  VMA_EINVAL);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x30000, 0x31000, R, VMA_TEXT, 0x30000, 0x31000,
						  0xfffff800 }),
		  VMA_EINVAL);
	CHECK_VMA(vma_remove(&set, 0x10000, 0x10800), VMA_EINVAL);
	CHECK_VMA(vma_remove(&set, 0xfffff000, 0), VMA_EINVAL);
	CHECK_VMA(vma_protect(&set, 0x10000, 0x11000, 0x10), VMA_EINVAL);
	CHECK_VMA(vma_protect(&set, 0x11000, 0x11000, R), VMA_EINVAL);
	CHECK_VMA(vma_protect(&set, 0x1f000, 0x21000, R), VMA_ENOENT);
	CHECK(vma_unchanged(&before, &set), "a refused call changed the set");
	/* The highest region possible ends one page short of 4 GiB. */
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0xffffe000, 0xfffff000, RW, VMA_ANON, 0, 0, 0 }), VMA_OK);
	CHECK(vma_range_ok(&set, 0xffffe000, 0x1000, RW), "top region");
	CHECK(!vma_range_ok(&set, 0xffffe000, 0x2000, R), "runs into the last page");
	CHECK(!vma_range_ok(&set, 0xffffefff, 0xffffffff, 0), "wraps");
	CHECK(vma_range_ok(&set, 0x5, 0, RW), "length 0 is always fine");
}

static void range_ok_across_regions(void)
{
	init_set();
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x10000, 0x12000, RX, VMA_TEXT, 0, 0, 0 }), VMA_OK);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x12000, 0x14000, RW, VMA_DATA, 0, 0, 0 }), VMA_OK);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x15000, 0x16000, RW, VMA_DATA, 0, 0, 0 }), VMA_OK);
	CHECK(vma_range_ok(&set, 0x11ff0, 0x20, R), "readable across the boundary");
	CHECK(!vma_range_ok(&set, 0x11ff0, 0x20, VMA_WRITE), "text is not writable");
	CHECK(vma_range_ok(&set, 0x12000, 0x2000, RW), "data");
	CHECK(!vma_range_ok(&set, 0x13fff, 2, R), "into the hole");
	CHECK(!vma_range_ok(&set, 0xffff, 2, R), "from below");
	CHECK(vma_range_ok(&set, 0x15fff, 1, RW), "last byte");
	CHECK(!vma_range_ok(&set, 0x15fff, 2, R), "past the end");
}

static void resize_and_gap(void)
{
	static struct vma_snapshot before;
	struct vma *heap, *stack;
	const uint32_t gap = 4 * PAGE;

	init_set();
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x100000, 0x101000, RW, VMA_HEAP, 0, 0, 0 }), VMA_OK);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x200000, 0x210000, RW, VMA_STACK, 0, 0, 0 }), VMA_OK);
	heap = vma_find(&set, 0x100000);
	/* brk up to the gap below the stack, not into it. */
	CHECK_VMA(vma_resize(&set, heap, 0x100000, 0x200000 - gap, gap), VMA_OK);
	heap = vma_find(&set, 0x100000);
	vma_snap(&before, &set);
	CHECK_VMA(vma_resize(&set, heap, 0x100000, 0x200000 - gap + PAGE, gap), VMA_EEXIST);
	CHECK(vma_unchanged(&before, &set), "refused resize changed the set");
	/* Shrinking is always fine, even inside an old gap. */
	CHECK_VMA(vma_resize(&set, heap, 0x100000, 0x180000, gap), VMA_OK);
	/* The stack grows down to the heap's gap, not further. */
	stack = vma_find(&set, 0x200000);
	CHECK_VMA(vma_resize(&set, stack, 0x180000 + gap, 0x210000, gap), VMA_OK);
	stack = vma_find(&set, 0x200000);
	CHECK_VMA(vma_resize(&set, stack, 0x180000 + gap - PAGE, 0x210000, gap), VMA_EEXIST);
	CHECK_SET(region(0x100000, 0x180000, RW, VMA_HEAP), region(0x184000, 0x210000, RW, VMA_STACK));
	/* Empty, unaligned, or not a region of the set. */
	CHECK_VMA(vma_resize(&set, stack, 0x200000, 0x200000, 0), VMA_EINVAL);
	CHECK_VMA(vma_resize(&set, stack, 0x200000, 0x200800, 0), VMA_EINVAL);
	CHECK_VMA(vma_resize(&set, &set.v[2], 0x300000, 0x301000, 0), VMA_EINVAL);
	CHECK_VMA(vma_resize(&set, &(struct vma){ 0 }, 0x300000, 0x301000, 0), VMA_EINVAL);
	/* Moved away entirely, then next to an identical region: merged. */
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x400000, 0x401000, RW, VMA_HEAP, 0, 0, 0 }), VMA_OK);
	heap = vma_find(&set, 0x100000);
	CHECK_VMA(vma_resize(&set, heap, 0x3f0000, 0x400000, 0), VMA_OK);
	CHECK_SET(region(0x184000, 0x210000, RW, VMA_STACK), region(0x3f0000, 0x401000, RW, VMA_HEAP));
}

/* Without a max of its own the array doubles from 8 up to VMA_MAX regions, and stops there. */
static void array_grows_to_vma_max(void)
{
	unsigned caps[16], ncaps = 0;

	vma_release(&set);
	vma_init(&set, &vma_test_memory);
	CHECK(set.max == VMA_MAX && set.v == NULL && vma_arrays_out == 0, "an empty set has no array");
	for (unsigned i = 0; i < VMA_MAX && !check_failed; i++) {
		CHECK_VMA(add_separate(i), VMA_OK);
		if ((!ncaps || caps[ncaps - 1] != set.cap) && ncaps < ARRAY_SIZE(caps))
			caps[ncaps++] = set.cap;
	}
	CHECK(ncaps == 8, "%u sizes", ncaps);
	for (unsigned k = 0; k < ncaps; k++)
		CHECK(caps[k] == 8u << k, "size %u: %u regions", k, caps[k]);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x1000, 0x2000, RW, VMA_ANON, 0, 0, 0 }), VMA_EFULL);
	CHECK(set.n == VMA_MAX && vma_arrays_out == 1, "%u regions, %ld arrays", set.n, vma_arrays_out);
	CHECK(vma_check(&set) == NULL, "%s", vma_check(&set));
	/* A max that is no doubling of 8: the last array is just that big. */
	init_set();
	set.max = 20;
	for (unsigned i = 0; i < 20; i++) {
		CHECK_VMA(add_separate(i), VMA_OK);
		CHECK(set.cap == (i < 8 ? 8u : i < 16 ? 16u : 20u), "%u regions in %u", set.n, set.cap);
	}
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x1000, 0x2000, RW, VMA_ANON, 0, 0, 0 }), VMA_EFULL);
	CHECK(vma_check(&set) == NULL, "%s", vma_check(&set));
}

/* Calls that need a bigger array say ENOMEM and change nothing; the others still work. */
static void no_memory_refused(void)
{
	static struct vma_snapshot before;

	init_set();
	vma_alloc_fails = true;
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x10000, 0x11000, RW, VMA_ANON, 0, 0, 0 }), VMA_ENOMEM);
	CHECK(set.n == 0 && set.v == NULL && vma_arrays_out == 0, "the first array was not made");
	CHECK_VMA(vma_remove(&set, 0x10000, 0x11000), VMA_OK); /* nothing there: nothing needed */
	vma_alloc_fails = false;
	for (unsigned i = 0; i < 8; i++) /* eight separate regions fill the first array */
		CHECK_VMA(add_separate(i), VMA_OK);
	CHECK(set.n == 8 && set.cap == 8, "%u regions in an array of %u", set.n, set.cap);
	vma_alloc_fails = true;
	vma_snap(&before, &set);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x40000, 0x41000, RW, VMA_ANON, 0, 0, 0 }), VMA_ENOMEM);
	CHECK(vma_unchanged(&before, &set), "a refused insert changed the set");
	CHECK_VMA(vma_remove(&set, 0x10000 + 14 * PAGE, 0x10000 + 14 * PAGE + PAGE), VMA_OK);
	CHECK_VMA(vma_protect(&set, 0x10000, 0x11000, R), VMA_OK); /* 7 regions: room for one more */
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x10000, 0x12000, RW, VMA_ANON, 0, 0, 0 }), VMA_EEXIST);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x11000, 0x12000, R, VMA_ANON, 0, 0, 0 }), VMA_OK);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x40000, 0x43000, RW, VMA_ANON, 0, 0, 0 }), VMA_OK);
	CHECK(set.n == 8 && set.cap == 8, "%u regions in an array of %u", set.n, set.cap);
	vma_snap(&before, &set);
	CHECK_VMA(vma_remove(&set, 0x41000, 0x42000), VMA_ENOMEM);
	CHECK_VMA(vma_protect(&set, 0x40000, 0x41000, R), VMA_ENOMEM);
	CHECK(vma_unchanged(&before, &set), "a refused split changed the set");
	vma_alloc_fails = false;
	CHECK_VMA(vma_remove(&set, 0x41000, 0x42000), VMA_OK);
	CHECK(set.n == 9 && set.cap == 16 && vma_arrays_out == 1, "%u regions in %u, %ld arrays", set.n,
	      set.cap, vma_arrays_out);
	CHECK(vma_check(&set) == NULL, "%s", vma_check(&set));
}

/* fork's copy: its own array, or none and ENOMEM; release gives the array back. */
static void copy_and_release(void)
{
	struct vma_set other;

	init_set();
	vma_init(&other, &vma_test_memory);
	CHECK_VMA(vma_copy(&other, &set), VMA_OK); /* an empty set: no array */
	CHECK(other.n == 0 && other.v == NULL && vma_arrays_out == 0, "copied an empty set");
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x10000, 0x12000, RX, VMA_TEXT, 0x10000, 0x11800,
						  0x200000 }),
		  VMA_OK);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x20000, 0x21000, RW, VMA_STACK, 0, 0, 0 }), VMA_OK);
	vma_alloc_fails = true;
	CHECK_VMA(vma_copy(&other, &set), VMA_ENOMEM);
	CHECK(other.n == 0 && other.v == NULL, "a failed copy left regions");
	vma_alloc_fails = false;
	other.max = 1;
	CHECK_VMA(vma_copy(&other, &set), VMA_EFULL);
	CHECK(other.n == 0 && other.v == NULL && vma_arrays_out == 1, "a copy past max left regions");
	other.max = VMA_MAX;
	vma_alloc_fails = false;
	CHECK_VMA(vma_copy(&other, &set), VMA_OK);
	CHECK(other.n == 2 && other.v != set.v && memcmp(other.v, set.v, 2 * sizeof(set.v[0])) == 0,
	      "copy differs");
	CHECK(vma_check(&other) == NULL, "%s", vma_check(&other));
	CHECK_VMA(vma_remove(&set, 0x20000, 0x21000), VMA_OK);
	CHECK(other.n == 2 && other.v[1].kind == VMA_STACK, "the copy changed with the original");
	CHECK(vma_arrays_out == 2, "%ld arrays", vma_arrays_out);
	vma_release(&other);
	CHECK(other.n == 0 && other.v == NULL && vma_arrays_out == 1, "%ld arrays", vma_arrays_out);
}

static void find_free_top_down(void)
{
	uint32_t at = 0;

	init_set();
	CHECK(vma_find_free(&set, 0x3000, 0x10000, 0x80000, &at) && at == 0x7d000, "empty: at %x", at);
	CHECK(vma_find_free(&set, 0x2800, 0x10000, 0x80000, &at) && at == 0x7d000, "len rounds: %x", at);
	CHECK(vma_find_free(&set, 0x1000, 0x10000, 0x80800, &at) && at == 0x7f000, "hi unaligned: %x", at);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x70000, 0x80000, RW, VMA_STACK, 0, 0, 0 }), VMA_OK);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x60000, 0x6e000, RW, VMA_ANON, 0, 0, 0 }), VMA_OK);
	/* The 2-page hole at 0x6e000 fits 2 pages (adjacent on both sides), not 3. */
	CHECK(vma_find_free(&set, 0x2000, 0x10000, 0x80000, &at) && at == 0x6e000, "hole: %x", at);
	CHECK(vma_find_free(&set, 0x3000, 0x10000, 0x80000, &at) && at == 0x5d000, "below: %x", at);
	CHECK(!vma_find_free(&set, 0x51000, 0x10000, 0x80000, &at), "nothing that big");
	CHECK(vma_find_free(&set, 0x50000, 0x10000, 0x80000, &at) && at == 0x10000, "exactly: %x", at);
	CHECK(!vma_find_free(&set, 0x1000, 0x10800, 0x11000, &at), "lo unaligned: no whole page");
	CHECK(!vma_find_free(&set, 0, 0x10000, 0x80000, &at), "length 0");
	CHECK(vma_find_free(&set, 0x1000, 0xfff00000, 0xffffffff, &at) && at == 0xffffe000,
	      "top of the space: %x", at);
}

static void file_fields_absolute(void)
{
	const struct vma text = { 0x8048000, 0x804c000, RX, VMA_TEXT, 0x8048000, 0x804a123, 0x200000 };
	const struct vma data = { 0x804c000, 0x804d000, RW, VMA_DATA, 0x804c000, 0x804c080, 0x204000 };

	init_set();
	CHECK_VMA(vma_insert(&set, &text), VMA_OK);
	CHECK_VMA(vma_insert(&set, &data), VMA_OK);
	CHECK_VMA(vma_protect(&set, 0x8049000, 0x804a000, RW), VMA_OK);
	/* Every piece keeps the same absolute file fields. */
	struct vma a = text, b = text, c = text;
	a.end = b.start = 0x8049000;
	b.end = c.start = 0x804a000;
	b.prot = RW;
	CHECK_SET(a, b, c, data);
	/* Same attributes but another file part: no merge. */
	init_set();
	struct vma other = text;
	other.start = 0x804c000, other.end = 0x804d000, other.file_pa = 0x300000;
	CHECK_VMA(vma_insert(&set, &text), VMA_OK);
	CHECK_VMA(vma_insert(&set, &other), VMA_OK);
	CHECK_EQ(set.n, 2);
	/* "No file" is stored as zeros, whatever the caller's equal pair was. */
	init_set();
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x1000, 0x2000, R, VMA_BSS, 0x1500, 0x1500, 7 }), VMA_OK);
	CHECK_VMA(vma_insert(&set, &(struct vma){ 0x2000, 0x3000, R, VMA_BSS, 0x2500, 0x2500, 9 }), VMA_OK);
	CHECK_SET(region(0x1000, 0x3000, R, VMA_BSS));
}

/* ---- randomized run against the per-page model ----------------------------------- */

struct mpage {
	bool used;
	struct vma a; /* attributes; start/end unused */
};

static struct model {
	uint64_t base; /* address of page 0 of the window */
	struct mpage page[NPAGES];
	struct mpage next[NPAGES]; /* the model after the call under test */
} m;

static uint64_t rnd(uint64_t n)
{
	return check_random_below(n);
}

static uint64_t page_addr(uint64_t p)
{
	return m.base + p * PAGE;
}

static bool same(const struct vma *a, const struct vma *b)
{
	return a->kind == b->kind && a->prot == b->prot && a->file_start == b->file_start &&
	       a->file_end == b->file_end && a->file_pa == b->file_pa;
}

/* The maximal runs of `pages`, as the set must hold them; returns how many. */
static unsigned runs(const struct mpage *pages, struct vma *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned p = 0; p < NPAGES; p++) {
		if (!pages[p].used)
			continue;
		if (p > 0 && pages[p - 1].used && same(&pages[p - 1].a, &pages[p].a)) {
			if (n <= max)
				out[n - 1].end += PAGE;
			continue;
		}
		if (n < max) {
			out[n] = pages[p].a;
			out[n].start = (uint32_t)page_addr(p);
			out[n].end = (uint32_t)page_addr(p + 1);
		}
		n++;
	}
	return n;
}

static void check_against_model(void)
{
	struct vma want[TEST_MAX];
	const char *why = vma_check(&set);
	unsigned n = runs(m.page, want, TEST_MAX);

	CHECK(why == NULL, "vma_check: %s", why);
	CHECK(n <= TEST_MAX, "model holds %u runs", n);
	CHECK(vma_arrays_out == (set.v != NULL), "%ld arrays out, the set has %s", vma_arrays_out,
	      set.v ? "one" : "none");
	if (set.n != n || (n && memcmp(set.v, want, n * sizeof(want[0])) != 0)) {
		printf("# the set:\n");
		print_set(&set);
		printf("# the model:\n");
		print_set(&(struct vma_set){ .n = n, .cap = n, .max = TEST_MAX, .v = want });
		CHECK(0, "set and model differ");
	}
}

static struct vma random_attrs(void)
{
	static const uint32_t prots[] = { R, RW, RW, RX, 0 };
	static const enum vma_kind kinds[] = { VMA_ANON, VMA_ANON, VMA_HEAP, VMA_TEXT };
	struct vma a = { 0 };

	a.prot = prots[rnd(ARRAY_SIZE(prots))];
	a.kind = kinds[rnd(ARRAY_SIZE(kinds))];
	if (rnd(4) == 0) {
		unsigned f = (unsigned)rnd(2);
		a.file_start = (uint32_t)page_addr(16 + 64 * f);
		a.file_end = a.file_start + 40 * PAGE + 123;
		a.file_pa = 0x100000 + f * 0x100000;
	}
	return a;
}

/* A random range of the window in pages [*first, *last); mostly short. */
static void random_pages(unsigned *first, unsigned *last)
{
	unsigned len = rnd(8) ? 1 + (unsigned)rnd(6) : 1 + (unsigned)rnd(80);

	*first = (unsigned)rnd(NPAGES);
	*last = *first + len > NPAGES ? NPAGES : *first + len;
}

/* The same range as addresses, sometimes spoiled; *bad says whether it must be refused. */
static void random_range(unsigned first, unsigned last, uint32_t *start, uint32_t *end, bool *bad)
{
	uint64_t s = page_addr(first), e = page_addr(last);

	switch (rnd(40)) {
	case 0: s += 0x10; break;
	case 1: e -= 0x800; break;
	case 2: e = s; break;
	default: break;
	}
	*start = (uint32_t)s;
	*end = (uint32_t)e; /* 4 GiB wraps to 0 */
	*bad = (s | e) % PAGE || s >= e || e >= FOUR_GIB;
}

/*
 * Check a call's result: `want`, or VMA_EFULL if `want` is VMA_OK and the
 * model after the call (m.next) would need too many regions, or VMA_ENOMEM
 * if they would not fit the array and the allocator was failing.  A
 * refused call must leave the set as it was.
 */
static unsigned long outcomes[VMA_ENOMEM + 1];

static void expect(enum vma_result got, enum vma_result want, const struct vma_snapshot *before,
		   const char *what)
{
	struct vma scratch[1];
	unsigned need = runs(m.next, scratch, 0);

	if (want == VMA_OK && need > TEST_MAX)
		want = VMA_EFULL;
	else if (want == VMA_OK && need > before->head.cap && vma_alloc_fails)
		want = VMA_ENOMEM;
	vma_alloc_fails = false;
	outcomes[want]++;
	CHECK(got == want, "%s returned %s, expected %s", what, vma_result_name(got),
	      vma_result_name(want));
	if (want == VMA_OK)
		memcpy(m.page, m.next, sizeof(m.page));
	else
		CHECK(vma_unchanged(before, &set), "refused %s changed the set", what);
}

/* The set before a call; and one call in twenty finds the allocator failing. */
static struct vma_snapshot before;

static void before_call(void)
{
	vma_snap(&before, &set);
	vma_alloc_fails = rnd(20) == 0;
}

static void op_insert(void)
{
	unsigned first, last;
	bool bad, used = false;
	struct vma v = random_attrs();

	random_pages(&first, &last);
	random_range(first, last, &v.start, &v.end, &bad);
	if (rnd(50) == 0) {
		v.prot |= 8;
		bad = true;
	}
	memcpy(m.next, m.page, sizeof(m.page));
	for (unsigned p = first; p < last; p++) {
		used |= m.page[p].used;
		m.next[p] = (struct mpage){ true, v };
	}
	before_call();
	expect(vma_insert(&set, &v), bad ? VMA_EINVAL : used ? VMA_EEXIST : VMA_OK, &before, "insert");
}

static void op_remove(void)
{
	unsigned first, last;
	uint32_t start, end;
	bool bad;

	random_pages(&first, &last);
	random_range(first, last, &start, &end, &bad);
	memcpy(m.next, m.page, sizeof(m.page));
	for (unsigned p = first; p < last; p++)
		m.next[p].used = false;
	before_call();
	expect(vma_remove(&set, start, end), bad ? VMA_EINVAL : VMA_OK, &before, "remove");
}

static void op_protect(void)
{
	unsigned first, last;
	uint32_t start, end, prot = random_attrs().prot;
	bool bad, hole = false;

	random_pages(&first, &last);
	random_range(first, last, &start, &end, &bad);
	memcpy(m.next, m.page, sizeof(m.page));
	for (unsigned p = first; p < last; p++) {
		hole |= !m.page[p].used;
		m.next[p].a.prot = prot;
	}
	before_call();
	expect(vma_protect(&set, start, end, prot), bad ? VMA_EINVAL : hole ? VMA_ENOENT : VMA_OK,
	       &before, "protect");
}

/* Does page p of the window lie within `gap` bytes of [lo, hi) (or in it)? */
static bool page_near(unsigned p, uint64_t lo, uint64_t hi, uint32_t gap)
{
	return page_addr(p) < hi + gap && lo < page_addr(p + 1) + gap;
}

static void op_resize(void)
{
	static const uint32_t gaps[] = { 0, 0, PAGE, 3 * PAGE, 5000 };
	uint32_t gap = gaps[rnd(ARRAY_SIZE(gaps))], start, end;
	unsigned first, last, i, k = 1 + (unsigned)rnd(8);
	bool bad, near = false;

	if (set.n == 0)
		return;
	i = (unsigned)rnd(set.n);
	unsigned old_first = (unsigned)((set.v[i].start - m.base) / PAGE);
	unsigned old_last = (unsigned)(((uint64_t)set.v[i].end - m.base) / PAGE);
	switch (rnd(6)) {
	case 0: first = old_first, last = old_last + k; break;
	case 1: first = old_first, last = old_last > k ? old_last - k : 0; break;
	case 2: first = old_first > k ? old_first - k : 0, last = old_last; break;
	case 3: first = old_first + k, last = old_last; break;
	case 4: first = old_first > k ? old_first - k : 0, last = old_last + k; break;
	default: random_pages(&first, &last); break;
	}
	if (last > NPAGES)
		last = NPAGES;
	if (first > last)
		first = last; /* empty, refused; and no start past 4 GiB that would wrap */
	random_range(first, last, &start, &end, &bad);
	/* The pages it gains must keep `gap` from every page of another region. */
	memcpy(m.next, m.page, sizeof(m.page));
	struct vma a = m.page[old_first].a;
	for (unsigned p = old_first; p < old_last; p++)
		m.next[p].used = false;
	for (unsigned p = first; p < last; p++) {
		bool gained = p < old_first || p >= old_last || last <= old_first || first >= old_last;
		if (gained)
			for (unsigned q = 0; q < NPAGES; q++)
				near |= m.page[q].used && (q < old_first || q >= old_last) &&
					page_near(q, page_addr(p), page_addr(p + 1), gap);
		m.next[p] = (struct mpage){ true, a };
	}
	before_call();
	expect(vma_resize(&set, &set.v[i], start, end, gap),
	       bad ? VMA_EINVAL : near ? VMA_EEXIST : VMA_OK, &before, "resize");
}

/*
 * fork's copy: the set is replaced by a copy of itself, whose array is
 * only as big as its regions need -- so that later calls grow it again,
 * and ENOMEM comes up.  A copy refused for lack of memory leaves the set
 * as it was.
 */
static void op_copy(void)
{
	struct vma_set copy;

	vma_init(&copy, &vma_test_memory);
	copy.max = TEST_MAX;
	before_call();
	bool failing = vma_alloc_fails && set.n;
	enum vma_result r = vma_copy(&copy, &set);
	vma_alloc_fails = false;
	CHECK(r == (failing ? VMA_ENOMEM : VMA_OK), "vma_copy returned %s", vma_result_name(r));
	CHECK(copy.n == (failing ? 0 : set.n), "the copy holds %u of %u regions", copy.n, set.n);
	CHECK(vma_unchanged(&before, &set), "vma_copy changed its source");
	if (r == VMA_OK) {
		vma_release(&set);
		set = copy;
	}
}

static bool window_free(uint64_t start, uint64_t len)
{
	for (uint64_t a = start & ~(uint64_t)(PAGE - 1); a < start + len; a += PAGE)
		if (a >= m.base && a < page_addr(NPAGES) && m.page[(a - m.base) / PAGE].used)
			return false;
	return true;
}

static void op_lookups(void)
{
	/* vma_find on a random byte of the window. */
	uint64_t addr = page_addr(0) + rnd(NPAGES * PAGE);
	unsigned p = (unsigned)((addr - m.base) / PAGE);
	struct vma want[TEST_MAX];
	struct vma *got = vma_find(&set, (uint32_t)addr);
	unsigned n = runs(m.page, want, TEST_MAX), r;

	for (r = 0; r < n && !(want[r].start <= addr && addr - want[r].start < want[r].end - want[r].start); r++)
		;
	CHECK(m.page[p].used == (got != NULL), "vma_find(%llx)", (unsigned long long)addr);
	CHECK(!got || memcmp(got, &want[r], sizeof(*got)) == 0, "vma_find(%llx) found another region",
	      (unsigned long long)addr);

	/* vma_range_ok on a random range, sometimes empty or wrapping. */
	uint32_t start = (uint32_t)(page_addr(0) + rnd(NPAGES * PAGE));
	uint32_t len = rnd(10) ? (uint32_t)rnd(6 * PAGE) : (uint32_t)rnd(FOUR_GIB);
	uint32_t prot = (uint32_t)rnd(8);
	bool ok = true;
	if ((uint64_t)start + len > FOUR_GIB)
		ok = false;
	for (uint64_t a = start & ~(uint64_t)(PAGE - 1); ok && len && a < (uint64_t)start + len;
	     a += PAGE) {
		uint64_t q = (a - m.base) / PAGE;
		ok = a >= m.base && q < NPAGES && m.page[q].used && (m.page[q].a.prot & prot) == prot;
	}
	CHECK(vma_range_ok(&set, start, len, prot) == ok, "vma_range_ok(%x, %x, %u) should be %d",
	      start, len, prot, ok);

	/* vma_find_free: the model's highest fitting page, scanning down. */
	uint64_t lo = page_addr(0) + rnd(NPAGES * PAGE), hi = page_addr(0) + rnd(NPAGES * PAGE);
	uint64_t flen = rnd(8) ? (1 + rnd(12)) * PAGE - (rnd(3) ? 0 : rnd(PAGE)) : rnd(3);
	uint32_t at = 0;
	bool found = false;
	uint64_t want_at = 0;
	if (hi > 0xffffffffu)
		hi = 0xffffffffu;
	for (uint64_t a = hi >= flen ? (hi - flen) & ~(uint64_t)(PAGE - 1) : 0;
	     flen && hi >= flen && a >= lo && !found; a -= PAGE) {
		if (window_free(a, flen))
			found = true, want_at = a;
		if (a < PAGE)
			break;
	}
	bool got_free = vma_find_free(&set, (uint32_t)flen, (uint32_t)lo, (uint32_t)hi, &at);
	CHECK(got_free == found && (!found || at == want_at),
	      "vma_find_free(len %llx, %llx..%llx) gave %d at %x, expected %d at %llx",
	      (unsigned long long)flen, (unsigned long long)lo, (unsigned long long)hi, got_free, at,
	      found, (unsigned long long)want_at);
}

static const struct check_op ops[] = {
	{ "insert", op_insert, 50, 10 },
	{ "remove", op_remove, 8, 40 },
	{ "protect", op_protect, 25, 25 },
	{ "resize", op_resize, 15, 15 },
	{ "lookups", op_lookups, 10, 10 },
	{ "copy", op_copy, 5, 5 },
};

static void model_run(unsigned seed)
{
	bool filling = false;
	unsigned phase_left = 0;
	unsigned long full = 0, done = 0;

	check_seed(seed);
	init_set();
	memset(&m, 0, sizeof(m));
	m.base = seed % 2 ? FOUR_GIB - NPAGES * PAGE : 0; /* odd seeds: the top of the space */
	for (unsigned n = 0; n < MODEL_OPS && !check_failed; n++) {
		if (phase_left-- == 0) {
			filling = !filling;
			phase_left = 200 + (unsigned)rnd(2000);
		}
		const struct check_op *op = check_pick_op(ops, ARRAY_SIZE(ops), filling);
		op->fn();
		if (!check_failed)
			check_against_model();
		if (check_failed)
			printf("# seed 0x%x, operation %u (%s)\n", seed, n, op->name);
		full += set.n == TEST_MAX;
		done++;
	}
	if (seed == 1)
		printf("# seed %u: the set was full after %lu of %lu operations\n", seed, full, done);
}

static void random_ops_match_model(void)
{
	for (unsigned seed = 1; seed <= MODEL_SEEDS && !check_failed; seed++)
		model_run(seed);
	printf("# %u runs of %u operations; changes expected:", MODEL_SEEDS, MODEL_OPS);
	for (unsigned r = 0; r < ARRAY_SIZE(outcomes); r++)
		printf(" %s %lu", vma_result_name(r), outcomes[r]);
	printf("\n");
}

/* Last: releasing the set leaves no array out; every test's was freed on the way. */
static void every_array_freed(void)
{
	vma_release(&set);
	CHECK(vma_arrays_out == 0, "%ld arrays never freed", vma_arrays_out);
}

int main(void)
{
	RUN(insert_find_and_names);
	RUN(split_in_the_middle);
	RUN(merge_identical_neighbours);
	RUN(full_set);
	RUN(full_set_split_and_merge);
	RUN(bad_ranges_refused);
	RUN(range_ok_across_regions);
	RUN(resize_and_gap);
	RUN(find_free_top_down);
	RUN(file_fields_absolute);
	RUN(array_grows_to_vma_max);
	RUN(no_memory_refused);
	RUN(copy_and_release);
	RUN(random_ops_match_model);
	RUN(every_array_freed);
	return check_done();
}
