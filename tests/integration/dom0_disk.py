#!/usr/bin/env python3
"""dom0's ATA driver and MBR partitions on a disk image, in one boot.

The test makes a 64 MiB raw image with a known MBR (hdb1 primary, hdb2
extended holding the logical hdb5), writes 8 random sectors at the start of
hdb5, and boots dom0 with `test=disk disk=/dev/hdb5` with the image attached
as /dev/hdb (scripts/run --disk). dom0 must list the CD-ROM as ATAPI (skipped),
the disk with its size and the three partitions; print the FNV-1a checksum of
the sectors the host wrote (its PIO read at the partition's offset); write a
pattern to sectors 16..315 of hdb5 (more than 256 sectors: WRITE/READ SECTORS
EXT, the LBA48 forms; the small reads use the LBA28 ones), flush, read it
back equal; see the completions arrive as IRQ 14 events; and refuse a read
past the end, a read from the CD-ROM and an empty write.
Once the machine is stopped, the image file must hold the pattern at
(43071 + 16) * 512, the partition's start on the disk, and the bytes just
before and after it must be untouched.
"""
import os

from harness import BUILD_DIR, DOM0_ELF, Machine, check, iso_with_modules

SECTORS = 131072
P1_START, P1_COUNT = 2048, 40960
EXT_START, EXT_COUNT = 43008, 88064
P5_REL, P5_COUNT = 63, 20000
P5_START = EXT_START + P5_REL
WRITE_FIRST, WRITE_COUNT = 16, 300     # dom0/block/disk_test.cpp
READ_COUNT = 8


def entry(type_, start, count, status=0):
    e = bytearray(16)
    e[0] = status
    e[1:4] = e[5:8] = b"\xfe\xff\xff"
    e[4] = type_
    e[8:12] = start.to_bytes(4, "little")
    e[12:16] = count.to_bytes(4, "little")
    return e


def table(entries):
    s = bytearray(512)
    for i, e in enumerate(entries):
        s[446 + 16 * i:462 + 16 * i] = e
    s[510:512] = b"\x55\xaa"
    return s


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def pattern(sector, i):   # the same as disk_test.cpp's
    return (sector * 131 + i * 7 + (i >> 8) * 3 + 0x3c) & 0xff


image = os.path.join(BUILD_DIR, "test-disks", "dom0_disk.img")
os.makedirs(os.path.dirname(image), exist_ok=True)
before = os.urandom(READ_COUNT * 512)
with open(image, "wb") as f:
    f.truncate(SECTORS * 512)
    f.write(table([entry(0x83, P1_START, P1_COUNT, 0x80), entry(0x05, EXT_START, EXT_COUNT)]))
    f.seek(EXT_START * 512)
    f.write(table([entry(0x82, P5_REL, P5_COUNT)]))    # the only logical: no link
    f.seek(P5_START * 512)
    f.write(before)
    # Guard sectors on both sides of the region dom0 writes.
    f.seek((P5_START + WRITE_FIRST - 1) * 512)
    f.write(b"\xa5" * 512)
    f.seek((P5_START + WRITE_FIRST + WRITE_COUNT) * 512)
    f.write(b"\x5a" * 512)

iso = iso_with_modules("dom0_disk", [(DOM0_ELF, "dom0 test=disk disk=/dev/hdb5")])

with Machine(cpus=1, iso=iso, timeout=400, disk=image) as m:
    m.wait_for(r'^\(d0\) dom0: /dev/hda: ATAPI device, model "[^"]+" \(not a disk: skipped\)$', timeout=180)
    hdb = m.wait_for(r'^\(d0\) dom0: /dev/hdb: (\d+) sectors \((\d+) MiB\), model "([^"]*)", lba48 (\w+), flush (\w+), '
                     r'sector 512/512 bytes$', timeout=60)
    check(int(hdb.group(1)) == SECTORS, "/dev/hdb has %s sectors, the image %d" % (hdb.group(1), SECTORS))
    check(hdb.group(2) == "64", "/dev/hdb size %s MiB" % hdb.group(2))
    check(hdb.group(3).strip() != "", "empty model string")
    check(hdb.group(5) in ("yes", "ext"), "FLUSH CACHE not reported: %s" % hdb.group(5))
    m.wait_for(r"^\(d0\) dom0: /dev/hdb1: start %d, %d sectors \(20 MiB\), type 0x83$" % (P1_START, P1_COUNT), timeout=30)
    m.wait_for(r"^\(d0\) dom0: /dev/hdb2: start %d, %d sectors \(43 MiB\), type 0x05 \(extended\)$"
               % (EXT_START, EXT_COUNT), timeout=30)
    m.wait_for(r"^\(d0\) dom0: /dev/hdb5: start %d, %d sectors \(9 MiB\), type 0x82 \(logical\)$"
               % (P5_START, P5_COUNT), timeout=30)
    rd = m.wait_for(r"^\(d0\) dom0: disk: read /dev/hdb5 sectors 0\+8: fnv1a 0x([0-9a-f]{8})$", timeout=120)
    check(int(rd.group(1), 16) == fnv1a(before),
          "dom0 read checksum 0x%s, the host wrote 0x%08x" % (rd.group(1), fnv1a(before)))
    expected = bytes(pattern(WRITE_FIRST + s, i) for s in range(WRITE_COUNT) for i in range(512))
    wr = m.wait_for(r"^\(d0\) dom0: disk: wrote /dev/hdb5 sectors 16\+300, flushed, read back equal: "
                    r"fnv1a 0x([0-9a-f]{8})$", timeout=300)
    check(int(wr.group(1), 16) == fnv1a(expected), "read-back checksum 0x%s, expected 0x%08x"
          % (wr.group(1), fnv1a(expected)))
    m.wait_for(r"^\(d0\) dom0: disk: refused: read at sector 131072: sectors beyond the disk; "
               r"read from /dev/hda: no ATA disk there; write of 0 sectors: sectors beyond the disk$", timeout=300)
    irq = m.wait_for(r"^\(d0\) dom0: disk: IRQ 14: (\d+) events, (\d+) waits ended by the interrupt, "
                     r"(\d+) by polling the status$", timeout=300)
    check(int(irq.group(2)) >= WRITE_COUNT, "only %s waits ended by IRQ 14 events" % irq.group(2))
    cmds = m.wait_for(r"^\(d0\) dom0: disk: commands: (\d+) READ/WRITE SECTORS, (\d+) READ/WRITE SECTORS EXT$",
                      timeout=30)
    # 300 sectors go in one EXT command each way; the MBR, EBR and the 8 sectors in LBA28 ones.
    check(int(cmds.group(2)) >= 2, "the 300-sector write and read back used no EXT (LBA48) command")
    check(int(cmds.group(1)) >= 3, "expected LBA28 commands for the table and the small read")
    m.wait_for(r"^\(d0\) dom0: test=disk ok$", timeout=30)
    check(not m.find_all(r"FAIL|crashed|PANIC"), "no FAIL, crash or panic may appear")
    bench = m.find_all(r"^\(d0\) dom0: disk: bench .*$")
    if bench:
        print(bench[0].group(0))

# The machine is stopped: its writes are in the file.
with open(image, "rb") as f:
    f.seek((P5_START + WRITE_FIRST - 1) * 512)
    data = f.read((WRITE_COUNT + 2) * 512)
check(data[:512] == b"\xa5" * 512, "the sector before the written range was changed")
check(data[-512:] == b"\x5a" * 512, "the sector after the written range was changed")
got = data[512:-512]
if got != expected:
    bad = next(i for i in range(len(expected)) if got[i] != expected[i])
    check(False, "image byte %d of the written range (sector %d of hdb5) is 0x%02x, dom0 wrote 0x%02x"
          % (bad, WRITE_FIRST + bad // 512, got[bad], expected[bad]))
print("dom0_disk: ok")
