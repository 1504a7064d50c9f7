#!/usr/bin/env python3
"""dom0's initramfs: `scripts/mkiso --dom0-file SRC:DEST` puts files into a cpio newc archive,
the module right after dom0's, and dom0 finds and reads it (`test=initramfs` on dom0's command
line lists every entry with its size and, for regular files, the CRC-32 of its bytes).

  1. Without booting: build/menhir.iso (the default ISO) has dom0, then its initramfs (module
     command line `initramfs`), then the boot-time demo domain; the archive holds
     /etc/xen/demo.cfg (dom0/rootfs/etc/xen/demo.cfg), /boot/demo.elf and /boot/hello.elf, byte for byte.
  2. ISO A: dom0 with `test=initramfs`, the demo config, hello.elf and a file that ISO B will
     replace. ISO B = mkiso --from-iso A, adding a 64 MiB + 1 byte random file (/big.bin), a
     replacement for the file and an empty one, with `dom0_mem=96M` (the archive does not fit in
     the default 64 MiB). A module already after dom0 that is not an archive is refused, and a
     relative DEST too.
  3. Boot B on two CPUs: dom0 lists exactly the files of A and B (A's kept, the replaced one
     with its new content), each with the size and the zlib CRC-32 the test computes here, the
     directories mkiso made, `N entries` and `test=initramfs ok`; no FAIL, no crash, no panic.
"""
import os
import re
import subprocess
import zlib

from harness import (Machine, TestFailure, check, one, guest, BANNER, TO_DOM0, DOM0_ELF, MENHIR_ELF, MENHIR_ISO,
                     BUILD_DIR, ROOT)

MKISO = os.path.join(ROOT, "scripts", "mkiso")
WORK = os.path.join(BUILD_DIR, "test-isos", "dom0_initramfs")
HELLO = guest("hello")
DEMO_CFG = os.path.join(ROOT, "dom0", "rootfs", "etc", "xen", "demo.cfg")
BIG_SIZE = (64 << 20) + 1
DOM0_MEM = "96M"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def mkiso(*args, expect_ok=True):
    res = subprocess.run([MKISO] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = res.stdout.decode(errors="replace")
    if expect_ok and res.returncode != 0:
        raise TestFailure("mkiso %s failed:\n%s" % (" ".join(args), out))
    if not expect_ok and res.returncode == 0:
        raise TestFailure("mkiso %s succeeded, expected a refusal" % " ".join(args))
    return out


def iso_boot_dir(iso, name):
    """Extracts the ISO's /boot into WORK/name; returns (grub.cfg text, modules dir)."""
    dest = os.path.join(WORK, name)
    subprocess.run(["rm", "-rf", dest], check=True)
    res = subprocess.run(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/boot", dest],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        raise TestFailure("cannot extract %s:\n%s" % (iso, res.stdout.decode(errors="replace")))
    return read(os.path.join(dest, "grub", "grub.cfg")).decode(), os.path.join(dest, "modules")


def cpio_entries(path):
    """{name: (mode, data)} of a newc archive, in order, as an independent reader sees it."""
    data = read(path)
    entries, off = {}, 0
    while True:
        h = data[off:off + 110]
        check(h[:6] == b"070701", "%s: no newc header at offset %d" % (path, off))
        f = [int(h[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        name = data[off + 110:off + 110 + f[11] - 1].decode()
        start = (off + 110 + f[11] + 3) & ~3
        if name == "TRAILER!!!":
            return entries
        entries[name] = (f[1], data[start:start + f[6]])
        off = (start + f[6] + 3) & ~3


def module_lines(grub_cfg):
    return [l.strip() for l in grub_cfg.splitlines() if l.strip().startswith("module2 ")]


# --- 1. the default ISO -------------------------------------------------------
cfg, mods = iso_boot_dir(MENHIR_ISO, "menhir")
lines = module_lines(cfg)
check(len(lines) == 3, "menhir.iso: expected 3 modules (dom0, initramfs, demo), got:\n%s" % "\n".join(lines))
check(lines[0].startswith("module2 /boot/modules/dom0.elf "), "menhir.iso: module 1 is not dom0: %s" % lines[0])
check(re.match(r"^module2 /boot/modules/(\S+) 'initramfs'$", lines[1]) is not None,
      "menhir.iso: module 2 is not the initramfs: %s" % lines[1])
check(" 'domain' 'name=boot-demo' " in lines[2], "menhir.iso: module 3 is not the demo domain: %s" % lines[2])
default = cpio_entries(os.path.join(mods, lines[1].split()[1].rsplit("/", 1)[1]))
check(default.get("etc/xen/demo.cfg", (0, None))[1] == read(DEMO_CFG),
      "menhir.iso: /etc/xen/demo.cfg is missing or differs from dom0/rootfs/etc/xen/demo.cfg")
check(default.get("boot/hello.elf", (0, None))[1] == read(HELLO),
      "menhir.iso: /boot/hello.elf is missing or differs from build/guests/hello.elf")
check(default.get("boot/demo.elf", (0, None))[1] == read(guest("demo")),
      "menhir.iso: /boot/demo.elf is missing or differs from build/guests/demo.elf")
print("dom0_initramfs: menhir.iso carries /etc/xen/demo.cfg, /boot/demo.elf and /boot/hello.elf after dom0")

# --- 2. ISO A, then B from A --------------------------------------------------
os.makedirs(WORK, exist_ok=True)
old_txt, new_txt, empty, big = (os.path.join(WORK, n) for n in ("old.txt", "new.txt", "empty", "big.bin"))
with open(old_txt, "wb") as f:
    f.write(b"the first version\n")
with open(new_txt, "wb") as f:
    f.write(b"the second version, longer\n")
with open(empty, "wb"):
    pass
with open(big, "wb") as f:
    f.write(os.urandom(BIG_SIZE))

iso_a, iso_b = os.path.join(WORK, "a.iso"), os.path.join(WORK, "b.iso")
mkiso("--elf", MENHIR_ELF, "--out", iso_a, "--module", DOM0_ELF + ":test=initramfs",
      "--dom0-file", DEMO_CFG + ":/etc/xen/demo.cfg", "--dom0-file", HELLO + ":/boot/hello.elf",
      "--dom0-file", old_txt + ":/srv/notes/text")
mkiso("--from-iso", iso_a, "--out", iso_b, "--cmdline", "console=com1 com1=115200,8n1 dom0_mem=" + DOM0_MEM,
      "--dom0-file", big + ":/big.bin", "--dom0-file", new_txt + ":/srv/notes/text",
      "--dom0-file", empty + ":/empty")
out = mkiso("--elf", MENHIR_ELF, "--out", os.path.join(WORK, "refused.iso"), "--module", DOM0_ELF + ":dom0",
            "--module", HELLO + ":not-a-domain", "--dom0-file", old_txt + ":/x", expect_ok=False)
check("not a cpio archive" in out, "mkiso's refusal does not say why: %s" % out)
out = mkiso("--elf", MENHIR_ELF, "--out", os.path.join(WORK, "refused.iso"), "--module", DOM0_ELF + ":dom0",
            "--dom0-file", old_txt + ":relative/x", expect_ok=False)
check("absolute" in out, "mkiso's refusal of a relative DEST does not say why: %s" % out)

expected = {  # path -> content, what dom0 must list
    "/etc/xen/demo.cfg": read(DEMO_CFG),
    "/boot/hello.elf": read(HELLO),
    "/srv/notes/text": read(new_txt),
    "/big.bin": None,  # checked through its CRC and size, computed below
    "/empty": b"",
}
big_crc = zlib.crc32(read(big))
directories = {"/etc/", "/etc/xen/", "/boot/", "/srv/", "/srv/notes/"}

# --- 3. boot B -------------------------------------------------------------------
with Machine(cpus=2, iso=iso_b, timeout=420, name="dom0_initramfs") as m:
    m.wait_for(BANNER, timeout=240)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=240)
    m.wait_for(r"^menhir: domain 0 \(Domain-0\): ", timeout=120)
    m.wait_for(TO_DOM0, timeout=60)
    m.wait_for(r"^\(d0\) dom0: test=initramfs$", timeout=60, anywhere=True)
    end = m.wait_for(r"^\(d0\) dom0: (test=initramfs ok|FAIL.*)$", timeout=240)
    check(end.group(1) == "test=initramfs ok", "dom0: %s" % end.group(1))

    files = {mt.group(1): (int(mt.group(2)), int(mt.group(3), 16)) for mt in
             m.find_all(r"^\(d0\) dom0: initramfs: (/\S*) (\d+) bytes crc32 0x([0-9a-f]{8})$")}
    dirs = {mt.group(1) for mt in m.find_all(r"^\(d0\) dom0: initramfs: (/\S*) directory$")}
    check(set(files) == set(expected), "dom0 lists the files %s, expected %s" % (sorted(files), sorted(expected)))
    for path, content in expected.items():
        size, crc = files[path]
        want = (BIG_SIZE, big_crc) if content is None else (len(content), zlib.crc32(content))
        check((size, crc) == want, "%s: dom0 read %d bytes with CRC-32 0x%08x, expected %d bytes, 0x%08x"
              % (path, size, crc, want[0], want[1]))
    check(dirs == directories, "dom0 lists the directories %s, expected %s" % (sorted(dirs), sorted(directories)))
    count = one(m, r"^\(d0\) dom0: initramfs: (\d+) entries$", "dom0")
    check(int(count.group(1)) == len(expected) + len(directories),
          "dom0 counts %s entries, expected %d" % (count.group(1), len(expected) + len(directories)))
    one(m, r"^\(d0\) dom0: initramfs: /big\.bin %d bytes crc32 0x%08x$" % (BIG_SIZE, big_crc), "dom0")

    check(m.count(r"FAIL") == 0, "a line says FAIL")
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(r"^menhir: domain 0 \(Domain-0\) (crashed|shut down|destroyed)") == 0, "dom0 died")
    print("dom0_initramfs: dom0 read %d files (/big.bin: %d bytes, crc32 0x%08x) and %d directories from the "
          "initramfs of an ISO made with --from-iso and --dom0-file, dom0_mem=%s; %.1fs"
          % (len(files), BIG_SIZE, big_crc, len(dirs), DOM0_MEM, m.elapsed()))
