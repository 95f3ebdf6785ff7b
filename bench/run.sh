#!/usr/bin/env bash
#
# bench/run.sh - run the host benchmarks (`make bench` calls this after
# building them).  Arguments are passed through, e.g. `bash bench/run.sh
# --quick` for the smoke-test variant.
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
exec ${launch[@]+"${launch[@]}"} "$bin" "$@"
