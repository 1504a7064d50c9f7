#!/usr/bin/env python3
"""dom0 builds a domain through the privileged interface: `test=build` on
dom0's command line, the kernel in dom0's module (the second GRUB module,
whose command line does not start with `domain`). dom0 creates the domain
(domctl), populates it, maps its frames into its own space
(XENMEM_add_to_physmap_batch, XENMAPSPACE_gmfn_foreign), loads the kernel
and hvm_start_info, unmaps, sets vCPU 0 and unpauses it, waits for it to shut
down, destroys it and compares the free pages (sysctl physinfo) before and
after.

Two boots on two CPUs:

  raw    the module is build/guests/hello.elf itself (dom0 calls it
         `module 0`), default size (8 MiB)
  cpio   the module is a cpio newc archive with a directory, a text file, a
         decoy `boot/othello.elf` (pvh32.elf) and `boot/hello.elf`;
         `build=hello.elf` must pick the last (its last name component, not
         a suffix), with build_memory=12

Each time: dom0's lines up to `dom0: test=build ok, free pages before B
after B`, the built domain runs hello with the command line and memory map
dom0 wrote (`built by dom0`, one RAM range of the requested size) to
`hello: done`, the hypervisor reports it shut down with poweroff and
destroyed, nothing says FAIL or crashed, and afterwards q lists dom0 alone.
"""
import os
import re
import sys

from harness import (one, Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, DOM0_ELF, BUILD_DIR,
                     TestFailure)

HELLO = guest("hello")
DECOY = guest("pvh32")
BUILT_CMDLINE = "built by dom0"
DEFAULT_MIB = 8


def cpio_newc(entries):
    """A cpio archive in the `newc` format (magic 070701): 110-byte ASCII
    headers of thirteen 8-digit hex fields, the NUL-terminated name and the
    data each padded to 4 bytes, ended by TRAILER!!!. entries: (name, mode,
    data)."""
    out = bytearray()

    def pad():
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], start=1):
        raw = name.encode() + b"\0"
        fields = [ino if name != "TRAILER!!!" else 0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(raw), 0]
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + raw
        pad()
        out += data
        pad()
    return bytes(out)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def make_archive():
    path = os.path.join(BUILD_DIR, "test-isos", "dom0_build.cpio")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(cpio_newc([
            ("boot", 0o040755, b""),
            ("boot/README", 0o100644, b"Not a kernel.\n"),
            ("boot/othello.elf", 0o100644, read(DECOY)),
            ("boot/hello.elf", 0o100644, read(HELLO)),
        ]))
    return path


def run(variant, module, dom0_cmdline, kernel_name, mib):
    iso = iso_with_modules("dom0_build_" + variant, [(DOM0_ELF, dom0_cmdline), (module, None)])
    with Machine(cpus=2, iso=iso, timeout=240, name="dom0_build_" + variant) as m:
        m.wait_for(BANNER, timeout=120)
        m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
        m.wait_for(r"^menhir: domain 0 \(Domain-0\): ", timeout=60)
        m.wait_for(TO_DOM0, timeout=60)
        m.wait_for(r'^\(d0\) dom0: cmdline "%s"$' % re.escape(dom0_cmdline), timeout=60, anywhere=True)
        m.wait_for(r"^\(d0\) dom0: test=build$", timeout=60)

        end = m.wait_for(r"^\(d0\) dom0: (test=build ok|FAIL)", timeout=200)
        if end.group(1) == "FAIL":
            m.settle(3)
            raise TestFailure("%s: dom0 failed to build or run the domain:\n%s" % (variant, "\n".join(
                mt.group(0) for mt in m.find_all(r"^(\(d0\) dom0: .*|menhir: domain [1-9].*)$"))))
        m.settle(2)

        size = os.path.getsize(HELLO)
        one(m, r"^\(d0\) dom0: kernel %s, %d bytes$" % (re.escape(kernel_name), size),
            "%s: dom0 took the wrong kernel" % variant)
        built = one(m, r"^\(d0\) dom0: built domain (\d+) \((\d+) MiB, \d+ segments?, entry 0x[0-9a-f]+, "
                    r"start_info 0x[0-9a-f]+\)$", "dom0")
        dom, built_mib = int(built.group(1)), int(built.group(2))
        check(dom != 0 and built_mib == mib, "%s: %r, expected a domU of %d MiB"
              % (variant, built.group(0), mib))

        # The built domain ran hello with what dom0 gave it.
        d = r"^\(d%d\) hello: " % dom
        for line in ("started", 'cmdline "%s"' % BUILT_CMDLINE, "done"):
            one(m, d + re.escape(line) + "$", "%s: domain %d" % (variant, dom))
        ram = sum(int(e, 16) - int(b, 16) for b, e in re.findall(
            d + r"memmap\[\d+\] (0x[0-9a-f]+)-(0x[0-9a-f]+) type 1$", m.output(), re.M))
        # All of it but the last page, its ACPI tables' (docs/abi.md 1.6).
        check(ram == (mib << 20) - 4096, "%s: the built domain's memory map holds %d bytes of RAM, "
              "expected %d MiB less the ACPI page" % (variant, ram, mib))
        one(m, d + r"memmap\[\d+\] 0x%x-0x%x type 3$" % ((mib << 20) - 4096, mib << 20),
            "%s: the built domain's ACPI page" % variant)

        # Its end, seen by the hypervisor and by dom0.
        one(m, r"^menhir: domain %d \(built\) shut down: poweroff$" % dom, "%s: domain %d" % (variant, dom))
        one(m, r"^menhir: domain %d \(built\) destroyed, frames free: \d+$" % dom,
            "%s: domain %d" % (variant, dom))
        # A domain dom0 built stays shut down until dom0 destroys it, as in Xen.
        seen = m.find_all(r"^\(d0\) dom0: domain %d shut down \(reason 0\) after \d+ ms$" % dom)
        check(len(seen) == 1, "%s: dom0 printed %d lines about domain %d's end, expected one"
              % (variant, len(seen), dom))
        pages = one(m, r"^\(d0\) dom0: test=build ok, free pages before (\d+) after (\d+)$", "dom0")
        before, after = int(pages.group(1)), int(pages.group(2))
        check(before == after, "%s: free pages before %d, after %d" % (variant, before, after))

        fails = [mt.group(0) for mt in m.find_all(r"^.*FAIL.*$")]
        check(not fails, "%s: FAIL lines:\n%s" % (variant, "\n".join(fails)))
        crashed = [mt.group(0) for mt in m.find_all(r"^menhir: domain \d+ \(.*\) crashed: .*$")]
        check(not crashed, "%s: crashed:\n%s" % (variant, "\n".join(crashed)))

        # dom0 carries on; the hypervisor answers and has dom0 alone.
        m.check_only_dom0_left("%s: the built domain was destroyed" % variant)
        check(m.count(r"PANIC") == 0, "%s: the hypervisor panicked" % variant)
        check(m.count(BANNER) == 1, "%s: the machine rebooted" % variant)
        check(m.count(r"^menhir: domain 0 \(Domain-0\) (crashed|shut down|destroyed)") == 0,
              "%s: dom0 died" % variant)
        print("dom0_build %s: domain %d (%d MiB) built from %s, ran hello and was destroyed; %d free "
              "pages before and after; %.1fs" % (variant, dom, mib, kernel_name, before, m.elapsed()))


# Both by default; `dom0_build.py cpio` runs one of them.
VARIANTS = {
    "raw": lambda: run("raw", HELLO, "test=build", "module 0", DEFAULT_MIB),
    "cpio": lambda: run("cpio", make_archive(), "test=build build=hello.elf build_memory=12",
                        "boot/hello.elf", 12),
}
for v in sys.argv[1:] or list(VARIANTS):
    VARIANTS[v]()
