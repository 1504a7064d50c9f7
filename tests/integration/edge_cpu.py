#!/usr/bin/env python3
"""One boot, dom0 and boot-time domUs for CPU edge behaviour a PVH domU gets
from Xen, each checking itself with one ok/FAIL line per case:

  pae32      32-bit PAE paging: the PDPTEs reach the VMCS when CR0.PG is
             emulated (a reserved PDPTE bit gives #GP), a MOV to CR3 switches
             to a second PDPT
  msrs       IA32_TSC_ADJUST, IA32_XSS with CPUID leaf 0xD, CPUID faulting from
             ring 3, #GP for unknown MSRs; the hypervisor logs each unknown MSR
             once per domain, at most 16, then says it stopped
  taskgate32 a #DF through an IDT task gate runs in its own task (the
             hypervisor emulates the task switch), which IRETs back; then
             CALL and JMP to a TSS and back
"""
import re

from harness import one, Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, DOM0_ELF

MEMORY_MIB = 8
GUESTS = [  # (name, kernel, lines that must appear)
    ("pae32", guest("pae32"), [r"pae32: paging on"]),
    ("msrs", guest("msrs"), []),
    ("taskgate32", guest("taskgate32"), [r"taskgate32: double fault handled in its task"]),
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
    # Every guest ends before any is judged, so one failure does not hide the others'.
    ended = {}
    for name, _, _ in GUESTS:
        ended[name] = m.wait_for(r"^menhir: domain %d \(%s\) (shut down: poweroff|crashed: .*)$"
                                 % (ids[name], re.escape(name)), timeout=240, anywhere=True)
    for name, _, lines in GUESTS:
        d = ids[name]
        check(ended[name].group(1) == "shut down: poweroff", "%s: %s" % (name, ended[name].group(0)))
        for line in lines:
            one(m, r"^\(d%d\) %s$" % (d, line), name)
        tally = one(m, r"^\(d%d\) %s: (\d+) passed, (\d+) failed$" % (d, name), name)
        fails = [x.group(0) for x in m.find_all(r"^\(d%d\) .*FAIL.*$" % d)]
        check(not fails and tally.group(2) == "0" and int(tally.group(1)) > 0,
              "%s: %s passed, %s failed:\n%s" % (name, tally.group(1), tally.group(2), "\n".join(fails)))
    for name, d in ids.items():
        m.wait_for(r"^menhir: domain %d \(%s\) destroyed" % (d, re.escape(name)), timeout=60, anywhere=True)
    m.check_powered_off_once(ids)

    # Unknown MSRs: one line for 0x12345678 (read, written, read again), then
    # 15 of the 40 that follow fill the table of 16, and one line says so.
    d = ids["msrs"]
    one(m, r"^menhir: domain %d \(msrs\): rdmsr of unknown MSR 0x12345678: #GP \(logged once\)$" % d, "msrs")
    check(not m.find_all(r"^menhir: domain %d \(msrs\): wrmsr of unknown MSR 0x12345678" % d),
          "msrs: the write of 0x12345678 was logged again")
    logged = m.find_all(r"^menhir: domain %d \(msrs\): (rd|wr)msr of unknown MSR " % d)
    check(len(logged) == 16, "msrs: %d unknown-MSR lines, expected 16 (the table size)" % len(logged))
    one(m, r"^menhir: domain %d \(msrs\): more than 16 unknown MSRs, no more logged$" % d, "msrs")
    print("edge_cpu: %s passed" % ", ".join(ids))
