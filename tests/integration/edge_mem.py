#!/usr/bin/env python3
"""One boot, two CPUs, no dom0: memory edge behaviour as Xen has it for a PVH domU.

  mmiohole    (64-bit) and
  mmiohole32  (32-bit protected mode, same source): loads, stores, ALU forms
              and string instructions on 0xFED00000, where nothing is mapped.
              Every case ok (reads all ones, writes dropped, flags of all
              ones), the hypervisor's log of those accesses rate-limited, and
              then CMPXCHG8B on the hole, which the hypervisor does not
              decode: that domain alone is crashed with a reason naming the
              instruction's bytes.
  balloon     gives 16 pages of its RAM back and takes them again; at three
              pauses (it waits for VIRQ_DEBUG, which the `q` key raises) the
              test reads the free frame count with `m`: 16 frames more while
              they are out, the same as before once they are back. Then the
              limits, and the errnos of EVTCHNOP_init_control and
              GNTTABOP_set_version; every case ok.

At the end every domain is gone and the free count is what it was before
the first was built.
"""
import re

from harness import one, Machine, check, iso_with_modules, guest, BANNER

MEMORY_MIB = 8
PAGES = 16
DOMAINS = [("mmiohole", 1), ("mmiohole32", 2), ("balloon", 3)]

iso = iso_with_modules("edge_mem", [
    (guest(name), "domain name=%s memory=%d vcpus=1" % (name, MEMORY_MIB)) for name, _ in DOMAINS])

CRASH = (r"^menhir: domain %d \(%s\) crashed: cannot emulate instruction at RIP 0x[0-9a-f]+: "
         r"bytes 0f c7 0e( [0-9a-f]{2})* \((read|write) of unbacked gpa 0xfed00000\)$")
FRAMES = r"^menhir: frames: total (\d+), free (\d+), used (\d+)$"


def own(dom, text):
    return r"^\(d%d\) %s" % (dom, text)


def all_cases_ok(m, name, dom):
    """The guest's summary says every case passed, and it printed that many ok lines."""
    summary = one(m, own(dom, r"%s: (\d+) passed, (\d+) failed$" % name), name)
    passed, failed = int(summary.group(1)), int(summary.group(2))
    fails = [x.group(0) for x in m.find_all(own(dom, r".*FAIL.*$"))]
    check(failed == 0 and not fails, "%s: %d cases failed:\n%s" % (name, failed, "\n".join(fails)))
    oks = m.count(own(dom, r"%s: .* -> -?\d+ \(expected -?\d+\) ok$" % name))
    check(oks == passed and passed > 0, "%s: %d ok lines, summary says %d passed" % (name, oks, passed))
    return passed


def free_frames(m, first):
    """Press `m` (switching input to Menhir the first time) and return the free count."""
    if first:
        m.send_debug_key("m")
    else:
        m.send("m")
    m.wait_for(r"^menhir: 'm' pressed -> dumping memory statistics$", timeout=60)
    return int(m.wait_for(FRAMES, timeout=60).group(2))


with Machine(cpus=2, iso=iso) as m:
    m.wait_for(BANNER, timeout=120)
    before = int(m.wait_for(r"^menhir: frames free before the boot-time domUs: (\d+)$", timeout=240).group(1))
    for name, dom in DOMAINS:
        m.wait_for(r"^menhir: domain %d \(%s\): %d MiB" % (dom, re.escape(name), MEMORY_MIB), timeout=60)

    # The two mmiohole guests: every case, the rate-limited log, the crash.
    for name, dom in DOMAINS[:2]:
        crash = m.wait_for(r"^menhir: domain %d \(%s\) crashed: .*$" % (dom, name), timeout=300, anywhere=True)
        check(re.match(CRASH % (dom, name), crash.group(0)),
              "%s crashed, but not at the undecodable instruction:\n%s" % (name, crash.group(0)))
        m.wait_for(r"^menhir: domain %d \(%s\) destroyed, frames free: \d+$" % (dom, name), timeout=60,
                   anywhere=True)
    for name, dom in DOMAINS[:2]:
        n = all_cases_ok(m, name, dom)
        one(m, own(dom, r"%s: 3000 more reads, 3000 all ones$" % name), name)
        one(m, own(dom, r"%s: now cmpxchg8b on the hole" % name), name)
        check(m.count(r"^menhir: domain %d \(%s\) crashed: " % (dom, name)) == 1, "%s crashed more than once" % name)
        # Over 3000 accesses: the first 8 are logged, then every 1024th.
        logged = m.count(r"^menhir: d%d: (read|write) of unbacked gpa 0x[0-9a-f]+ at rip 0x[0-9a-f]+ " % dom)
        check(8 < logged <= 12, "%s: %d log lines for its %d+3000 unbacked accesses; expected 8 then one per 1024"
              % (name, logged, n))
        one(m, r"^menhir: d%d: .*\(further ones are reported every 1024th\)$" % dom, name)

    # balloon: free frames before, with 16 pages out, with them back.
    bal = DOMAINS[2][1]
    m.wait_for(own(bal, r"balloon: pause 1: before$"), timeout=300, anywhere=True)
    f0 = free_frames(m, first=True)
    m.send("q")
    m.wait_for(own(bal, r"balloon: pause 2: pages out$"), timeout=120, anywhere=True)
    f1 = free_frames(m, first=False)
    m.send("q")
    m.wait_for(own(bal, r"balloon: pause 3: pages back$"), timeout=120, anywhere=True)
    f2 = free_frames(m, first=False)
    m.send("q")
    m.wait_for(own(bal, r"balloon: \d+ passed, \d+ failed$"), timeout=120, anywhere=True)
    m.wait_for(r"^menhir: domain %d \(balloon\) destroyed, frames free: \d+$" % bal, timeout=60, anywhere=True)
    all_cases_ok(m, "balloon", bal)
    check(f1 - f0 == PAGES, "with %d pages ballooned out %d frames are free, %d before (%+d; expected +%d)"
          % (PAGES, f1, f0, f1 - f0, PAGES))
    check(f2 == f0, "with the pages back %d frames are free, %d before (%+d)" % (f2, f0, f2 - f0))
    # Its ballooned-out pages read through the unbacked-memory path too.
    check(m.count(r"^menhir: d%d: (read|write) of unbacked gpa " % bal) > 0,
          "balloon's accesses to its ballooned-out pages were not handled as unbacked memory")
    one(m, r"^menhir: domain %d \(balloon\) shut down: poweroff$" % bal, "balloon")

    m.check_frames_back(before, "every domain")
    print("edge_mem: ok (free frames %d before the pause, %d with %d pages out, %d with them back)"
          % (f0, f1, PAGES, f2))
