#!/usr/bin/env python3
"""side_by_side.py - one bench_heap workload under several allocators, runs interleaved.

    bench/side_by_side.py [-r ROUNDS] [-s SCALE] [-w WORKLOAD] [-c | -p] LIB... (a path, or glibc)

A LIB may carry settings for its runs alone after an @, for instance
build/host/libkheap.so@KHEAP_PURGE_EAGER=1,KHEAP_PURGE_PEAK_PCT=10.
The setting BENCH_HEAP=PATH runs another build of the worker for that
LIB (an older checkout's, to compare two versions of the benchmark).

Each round runs `build/host/bench_heap --worker WORKLOAD SCALE` once per
library (LD_PRELOAD), in turn, so a slow spell of a shared machine hits all
of them alike.  The figure is the worker's CPU time (user + system, from
wait4) over its operations, in ns: a neighbour's load disturbs it less than
wall time.  Prints, per library, the minimum, the median and every run,
sorted.  BENCH_SEED and the KHEAP_* settings pass through the environment.
The side-by-side figures in docs/design/heap.md and docs/benchmarks.md were
taken with it.

With -p, every other round runs the libraries in reverse order, and each
library's time in a round is divided by the first library's in the same
round: the median and quartiles of those ratios rank two builds when the
machine's speed drifts between minutes, which moves both alike (run it
pinned to one CPU, `taskset -c 1 bench/side_by_side.py -p ...`, so that
the two runs of a round see the same core).

With -c, each library runs once under valgrind's cachegrind instead,
which counts per operation the instructions executed and the data misses
of a simulated first-level cache of 32 KiB, 8 ways, and second-level
cache of 512 KiB, 8 ways (this machine's AMD EPYC per core).  The counts
are the same on every run, so they rank two builds that a noisy machine's
times cannot; they are counts, not times (no stalls, no prefetching),
and include the process's start.  Use a small SCALE (0.1: a million
churn steps take about 20 s).
"""
import argparse
import os
import subprocess

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'build', 'host', 'bench_heap')


def run_once(spec, workload, scale):
    lib, _, settings = spec.partition('@')
    env = dict(os.environ)
    env.update(kv.split('=', 1) for kv in settings.split(',') if kv)
    worker = env.pop('BENCH_HEAP', BENCH)
    if lib != 'glibc':
        env['LD_PRELOAD'] = os.path.abspath(lib)
    p = subprocess.Popen([worker, '--worker', workload, scale], env=env, stdout=subprocess.PIPE)
    fields = p.stdout.read().decode().split()
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0 or len(fields) < 3 or fields[0] != 'ok':
        raise SystemExit(f'{lib}: worker failed: {" ".join(fields)}')
    return (usage.ru_utime + usage.ru_stime) * 1e9 / int(fields[2])


CACHEGRIND = ['valgrind', '--tool=cachegrind', '--cache-sim=yes', '--D1=32768,8,64',
              '--LL=524288,8,64', '--cachegrind-out-file=/dev/null', '--trace-children=yes']


def count_once(spec, workload, scale):
    """Instructions, L1 and L2 data misses per operation, from cachegrind's summary."""
    lib, _, settings = spec.partition('@')
    env = dict(os.environ)
    env.update(kv.split('=', 1) for kv in settings.split(',') if kv)
    worker = env.pop('BENCH_HEAP', BENCH)
    preload = [] if lib == 'glibc' else ['LD_PRELOAD=' + os.path.abspath(lib)]
    p = subprocess.run(CACHEGRIND + ['env'] + preload + [worker, '--worker', workload, scale],
                       env=env, capture_output=True, text=True)
    fields = p.stdout.split()
    if p.returncode != 0 or len(fields) < 3 or fields[0] != 'ok':
        raise SystemExit(f'{lib}: worker failed under cachegrind: {p.stdout} {p.stderr[-500:]}')
    summary = {}
    for line in p.stderr.splitlines():  # the last process's summary (the worker) wins
        for key in ('I   refs:', 'D1  misses:', 'LLd misses:'):
            if key in line:
                summary[key] = int(line.split(key)[1].split()[0].replace(',', ''))
    ops = int(fields[2])
    return [summary[k] / ops for k in ('I   refs:', 'D1  misses:', 'LLd misses:')]


def label(spec):
    """LIB's file name and its settings, paths shortened to their last part."""
    lib, _, settings = spec.partition('@')
    parts = [k + '=' + os.path.basename(v) for k, _, v in
             (kv.partition('=') for kv in settings.split(',') if kv)]
    return (os.path.basename(lib) + ('@' + ','.join(parts) if parts else ''))[:40]


def main():
    ap = argparse.ArgumentParser(description='interleaved bench_heap workers, CPU ns per operation')
    ap.add_argument('-r', '--rounds', type=int, default=9)
    ap.add_argument('-s', '--scale', default='1')
    ap.add_argument('-w', '--workload', default='churn')
    ap.add_argument('-c', '--count', action='store_true',
                    help='count instructions and cache misses with cachegrind instead of timing')
    ap.add_argument('-p', '--paired', action='store_true',
                    help='every other round in reverse order, and each LIB\'s per-round time '
                         'over the first LIB\'s: median and quartiles of the ratios')
    ap.add_argument('libs', nargs='+')
    a = ap.parse_args()
    if a.count:
        for lib in a.libs:
            ins, l1, l2 = count_once(lib, a.workload, a.scale)
            print(f'{label(lib):40s} instructions {ins:8.1f}  L1 misses {l1:6.2f}  '
                  f'L2 misses {l2:6.3f} per op')
        return
    runs = {lib: [] for lib in a.libs}
    for r in range(a.rounds):
        for lib in a.libs if r % 2 == 0 or not a.paired else reversed(a.libs):
            runs[lib].append(run_once(lib, a.workload, a.scale))
    for lib in a.libs:
        v = sorted(runs[lib])
        print(f'{label(lib):40s} min {v[0]:7.1f} median {v[len(v) // 2]:7.1f} | ' +
              ' '.join(f'{x:.1f}' for x in v))
    if a.paired:
        first = runs[a.libs[0]]
        for lib in a.libs[1:]:
            q = sorted(x / y for x, y in zip(runs[lib], first))
            print(f'{label(lib):40s} / first: median ratio {q[len(q) // 2]:.3f}, '
                  f'quartiles {q[len(q) // 4]:.3f} {q[3 * len(q) // 4]:.3f}')


if __name__ == '__main__':
    main()
