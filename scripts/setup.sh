#!/usr/bin/env bash
# Install every Debian package the build, the tests and the benchmarks need.
# Safe to run again: it installs only what is missing, and does nothing when
# everything is there.  Needs root (or sudo) when something must be installed.
set -euo pipefail

# Files whose presence shows a library package is there; the compilers say
# where they look, so no version number is written here.  A compiler that is
# missing or lacks the library answers with a bare name, which counts as absent.
libgcc32=$(gcc -m32 -print-libgcc-file-name 2>/dev/null || true)
fuzzer_rt=$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)
mimalloc_so=$(gcc -print-file-name=libmimalloc.so 2>/dev/null || true)
jemalloc_so=$(gcc -print-file-name=libjemalloc.so 2>/dev/null || true)

# package : a command on PATH, or an absolute file
checks=(
  "make:make"
  "gcc:gcc"
  "gcc-multilib:${libgcc32:-libgcc.a}"
  "binutils:ld"
  "qemu-system-x86:qemu-system-i386"
  "grub-pc-bin:/usr/lib/grub/i386-pc/multiboot.mod"
  "grub-common:grub-file"
  "xorriso:xorriso"
  "mtools:mcopy"
  "clang:clang"
  "libclang-rt-14-dev:${fuzzer_rt:-libclang_rt.fuzzer-x86_64.a}"
  "gdb:gdb"
  "gnuplot-nox:gnuplot"
  "python3:python3"
  "libmimalloc-dev:${mimalloc_so:-libmimalloc.so}"
  "libjemalloc-dev:${jemalloc_so:-libjemalloc.so}"
)

missing=()
for c in "${checks[@]}"; do
  pkg=${c%%:*} probe=${c#*:}
  case $probe in
  /*)    [[ -e $probe ]] || missing+=("$pkg") ;;
  *.a)   missing+=("$pkg") ;; # a library the compiler could not find
  *)     command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg") ;;
  esac
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
