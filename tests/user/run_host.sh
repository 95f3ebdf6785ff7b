#!/usr/bin/env bash
# tests/user/run_host.sh - the user programs (build/user/, `make`) run on
# the host Linux first: it runs static i386 programs natively, so a failure
# here is a bug in the user library or in a test, not in our kernel.
#
# Every program whose behaviour on Linux is the one our kernel must have is
# run: hello (its greeting and arguments are checked) and every test-*,
# which checks itself and exits 0 only when all its checks passed.
# test-forkbomb is skipped: on the host it would run into the process limit
# shared with everything else on the machine.  Limits are set as the tests
# assume them: an 8 MiB stack (test-stack overflows it), no core dumps (the
# tests kill children with SIGSEGV on purpose), and data on stdin
# (test-badptr reads into bad buffers, and Linux only checks the buffer
# once there is something to copy).
#
# Prints "PASS host/NAME", "FAIL host/NAME: why" or "SKIP host/NAME: why",
# one line per program; logs in build/test-logs/user-host/.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=build/user
logdir=build/test-logs/user-host
mkdir -p "$logdir"
declare -A skip_reason
skip_reason[test-forkbomb]="not on the host: it would run into the process limit shared with the whole machine"

# run NAME ARGS...: the program with the test limits; sets $status, output in the log.
run() {
	local name=$1
	shift
	(
		ulimit -S -c 0
		ulimit -S -s 8192 2>/dev/null
		exec timeout 30 "$bin/$name" "$@"
	) < "$bin/$name" > "$logdir/$name.log" 2>&1
	status=$?
}

# why STATUS LOG: a short reason for a failed run.
why() {
	local status=$1 log=$2 fail
	fail=$(grep -m1 '^FAIL' "$log")
	if ((status == 124)); then
		echo "timed out after 30 s"
	elif [[ -n $fail ]]; then
		echo "${fail#FAIL }"
	elif ((status > 128)); then
		echo "killed by signal $((status - 128))"
	else
		echo "exit status $status"
	fi
}

if [[ ! -x $bin/hello ]]; then
	echo "FAIL host/user-programs: $bin/hello missing (run make)"
	exit 0
fi

run hello one "two words"
if ((status == 0)) && diff -q - "$logdir/hello.log" > /dev/null <<OUT
hello from user mode
argv[0] = "$bin/hello"
argv[1] = "one"
argv[2] = "two words"
OUT
then
	echo "PASS host/hello"
else
	echo "FAIL host/hello: $( ((status)) && why $status "$logdir/hello.log" || echo "unexpected output") (log: $logdir/hello.log)"
fi

for src in user/test-*.c; do
	name=$(basename "$src" .c)
	if [[ -n ${skip_reason[$name]:-} ]]; then
		echo "SKIP host/$name: ${skip_reason[$name]}"
		continue
	fi
	if [[ ! -x $bin/$name ]]; then
		echo "FAIL host/$name: $bin/$name missing (run make)"
		continue
	fi
	run "$name"
	if ((status == 0)) && tail -1 "$logdir/$name.log" | grep -q "^$name: all [0-9]* checks passed$"; then
		echo "PASS host/$name: $(tail -1 "$logdir/$name.log" | sed "s/^$name: //")"
	elif ((status == 0)); then
		echo "FAIL host/$name: exit status 0 without its closing line (log: $logdir/$name.log)"
	else
		echo "FAIL host/$name: $(why $status "$logdir/$name.log") (log: $logdir/$name.log)"
	fi
done
