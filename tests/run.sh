#!/usr/bin/env bash
# run.sh - everything `make test` runs, and the one summary line at the end.
#   1. host tests (build/host/test_*): TAP, one result per case
#   2. fuzzers (build/host/fuzz_*): FUZZ_SECONDS each (default 20), from a fresh corpus
#      then real programs on the LD_PRELOAD heap (tests/preload/run.sh)
#      and the user programs on the host Linux (tests/user/run_host.sh)
#   3. the benchmark in --quick mode: it must still run and find no misbehaviour
#   4. the QEMU boot matrix (tests/qemu/matrix), two boots at a time
# Every result is a line "PASS x", "FAIL x: why" or "SKIP x"; the last line is
# "N passed, N failed, N skipped" and the exit status is 1 if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
results=$(mktemp)
trap 'rm -f "$results"' EXIT
logdir=build/test-logs
mkdir -p "$logdir"
fuzz_seconds=${FUZZ_SECONDS:-20}

report() { tee -a "$results"; }

run_host_test() {
	local prog=$1 name log status
	name=$(basename "$prog")
	log=$logdir/$name.log
	"$prog" > "$log" 2>&1
	status=$?
	sed -n -e "s|^ok [0-9]* \(.*\)|PASS $name/\1|p" -e "s|^not ok [0-9]* \(.*\)|FAIL $name/\1 (log: $log)|p" "$log"
	local plan results
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log")
	results=$(grep -cE '^(not )?ok [0-9]+ ' "$log")
	if ((status != 0)) && ! grep -q '^not ok' "$log"; then
		echo "FAIL $name: exit status $status with no failed case (crash? log: $log)"
	elif [[ -z $plan || $plan != "$results" ]]; then
		echo "FAIL $name: plan 1..$plan but $results results (log: $log)"
	fi
}

run_fuzzer() {
	local prog=$1 name log corpus
	name=$(basename "$prog")
	log=$logdir/$name.log
	corpus=$(mktemp -d)
	# -timeout: one input running 20 s is a hang, reported as a failure
	if "$prog" -max_total_time="$fuzz_seconds" -timeout=20 -seed=1 -artifact_prefix="$logdir/$name-" \
		"$corpus" > "$log" 2>&1; then
		echo "PASS $name: $(grep -o 'Done [0-9]* runs' "$log" | tail -1) in ${fuzz_seconds}s"
	else
		echo "FAIL $name: crash or invariant violated (log: $log)"
	fi
	rm -rf "$corpus"
}

prepare_boots() {
	bash scripts/mkiso.sh build/test-cutmem.iso "test hole=16M-32M" "cutmem 16M 32M" build/initrd.tar
}

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

matrix_rows() {
	grep -vE '^\s*(#|$)' tests/qemu/matrix | while IFS='|' read -r name kind expected args; do
		printf '%s\0%s\0%s\0%s\0' "$(trim "$name")" "$(trim "$kind")" "$(trim "$expected")" \
			"$(trim "$args")"
	done
}

# Every row must end in exactly one line of its own, "PASS name..." or
# "FAIL name..."; a checker that died or hung without saying so is a failure.
run_matrix() {
	local out name
	out=$(mktemp)
	matrix_rows | xargs -0 -n4 -P"${BOOT_JOBS:-2}" sh -c 'bash tests/qemu/boot.sh "$0" "$1" "$2" $3' |
		tee "$out"
	matrix_rows | xargs -0 -n4 sh -c 'echo "$0"' | while read -r name; do
		grep -qE "^(PASS|FAIL) $name(:| |$)" "$out" || echo "FAIL $name: no result (the checker died or hung)"
	done
	rm -f "$out"
}

echo "== host tests"
for t in build/host/test_*; do [[ -x $t ]] && run_host_test "$t"; done | report
echo "== fuzzers (${fuzz_seconds}s each)"
for f in build/host/fuzz_*; do [[ -x $f ]] && run_fuzzer "$f"; done | report
echo "== preload"
bash tests/preload/run.sh | report
echo "== user programs on the host"
bash tests/user/run_host.sh | report
echo "== heap soak (${SOAK_SECONDS:-10}s; make heap-soak runs 10 million operations)"
if build/host/soak_heap -t "${SOAK_SECONDS:-10}" -r 200000 -q > "$logdir/soak_heap.log" 2>&1; then
	echo "PASS soak_heap: $(tail -1 "$logdir/soak_heap.log")"
else
	echo "FAIL soak_heap (log: $logdir/soak_heap.log)"
fi | report
echo "== benchmark smoke run"
for b in build/host/bench_*; do
	[[ -x $b ]] || continue
	if "$b" --quick > "$logdir/$(basename "$b").log" 2>&1; then
		echo "PASS $(basename "$b") --quick"
	else
		echo "FAIL $(basename "$b") --quick (log: $logdir/$(basename "$b").log)"
	fi
done | report
echo "== QEMU boots"
if prepare_boots; then
	run_matrix | report
else
	echo "FAIL boot preparation (module file or GRUB ISO)" | report
fi

passed=$(grep -c '^PASS' "$results")
failed=$(grep -c '^FAIL' "$results")
skipped=$(grep -c '^SKIP' "$results")
echo
grep '^FAIL' "$results"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
