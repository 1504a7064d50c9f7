#!/usr/bin/env python3
"""Timers, a second vCPU and a hostile guest, on two CPUs, in one boot: dom0
and three boot-time domUs side by side.

  sleeper (1)   single-shot timers with SCHEDOP_block (also after moving its
                vcpu_info with VCPUOP_register_vcpu_info), pvclock against the
                TSC, a time area (VCPUOP_register_vcpu_time_memory_area)
                mirroring it, a stopped timer, SCHEDOP_poll woken by the timer, the
                wallclock
  smp2 (2)      vcpus=2: vCPU 1 through VCPUOP_initialise/up, IPIs both
                ways, VCPUOP_down, a shared counter
  hostile (3)   every event-channel, grant, timer and vCPU misuse, and the
                privileged calls (domctl, sysctl, foreign mapping) from a domU

Every ok line must be there, no line anywhere may say FAIL, every domU powers
off and is destroyed, the free frames come back to the count before the
first domU, and afterwards the hypervisor still answers the debug key q,
listing dom0 alone.
"""
import calendar
import re
import time

from harness import Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, DOM0_ELF, one

MEMORY_MIB = 8
SLEEPS = 5               # sleeper's default
SMP_COUNT = 100000       # smp2's default count
HOSTILE_MIN = 70         # hostile ran 79 cases when this test was written

# (name, vCPUs): ids 1.. in module order.
DOMAINS = [("sleeper", 1), ("smp2", 2), ("hostile", 1)]
IDS = {name: i for i, (name, _) in enumerate(DOMAINS, start=1)}

iso = iso_with_modules("timers_smp_hostile", [(DOM0_ELF, "dom0")] + [
    (guest(name), "domain name=%s memory=%d vcpus=%d" % (name, MEMORY_MIB, vcpus))
    for name, vcpus in DOMAINS])

HEX = r"0x[0-9a-f]+"
CASE = r"(.+) -> (-?\d+) \(expected (-?\d+)\) (ok|FAIL)$"


def cases(m, name):
    """{case: (result, expected, verdict)} of NAME's `CASE -> R (expected E) ok|FAIL` lines."""
    found = m.find_all(r"^\(d%d\) %s: %s" % (IDS[name], name, CASE))
    return {mt.group(1): (int(mt.group(2)), int(mt.group(3)), mt.group(4)) for mt in found}, len(found)


def utc_seconds(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S"))


with Machine(cpus=2, iso=iso, timeout=300) as m:
    m.wait_for(BANNER, timeout=120)
    rtc = m.wait_for(r"^menhir: RTC: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$", timeout=120).group(1)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for(r"^menhir: domain 0 \(Domain-0\): ", timeout=60)
    before = int(m.wait_for(r"^menhir: frames free before the boot-time domUs: (\d+)$",
                            timeout=60).group(1))
    for name, vcpus in DOMAINS:
        mt = m.wait_for(r"^menhir: domain (\d+) \(%s\): %d MiB, %d vCPUs?, weight 256, entry %s, "
                        r"ELF64 kernel$" % (name, MEMORY_MIB, vcpus, HEX), timeout=60)
        check(int(mt.group(1)) == IDS[name], "domain %s got id %s, expected %d (module order)"
              % (name, mt.group(1), IDS[name]))
    m.wait_for(TO_DOM0, timeout=60)

    m.wait_for_all([r"^menhir: domain %d \(%s\) destroyed, frames free: \d+$" % (IDS[n], n)
                    for n, _ in DOMAINS], timeout=240, anywhere=True)
    m.settle(1)
    d = {name: r"^\(d%d\) %s: " % (i, name) for name, i in IDS.items()}

    fails = [mt.group(0) for mt in m.find_all(r"^.*FAIL.*$")]
    check(not fails, "FAIL lines:\n%s" % "\n".join(fails))

    # sleeper: each sleep ok, the stopped timer, the poll, the wallclock.
    for k in range(1, SLEEPS + 1):
        one(m, d["sleeper"] + r"sleep %d: \d+ us pvclock, \d+ us by TSC, timer at \+\d+ us, "
            r"\d+ blocks? ok$" % k, "sleeper")
    check(m.count(d["sleeper"] + r"sleep \d+: ") == SLEEPS, "sleeper: not %d sleep lines" % SLEEPS)
    one(m, d["sleeper"] + r"%d sleeps ok$" % SLEEPS, "sleeper")
    # VCPUOP_register_vcpu_info: upcalls and pvclock follow the moved vcpu_info; a second move is refused.
    one(m, d["sleeper"] + r"moved vcpu_info: register -> 0, again -> -\d+, 3 sleeps after the move ok$", "sleeper")
    one(m, d["sleeper"] + r"time area: register -> 0, the pvclock copied, followed after a sleep, misaligned -> -22, "
        r"unregister -> 0, then left alone ok$", "sleeper")
    one(m, d["sleeper"] + r"stopped timer: set 0, stop 0, poll 0 after \d+ us, port idle, "
        r"0 events ok$", "sleeper")
    one(m, d["sleeper"] + r"poll woken by the timer after \d+ us, port pending ok$", "sleeper")
    # The wallclock comes from the same RTC the hypervisor read at boot: it
    # must be that time plus the (emulated) seconds since.
    wc = one(m, d["sleeper"] + r"wallclock (.+)$", "sleeper").group(1)
    mt = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC \((\d+)\.\d{9} s since 1970\)$", wc)
    check(mt, "sleeper: no wallclock: %r" % wc)
    check(utc_seconds(mt.group(1)) == int(mt.group(2)),
          "sleeper: the wallclock's date %s and seconds %s disagree" % (mt.group(1), mt.group(2)))
    delta = int(mt.group(2)) - utc_seconds(rtc)
    check(0 <= delta <= 600, "sleeper's wallclock %s is %+d s from the RTC time %s read at boot"
          % (mt.group(1), delta, rtc))
    one(m, d["sleeper"] + r"all ok$", "sleeper")

    # smp2: the second vCPU came up, IPIs went both ways, it went down.
    smp, n_smp = cases(m, "smp2")
    bad = ["%s -> %d (expected %d) %s" % ((c,) + r) for c, r in smp.items() if r[2] != "ok" or r[0] != r[1]]
    check(not bad, "smp2 checks that failed:\n%s" % "\n".join(bad))
    for case in ("initialise(vcpu 1)", "up(vcpu 1)", "is_up(vcpu 1)", "send IPI to vcpu 1",
                 "IPI 0 -> 1 handled on vcpu 1", "IPI 1 -> 0 handled on vcpu 0",
                 "IPI handlers on the wrong vcpu", "is_up(vcpu 1) after its VCPUOP_down"):
        check(case in smp, "smp2: no check line for %r" % case)
    check(n_smp == len(smp), "smp2 printed a check twice")
    # Both vCPUs incremented a shared counter: none of the increments was lost.
    one(m, d["smp2"] + r"counters %d \+ %d, shared %d \(expected %d\) ok$"
        % (SMP_COUNT, SMP_COUNT, 2 * SMP_COUNT, 2 * SMP_COUNT), "smp2")
    one(m, d["smp2"] + r"vcpu 1 up$", "smp2")
    one(m, d["smp2"] + r"ok$", "smp2")

    # hostile: every case refused as Xen refuses it, the privileged calls among them.
    summary = one(m, d["hostile"] + r"(\d+) passed, (\d+) failed$", "hostile")
    passed, failed = int(summary.group(1)), int(summary.group(2))
    hostile, n_hostile = cases(m, "hostile")
    bad = ["%s -> %d (expected %d) %s" % ((c,) + r) for c, r in hostile.items()
           if r[2] != "ok" or r[0] != r[1]]
    check(failed == 0 and not bad, "hostile: %d failed:\n%s" % (failed, "\n".join(bad)))
    check(passed >= HOSTILE_MIN, "hostile ran only %d cases (expected at least %d)" % (passed, HOSTILE_MIN))
    check(n_hostile == passed, "hostile says %d passed but printed %d case lines" % (passed, n_hostile))
    for case in ("domctl get_info(dom 0)", "domctl create", "domctl destroy(dom 0)", "sysctl physinfo",
                 "add_to_physmap_batch(gmfn_foreign from dom 0)"):
        check(case in hostile, "hostile: no case %r" % case)
        check(hostile[case][0] != 0, "hostile: %r was allowed" % case)

    # Every domU powered off by itself and was destroyed once.
    m.check_powered_off_once(IDS)
    m.check_frames_back(before)

    # The hypervisor still answers, and only dom0 is left.
    m.check_only_dom0_left()

    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    check(m.count(r"^menhir: domain 0 \(Domain-0\) (crashed|shut down|destroyed)") == 0, "dom0 died")
    print("timers_smp_hostile: %d sleeps, smp2 %d checks, hostile %d/%d ok, wallclock %+d s from the "
          "RTC, %d frames free before and after; %.1fs" % (SLEEPS, n_smp, passed, passed, delta, before,
                                                          m.elapsed()))
