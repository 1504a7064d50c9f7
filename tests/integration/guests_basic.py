#!/usr/bin/env python3
"""One boot, two CPUs: dom0 and a set of boot-time domUs that each exercise
one thing, side by side, so the crashes of some must not disturb the others:

  hello      every hello line, and a command line with blanks arrives whole
  hellopage  hello through the hypercall page
  wild       writes past its RAM (dropped, reads back all ones), then jumps
             there: crashed with an EPT violation (instruction fetch)
  tripler    triple faults: crashed with a triple fault
  badcall    invalid hypercalls: every case ok
  pvh32      a 32-bit (ELFCLASS32) PVH kernel: prints, powers off

then module lines the hypervisor must refuse, each skipped while the rest
boot: a domain line without name=, one with memory=lots, a multiboot2 ELF
that is not a PVH kernel (menhir.elf itself), a text file, and a domain too
big for the machine's memory. At the end every domU has been destroyed and
the free frame count is back to what it was before the first domU was built.
"""
import os
import re

from harness import (one, Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, DOM0_ELF,
                     MENHIR_ELF, ROOT)

HELLO_CMDLINE = "a b c"
MEMORY_MIB = 8

# (name, kernel, extra words): the domUs that must be built, ids 1.. in order.
GOOD = [
    ("hello", guest("hello"), 'cmdline="%s"' % HELLO_CMDLINE),
    ("wild", guest("wild"), ""),
    ("tripler", guest("tripler"), ""),
    ("badcall", guest("badcall"), ""),
    ("pvh32", guest("pvh32"), ""),
    ("hellopage", guest("hello"), "cmdline=hypercall_page"),
]
BAD_LINES = [  # (module command line, a word the reason must contain)
    ("domain memory=%d vcpus=1" % MEMORY_MIB, "name"),
    ("domain name=x memory=lots vcpus=1", "memory"),
]
REFUSED = [  # (name, kernel, memory MiB): valid lines, kernels or sizes that are not
    ("notpvh", MENHIR_ELF, MEMORY_MIB),
    ("text", os.path.join(ROOT, "tests", "guests", "README.md"), MEMORY_MIB),
    ("huge", guest("hello"), 1024),
]
MACHINE_MIB = 256

modules = [(DOM0_ELF, "dom0")]
for name, kernel, extra in GOOD:
    modules.append((kernel, ("domain name=%s memory=%d vcpus=1 %s" % (name, MEMORY_MIB, extra)).strip()))
first_bad_module = len(modules) + 1        # module numbers count from 1
for line, _ in BAD_LINES:
    modules.append((guest("hello"), line))
for name, kernel, mib in REFUSED:
    modules.append((kernel, "domain name=%s memory=%d vcpus=1" % (name, mib)))
iso = iso_with_modules("guests_basic", modules)

HEX = r"0x[0-9a-f]+"


def built_line(name):
    return (r"^menhir: domain (\d+) \(%s\): (\d+) MiB, (\d+) vCPUs?, weight (\d+), entry (%s), "
            r"(ELF64|ELF32) kernel$" % (re.escape(name), HEX))


with Machine(cpus=2, memory=MACHINE_MIB, iso=iso) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)

    # Boot: dom0, the count every domU is measured against, then the domUs
    # with ids 1, 2, 3... in module order, the refusals, and dom0's input.
    d0 = m.wait_for(built_line("Domain-0"), timeout=60)
    check(d0.group(1) == "0", "dom0 was built as domain %s" % d0.group(1))
    before = int(m.wait_for(r"^menhir: frames free before the boot-time domUs: (\d+)$",
                            timeout=60).group(1))
    ids = {}
    for expect_id, (name, _, _) in enumerate(GOOD, start=1):
        mt = m.wait_for(built_line(name), timeout=60)
        dom_id, mib, vcpus, weight, entry, cls = mt.groups()
        check(int(dom_id) == expect_id, "domain %s got id %s, expected %d (module order)"
              % (name, dom_id, expect_id))
        check(int(mib) == MEMORY_MIB and int(vcpus) == 1 and int(weight) == 256,
              "domain %s built with the wrong parameters: %r" % (name, mt.group(0)))
        expect_cls = "ELF32" if name == "pvh32" else "ELF64"
        check(cls == expect_cls, "domain %s: %s kernel reported, expected %s" % (name, cls, expect_cls))
        ids[name] = int(dom_id)
    m.wait_for(TO_DOM0, timeout=60)

    # Every domU ends (each its own way) and is destroyed.
    m.wait_for_all([r"^menhir: domain %d \(%s\) destroyed, frames free: (\d+)$" % (i, n)
                    for n, i in ids.items()], timeout=240, anywhere=True)
    m.settle(1)
    d = {name: r"^\(d%d\) " % i for name, i in ids.items()}   # a domain's own lines

    # Refused module lines: reported and skipped (the others booted).
    for k, (line, word) in enumerate(BAD_LINES, start=first_bad_module):
        mt = one(m, r"^menhir: module %d: bad domain line \((.+)\): domain \d+ skipped$" % k,
                 "module %d (%r)" % (k, line))
        check(word in mt.group(1), "module %d (%r): the reason %r does not mention %r"
              % (k, line, mt.group(1), word))
    check(m.count(built_line("x")) == 0, "the domain with memory=lots was built")
    for name, _, _ in REFUSED:
        one(m, r"^menhir: cannot build domain \d+ \(%s\): (.+)$" % name, "domain %s" % name)
        check(m.count(built_line(name)) == 0, "domain %s was refused and built" % name)

    one(m, r"^\(d0\) dom0: Menhir dom0 started$", "dom0's banner")

    # hello: every line, the command line whole, its RAM.
    for line in [r"hello: started", r"hello: port e9 works", r"hello: Xen signature XenVMMXenVMM",
                 r"hello: Xen version 4\.17", r'hello: cmdline "%s"' % re.escape(HELLO_CMDLINE),
                 r"hello: done"]:
        one(m, d["hello"] + line + "$", "hello")
    ram = sum(int(e, 16) - int(b, 16) for b, e in re.findall(
        d["hello"] + r"hello: memmap\[\d+\] (0x[0-9a-f]+)-(0x[0-9a-f]+) type 1$", m.output(), re.M))
    check((MEMORY_MIB - 1) << 20 <= ram <= MEMORY_MIB << 20,
          "hello's memory map holds %d bytes of RAM; the domain has %d MiB" % (ram, MEMORY_MIB))
    one(m, d["hellopage"] + r"hello: hypercall page Xen version 4\.17$", "hellopage")
    one(m, d["hellopage"] + r"hello: done$", "hellopage")
    one(m, d["pvh32"] + r"pvh32: hello from 32-bit$", "pvh32")
    for name in ("hello", "hellopage", "pvh32", "badcall"):
        one(m, r"^menhir: domain %d \(%s\) shut down: poweroff$" % (ids[name], name), name)

    # wild: its write past RAM was dropped, and the jump there crashed it.
    target = one(m, d["wild"] + r"wild: RAM ends at %s, writing to (%s)$" % (HEX, HEX), "wild").group(1)
    one(m, d["wild"] + r"wild: read back 0xffffffffffffffff$", "wild")
    crash = one(m, r"^menhir: domain %d \(wild\) crashed: EPT violation at gpa (%s) instruction fetch "
                r"\(rip (%s)\)$" % (ids["wild"], HEX, HEX), "wild")
    check(int(crash.group(1), 16) == int(target, 16) == int(crash.group(2), 16),
          "wild jumped to %s, but the EPT violation is at %s (rip %s)" % (target, crash.group(1), crash.group(2)))

    # tripler: a triple fault crashes the domain, not the machine.
    one(m, d["tripler"] + r"tripler: triple faulting$", "tripler")
    one(m, r"^menhir: domain %d \(tripler\) crashed: triple fault \(rip %s\)$"
        % (ids["tripler"], HEX), "tripler")

    # badcall: every case ok.
    summary = one(m, d["badcall"] + r"badcall: (\d+) passed, (\d+) failed$", "badcall")
    passed, failed = int(summary.group(1)), int(summary.group(2))
    cases = m.find_all(d["badcall"] + r"badcall: (.+) -> (-?\d+) \(expected (-?\d+)\) (ok|FAIL)$")
    bad = [c.group(0) for c in cases if c.group(4) != "ok"]
    check(failed == 0 and not bad, "badcall: %d failed:\n%s" % (failed, "\n".join(bad)))
    check(passed >= 20, "badcall ran only %d cases (expected at least 20)" % passed)
    check(len(cases) == passed, "badcall says %d passed but printed %d case lines"
          % (passed, len(cases)))

    # No domU left running; every frame came back.
    m.check_frames_back(before)
    m.check_only_dom0_left()

    # Never.
    for bug in (r"wild: write succeeded \(BUG\)", r"tripler: still alive \(BUG\)"):
        check(m.count(bug) == 0, "%s was printed" % bug)
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    check(m.count(r"^menhir: frames free before the boot-time domUs:") == 1,
          "'frames free before the boot-time domUs' printed more than once")
    check(m.count(r"^menhir: domain 0 \(Domain-0\) (crashed|shut down|destroyed)") == 0, "dom0 died")
    crashed = {mt.group(1) for mt in m.find_all(r"^menhir: domain \d+ \((.*)\) crashed:")}
    check(crashed == {"wild", "tripler"}, "crashed domains: %s, expected wild and tripler"
          % sorted(crashed))
    print("guests_basic: %d domUs ran, wild and tripler crashed alone, badcall %d/%d ok, "
          "%d frames free before and after; %.1fs" % (len(ids), passed, passed, before, m.elapsed()))
