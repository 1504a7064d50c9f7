#!/usr/bin/env python3
"""dom0 and 32 boot-time domUs (hello, 4 MiB each) on the default 256 MiB,
two-CPU machine: all 32 are built with ids 1..32, each gets its own command
line, prints `hello: done`, powers off and is destroyed, and afterwards the
free frame count is back to what it was before the first domU was built."""
import re

from harness import Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, DOM0_ELF

COUNT = 32
MEMORY_MIB = 4

iso = iso_with_modules("many_domains", [(DOM0_ELF, "dom0")] + [
    (guest("hello"), 'domain name=h%d memory=%d vcpus=1 cmdline="I am h%d"' % (i, MEMORY_MIB, i))
    for i in range(1, COUNT + 1)])

with Machine(cpus=2, memory=256, iso=iso, timeout=540) as m:
    m.wait_for(BANNER, timeout=120)
    before = int(m.wait_for(r"^menhir: frames free before the boot-time domUs: (\d+)$",
                            timeout=180).group(1))
    m.wait_for_all([r"^menhir: domain %d \(h%d\): %d MiB, 1 vCPUs?, weight 256, entry 0x[0-9a-f]+, "
                    r"ELF64 kernel$" % (i, i, MEMORY_MIB) for i in range(1, COUNT + 1)], timeout=120)
    m.wait_for(TO_DOM0, timeout=60)

    # Every domain's end, in whatever order they finish.
    m.wait_for_all([r"^menhir: domain %d \(h%d\) destroyed, frames free: \d+$" % (i, i)
                    for i in range(1, COUNT + 1)], timeout=420, anywhere=True)
    m.settle(1)

    for i in range(1, COUNT + 1):
        for line in ('hello: cmdline "I am h%d"' % i, "hello: done"):
            n = m.count(r"^\(d%d\) %s$" % (i, re.escape(line)))
            check(n == 1, "domain %d printed %r %d times, expected once" % (i, line, n))
        n = m.count(r"^menhir: domain %d \(h%d\) shut down: poweroff$" % (i, i))
        check(n == 1, "domain %d: %d 'shut down: poweroff' lines, expected one" % (i, n))

    frees = [int(x.group(1)) for x in
             m.find_all(r"^menhir: domain \d+ \(.*\) destroyed, frames free: (\d+)$")]
    check(len(frees) == COUNT, "%d 'destroyed' lines, expected %d" % (len(frees), COUNT))
    check(frees[-1] == before,
          "after all %d domUs were destroyed %d frames are free, %d before the first was built (%+d)"
          % (COUNT, frees[-1], before, frees[-1] - before))
    check(m.count(r"^menhir: cannot build domain|^menhir: warning: cannot create domain") == 0,
          "a domain was refused")
    check(m.count(r"^menhir: domain \d+ \(.*\) crashed:") == 0, "a domain crashed")
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    print("many_domains: %d domUs of %d MiB ran and were destroyed; %d frames free before and after; "
          "%.1fs" % (COUNT, MEMORY_MIB, before, m.elapsed()))
