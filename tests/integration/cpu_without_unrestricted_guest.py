#!/usr/bin/env python3
"""Bochs's corei5_lynnfield_750 (Nehalem) has VMX with EPT but no unrestricted
guest: Menhir must say it cannot run guests, naming unrestricted guest, and
start none."""
from harness import Machine, check, BANNER

with Machine(cpus=1, cpu_model="corei5_lynnfield_750") as m:
    m.wait_for(BANNER, timeout=120)
    line = m.wait_for(r"^menhir: cannot run guests: this CPU lacks (.+)$", timeout=120)
    check("unrestricted guest" in line.group(1).lower(),
          "the missing feature named is %r, expected unrestricted guest" % line.group(1))
    check("EPT" not in line.group(1), "EPT named as missing, but this CPU has EPT")
    m.settle(2)
    # menhir.iso holds dom0 and a domU: neither may be started.
    check(m.count(r"^menhir: domain \d+ \(.*\): \d+ MiB") == 0, "a domain was built")
    check(m.count(r"^\(d\d+\) ") == 0, "a guest printed something")
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    print("cpu_without_unrestricted_guest: %s" % line.group(0))
