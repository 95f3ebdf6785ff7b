#!/usr/bin/env bash
# gdb_check.sh NAME QEMU-ARGS...
# Stop the kernel in gdb at its monitor and run the page-table commands of
# scripts/gdb/kernel.py; their answers must match the kernel's layout (the
# text page read-only at 1 MiB + 0x1000, the direct map in 4 MiB pages,
# NULL unmapped).  Prints PASS/FAIL for tests/run.sh.
set -uo pipefail
name=$1
shift
log=build/test-logs/$name.log
port=$((20000 + RANDOM % 20000))
qemu-system-i386 "$@" -no-reboot -display none -serial null -kernel build/kernel.elf \
	-S -gdb "tcp:127.0.0.1:$port" &
qemu=$!
trap 'kill $qemu 2>/dev/null' EXIT
for _ in $(seq 50); do # wait until the stub listens, at most 5 s
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
timeout 120 gdb -q -batch -nx build/kernel.elf -x scripts/gdb/kernel.py \
	-ex "target remote 127.0.0.1:$port" -ex 'break monitor_run' -ex continue \
	-ex 'kpt-translate 0xc0101000' -ex 'kpt-translate 0xc0800010' -ex 'kpt-translate 0' \
	-ex 'kpt-dump 0xc0000000 0xc0ffffff' -ex 'kpt-pmm' -ex kill > "$log" 2>&1
for want in '4 KiB page -> pa 0x00101000' 'PTE[257] = 0x00101' '4 MiB page -> pa 0x00800010' \
	'PDE[0] = 0x00000000 (not present)' 'c0400000-c0ffffff -> 00400000' 'RO S  G' 'frames: '; do
	if ! grep -qF -- "$want" "$log"; then
		echo "FAIL $name: gdb output lacks '$want' (log: $log)"
		exit 0
	fi
done
echo "PASS $name: gdb page-table commands agree with the layout"
