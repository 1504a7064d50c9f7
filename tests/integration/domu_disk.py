#!/usr/bin/env python3
"""domUs get disks from dom0 (issue 9, "The block backend"): Xen's blkif
through dom0's blkback to a partition of a real image file, in one boot.

The test makes a 64 MiB image with an MBR: hdb1 (sectors 2048+20480) and
hdb2 (22528+20480), fills hdb2 with known bytes, and boots build/menhir.iso
with the image as /dev/hdb and these configs and the blkfront test guest
(tests/guests/blkfront) in dom0's initramfs (dom0 alone; DOMU_DISK_BLKBACK=map
in the environment puts blkback=map on its command line). At dom0's prompt:

  write      `xl create wr.cfg` (disk 'phy:/dev/hdb1,xvda,w'): the guest
             connects (the xenbus handshake, a multi-page ring), writes 400
             sectors at sector 100 of hdb1 in direct requests (5 on the ring
             at once, more than blkback serves in one round) and flushes; `xl block-list wr` shows its vbd 51712 Connected (4)
  one writer `xl create wr2.cfg`, the same partition writable, is refused
             with a reason naming /dev/hdb1, and no domain is created
  re-create  `xl destroy wr`; `xl create rd.cfg`: another domain on the same
             disk goes through the handshake, closes and reconnects
             (Closing, Closed, Initialising, ... Connected) and reads the 400
             sectors back equal with indirect requests
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

from harness import (BUILD_DIR, DOM0_ELF, Machine, PROMPT, TestFailure, check, guest, iso_with_dom0_files,
                     iso_with_modules, shell_command as sh)

SECTORS = 131072
P1_START, P1_COUNT = 2048, 20480
P2_START, P2_COUNT = 22528, 20480
PAT, LBA, COUNT = "menhir", 100, 400
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
    # Direct requests only: 400 sectors are 5 of them on the ring at once.
    "wr.cfg": cfg("wr", W1, "write=%s lba=%d count=%d flush stay indirect=0" % (PAT, LBA, COUNT)),
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

# dom0 alone (no boot-time domain), its back end moving data as
# DOMU_DISK_BLKBACK says (blkback=map: grant maps; default: GNTTABOP_copy).
DOM0_LINE = "dom0" + (" blkback=" + os.environ["DOMU_DISK_BLKBACK"] if os.environ.get("DOMU_DISK_BLKBACK") else "")
base = iso_with_modules("domu_disk_base", [(DOM0_ELF, DOM0_LINE)])
iso = iso_with_dom0_files("domu_disk", files, base=base)

LIST_ROW = re.compile(r"^(\S+) +(\d+) +(\d+) +(\d+) +([r-][b-][p-][s-][-rscwS][d-]) +(\d+\.\d)$")


def query(m, line):
    """A command that changes nothing, typed again if a guest's line broke its echo."""
    for attempt in range(3):
        try:
            return sh(m, line, timeout=40)
        except TestFailure:
            if attempt == 2 or not m.alive():
                raise
            time.sleep(2)


def act(m, line):
    """A command that changes something, typed once: its output, or None when a
    guest's line broke its echo (the command still ran; callers look for its effect)."""
    try:
        return sh(m, line)
    except TestFailure:
        if not m.alive():
            raise
        print("(the echo of %r was broken by other output)" % line)
        return None


def xl_list(m):
    out = {}
    for l in query(m, "xl list"):
        r = LIST_ROW.match(l)
        if r:
            out[r.group(1)] = int(r.group(2))
    check("Domain-0" in out, "xl list has no Domain-0 (dom0's shell is not answering?)")
    return out


def wait_domain(m, name, present, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        doms = xl_list(m)
        if (name in doms) == present:
            return doms
        if time.monotonic() > deadline:
            raise TestFailure("%s still %s after %ds: %r" % (name, "absent" if present else "present", timeout, doms))
        time.sleep(1)


def wait_after(m, start, pattern, timeout=60):
    """The first match of pattern in the output after offset start."""
    reg = re.compile(pattern, re.M)
    deadline = time.monotonic() + timeout
    while True:
        r = reg.search(m.output(), start)
        if r:
            return r
        if time.monotonic() > deadline or not m.alive():
            raise TestFailure("no %r after offset %d" % (pattern, start))
        time.sleep(0.5)


def create(m, name):
    """xl create /etc/xen/NAME.cfg; returns the new domain's id (from its first line)."""
    start = len(m.output())
    out = act(m, "xl create /etc/xen/%s.cfg" % name) or []
    # (blkback's lines about another domain may come in between.)
    bad = [l for l in out if not l.startswith("blkback:") and ("rror" in l or "refused" in l or "annot" in l)]
    check(not bad, "xl create %s.cfg: %r" % (name, out))
    # Its id from dom0's xenstored (a short-lived guest may be gone before
    # `xl list` sees it); ids are never reused in a boot: its lines are its own.
    dom = int(wait_after(m, start, r"^(?:\(d0\) )?xenstored: introduced d(\d+) \(%s\):" % name).group(1))
    m.wait_for(r'^\(d%d\) blkfront: domain %d, cmdline "[^"]*"$' % (dom, dom), timeout=90, anywhere=True)
    return dom


def guest_line(m, dom, text, timeout=180):
    return m.wait_for(r"^\(d%d\) blkfront: %s" % (dom, text), timeout=timeout, anywhere=True)


def done(m, dom, timeout=300):
    d = guest_line(m, dom, r"done: (\d+) passed, (\d+) failed$", timeout)
    fails = m.find_all(r"^\(d%d\) blkfront: .*FAIL.*$" % dom)
    check(d.group(2) == "0" and not fails, "domain %d: %s %r" % (dom, d.group(0), [f.group(0) for f in fails]))
    return int(d.group(1))


def connected(m, dom):
    """The guest's two `connected` lines, as a dict of numbers (and the backend path)."""
    a = guest_line(m, dom, r"connected: vbd (\d+) backend (\S+) \(dom 0\)$", 120)
    b = guest_line(m, dom, r"negotiated: (\d+) sectors of (\d+) bytes, info (\d+), flush (\d), ring (\d+) pages "
                           r"\((\d+) slots\), indirect (\d+), port (\d+)$", 30)
    c = dict(zip(("vbd", "sectors", "sector_size", "info", "flush", "pages", "slots", "indirect", "port"),
                 map(int, (a.group(1),) + b.groups())))
    check(c["vbd"] == VBD, "vbd %d, not xvda's %d" % (c["vbd"], VBD))
    check(a.group(2) == "/local/domain/0/backend/vbd/%d/%d" % (dom, VBD), "backend path %s" % a.group(2))
    return c


with Machine(cpus=2, iso=iso, timeout=1500, disk=IMAGE) as m:
    m.wait_for(r"^\(d0\) xenstored: serving", timeout=240)
    m.wait_for(re.escape(PROMPT), timeout=180, partial=True)

    # A writer: the handshake, the pattern written and flushed.
    wr = create(m, "wr")
    c = connected(m, wr)
    check(c["sectors"] == P1_COUNT, "hdb1 has %d sectors, the vbd says %d" % (P1_COUNT, c["sectors"]))
    check(c["sector_size"] == 512, "sector-size %d" % c["sector_size"])
    check(c["info"] & 4 == 0, "a writable disk with VDISK_READONLY in info (%d)" % c["info"])
    check(c["flush"] == 1, "the back end offers no feature-flush-cache")
    check(c["pages"] > 1, "a one-page ring: max-ring-page-order not offered (%d pages)" % c["pages"])
    check(c["indirect"] == 0, "indirect=0 asked for, %d segments used" % c["indirect"])
    guest_line(m, wr, r"wrote %d sectors at %d$" % (COUNT, LBA))
    guest_line(m, wr, r"flushed$")
    done(m, wr)
    bl = query(m, "xl block-list wr")
    rows = [l for l in bl if re.match(r"^%d\s" % VBD, l)]
    check(len(rows) == 1, "xl block-list wr: %r" % bl)
    cols = rows[0].split()
    # Vdev BE handle state evt-ch ring-ref BE-path, as libxl reads the frontend's keys: a
    # multi-page ring has ring-ref0..N-1 and no ring-ref (-1).
    ring_ok = int(cols[5]) == -1 if c["pages"] > 1 else int(cols[5]) >= 8
    check(len(cols) == 7 and cols[1] == "0" and cols[3] == "4" and int(cols[4]) == c["port"] and ring_ok
          and cols[6] == "/local/domain/0/backend/vbd/%d/%d" % (wr, VBD),
          "xl block-list wr: not Connected (4) with its port, ring-ref and backend path: %r" % rows[0])

    # A second writer of hdb1 is refused, with the reason.
    before = xl_list(m)
    act(m, "xl create /etc/xen/wr2.cfg")
    refusal = m.wait_for(r"^xl: cannot give domain 'wr2' disk xvda \(/dev/hdb1, writable\): .*domain %d \(wr\).*$"
                         % wr, timeout=60, anywhere=True)
    print("second writer: %s" % refusal.group(0))
    check(set(xl_list(m)) == set(before), "wr2 was created next to a writer of the same disk")

    # Destroyed, re-created: the data is there (after a reconnect).
    act(m, "xl destroy wr")
    wait_domain(m, "wr", False)
    rd = create(m, "rd")
    c = connected(m, rd)
    check(c["indirect"] > 11, "no feature-max-indirect-segments (indirect %d)" % c["indirect"])
    guest_line(m, rd, r"disconnected \(backend state 6\)$")
    guest_line(m, rd, r"reconnected$")
    guest_line(m, rd, r"read back OK \(%d sectors at %d\)$" % (COUNT, LBA))
    done(m, rd)
    wait_domain(m, "rd", False)

    # Read-only.
    ro = create(m, "ro")
    c = connected(m, ro)
    check(c["info"] & 4, "a read-only disk without VDISK_READONLY in info (%d)" % c["info"])
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
    # dom0's blkback names the domain for each refusal, and for the halted ring.
    refused = m.find_all(r"^(?:\(d0\) )?blkback: d%d: xvda: (request refused: .*|ring halted: .*)$" % evil)
    check(len(refused) >= 6, "blkback logged %d refusals for domain %d, 6 bad requests and a bad ring were sent: %r"
          % (len(refused), evil, [r.group(0) for r in refused]))
    for r in refused:
        print(r.group(0))
    check(not m.find_all(r"^(?:\(d0\) )?blkback: d%d: " % good), "blkback complained about the good reader")
    wait_domain(m, "evil", False)
    wait_domain(m, "good", False)

    # One that stops answering: destroyed, nothing left behind.
    silent = create(m, "silent")
    guest_line(m, silent, r"hostile silent: 4 requests pushed, going silent$")
    time.sleep(5)
    act(m, "xl destroy silent")
    wait_domain(m, "silent", False)
    check(not [l for l in query(m, "xl block-list silent") if re.match(r"^%d\s" % VBD, l)],
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
