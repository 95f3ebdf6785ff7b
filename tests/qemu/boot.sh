#!/usr/bin/env bash
# boot.sh NAME KIND EXPECTED QEMU-ARGS...
# Boot the kernel once under QEMU (with a timeout) and judge the run.  Prints
# one line per result, "PASS name" or "FAIL name: why", which tests/run.sh
# counts; the serial log is kept in build/test-logs/NAME.log.
set -uo pipefail
name=$1 kind=$2 expected=$3
shift 3
logdir=build/test-logs
log=$logdir/$name.log
mkdir -p "$logdir"
timeout_s=${BOOT_TIMEOUT:-300}

case $kind in
ptdump) timeout "${BOOT_TIMEOUT:-300}" python3 tests/qemu/compare_ptdump.py "$name" "$@" ||
		echo "FAIL $name: the checker timed out or crashed (status $?)"
	exit 0 ;;
gdb)    timeout "${BOOT_TIMEOUT:-300}" bash tests/qemu/gdb_check.sh "$name" "$@" ||
		echo "FAIL $name: the checker timed out or crashed (status $?)"
	exit 0 ;;
esac

# Arguments "+WORD" are words for the kernel's command line (e.g. +pmm=bitmap).
words="" qemu_args=()
for a in "$@"; do
	if [[ $a == +* ]]; then words+=" ${a#+}"; else qemu_args+=("$a"); fi
done
set -- "${qemu_args[@]}"

pass() { echo "PASS $name${1:+: $1}"; }
fail() { echo "FAIL $name: $1 (log: $log)"; }

args=(-no-reboot -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@")
if [[ " $* " != *" -cdrom "* ]]; then
	case $kind in
	ktest)   args+=(-kernel build/kernel.elf -append "test$words") ;;
	crash)   args+=(-kernel build/kernel.elf -append "test=$name$words") ;;
	monitor) args+=(-kernel build/kernel.elf) ;;
	init)    args+=(-kernel build/kernel.elf -append "${words# }") ;;
	esac
fi
input=/dev/null
[[ $kind == monitor ]] && input=tests/qemu/monitor.in

timeout "$timeout_s" qemu-system-i386 "${args[@]}" < "$input" > "$log" 2>&1
status=$?
tr -d '\r' < "$log" > "$log.tmp" && mv "$log.tmp" "$log"
if ((status == 124)); then
	fail "timed out after ${timeout_s}s"
	exit 0
fi

# The KTAP cases: one result line each, prefixed with the boot's name.
ktap_results() {
	sed -n '/^KTAP version 1$/,$p' "$log" | while read -r line; do
		case $line in
		"ok "*"# SKIP"*) echo "SKIP $name/${line#ok [0-9]* }" ;;
		"ok "*)          echo "PASS $name/${line#ok [0-9]* }" ;;
		"not ok "*)      echo "FAIL $name/${line#not ok [0-9]* } (log: $log)" ;;
		esac
	done
}

check_ktest() {
	local plan results summary avail total alloc below above
	ktap_results
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -1)
	results=$(grep -cE '^(not )?ok [0-9]+ ' "$log")
	summary=$(grep -m1 '^Memory: [0-9]*K/[0-9]*K available$' "$log")
	[[ -n $summary ]] || { fail "no 'Memory: <available>K/<total>K available' line"; return; }
	avail=$(sed 's/^Memory: \([0-9]*\)K\/\([0-9]*\)K.*/\1/' <<<"$summary")
	total=$(sed 's/^Memory: \([0-9]*\)K\/\([0-9]*\)K.*/\2/' <<<"$summary")
	# The test allocates every free frame; with what the kernel already holds
	# that must be exactly what the summary line called available.
	alloc=$(sed -n 's/^ *# allocated [0-9]* frames = \([0-9]*\)K.*kernel holds [0-9]* frames = \([0-9]*\)K$/\1 + \2/p' "$log")
	[[ -n $alloc ]] && alloc=$((alloc))
	read -r below above <<<"$expected"
	local got_above
	got_above=$(sed -n 's/^ *# [0-9]*K usable below 4 GiB, \([0-9]*\)K above$/\1/p' "$log")
	if ((status != 1)); then fail "QEMU exit status $status, expected 1 (all tests passed)"
	elif [[ -z $plan || $plan != "$results" ]]; then fail "KTAP plan 1..$plan but $results results"
	elif [[ $total != "$below" ]]; then fail "summary total ${total}K, QEMU's map gives ${below}K"
	elif [[ $got_above != "$above" ]]; then fail "${got_above}K reported above 4 GiB, expected ${above}K"
	elif [[ $alloc != "$avail" ]]; then fail "allocated ${alloc}K, summary line said ${avail}K available"
	else pass "boot: ${avail}K/${total}K, $results KTAP results"
	fi
}

check_crash() {
	if ((status != 3)); then fail "QEMU exit status $status, expected 3 (panic)"
	elif ! grep -qF -- "$expected" "$log"; then fail "no '$expected' in the report"
	elif ! grep -qE 'EIP=[0-9a-f]{8} .*CR2=[0-9a-f]{8}' "$log"; then fail "report lacks EIP/CR2"
	elif ! grep -q '^PANIC: ' "$log"; then fail "no panic line"
	else pass "reported and stopped"
	fi
}

check_monitor() {
	local want
	for want in 'K> help' 'meminfo  ' 'K> meminfo' '  available ' 'Usable RAM, normalized' \
		'Physical memory 0-' 'K kernel  M module' 'refused calls:' \
		'c0101000 -> 00101000  4K  RO S' 'virtual            -> physical' 'address spaces 1 (' \
		'c0400000 -> 00400000  4K  RW S' 'v 00000000: -------- --------' \
		"unknown command 'no-such-command'" 'argv[2] = "two"' 'hello exited with status 0' \
		'[pid 2] sleep started' '    2     0 ' '  PID  PPID STATE' 'pid 2 (sleep): ' \
		'stack ' 'faults resolved:' '  proc                  1 ' \
		'  addrspace             1 ' 'exec bad-magic: refused: not an ELF file' \
		'run: cannot start bad-magic' 'halting'; do
		grep -qF -- "$want" "$log" || { fail "monitor output lacks '$want'"; return; }
	done
	if ((status != 1)); then fail "QEMU exit status $status after 'halt', expected 1"
	else pass "commands answered, halt ended QEMU"
	fi
}

# expected = "STATUS TEXT": init's exit status (QEMU exits 1 for 0, else 3)
# and text its run must print.
check_init() {
	local want_status=${expected%% *} text=${expected#* } qemu_status=1
	((want_status != 0)) && qemu_status=3
	if ((status != qemu_status)); then fail "QEMU exit status $status, expected $qemu_status"
	elif ! grep -qF -- "$text" "$log"; then fail "no '$text' in the log"
	elif grep -q '^PANIC' "$log"; then fail "the kernel panicked"
	else pass "init ran and ended QEMU with the right status"
	fi
}

case $kind in
ktest)   check_ktest ;;
init)    check_init ;;
crash)   check_crash ;;
monitor) check_monitor ;;
*)       fail "unknown kind '$kind'" ;;
esac
