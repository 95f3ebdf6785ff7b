#!/usr/bin/env python3
"""mkbad.py GOOD-ELF OUTDIR REASONS-FILE

Make the deliberately broken ELF files of the initrd, bad-*, each from the
good static i386 program GOOD-ELF (build/user/hello) with exactly one thing
wrong, and list them with the one-line reason a loader must give for
refusing each in REASONS-FILE ("bad-NAME: reason", one a line, sorted).  The
kernel's tests try to run every bad-* file from the initrd and expect a
refusal with a message; they do not match the wording.

Deterministic: the same GOOD-ELF always gives the same bytes.  Stale bad-*
files in OUTDIR are removed first, so the archive never holds old ones.
"""
import os
import struct
import sys

EHDR = struct.Struct('<16sHHIIIIIHHHHHH')   # Elf32_Ehdr, 52 bytes
PHDR = struct.Struct('<8I')                 # Elf32_Phdr, 32 bytes
EHDR_FIELDS = ('ident type machine version entry phoff shoff flags ehsize '
               'phentsize phnum shentsize shnum shstrndx').split()
PHDR_FIELDS = 'type offset vaddr paddr filesz memsz flags align'.split()
PT_LOAD, PT_INTERP, PT_NOTE, PT_NULL = 1, 3, 4, 0
PF_X = 1
PAGE = 4096


class Elf:
    """The good file, unpacked; change fields, then bytes() packs it again."""

    def __init__(self, data):
        self.data = bytearray(data)
        self.eh = dict(zip(EHDR_FIELDS, EHDR.unpack_from(data, 0)))
        self.ph = [dict(zip(PHDR_FIELDS, PHDR.unpack_from(data, self.eh['phoff'] + i * PHDR.size)))
                   for i in range(self.eh['phnum'])]

    def loads(self):
        return sorted((p for p in self.ph if p['type'] == PT_LOAD), key=lambda p: p['vaddr'])

    def text(self):
        return next(p for p in self.loads() if p['flags'] & PF_X)

    def bytes(self):
        out = bytearray(self.data)
        EHDR.pack_into(out, 0, *(self.eh[f] for f in EHDR_FIELDS))
        # The table itself stays where it was, with its original count,
        # whatever e_phoff and e_phnum now say.
        for i, p in enumerate(self.ph):
            PHDR.pack_into(out, self.table + i * PHDR.size, *(p[f] for f in PHDR_FIELDS))
        return bytes(out)


def fresh(good):
    e = Elf(good)
    e.table = e.eh['phoff']
    return e


def variants(good):
    """Yield (name, reason, bytes) for every bad file."""
    size = len(good)

    yield 'empty', 'empty file (no ELF header)', b''
    yield 'truncated-header', 'file shorter than the 52-byte ELF header', good[:40]

    def ident(index, value):
        d = bytearray(good)
        d[index] = value
        return bytes(d)

    yield 'magic', 'bad magic (7f 45 4c 47, not 7f 45 4c 46 "\\x7fELF")', ident(3, ord('G'))
    yield 'class64', 'ELFCLASS64: not a 32-bit ELF file', ident(4, 2)
    yield 'bigendian', 'ELFDATA2MSB: big-endian, not little-endian', ident(5, 2)

    e = fresh(good)
    e.eh['machine'] = 62
    yield 'machine', 'e_machine 62 (x86-64), not 3 (i386)', e.bytes()

    e = fresh(good)
    e.eh['type'] = 3
    yield 'dyn', 'e_type ET_DYN (3): not a static executable (ET_EXEC)', e.bytes()

    e = fresh(good)
    e.eh['phentsize'] = 40
    yield 'phentsize', 'e_phentsize 40, not 32', e.bytes()

    e = fresh(good)
    e.eh['phoff'] = size + 0x100
    yield 'phoff', 'program header table (e_phoff %#x) past the end of the file (%d bytes)' % (
        size + 0x100, size), e.bytes()

    e = fresh(good)
    e.eh['phnum'] = 0xffff
    yield 'phnum', 'e_phnum 65535: the program header table runs past the end of the file', e.bytes()

    # PT_INTERP: the PT_NOTE header becomes one, naming a string appended to the file.
    e = fresh(good)
    interp = b'/lib/ld-linux.so.2\0'
    note = next(p for p in e.ph if p['type'] == PT_NOTE)
    note.update(type=PT_INTERP, offset=size, vaddr=0, paddr=0, filesz=len(interp),
                memsz=len(interp), flags=4, align=1)
    e.data += interp
    yield 'interp', 'PT_INTERP segment: dynamically linked (needs /lib/ld-linux.so.2)', e.bytes()

    e = fresh(good)
    for p in e.ph:
        if p['type'] == PT_LOAD:
            p['type'] = PT_NULL
    yield 'noload', 'no PT_LOAD segment', e.bytes()

    # The last (highest) PT_LOAD is the .data/.bss one: changing it moves nothing else.
    e = fresh(good)
    last = e.loads()[-1]
    last['filesz'] = size - last['offset'] + 0x1000
    last['memsz'] = max(last['memsz'], last['filesz'])
    yield 'filerange', 'PT_LOAD file range (offset %#x + filesz %#x) passes the end of the file (%d bytes)' % (
        last['offset'], last['filesz'], size), e.bytes()

    e = fresh(good)
    last = e.loads()[-1]
    last['filesz'] = last['memsz'] + 0x10
    assert last['offset'] + last['filesz'] <= size
    yield 'filesz', 'PT_LOAD with p_filesz %#x > p_memsz %#x' % (last['filesz'], last['memsz']), e.bytes()

    e = fresh(good)
    last = e.loads()[-1]
    last['vaddr'] = last['paddr'] = 0xc0000000 + last['offset'] % PAGE
    yield 'kernelhalf', 'PT_LOAD at %#x: in the kernel half (>= 0xc0000000)' % last['vaddr'], e.bytes()

    e = fresh(good)
    first = e.loads()[0]
    assert not first['flags'] & PF_X
    first['vaddr'] = first['paddr'] = first['offset'] % PAGE
    yield 'zero', 'PT_LOAD at %#x: below the lowest user address (64 KiB)' % first['vaddr'], e.bytes()

    e = fresh(good)
    last = e.loads()[-1]
    last['memsz'] = 0x100000000 - last['vaddr'] + 0x1000
    yield 'overflow', 'PT_LOAD p_vaddr %#x + p_memsz %#x overflows 32 bits' % (
        last['vaddr'], last['memsz']), e.bytes()

    e = fresh(good)
    last, text = e.loads()[-1], e.text()
    last['vaddr'] = last['paddr'] = (text['vaddr'] & ~(PAGE - 1)) + last['offset'] % PAGE
    yield 'overlap', 'two PT_LOAD segments overlap (at %#x, the text)' % last['vaddr'], e.bytes()

    e = fresh(good)
    last = e.loads()[-1]
    last['vaddr'] += 0x10
    last['paddr'] += 0x10
    yield 'align', 'PT_LOAD p_offset %#x and p_vaddr %#x differ modulo 4096' % (
        last['offset'], last['vaddr']), e.bytes()

    # The entry in the read-only first segment (the headers): mapped, below
    # the text, but not executable.
    e = fresh(good)
    first = e.loads()[0]
    assert not first['flags'] & PF_X and first['memsz'] > 0x10
    e.eh['entry'] = first['vaddr'] + 0x10
    yield 'entry', 'entry point %#x outside every executable PT_LOAD segment' % e.eh['entry'], e.bytes()


def main():
    good_path, outdir, reasons_path = sys.argv[1:4]
    with open(good_path, 'rb') as f:
        good = f.read()
    e = Elf(good)
    assert good[:4] == b'\x7fELF' and e.eh['machine'] == 3 and len(e.loads()) >= 2, \
        '%s: not the static i386 program expected' % good_path
    for name in os.listdir(outdir):
        if name.startswith('bad-'):
            os.remove(os.path.join(outdir, name))
    lines = []
    for name, reason, data in variants(good):
        path = os.path.join(outdir, 'bad-' + name)
        with open(path, 'wb') as f:
            f.write(data)
        os.chmod(path, 0o755)
        lines.append('bad-%s: %s\n' % (name, reason))
    with open(reasons_path, 'w') as f:
        f.writelines(sorted(lines))


if __name__ == '__main__':
    main()
