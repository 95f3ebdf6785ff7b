"""kernel.py - gdb commands that look at a stopped kernel's page tables.

Loaded by `make debug` (scripts/debug.sh).  They read the *current* address
space through its recursive mapping, as the kernel itself does: the
directory is at 0xFFFFF000 and the table of slot i at 0xFFC00000 + i * 4096
(see docs/design/recursive-mapping.md), so they work whenever the kernel's
paging is on, in any address space.

    kpt-translate VA   the PDE and PTE for VA, and the physical address
    kpt-dump [VA VA]   the space as coalesced ranges, like the monitor's ptdump
    kpt-pmm            the frame allocator's counters
"""
import gdb

RECURSIVE_BASE = 0xFFC00000
RECURSIVE_DIR = 0xFFFFF000
P, RW, US, PS, G = 0x1, 0x2, 0x4, 0x80, 0x100
FLAGS = RW | US | 0x18 | G  # what a run must share (PWT, PCD included; not A, D)


def read_u32(addr):
    mem = gdb.selected_inferior().read_memory(addr, 4)
    return int.from_bytes(bytes(mem), "little")


def read_table(addr):
    mem = bytes(gdb.selected_inferior().read_memory(addr, 4096))
    return [int.from_bytes(mem[i:i + 4], "little") for i in range(0, 4096, 4)]


def flags_text(e):
    return "%s %s%s%s" % ("RW" if e & RW else "RO", "US" if e & US else "S ",
                          " G" if e & G else "", " PS" if e & PS else "")


def paging_on():
    cr0 = int(gdb.parse_and_eval("$cr0")) & 0xFFFFFFFF
    return bool(cr0 & 0x80000000)


def parse_va(arg):
    return int(gdb.parse_and_eval(arg)) & 0xFFFFFFFF


class Translate(gdb.Command):
    """kpt-translate VA: walk the current page tables for VA."""

    def __init__(self):
        super().__init__("kpt-translate", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        if not paging_on():
            raise gdb.GdbError("paging is off: virtual = physical")
        va = parse_va(arg)
        pdx, ptx = va >> 22, (va >> 12) & 0x3FF
        pde = read_u32(RECURSIVE_DIR + pdx * 4)
        print("va 0x%08x: PDE[%d] = 0x%08x %s" % (va, pdx, pde, flags_text(pde) if pde & P else "(not present)"))
        if not pde & P:
            return
        if pde & PS:
            print("  4 MiB page -> pa 0x%08x" % ((pde & 0xFFC00000) | (va & 0x3FFFFF)))
            return
        pte = read_u32(RECURSIVE_BASE + pdx * 4096 + ptx * 4)
        print("  PTE[%d] = 0x%08x %s" % (ptx, pte, flags_text(pte) if pte & P else "(not present)"))
        if pte & P:
            print("  4 KiB page -> pa 0x%08x" % ((pte & 0xFFFFF000) | (va & 0xFFF)))


class Dump(gdb.Command):
    """kpt-dump [FROM TO]: the current space as ranges of equal flags."""

    def __init__(self):
        super().__init__("kpt-dump", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        args = gdb.string_to_argv(arg)
        lo, hi = (parse_va(args[0]), parse_va(args[1])) if len(args) == 2 else (0, 0xFFFFFFFF)
        directory = read_table(RECURSIVE_DIR)
        runs, run = [], None
        for pdx in range(lo >> 22, (hi >> 22) + 1):
            pde = directory[pdx]
            if not pde & P:
                run = None
                continue
            if pde & PS:
                pages = [(pdx << 22, pde & 0xFFC00000, 0x400000, pde & FLAGS | PS)]
            else:
                table = read_table(RECURSIVE_BASE + pdx * 4096)
                pages = [((pdx << 22) | (i << 12), e & 0xFFFFF000, 4096, e & FLAGS)
                         for i, e in enumerate(table) if e & P]
            for va, pa, size, fl in pages:
                if run and run[0] + run[2] == va and run[1] + run[2] == pa and run[3] == fl:
                    run[2] += size
                else:
                    run = [va, pa, size, fl]
                    runs.append(run)
        for va, pa, size, fl in runs:
            print("  %08x-%08x -> %08x %8dK  %s  %s" % (va, va + size - 1, pa, size >> 10,
                                                     "4M" if fl & PS else "4K", flags_text(fl)))


class Pmm(gdb.Command):
    """kpt-pmm: the physical frame allocator's counters."""

    def __init__(self):
        super().__init__("kpt-pmm", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        s = gdb.parse_and_eval("kpmm.stats")
        print("frames: %d total, %d reserved, %d free, %d used" % (
            int(s["total_frames"]), int(s["reserved_frames"]), int(s["free_frames"]), int(s["used_frames"])))


Translate()
Dump()
Pmm()
print("kernel.py: kpt-translate, kpt-dump, kpt-pmm loaded")
