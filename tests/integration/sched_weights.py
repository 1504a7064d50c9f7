#!/usr/bin/env python3
"""Credit scheduler weights on one CPU: spinner a (weight 256) and spinner b
(weight 512) burn CPU side by side for about 25 emulated seconds; b must get
about twice a's CPU, by its progress counter and by the CPU time that the
debug key q reports."""
import re
import time

from harness import Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, DOM0_ELF, TestFailure

EVERY = 2_000_000        # loop iterations (2 instructions each) per report
IPS = 50_000_000         # Bochs's emulated instructions per second (scripts/run's default)
EMULATED_SECONDS = 25    # how long the two share the CPU, in emulated time
# Reports a and b make together in that time (a report costs 2 * EVERY
# instructions, plus a little for the print).
TOTAL_REPORTS = EMULATED_SECONDS * IPS // (2 * EVERY)
LOW, HIGH = 1.7, 2.3     # accepted b/a ratio (the weights say 2)

SPINNERS = [("a", 256), ("b", 512)]
iso = iso_with_modules("sched_weights", [(DOM0_ELF, "dom0")] + [
    (guest("spinner"), 'domain name=%s memory=8 vcpus=1 weight=%d cmdline="name=%s every=%d"'
     % (name, weight, name, EVERY)) for name, weight in SPINNERS])


with Machine(cpus=1, iso=iso, timeout=300) as m:
    m.wait_for(BANNER, timeout=120)
    ids = {}
    for name, weight in SPINNERS:
        mt = m.wait_for(r"^menhir: domain (\d+) \(%s\): 8 MiB, 1 vCPUs?, weight %d, " % (name, weight),
                        timeout=180)
        ids[name] = int(mt.group(1))
    m.wait_for(TO_DOM0, timeout=60)
    for name in ids:
        m.wait_for(r"^\(d%d\) spinner %s: started, every %d$" % (ids[name], name, EVERY), timeout=60,
                   anywhere=True)

    wall = m.wait_spinner_reports(ids, TOTAL_REPORTS)

    # The counters at the moment q is pressed, then the CPU time q reports.
    m.switch_input()
    m.wait_for(r"^menhir: \*\*\* Serial input to Menhir ", timeout=30)
    c = m.spinner_counters(ids)
    m.send("q")
    m.wait_for(r"^menhir: 'q' pressed -> dumping domain info$", timeout=30)
    lines = m.wait_for_all([r"^menhir: domain %d \(%s\): (\w+), 8 MiB, 1 vCPUs?, weight (\d+), cap (\d+), "
                            r"CPU time (\d+) ms$" % (ids[name], name) for name, _ in SPINNERS], timeout=30)
    cpu_ms = {}
    for (name, weight), mt in zip(SPINNERS, lines):
        state, w, cap, ms = mt.groups()
        check(state == "running", "spinner %s is %s, expected running" % (name, state))
        check(int(w) == weight, "spinner %s has weight %s in 'q', expected %d" % (name, w, weight))
        check(int(cap) == 0, "spinner %s has cap %s, expected 0 (none)" % (name, cap))
        cpu_ms[name] = int(ms)

    check(c["a"] > 0 and cpu_ms["a"] > 0, "spinner a never ran: counters %s, CPU time %s" % (c, cpu_ms))
    ratio = c["b"] / c["a"]
    check(LOW <= ratio <= HIGH, "counters b/a = %d/%d = %.2f, expected %.1f-%.1f (weights 512:256)"
          % (c["b"], c["a"], ratio, LOW, HIGH))
    cpu_ratio = cpu_ms["b"] / cpu_ms["a"]
    check(LOW <= cpu_ratio <= HIGH, "CPU time b/a = %d/%d ms = %.2f, expected %.1f-%.1f (weights 512:256)"
          % (cpu_ms["b"], cpu_ms["a"], cpu_ratio, LOW, HIGH))
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(r"^menhir: domain \d+ \(.*\) (crashed|shut down)") == 0, "a domain died")
    print("sched_weights: counters a %d, b %d (b/a %.2f); CPU time a %d ms, b %d ms (b/a %.2f); "
          "%.1f emulated s of spinning in %.1f s wall clock"
          % (c["a"], c["b"], ratio, cpu_ms["a"], cpu_ms["b"], cpu_ratio,
             (cpu_ms["a"] + cpu_ms["b"]) / 1000, wall))
