#!/usr/bin/env bash
#
# bench/run.sh - run the benchmarks (`make bench` calls this after building
# them): the host frame-allocator benchmark (its plots, drawn by
# bench/pmm.gnuplot, go to build/bench/pmm_*.png), then the in-guest paging
# and frame-allocator benchmarks (bench/guest/) twice, under -icount shift=0
# (instruction counts, repeatable) and without (TCG host time, where TLB
# refills show), then user memory: fork and fault costs in the kernel and in
# its FORK_EAGER build (user/bench-fork.c, docs/design/user-memory.md), and
# last the heap.  Arguments go to the host benchmark, e.g.
# `bash bench/run.sh --quick`.
#
# Design.  The benchmarks are single-threaded and time short batches, so the
# biggest avoidable noise is the scheduler moving the process between CPUs
# (cold caches, a different core's load).  When taskset exists and works
# here, the run is pinned to the last CPU the shell may use -- on a small
# shared machine CPU 0 tends to take more interrupt and housekeeping work.
# Pinning cannot remove noise from other tenants of the host, which is why
# the benchmark reports medians and the min-max spread.  The launch method is
# passed in BENCH_PMM_VIA so the benchmark can print it with its command.
set -euo pipefail

cd "$(dirname "$0")/.."
bin=build/host/bench_pmm
if [ ! -x "$bin" ]; then
	echo "bench/run.sh: $bin missing; run 'make bench'" >&2
	exit 1
fi

launch=()
if command -v taskset >/dev/null 2>&1; then
	# The last CPU in this process's affinity list (e.g. "0-1" -> 1, "0,2,5" -> 5).
	cpu=$(taskset -pc $$ 2>/dev/null | sed 's/.*: //; s/.*[,-]//')
	if [ -n "$cpu" ] && taskset -c "$cpu" true 2>/dev/null; then
		launch=(taskset -c "$cpu")
	fi
fi

if [ ${#launch[@]} -gt 0 ]; then
	export BENCH_PMM_VIA="bench/run.sh: ${launch[*]}"
else
	export BENCH_PMM_VIA="bench/run.sh: not pinned, no usable taskset"
fi
mkdir -p build/bench
${launch[@]+"${launch[@]}"} "$bin" --data build/bench "$@"
gnuplot -e "dir='build/bench'" bench/pmm.gnuplot
echo "Plots: build/bench/pmm_single.png, build/bench/pmm_contig.png"

guest() { # $1: extra QEMU flags, $2: title
	echo
	echo "# In-guest paging and frame-allocator benchmarks, $2"
	echo "# command: qemu-system-i386 -machine pc -m 128M $1 -kernel build/kernel.elf -append bench"
	local out status=0
	out=$(mktemp)
	# shellcheck disable=SC2086
	timeout 300 qemu-system-i386 -machine pc -m 128M $1 -no-reboot -display none -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel build/kernel.elf -append bench \
		> "$out" || status=$?
	tr -d '\r' < "$out" | sed -n '/^# in-guest/,/^# done/p'
	rm -f "$out"
	# isa-debug-exit status 0 (QEMU exits 1) means the benchmarks ran to the end.
	[ "$status" -eq 1 ] || { echo "bench/run.sh: guest benchmark failed (QEMU status $status)" >&2; exit 1; }
}
guest "-icount shift=0" "instruction counts (-icount shift=0)"
guest "" "TCG host time (no -icount)"

# User memory (user/bench-fork.c): fork of a process with 64 MiB touched and
# the cost of single faults, in the kernel (copy-on-write) and in the same
# kernel built with FORK_EAGER (fork copies every page), side by side.
fork_bench() { # $1: kernel image; prints "NAME VALUE" lines
	local out status=0
	out=$(mktemp)
	timeout 600 qemu-system-i386 -machine pc -m 256M -icount shift=0 -no-reboot -display none \
		-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$1" \
		-initrd build/initrd.tar -append init=bench-fork > "$out" || status=$?
	tr -d '\r' < "$out" | sed -n 's/^bench: //p'
	rm -f "$out"
	[ "$status" -eq 1 ] || { echo "bench/run.sh: bench-fork failed on $1 (QEMU status $status)" >&2; exit 1; }
}
echo
echo "# User memory: fork and fault costs in cycles (-icount shift=0: one cycle per guest instruction)"
echo "# command: qemu-system-i386 -machine pc -m 256M -icount shift=0 -kernel build/kernel{,-eager}.elf -initrd build/initrd.tar -append init=bench-fork"
cow=$(fork_bench build/kernel.elf)
eager=$(fork_bench build/kernel-eager.elf)
join <(sort <<<"$cow") <(sort <<<"$eager") | awk '
	BEGIN { printf "%-24s %14s %14s %9s\n", "measure", "copy-on-write", "eager copy", "eager/cow" }
	{ printf "%-24s %14d %14d %9.1f\n", $1, $2, $3, $2 ? $3 / $2 : 0 }'

# The heap (bench/bench_heap.c): build/host/libkheap.so against glibc,
# mimalloc and jemalloc under LD_PRELOAD, and the general heap's design
# measurements; its data and plots (bench/heap.gnuplot) go to build/bench/.
# Not pinned: the producer/consumer workload needs both CPUs.
heap_args=()
for arg in "$@"; do [ "$arg" = --quick ] && heap_args+=(--quick); done
mkdir -p build/bench
echo
build/host/bench_heap ${heap_args[@]+"${heap_args[@]}"} --data build/bench
gnuplot -e "dir='build/bench'" bench/heap.gnuplot
echo "Plots: build/bench/heap_speed.png, build/bench/heap_growth.png"
