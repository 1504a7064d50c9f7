#!/usr/bin/env python3
"""One boot, dom0 and boot-time domUs for CPU edge behaviour a PVH domU gets
from Xen, each checking itself with one ok/FAIL line per case:

  pae32      32-bit PAE paging: the PDPTEs reach the VMCS when CR0.PG is
             emulated (a reserved PDPTE bit gives #GP), a MOV to CR3 switches
             to a second PDPT
"""
import re

from harness import one, Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, DOM0_ELF

MEMORY_MIB = 8
GUESTS = [  # (name, kernel, lines that must appear)
    ("pae32", guest("pae32"), [r"pae32: paging on"]),
]

modules = [(DOM0_ELF, "dom0")]
for name, kernel, _ in GUESTS:
    modules.append((kernel, "domain name=%s memory=%d vcpus=1" % (name, MEMORY_MIB)))
iso = iso_with_modules("edge_cpu", modules)

with Machine(cpus=2, iso=iso) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    ids = {}
    for name, _, _ in GUESTS:
        mt = m.wait_for(r"^menhir: domain (\d+) \(%s\): " % re.escape(name), timeout=60)
        ids[name] = int(mt.group(1))
    for name, _, lines in GUESTS:
        d = ids[name]
        ended = m.wait_for(r"^menhir: domain %d \(%s\) (shut down: poweroff|crashed: .*)$" % (d, re.escape(name)),
                           timeout=240)
        check(ended.group(1) == "shut down: poweroff", "%s: %s" % (name, ended.group(0)))
        for line in lines:
            one(m, r"^\(d%d\) %s$" % (d, line), name)
        tally = one(m, r"^\(d%d\) %s: (\d+) passed, (\d+) failed$" % (d, name), name)
        fails = [x.group(0) for x in m.find_all(r"^\(d%d\) .*FAIL.*$" % d)]
        check(not fails and tally.group(2) == "0" and int(tally.group(1)) > 0,
              "%s: %s passed, %s failed:\n%s" % (name, tally.group(1), tally.group(2), "\n".join(fails)))
    m.wait_for(r"^menhir: domain %d \(%s\) destroyed" % (ids[GUESTS[-1][0]], GUESTS[-1][0]), timeout=60)
    m.check_powered_off_once(ids)
    print("edge_cpu: %s passed" % ", ".join(ids))
