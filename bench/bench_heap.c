/*
 * bench_heap.c - the kernel's allocator (as build/host/libkheap.so) against
 * glibc's malloc, mimalloc and jemalloc, in one run, plus the general
 * heap's design measurements (heap_experiments.h) and the price of a
 * purged page (heap_purge_cost.h).
 *
 * How.  Each measurement is a fresh process started with the allocator's
 * shared library in LD_PRELOAD (heap_spawn.h): either this program again
 * as a worker (`bench_heap --worker NAME SCALE`, which runs one workload
 * from heap_workloads.h and prints one line), or a real program: python3,
 * sort, gcc.  Runs are interleaved -- every allocator once, then every
 * allocator again -- so a slow spell of this shared machine hits all of
 * them alike, and the tables show the median of the runs with the fastest
 * and slowest.  Nothing is pinned to a CPU: the producer/consumer workload
 * needs two.
 *
 * Checked.  Every allocator's results are checked, not only ours: the
 * workloads verify alignment and contents of every block (heap_workloads.c),
 * and a real program's output must hash the same as on glibc.  A peer that
 * fails is marked in the tables and named below them; if *our* allocator
 * fails anything, or the in-process heap misbehaves, the exit status is 1.
 *
 * Footprint.  wait4() gives each run's peak resident set.  The "idle"
 * workload measures what a worker costs with no work, per allocator; the
 * peak above that, over the workload's own peak of live bytes, is the
 * allocator's memory overhead.  Our library also reports its heap's own
 * peak size and peak live bytes (kheap_preload_stats), the issue's
 * fragmentation figure.
 *
 * Output: Markdown on stdout; data for bench/heap.gnuplot in --data DIR.
 * --quick: tiny workloads, one run each, for `make test`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "heap_experiments.h"
#include "heap_purge_cost.h"
#include "heap_spawn.h"
#include "heap_workloads.h"
#include "preload/kheap_preload.h"

#define MAX_RUNS 9

/* ---- the contenders ------------------------------------------------------------- */

enum { GLIBC, KHEAP, KHEAP_LOCKED, MIMALLOC, JEMALLOC, ALLOCATORS };

struct allocator {
	const char *name;
	const char *const *candidates; /* where its library may be */
	const char *setting;           /* an environment setting it runs with, or NULL */
	const char *path;              /* the one found; NULL for glibc */
	bool present;
};

static const char *const kheap_paths[] = { "build/host/libkheap.so", NULL };
static const char *const mimalloc_paths[] = { "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
					      "/usr/lib/libmimalloc.so.2", NULL };
static const char *const jemalloc_paths[] = { "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
					      "/usr/lib/libjemalloc.so.2", NULL };

/* kheap-locked: the same library without its per-thread magazines, every call locked. */
static struct allocator allocators[ALLOCATORS] = {
	{ "glibc", NULL, NULL, NULL, true },
	{ "kheap", kheap_paths, NULL, NULL, false },
	{ "kheap-locked", kheap_paths, "KHEAP_MAGAZINES=0", NULL, false },
	{ "mimalloc", mimalloc_paths, NULL, NULL, false },
	{ "jemalloc", jemalloc_paths, NULL, NULL, false },
};

static void find_allocators(void)
{
	static char kheap_abs[PATH_MAX];

	for (unsigned a = KHEAP; a < ALLOCATORS; a++) {
		for (const char *const *c = allocators[a].candidates; *c && !allocators[a].present; c++) {
			if (access(*c, R_OK) == 0) {
				allocators[a].path = *c;
				allocators[a].present = true;
			}
		}
	}
	/* LD_PRELOAD needs a path that works from any directory. */
	if (allocators[KHEAP].present && realpath(allocators[KHEAP].path, kheap_abs))
		allocators[KHEAP].path = allocators[KHEAP_LOCKED].path = kheap_abs;
}

static struct spawn_env env_of(unsigned a)
{
	return (struct spawn_env){ allocators[a].path, allocators[a].setting };
}

/* ---- results ---------------------------------------------------------------------- */

/* One row of a table, one allocator: the runs' values and peak RSS. */
struct cell {
	double value[MAX_RUNS]; /* ns per op, or seconds */
	long rss_kb[MAX_RUNS];
	unsigned runs;
	char error[240];        /* the first thing that went wrong, if anything */
	size_t peak_live;       /* workloads: the workload's own peak */
	size_t heap_peak, heap_requested; /* kheap: its heap's peaks */
	uint64_t out_hash;      /* programs: the first run's output */
};

static bool our_failure;

static void cell_error(struct cell *c, unsigned a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void cell_error(struct cell *c, unsigned a, const char *fmt, ...)
{
	va_list ap;

	if (a == KHEAP)
		our_failure = true;
	if (c->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static double median(const struct cell *c)
{
	double v[MAX_RUNS];

	memcpy(v, c->value, c->runs * sizeof(v[0]));
	qsort(v, c->runs, sizeof(v[0]), cmp_double);
	return c->runs ? v[c->runs / 2] : 0;
}

static long median_rss(const struct cell *c)
{
	long v[MAX_RUNS];

	memcpy(v, c->rss_kb, c->runs * sizeof(v[0]));
	qsort(v, c->runs, sizeof(v[0]), cmp_long);
	return c->runs ? v[c->runs / 2] : 0;
}

static double min_of(const struct cell *c)
{
	double m = c->value[0];

	for (unsigned i = 1; i < c->runs; i++)
		m = c->value[i] < m ? c->value[i] : m;
	return m;
}

static double max_of(const struct cell *c)
{
	double m = c->value[0];

	for (unsigned i = 1; i < c->runs; i++)
		m = c->value[i] > m ? c->value[i] : m;
	return m;
}

static bool usable(const struct cell *c)
{
	return c->runs && !c->error[0];
}

/* ---- the worker ----------------------------------------------------------------------- */

static int worker(const char *name, const char *scale)
{
	const struct workload *w = workload_find(name);
	struct workload_result r = { 0 };
	bool (*stats)(struct heap_stats *, struct kalloc_stats *) =
		(bool (*)(struct heap_stats *, struct kalloc_stats *))dlsym(RTLD_DEFAULT, KHEAP_PRELOAD_STATS);
	struct heap_stats hs = { 0 };
	struct kalloc_stats ks = { 0 };

	if (!w) {
		printf("error no workload '%s'\n", name);
		return 1;
	}
	w->run(&r, atof(scale));
	if (r.error[0]) {
		printf("error %s\n", r.error);
		return 0;
	}
	if (stats)
		stats(&hs, &ks);
	/* The fragmentation figure covers both heaps (the general and the big one);
	 * a library without the combined peaks has only the general heap. */
	if (!ks.peak_heaps_size) {
		ks.peak_heaps_size = hs.peak_heap_size;
		ks.peak_heaps_requested = hs.peak_requested;
	}
	printf("ok %llu %llu %zu %zu %zu\n", (unsigned long long)r.ns, (unsigned long long)r.ops,
	       r.peak_live, ks.peak_heaps_size, ks.peak_heaps_requested);
	return 0;
}

/* ---- running the workloads -------------------------------------------------------------- */

struct config {
	unsigned runs, program_runs;
	double scale, experiment_scale;
	const char *data_dir;
	char self[PATH_MAX];
	char work[64]; /* temporary directory for program inputs */
};

static void parse_worker_line(const struct spawn_result *s, unsigned a, struct cell *c)
{
	unsigned long long ns, ops;
	size_t live, hpeak, hreq;

	if (sscanf(s->head, "ok %llu %llu %zu %zu %zu", &ns, &ops, &live, &hpeak, &hreq) == 5 && ops) {
		c->value[c->runs] = (double)ns / (double)ops;
		c->rss_kb[c->runs++] = s->maxrss_kb;
		c->peak_live = live;
		c->heap_peak = hpeak;
		c->heap_requested = hreq;
	} else if (strncmp(s->head, "error ", 6) == 0) {
		cell_error(c, a, "%.*s", (int)strcspn(s->head + 6, "\n"), s->head + 6);
	} else {
		cell_error(c, a, "worker died (status %#x)", (unsigned)s->status);
	}
}

static void run_workloads(const struct config *cfg, struct cell cells[][ALLOCATORS])
{
	char scale[32];

	snprintf(scale, sizeof(scale), "%g", cfg->scale);
	for (unsigned run = 0; run < cfg->runs; run++) {
		for (unsigned w = 0; w < workload_count; w++) {
			for (unsigned a = 0; a < ALLOCATORS; a++) {
				char *argv[] = { (char *)cfg->self, "--worker", (char *)workloads[w].name,
						 scale, NULL };
				struct spawn_result s;
				if (!allocators[a].present)
					continue;
				struct spawn_env env = env_of(a);
				spawn_run(argv, &env, NULL, &s);
				parse_worker_line(&s, a, &cells[w][a]);
			}
		}
	}
}

/* ---- real programs ---------------------------------------------------------------------------- */

enum { PYTHON, SORT, GCC, PROGRAMS };

struct program {
	const char *name, *title;
	char *argv[12];
};

static char python_script[96], sort_input[96], python_n[16];

static struct program programs[PROGRAMS] = {
	{ "python3", "python3: dicts, strings, JSON round trip", { "python3", python_script, python_n, NULL } },
	{ "sort", "sort: 400k lines of words", { "sort", "-S", "256M", sort_input, NULL } },
	{ "gcc", "gcc -O2 -S mm/heap.c", { "gcc", "-O2", "-I.", "-S", "-o", "-", "mm/heap.c", NULL } },
};

static const char python_source[] =
	"import json, sys\n"
	"n = int(sys.argv[1])\n"
	"d = {}\n"
	"for i in range(n):\n"
	"    d['key%d' % i] = [i, str(i) * (i % 40), {'x': i * i}]\n"
	"for i in range(0, n, 3):\n"
	"    del d['key%d' % i]\n"
	"s = json.dumps(d, sort_keys=True)\n"
	"print(len(s), json.loads(s) == d, len(sorted(set(s.split('\"')))))\n";

static bool write_inputs(struct config *cfg)
{
	FILE *f;
	struct rng g = { 42 };
	unsigned lines = cfg->scale < 0.5 ? 20000 : 400000;

	snprintf(cfg->work, sizeof(cfg->work), "/tmp/bench_heap.XXXXXX");
	if (!mkdtemp(cfg->work))
		return false;
	snprintf(python_script, sizeof(python_script), "%s/work.py", cfg->work);
	snprintf(sort_input, sizeof(sort_input), "%s/words", cfg->work);
	snprintf(python_n, sizeof(python_n), "%u", cfg->scale < 0.5 ? 5000 : 50000);
	if (!(f = fopen(python_script, "w")))
		return false;
	fputs(python_source, f);
	fclose(f);
	if (!(f = fopen(sort_input, "w")))
		return false;
	for (unsigned i = 0; i < lines; i++) {
		for (unsigned j = 0, n = 1 + i % 7; j < n; j++)
			fprintf(f, "w%llx ", (unsigned long long)(rng_next(&g) % 50000));
		fprintf(f, "%u\n", i);
	}
	fclose(f);
	return true;
}

static void remove_inputs(const struct config *cfg)
{
	unlink(python_script);
	unlink(sort_input);
	rmdir(cfg->work);
}

/* Every allocator's output must be glibc's: a program that went wrong is not a timing. */
static void run_programs(const struct config *cfg, struct cell cells[][ALLOCATORS])
{
	for (unsigned run = 0; run < cfg->program_runs; run++) {
		for (unsigned p = 0; p < PROGRAMS; p++) {
			for (unsigned a = 0; a < ALLOCATORS; a++) {
				struct cell *c = &cells[p][a];
				struct spawn_result s;
				struct spawn_env env = env_of(a);
				if (!allocators[a].present)
					continue;
				if (!spawn_run(programs[p].argv, &env, NULL, &s)) {
					cell_error(c, a, "exit status %#x", (unsigned)s.status);
					continue;
				}
				if (a != GLIBC && usable(&cells[p][GLIBC]) &&
				    s.out_hash != cells[p][GLIBC].out_hash) {
					cell_error(c, a, "output differs from glibc's");
					continue;
				}
				c->out_hash = s.out_hash;
				c->value[c->runs] = (double)s.wall_ns / 1e9;
				c->rss_kb[c->runs++] = s.maxrss_kb;
			}
		}
	}
}

/* ---- printing ------------------------------------------------------------------------------ */

static void print_header(const struct config *cfg, bool quick)
{
	struct utsname u;
	char date[64], model[128] = "unknown CPU", line[256];
	time_t t = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "r");
	double load = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "model name : %127[^\n]", model) == 1)
			break;
	if (f)
		fclose(f);
	if ((f = fopen("/proc/loadavg", "r"))) {
		if (fscanf(f, "%lf", &load) != 1)
			load = 0;
		fclose(f);
	}
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	printf("# bench_heap: kheap (build/host/libkheap.so) vs glibc, mimalloc, jemalloc%s\n\n",
	       quick ? " (--quick: figures mean nothing)" : "");
	printf("- command: `build/host/bench_heap%s`\n", quick ? " --quick" : "");
	printf("- machine: %ld CPUs online, %s\n", sysconf(_SC_NPROCESSORS_ONLN), model);
	printf("- software: Linux %s, gcc %s, -O2; %s; load average (1 min) at start %.2f\n",
	       u.release, __VERSION__, date, load);
	printf("- method: one process per run, LD_PRELOAD per allocator, runs interleaved; "
	       "median of %u runs (programs: %u), min-max beside it\n", cfg->runs, cfg->program_runs);
	for (unsigned a = KHEAP; a < ALLOCATORS; a++)
		printf("- %s: %s%s%s\n", allocators[a].name,
		       allocators[a].present ? allocators[a].path : "not installed (column left out)",
		       allocators[a].setting ? " with " : "",
		       allocators[a].setting ? allocators[a].setting : "");
	printf("\n");
}

static void print_columns(const char *first)
{
	printf("| %s |", first);
	for (unsigned a = 0; a < ALLOCATORS; a++)
		if (allocators[a].present)
			printf(" %s |", allocators[a].name);
	printf(" kheap / glibc | kheap / mimalloc |\n|---|");
	for (unsigned a = 0; a < ALLOCATORS; a++)
		if (allocators[a].present)
			printf("--:|");
	printf("--:|--:|\n");
}

static void print_ratio(const struct cell *num, const struct cell *den)
{
	if (usable(num) && usable(den))
		printf(" %.2f |", median(num) / median(den));
	else
		printf(" - |");
}

/* One row: median (min-max) per allocator, then our ratios. */
static void print_time_row(const char *label, const struct cell row[ALLOCATORS], const char *fmt)
{
	printf("| %s |", label);
	for (unsigned a = 0; a < ALLOCATORS; a++) {
		const struct cell *c = &row[a];
		if (!allocators[a].present)
			continue;
		if (!usable(c)) {
			printf(" FAILED (see below) |");
			continue;
		}
		printf(" ");
		printf(fmt, median(c));
		printf(" (");
		printf(fmt, min_of(c));
		printf("–");
		printf(fmt, max_of(c));
		printf(") |");
	}
	print_ratio(&row[KHEAP], &row[GLIBC]);
	print_ratio(&row[KHEAP], &row[MIMALLOC]);
	printf("\n");
}

static void print_failures(const char *what, const char *const names[], unsigned rows,
			   struct cell cells[][ALLOCATORS])
{
	for (unsigned r = 0; r < rows; r++)
		for (unsigned a = 0; a < ALLOCATORS; a++)
			if (cells[r][a].error[0])
				printf("- **%s failed %s %s:** %s\n", allocators[a].name, what, names[r],
				       cells[r][a].error);
}

static void print_workloads(struct cell cells[][ALLOCATORS])
{
	const char *names[16];

	printf("### Workloads: ns per operation, median (min–max)\n\n");
	print_columns("workload");
	for (unsigned w = 0; w < workload_count; w++) {
		names[w] = workloads[w].name;
		if (strcmp(workloads[w].name, "idle") == 0)
			continue;
		char label[128];
		snprintf(label, sizeof(label), "%s, ns/%s", workloads[w].title, workloads[w].unit);
		print_time_row(label, cells[w], "%.1f");
	}
	printf("\n");
	print_failures("workload", names, workload_count, cells);
}

static double mib(double kb)
{
	return kb / 1024.0;
}

/* Peak RSS above the idle worker's, against the workload's peak of live bytes. */
static void print_footprint(struct cell cells[][ALLOCATORS])
{
	const struct workload *idle = workload_find("idle");
	unsigned idle_row = (unsigned)(idle - workloads);

	printf("### Footprint: peak RSS above an idle worker, MiB (× the workload's peak live bytes)\n\n");
	printf("| workload | peak live MiB |");
	for (unsigned a = 0; a < ALLOCATORS; a++)
		if (allocators[a].present)
			printf(" %s |", allocators[a].name);
	printf(" kheap heap: peak committed / peak requested |\n|---|--:|");
	for (unsigned a = 0; a < ALLOCATORS; a++)
		if (allocators[a].present)
			printf("--:|");
	printf("--:|\n");
	for (unsigned w = 0; w < workload_count; w++) {
		const struct cell *k = &cells[w][KHEAP];
		if (!cells[w][GLIBC].peak_live)
			continue;
		printf("| %s | %.1f |", workloads[w].name, (double)cells[w][GLIBC].peak_live / 1048576.0);
		for (unsigned a = 0; a < ALLOCATORS; a++) {
			const struct cell *c = &cells[w][a];
			if (!allocators[a].present)
				continue;
			double above = mib((double)(median_rss(c) - median_rss(&cells[idle_row][a])));
			if (usable(c))
				printf(" %.1f (%.2f×) |", above, above * 1048576.0 / (double)c->peak_live);
			else
				printf(" - |");
		}
		if (usable(k) && k->heap_requested)
			printf(" %.1f / %.1f MiB = %.3f |\n", (double)k->heap_peak / 1048576.0,
			       (double)k->heap_requested / 1048576.0,
			       (double)k->heap_peak / (double)k->heap_requested);
		else
			printf(" - |\n");
	}
	printf("\n");
}

static void print_programs(struct cell cells[][ALLOCATORS])
{
	const char *names[PROGRAMS];

	printf("### Real programs under LD_PRELOAD: wall seconds, median (min–max)\n\n");
	print_columns("program");
	for (unsigned p = 0; p < PROGRAMS; p++) {
		names[p] = programs[p].name;
		print_time_row(programs[p].title, cells[p], "%.3f");
	}
	printf("\nPeak RSS, MiB (median): ");
	for (unsigned p = 0; p < PROGRAMS; p++) {
		printf("%s%s:", p ? "; " : "", programs[p].name);
		for (unsigned a = 0; a < ALLOCATORS; a++)
			if (allocators[a].present && usable(&cells[p][a]))
				printf(" %s %.1f", allocators[a].name, mib((double)median_rss(&cells[p][a])));
	}
	printf("\n\n");
	print_failures("program", names, PROGRAMS, cells);
}

static void print_experiment(const struct experiment_table *t)
{
	printf("### %s\n\n(%s; the trace has %llu steps)\n\n", t->title, t->note,
	       (unsigned long long)t->row[0].ops);
	printf("| configuration | peak heap (committed) | peak requested | peak heap / peak requested | "
	       "mean heap | grows | shrinks | ns/step |\n|---|--:|--:|--:|--:|--:|--:|--:|\n");
	for (unsigned i = 0; i < t->rows; i++) {
		const struct experiment_row *r = &t->row[i];
		printf("| %s | %.2f MiB | %.2f MiB | %.3f |", r->label, (double)r->peak_heap / 1048576.0,
		       (double)r->peak_requested / 1048576.0,
		       (double)r->peak_heap / (double)r->peak_requested);
		if (r->ns)
			printf(" %.2f MiB | %llu | %llu | %.1f |\n", r->mean_heap / 1048576.0,
			       (unsigned long long)r->grows, (unsigned long long)r->shrinks,
			       (double)r->ns / (double)r->ops);
		else
			printf(" - | - | - | - |\n");
	}
	printf("\n");
}

static void print_purge_cost(const struct purge_cost_table *t)
{
	printf("### Purging: what a purged page costs on this machine\n\n"
	       "(a %zu MiB region written once; %u rounds of: purge a run of pages, write each again, "
	       "read %u random pages of the region, alternating with the same rounds without the "
	       "purge; ns per purged page)\n\n",
	       t->region_bytes >> 20, t->rounds, t->reads);
	if (!t->rows)
		printf("(no region: mmap failed)\n\n");
	printf("| purge | madvise | writing the page again | both |\n|---|--:|--:|--:|\n");
	for (unsigned i = 0; i < t->rows; i++) {
		const struct purge_cost_row *r = &t->row[i];
		if (r->measured)
			printf("| %s | %.0f | %.0f | %.0f |\n", r->label, r->call_ns, r->rewrite_ns,
			       r->call_ns + r->rewrite_ns);
		else
			printf("| %s | refused | - | - |\n", r->label);
	}
	printf("\n");
}

/* ---- data for the plots ----------------------------------------------------------------------- */

static FILE *data_file(const struct config *cfg, const char *name)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, name);
	if (!(f = fopen(path, "w")))
		fprintf(stderr, "bench_heap: cannot write %s\n", path);
	return f;
}

/* Median time of each allocator relative to glibc's (NaN: no result): lower is better. */
static void write_relative_row(FILE *f, const char *label, const struct cell row[ALLOCATORS])
{
	fprintf(f, "\"%s\"", label);
	for (unsigned a = 0; a < ALLOCATORS; a++) {
		if (usable(&row[a]) && usable(&row[GLIBC]))
			fprintf(f, " %.4f", median(&row[a]) / median(&row[GLIBC]));
		else
			fprintf(f, " NaN");
	}
	fprintf(f, "\n");
}

static void write_speed(const struct config *cfg, struct cell work[][ALLOCATORS],
			struct cell progs[][ALLOCATORS])
{
	FILE *f = data_file(cfg, "heap_speed.dat");

	if (!f)
		return;
	fprintf(f, "# case");
	for (unsigned a = 0; a < ALLOCATORS; a++)
		fprintf(f, " %s", allocators[a].name);
	fprintf(f, " (median time / glibc's; NaN: not run or failed)\n");
	for (unsigned w = 0; w < workload_count; w++)
		if (strcmp(workloads[w].name, "idle") != 0)
			write_relative_row(f, workloads[w].name, work[w]);
	for (unsigned p = 0; p < PROGRAMS; p++)
		write_relative_row(f, programs[p].name, progs[p]);
	fclose(f);
}

static void write_growth(const struct config *cfg, const struct experiment_table *t)
{
	FILE *f = data_file(cfg, "heap_growth.dat");

	if (!f)
		return;
	fprintf(f, "# step_kib grows shrinks ns_per_step mean_heap_mib peak_heap_mib\n");
	for (unsigned i = 0; i < t->rows; i++) {
		const struct experiment_row *r = &t->row[i];
		if (r->x <= 0)
			continue; /* not a step of the sweep (the purging row) */
		fprintf(f, "%g %llu %llu %.2f %.3f %.3f\n", r->x, (unsigned long long)r->grows,
			(unsigned long long)r->shrinks, (double)r->ns / (double)r->ops,
			r->mean_heap / 1048576.0, (double)r->peak_heap / 1048576.0);
	}
	fclose(f);
}

/* ---- main ------------------------------------------------------------------------------------- */

static struct cell work_cells[16][ALLOCATORS];
static struct cell program_cells[PROGRAMS][ALLOCATORS];

static bool run_experiments(const struct config *cfg)
{
	static struct experiment_table fits, small, growth;
	static struct purge_cost_table purge;
	bool ok = experiment_fits(&fits, cfg->experiment_scale);

	ok &= experiment_small_objects(&small, cfg->experiment_scale);
	ok &= experiment_growth(&growth, cfg->experiment_scale);
	experiment_purge_cost(&purge, cfg->experiment_scale); /* the machine's, not ours: no verdict */
	print_experiment(&fits);
	print_experiment(&small);
	print_experiment(&growth);
	print_purge_cost(&purge);
	if (cfg->data_dir)
		write_growth(cfg, &growth);
	return ok;
}

static bool parse_args(int argc, char **argv, struct config *cfg, bool *quick)
{
	*cfg = (struct config){ .runs = 5, .program_runs = 3, .scale = 1, .experiment_scale = 1 };
	*quick = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			*cfg = (struct config){ .runs = 1, .program_runs = 1, .scale = 0.02,
						.experiment_scale = 0.05, .data_dir = cfg->data_dir };
			*quick = true;
		} else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			cfg->data_dir = argv[++i];
		} else {
			fprintf(stderr, "usage: bench_heap [--quick] [--data DIR] | --worker NAME SCALE\n");
			return false;
		}
	}
	ssize_t n = readlink("/proc/self/exe", cfg->self, sizeof(cfg->self) - 1);
	cfg->self[n > 0 ? n : 0] = '\0';
	return n > 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	bool quick, ok;
	uint64_t t0 = now_ns();

	if (argc == 4 && strcmp(argv[1], "--worker") == 0)
		return worker(argv[2], argv[3]);
	if (!parse_args(argc, argv, &cfg, &quick))
		return 2;
	find_allocators();
	if (!allocators[KHEAP].present) {
		fprintf(stderr, "bench_heap: build/host/libkheap.so missing (make preload)\n");
		return 1;
	}
	if (!write_inputs(&cfg)) {
		fprintf(stderr, "bench_heap: cannot write the programs' inputs\n");
		return 1;
	}
	print_header(&cfg, quick);
	run_workloads(&cfg, work_cells);
	run_programs(&cfg, program_cells);
	remove_inputs(&cfg);
	print_workloads(work_cells);
	print_footprint(work_cells);
	print_programs(program_cells);
	ok = run_experiments(&cfg);
	if (cfg.data_dir)
		write_speed(&cfg, work_cells, program_cells);
	printf("Total time %.1f s.%s\n", (double)(now_ns() - t0) / 1e9,
	       our_failure || !ok ? " **kheap misbehaved: see above.**" : "");
	return our_failure || !ok;
}
