#!/usr/bin/env python3
"""Credit scheduler on two CPUs: four spinners of equal weight. All four
advance, none starves (the slowest gets more than half of what the fastest
gets), and the run queues (debug key r) show both CPUs running spinners with
the other two queued."""
import re
import time

from harness import Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, DOM0_ELF, TestFailure

EVERY = 2_000_000        # loop iterations (2 instructions each) per report
NAMES = ["s1", "s2", "s3", "s4"]
# About 13 emulated seconds of two CPUs shared by four spinners: each gets
# half a CPU, 25 M instructions per emulated second, 6 reports.
TOTAL_REPORTS = 320
MIN_EACH = 40            # no spinner may stay below this (a fair share is 80)
MIN_RATIO = 0.5          # slowest / fastest

iso = iso_with_modules("sched_smp", [(DOM0_ELF, "dom0")] + [
    (guest("spinner"), 'domain name=%s memory=8 vcpus=1 cmdline="name=%s every=%d"'
     % (name, name, EVERY)) for name in NAMES])


with Machine(cpus=2, iso=iso, timeout=300) as m:
    m.wait_for(BANNER, timeout=120)
    ids = {}
    for name in NAMES:
        mt = m.wait_for(r"^menhir: domain (\d+) \(%s\): 8 MiB, 1 vCPUs?, weight 256, " % name, timeout=180)
        ids[name] = int(mt.group(1))
    m.wait_for(TO_DOM0, timeout=60)

    wall = m.wait_spinner_reports(ids, TOTAL_REPORTS)

    # r: what each CPU runs and what waits. dom0 may be running or queued
    # for a moment (it is allowed to); then r is asked again, at most 3 times.
    m.switch_input()
    m.wait_for(r"^menhir: \*\*\* Serial input to Menhir ", timeout=30)
    c = m.spinner_counters(ids)
    spinner_ids = set(ids.values())
    problems = []
    for attempt in range(3):
        m.send("r")
        m.wait_for(r"^menhir: 'r' pressed -> dumping run queues$", timeout=30)
        cpu_lines = m.wait_for_all([r"^menhir: CPU%d: (running d(\d+)v(\d+)|idle), (\d+) queued$" % i
                                    for i in range(2)], timeout=30)
        m.settle(1)
        dump = m.output()[m.output().rfind("'r' pressed"):]
        running = [int(mt.group(2)) if mt.group(2) else None for mt in cpu_lines]
        queued = [int(x) for x in re.findall(r"^menhir:   d(\d+)v\d+ runtime \d+ ms$", dump, re.M)]
        announced = sum(int(mt.group(4)) for mt in cpu_lines)
        check(len(queued) == announced, "the CPU lines announce %d queued units, %d are listed:\n%s"
              % (announced, len(queued), dump))
        check(None not in running, "a CPU is idle while four spinners want CPU:\n%s" % dump)
        seen = sorted(x for x in running + queued if x != 0)
        check(seen == sorted(spinner_ids), "running %s and queued %s: the four spinners %s should "
              "each be there once:\n%s" % (running, queued, sorted(spinner_ids), dump))
        if all(x in spinner_ids for x in running):
            break
        problems.append(dump)
    else:
        raise TestFailure("r never showed both CPUs running spinners:\n%s" % "\n".join(problems))
    check(running[0] != running[1], "both CPUs run d%d" % running[0])

    low, high = min(c.values()), max(c.values())
    check(low >= MIN_EACH, "a spinner fell behind: %s (each should reach %d)" % (c, MIN_EACH))
    check(low / high > MIN_RATIO, "a spinner is starved: %s (slowest/fastest %.2f, must be > %.1f)"
          % (c, low / high, MIN_RATIO))
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(r"^menhir: domain \d+ \(.*\) (crashed|shut down)") == 0, "a domain died")
    print("sched_smp: counters %s (slowest/fastest %.2f); r: CPUs run d%d and d%d, queued %s; "
          "%.1f s wall clock" % (c, low / high, running[0], running[1], queued, wall))
