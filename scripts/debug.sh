#!/usr/bin/env bash
# debug.sh KERNEL "QEMU-FLAGS" [CMDLINE]
# Start QEMU halted at the first instruction with a gdb stub on tcp::1234 and
# the QEMU monitor on build/qemu-monitor.sock, then attach gdb with the
# kernel's symbols.  The serial console goes to build/serial.log (follow it
# with `tail -f build/serial.log` in another terminal).  See docs/debugging.md.
set -euo pipefail
kernel=$1 flags=$2 cmdline=${3:-}
# shellcheck disable=SC2086
qemu-system-i386 $flags -kernel "$kernel" ${cmdline:+-append "$cmdline"} \
	-display none -serial file:build/serial.log \
	-monitor unix:build/qemu-monitor.sock,server,nowait \
	-S -gdb tcp::1234 &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT
sleep 0.5
gdb -q "$kernel" \
	-ex 'set disassembly-flavor intel' \
	-x scripts/gdb/kernel.py \
	-ex 'target remote localhost:1234' \
	-ex 'break kmain' \
	-ex 'echo \nQEMU is halted before the boot stub. "continue" runs to kmain.\n'
