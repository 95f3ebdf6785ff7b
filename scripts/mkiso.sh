#!/usr/bin/env bash
# mkiso.sh OUT.iso [CMDLINE] [GRUB-COMMANDS] [MODULE]
# Build a GRUB rescue ISO that boots build/kernel.elf through Multiboot.
#   CMDLINE        the kernel's command line (e.g. "test hole=16M-32M")
#   GRUB-COMMANDS  run before the kernel is loaded (e.g. "cutmem 16M 32M",
#                  which removes that range from the memory map GRUB passes)
#   MODULE         a file loaded as Multiboot module 0
# GRUB talks on the serial line too, so a headless run shows everything.
set -euo pipefail
out=$1 cmdline=${2:-} pre=${3:-} module=${4:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp build/kernel.elf "$dir/boot/kernel.elf"
modline=""
if [[ -n $module ]]; then
	cp "$module" "$dir/boot/module.bin"
	modline="module /boot/module.bin module0"
fi
cat > "$dir/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set default=0
menuentry "memory-manager kernel" {
	$pre
	multiboot /boot/kernel.elf $cmdline
	$modline
	boot
}
CFG
grub-mkrescue -o "$out" "$dir" >/dev/null 2>&1 || {
	echo "mkiso: grub-mkrescue failed (are grub-pc-bin, xorriso and mtools installed? run 'make setup')" >&2
	exit 1
}
