#!/usr/bin/env python3
"""Bochs's core2_penryn_t9600 has VMX and long mode but no EPT (nor
unrestricted guest): Menhir must say it cannot run guests, naming EPT, and
start none."""
from harness import Machine, check, BANNER

with Machine(cpus=1, cpu_model="core2_penryn_t9600") as m:
    m.wait_for(BANNER, timeout=120)
    line = m.wait_for(r"^menhir: cannot run guests: this CPU lacks (.+)$", timeout=120)
    check("EPT" in line.group(1), "the missing feature named is %r, expected EPT" % line.group(1))
    m.settle(2)
    # menhir.iso holds dom0 and a domU: neither may be started.
    check(m.count(r"^menhir: domain \d+ \(.*\): \d+ MiB") == 0, "a domain was built")
    check(m.count(r"^\(d\d+\) ") == 0, "a guest printed something")
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    print("cpu_without_ept: %s" % line.group(0))
