#!/usr/bin/env python3
"""compare_ptdump.py NAME QEMU-ARGS...

Boot the kernel to its monitor, ask it for `ptdump` over the serial line,
ask QEMU's own monitor for `info mem` about the same moment, and compare:
the kernel's view of its page tables must be exactly what the emulated MMU
walks.  `info mem` lists virtual ranges with the effective protection
(u/-, r, w/-), merging neighbours of equal protection, so the kernel's runs
are merged the same way before comparing.  Prints PASS/FAIL lines for
tests/run.sh; the transcript goes to build/test-logs/NAME.log.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

name, qemu_args = sys.argv[1], sys.argv[2:]
log_path = f"build/test-logs/{name}.log"
sock_path = os.path.join(tempfile.mkdtemp(), "monitor.sock")
log = open(log_path, "w")


def fail(why):
    print(f"FAIL {name}: {why} (log: {log_path})")
    sys.exit(0)


qemu = subprocess.Popen(
    ["qemu-system-i386", "-no-reboot", "-display", "none", "-serial", "stdio",
     "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
     "-monitor", f"unix:{sock_path},server,nowait",
     "-kernel", "build/kernel.elf"] + qemu_args,
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
os.set_blocking(qemu.stdout.fileno(), False)
serial = b""


def read_serial_until(marker, timeout=60):
    global serial
    deadline = time.time() + timeout
    start = len(serial)
    while time.time() < deadline:
        chunk = qemu.stdout.read()
        if chunk:
            serial += chunk
            log.write(chunk.decode(errors="replace"))
            if marker in serial[start:]:
                return serial[start:].decode(errors="replace")
        elif qemu.poll() is not None:
            break
        else:
            time.sleep(0.05)
    fail(f"no {marker!r} on the serial line")


def monitor(command):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.settimeout(10)
    data = b""
    s.sendall(command.encode() + b"\n")
    while not data.rstrip().endswith(b"(qemu)") or command.encode() not in data:
        chunk = s.recv(65536)
        if not chunk:
            fail(f"QEMU's monitor closed the connection during {command!r}")
        data += chunk
    s.close()
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", data.decode(errors="replace")).replace("\r", "")
    log.write(f"\n--- QEMU monitor: {command}\n{text}\n")
    return text


try:
    read_serial_until(b"K> ")
    qemu.stdin.write(b"ptdump\n")
    qemu.stdin.flush()
    dump = read_serial_until(b"K> ")
    info = monitor("info mem")
    qemu.stdin.write(b"halt\n")
    qemu.stdin.flush()
    qemu.wait(timeout=30)
    if qemu.returncode != 1:
        fail(f"QEMU exit status {qemu.returncode} after 'halt', expected 1")
except subprocess.TimeoutExpired:
    qemu.kill()
    fail("QEMU did not stop after 'halt'")
except (OSError, socket.timeout) as e:
    qemu.kill()
    fail(f"talking to QEMU failed: {e}")

# The kernel's runs: "  c0000000-c00b7fff -> 00000000-000b7fff   736K  4K  RW S  G".
kernel = []
for m in re.finditer(r"^\s+([0-9a-f]{8})-([0-9a-f]{8}) -> [0-9a-f]{8}-[0-9a-f]{8}\s+\d+K\s+4[KM]\s+(RW|RO) (US|S )",
                     dump, re.M):
    start, end = int(m.group(1), 16), int(m.group(2), 16) + 1
    prot = ("u" if m.group(4) == "US" else "-") + "r" + ("w" if m.group(3) == "RW" else "-")
    if kernel and kernel[-1][1] == start and kernel[-1][2] == prot:
        kernel[-1] = (kernel[-1][0], end, prot)
    else:
        kernel.append((start, end, prot))

# QEMU's: "00000000c0000000-00000000c0101000 0000000000101000 -rw".
qemu_view = [(int(a, 16), int(b, 16), p)
             for a, b, p in re.findall(r"^([0-9a-f]{8,16})-([0-9a-f]{8,16}) [0-9a-f]+ ([-u]r[-w])$", info, re.M)]

if not kernel:
    fail("no ptdump output")
if not qemu_view:
    fail("no 'info mem' output")
if kernel != qemu_view:
    only_k = [r for r in kernel if r not in qemu_view]
    only_q = [r for r in qemu_view if r not in kernel]
    fmt = lambda rs: ", ".join(f"{a:08x}-{b:08x} {p}" for a, b, p in rs[:3])
    fail(f"ptdump and 'info mem' differ: kernel only [{fmt(only_k)}], QEMU only [{fmt(only_q)}]")
print(f"PASS {name}: ptdump matches QEMU's 'info mem' ({len(kernel)} ranges)")
