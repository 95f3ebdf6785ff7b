#!/usr/bin/env bash
# Install every Debian package the build, the tests and the benchmarks need.
# Safe to run again: it installs only what is missing, and does nothing when
# everything is there.  Needs root (or sudo) when something must be installed.
set -euo pipefail

# package : a command or file whose presence shows the package is installed
checks=(
  "make:make"
  "gcc:gcc"
  "gcc-multilib:/usr/lib/gcc/x86_64-linux-gnu/12/32/libgcc.a"
  "binutils:ld"
  "qemu-system-x86:qemu-system-i386"
  "grub-pc-bin:/usr/lib/grub/i386-pc/multiboot.mod"
  "grub-common:grub-file"
  "xorriso:xorriso"
  "mtools:mcopy"
  "clang:clang"
  "libclang-rt-14-dev:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a"
  "gdb:gdb"
  "gnuplot-nox:gnuplot"
  "python3:python3"
)

missing=()
for c in "${checks[@]}"; do
  pkg=${c%%:*} probe=${c#*:}
  if [[ $probe == /* ]]; then
    [[ -e $probe ]] || missing+=("$pkg")
  else
    command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  [[ ${1:-} == --quiet ]] || echo "setup: every tool is installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: run as root: apt-get install ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
