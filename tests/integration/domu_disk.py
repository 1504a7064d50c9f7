#!/usr/bin/env python3
"""domUs get disks from dom0 (issue 9, "The block backend"): Xen's blkif
through dom0's blkback to a partition of a real image file, in one boot.

The test makes a 64 MiB image with an MBR: hdb1 (sectors 2048+20480) and
hdb2 (22528+20480), fills hdb2 with known bytes, and boots build/menhir.iso
with the image as /dev/hdb and these configs and the blkfront test guest
(tests/guests/blkfront) in dom0's initramfs. At dom0's prompt:

  write      `xl create wr.cfg` (disk 'phy:/dev/hdb1,xvda,w'): the guest
             connects (the xenbus handshake, a multi-page ring, indirect
             segments offered), writes 300 sectors at sector 100 of hdb1 and
             flushes; `xl block-list wr` shows its vbd 51712 Connected (4)
  one writer `xl create wr2.cfg`, the same partition writable, is refused
             with a reason naming /dev/hdb1, and no domain is created
  re-create  `xl destroy wr`; `xl create rd.cfg`: another domain on the same
             disk goes through the handshake, closes and reconnects
             (Closing, Closed, Initialising, ... Connected) and reads the 300
             sectors back equal
  read-only  ro.cfg ('vdev=xvda,access=ro,target=/dev/hdb2', xl's key=value
             form): info has VDISK_READONLY and a write gets BLKIF_RSP_ERROR
  hostile    evil.cfg (hdb2, read-only) sends 12 direct segments, one indirect
             segment more than offered, first_sect > last_sect, last_sect 8,
             a read past the end, an ungranted ref, then a req_prod a ring
             ahead: each gets BLKIF_RSP_ERROR or loses its connection, and a
             read on a fresh connection works after; meanwhile good.cfg (hdb1,
             read-only) reads the pattern back 10 times without an error
  silent     silent.cfg pushes requests and stops answering anything; `xl
             destroy silent` takes it away; a new reader still works
  dom0       the shell still answers `xl list` and `xl block-list`; no PANIC,
             no crash
  bench      bench.cfg: sequential 64 KiB writes and reads (ticks printed)

Once the machine is stopped, the image holds the pattern at (2048 + 100) *
512, its neighbour sectors and all of hdb2 are untouched.
"""
import os
import re
import time

from harness import (BUILD_DIR, Machine, PROMPT, TestFailure, check, guest, iso_with_dom0_files,
                     shell_command as sh, wait_domain, xl_list)

SECTORS = 131072
P1_START, P1_COUNT = 2048, 20480
P2_START, P2_COUNT = 22528, 20480
PAT, LBA, COUNT = "menhir", 100, 300
BENCH_LBA, BENCH_KIB = 8192, int(os.environ.get("DOMU_DISK_BENCH_KIB", "512"))
VBD = 51712   # xvda

WORK = os.path.join(BUILD_DIR, "test-isos", "domu_disk")
os.makedirs(WORK, exist_ok=True)
IMAGE = os.path.join(BUILD_DIR, "test-disks", "domu_disk.img")
os.makedirs(os.path.dirname(IMAGE), exist_ok=True)


def sector_bytes(pat, s):
    """What the blkfront guest writes in sector s: "PAT lba s " repeated."""
    unit = ("%s lba %d " % (pat, s)).encode()
    return (unit * (512 // len(unit) + 1))[:512]


def entry(type_, start, count):
    e = bytearray(16)
    e[1:4] = e[5:8] = b"\xfe\xff\xff"
    e[4] = type_
    e[8:12] = start.to_bytes(4, "little")
    e[12:16] = count.to_bytes(4, "little")
    return e


def cfg(name, disk, extra):
    return ('name = "%s"\ntype = "pvh"\nkernel = "/boot/blkfront.elf"\nmemory = 16\nvcpus = 1\n'
            "disk = [ '%s' ]\nextra = \"%s\"\n" % (name, disk, extra))


W1 = "phy:/dev/hdb1,xvda,w"
CONFIGS = {
    "wr.cfg": cfg("wr", W1, "write=%s lba=%d count=%d flush stay" % (PAT, LBA, COUNT)),
    "wr2.cfg": cfg("wr2", W1, "write=other lba=0 count=8"),
    "rd.cfg": cfg("rd", W1, "read=%s lba=%d count=%d reconnect" % (PAT, LBA, COUNT)),
    "ro.cfg": cfg("ro", "vdev=xvda,access=ro,format=raw,target=/dev/hdb2", "write=nope lba=0 count=8 ro"),
    "evil.cfg": cfg("evil", "phy:/dev/hdb2,xvda,r",
                    "hostile=segments,indirect,sectors,lastsect,beyond,gref,indices"),
    "good.cfg": cfg("good", "phy:/dev/hdb1,xvda,r", "read=%s lba=%d count=%d repeat=10" % (PAT, LBA, COUNT)),
    "silent.cfg": cfg("silent", "phy:/dev/hdb2,xvda,r", "hostile=silent"),
    "bench.cfg": cfg("bench", W1, "bench=%d lba=%d" % (BENCH_KIB, BENCH_LBA)),
}
files = [(guest("blkfront"), "/boot/blkfront.elf")]
for name, text in CONFIGS.items():
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    files.append((path, "/etc/xen/" + name))

# hdb2 holds a known byte pattern: nothing may write it.
HDB2 = bytes((i * 7 + (i >> 9)) & 0xff for i in range(P2_COUNT * 512))
GUARD_BEFORE, GUARD_AFTER = b"\xa5" * 512, b"\x5a" * 512
with open(IMAGE, "wb") as f:
    f.truncate(SECTORS * 512)
    mbr = bytearray(512)
    mbr[446:462] = entry(0x83, P1_START, P1_COUNT)
    mbr[462:478] = entry(0x83, P2_START, P2_COUNT)
    mbr[510:512] = b"\x55\xaa"
    f.write(mbr)
    f.seek((P1_START + LBA - 1) * 512)
    f.write(GUARD_BEFORE)
    f.seek((P1_START + LBA + COUNT) * 512)
    f.write(GUARD_AFTER)
    f.seek(P2_START * 512)
    f.write(HDB2)

iso = iso_with_dom0_files("domu_disk", files)



def create(m, name):
    """xl create /etc/xen/NAME.cfg; returns the new domain's id (from its first line)."""
    out = sh(m, "xl create /etc/xen/%s.cfg" % name)
    bad = [l for l in out if "rror" in l or "refused" in l or "annot" in l]
    check(not bad, "xl create %s.cfg: %r" % (name, out))
    up = m.wait_for(r'^\(d(\d+)\) blkfront: domain \1, cmdline "[^"]*"$', timeout=90, anywhere=True)
    return int(up.group(1))


def guest_line(m, dom, text, timeout=180):
    return m.wait_for(r"^\(d%d\) blkfront: %s" % (dom, text), timeout=timeout, anywhere=True)


def done(m, dom, timeout=300):
    d = guest_line(m, dom, r"done: (\d+) passed, (\d+) failed$", timeout)
    fails = m.find_all(r"^\(d%d\) blkfront: .*FAIL.*$" % dom)
    check(d.group(2) == "0" and not fails, "domain %d: %s %r" % (dom, d.group(0), [f.group(0) for f in fails]))
    return int(d.group(1))


def connected(m, dom):
    c = guest_line(m, dom, r"connected: vbd (\d+) backend (\S+) \(dom 0\)$", 120)
    check(int(c.group(1)) == VBD, "vbd %s, not xvda's %d" % (c.group(1), VBD))
    check(c.group(2) == "/local/domain/0/backend/vbd/%d/%d" % (dom, VBD), "backend path %s" % c.group(2))
    # Groups: 1 sectors, 2 sector size, 3 info, 4 flush, 5 ring pages, 6 slots, 7 indirect segments, 8 port.
    n = guest_line(m, dom, r"negotiated: (\d+) sectors of (\d+) bytes, info (\d+), flush (\d), ring (\d+) pages "
                           r"\((\d+) slots\), indirect (\d+), port (\d+)$", 30)
    return n


with Machine(cpus=2, iso=iso, timeout=1500, disk=IMAGE) as m:
    m.wait_for(r"^menhir: d1: console handed over to dom0", timeout=180)
    m.wait_for(re.escape(PROMPT), timeout=180, partial=True)

    # A writer: the handshake, the pattern written and flushed.
    wr = create(m, "wr")
    c = connected(m, wr)
    check(int(c.group(1)) == P1_COUNT, "hdb1 has %d sectors, the vbd says %s" % (P1_COUNT, c.group(1)))
    check(c.group(2) == "512", "sector-size %s" % c.group(2))
    check(int(c.group(3)) & 4 == 0, "a writable disk with VDISK_READONLY in info (%s)" % c.group(3))
    check(c.group(4) == "1", "the back end offers no feature-flush-cache")
    check(int(c.group(5)) > 1, "a one-page ring: max-ring-page-order not offered (%s pages)" % c.group(5))
    check(int(c.group(7)) > 11, "no feature-max-indirect-segments (indirect %s)" % c.group(7))
    guest_line(m, wr, r"wrote %d sectors at %d$" % (COUNT, LBA))
    guest_line(m, wr, r"flushed$")
    done(m, wr)
    bl = sh(m, "xl block-list wr")
    rows = [l for l in bl if re.match(r"^%d\s" % VBD, l)]
    check(len(rows) == 1, "xl block-list wr: %r" % bl)
    check(re.search(r"\s4\s", rows[0]) and "/local/domain/0/backend/vbd/%d/%d" % (wr, VBD) in rows[0],
          "xl block-list wr: not Connected with its backend path: %r" % rows[0])

    # A second writer of hdb1 is refused, with the reason.
    before = xl_list(m)
    out = sh(m, "xl create /etc/xen/wr2.cfg")
    check(any("hdb1" in l for l in out), "no refusal naming /dev/hdb1 for a second writer: %r" % out)
    print("second writer: %s" % " / ".join(out))
    check(set(xl_list(m)) == set(before), "wr2 was created next to a writer of the same disk")

    # Destroyed, re-created: the data is there (after a reconnect).
    sh(m, "xl destroy wr")
    wait_domain(m, "wr", False)
    rd = create(m, "rd")
    connected(m, rd)
    guest_line(m, rd, r"disconnected \(backend state 6\)$")
    guest_line(m, rd, r"reconnected$")
    guest_line(m, rd, r"read back OK \(%d sectors at %d\)$" % (COUNT, LBA))
    done(m, rd)
    wait_domain(m, "rd", False)

    # Read-only.
    ro = create(m, "ro")
    c = connected(m, ro)
    check(int(c.group(3)) & 4, "a read-only disk without VDISK_READONLY in info (%s)" % c.group(3))
    guest_line(m, ro, r"write refused as expected \(status -1\)$")
    done(m, ro)
    wait_domain(m, "ro", False)

    # A hostile frontend next to a good reader.
    evil = create(m, "evil")
    good = create(m, "good")
    cases = {}
    for name in ("segments", "indirect", "sectors", "lastsect", "beyond", "gref", "indices"):
        h = guest_line(m, evil, r"hostile %s: (.*) (ok|FAIL)$" % name, 240)
        cases[name] = h.group(1)
    guest_line(m, evil, r"after hostile: read OK$", 240)
    done(m, evil)
    guest_line(m, good, r"read back OK \(%d sectors at %d\)$" % (COUNT, LBA), 300)
    done(m, good)
    for name, what in cases.items():
        print("hostile %s: %s" % (name, what))
    # dom0 says which domain broke the protocol when it drops one.
    dropped = [n for n, w in cases.items() if w.startswith("no response")]
    if dropped:
        check(m.find_all(r"^dom0: .*\b(d%d|domain %d)\b" % (evil, evil)), "dom0 dropped domain %d (%s) without a "
              "line naming it" % (evil, ", ".join(dropped)))
    wait_domain(m, "evil", False)
    wait_domain(m, "good", False)

    # One that stops answering: destroyed, nothing left behind.
    silent = create(m, "silent")
    guest_line(m, silent, r"hostile silent: 4 requests pushed, going silent$")
    time.sleep(5)
    sh(m, "xl destroy silent")
    wait_domain(m, "silent", False)
    check(not [l for l in sh(m, "xl block-list silent") if re.match(r"^%d\s" % VBD, l)],
          "xl block-list still lists the destroyed domain's disk")
    rd2 = create(m, "rd")
    guest_line(m, rd2, r"read back OK \(%d sectors at %d\)$" % (COUNT, LBA))
    done(m, rd2)
    wait_domain(m, "rd", False)

    # Throughput, for bench/.
    b = create(m, "bench")
    connected(m, b)
    for what in ("write", "read"):
        r = guest_line(m, b, r"bench: %s 64 KiB x (\d+): (\d+) ticks, (\d+) ticks/op$" % what, 600)
        print("domU %s: %s" % (what, r.group(0)))
    done(m, b)
    wait_domain(m, "bench", False)

    check(xl_list(m).keys() >= {"Domain-0"}, "dom0's shell stopped answering")
    check(not m.find_all(r"PANIC|^dom0: .*crash|page fault"), "a panic or crash in the log")

# The machine is stopped: the writes are in the file.
with open(IMAGE, "rb") as f:
    f.seek((P1_START + LBA - 1) * 512)
    data = f.read((COUNT + 2) * 512)
    f.seek(P2_START * 512)
    hdb2 = f.read(P2_COUNT * 512)
check(data[:512] == GUARD_BEFORE, "the sector before the written range was changed")
check(data[-512:] == GUARD_AFTER, "the sector after the written range was changed")
expected = b"".join(sector_bytes(PAT, LBA + s) for s in range(COUNT))
got = data[512:-512]
if got != expected:
    bad = next(i for i in range(len(expected)) if got[i] != expected[i])
    check(False, "image byte %d of the written range (sector %d of hdb1) is 0x%02x, the domU wrote 0x%02x"
          % (bad, LBA + bad // 512, got[bad], expected[bad]))
if hdb2 != HDB2:
    bad = next(i for i in range(len(HDB2)) if hdb2[i] != HDB2[i])
    check(False, "hdb2 (read-only to every domU) changed at its sector %d" % (bad // 512))
print("domu_disk: ok")
