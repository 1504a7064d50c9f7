#!/usr/bin/env python3
"""Isolation and per-domain limits, in one boot: dom0 and the aliaser guest
(tests/guests/aliaser) on two CPUs.

The aliaser grants to itself and tries to hand on, or make the hypervisor
write into, pages that are not its own RAM; each case prints
`aliaser: CASE -> R (expected E) ok|FAIL`. Every case line must be there and
say ok, no line anywhere may say FAIL, the aliaser powers off (it is not
crashed), the hypervisor does not panic, and the free frame count comes back
to what it was before the domU was built.
"""
from harness import Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, DOM0_ELF, one

ALIASER_CASES = 41       # the aliaser's case lines (tests/guests/README.md)
IDS = {"aliaser": 1}

iso = iso_with_modules("isolation", [(DOM0_ELF, "dom0"),
                                     (guest("aliaser"), "domain name=aliaser memory=32 vcpus=4")])
CASE = r"^\(d1\) aliaser: (.+) -> (-?\d+) \(expected (-?\d+)\) (ok|FAIL)$"

with Machine(cpus=2, iso=iso, timeout=300) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    before = int(m.wait_for(r"^menhir: frames free before the boot-time domUs: (\d+)$",
                            timeout=120).group(1))
    m.wait_for(TO_DOM0, timeout=60)
    m.wait_for(r"^menhir: domain 1 \(aliaser\) (destroyed, frames free: \d+|crashed: .*)$|PANIC",
               timeout=240)
    m.settle(1)
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    fails = [mt.group(0) for mt in m.find_all(r"^.*FAIL.*$")]
    check(not fails, "FAIL lines:\n%s" % "\n".join(fails))
    cases = m.find_all(CASE)
    bad = [c.group(0) for c in cases if c.group(4) != "ok" or c.group(2) != c.group(3)]
    check(not bad, "aliaser cases that failed:\n%s" % "\n".join(bad))
    check(len(cases) == ALIASER_CASES, "aliaser printed %d case lines, expected %d"
          % (len(cases), ALIASER_CASES))
    one(m, r"^\(d1\) aliaser: %d passed, 0 failed$" % ALIASER_CASES, "aliaser")
    m.check_powered_off_once(IDS)
    m.check_frames_back(before)
    check(m.count(BANNER) == 1, "the machine rebooted")
    print("isolation: %d aliaser cases ok, %d frames free before and after; %.1fs"
          % (ALIASER_CASES, before, m.elapsed()))
