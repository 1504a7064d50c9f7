#!/usr/bin/env python3
"""The virtual local APIC: one boot with dom0 and the boot-time domU lapic
(vcpus=3), which checks itself first in xAPIC mode through the page at
0xfee00000 (ID, version, SVR, LDR/DFR, TPR seen in CR8, a self-IPI through
ICR with its ISR bit and an EOI, a one-byte read), then in x2APIC mode (APIC_BASE transitions, ID,
version, LDR, #GP rules, a self-IPI and its EOI, TPR/CR8 holding a vector
back, the one-shot and periodic timer, a fixed IPI to vCPU 1, INIT and SIPI starting vCPU 2 in real mode) with one
ok/FAIL line per case; the hypervisor says at boot how the vLAPIC works.
"""
from harness import one, Machine, check, iso_with_modules, guest, BANNER, DOM0_ELF

iso = iso_with_modules("vlapic", [(DOM0_ELF, "dom0"), (guest("lapic"), "domain name=lapic memory=8 vcpus=3")])

with Machine(cpus=2, iso=iso) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    # Bochs's VMX has all four controls: x2APIC mode runs under the CPU's
    # virtualisation, so the checks below go through its virtual-APIC page.
    m.wait_for(r"^menhir: guest local APICs: emulated, and in x2APIC mode virtualised by the CPU \(TPR shadow, "
               r"virtual-interrupt delivery", timeout=60)
    d = int(m.wait_for(r"^menhir: domain (\d+) \(lapic\): ", timeout=60).group(1))
    ended = m.wait_for(r"^menhir: domain %d \(lapic\) (shut down: poweroff|crashed: .*)$" % d, timeout=240,
                       anywhere=True)
    fails = [x.group(0) for x in m.find_all(r"^\(d%d\) .*FAIL.*$" % d)]
    check(ended.group(1) == "shut down: poweroff", "lapic: %s\n%s" % (ended.group(0), "\n".join(fails)))
    for case in [r"xAPIC: ID \(0 << 24, not all ones\) -> 0", r"xAPIC: version -> 327700",
                 r"xAPIC: TPR 0x20 is CR8 2 -> 2", r"xAPIC: self-IPI through ICR arrived -> 1",
                 r"xAPIC: ISR clear after the handler's EOI -> 0",
                 r"x2APIC mode: the xAPIC page is a hole again \(all ones\) -> 4294967295", r"self-IPI arrived -> 1", r"TPR 0x60 holds vector 0x50 back -> 0",
                 r"after CR8 = 0: vector 0x50 arrived -> 1", r"one-shot fired once -> 1",
                 r"periodic: between 5 and 60 ticks in 50 ms -> 1", r"fixed IPI taken on APIC ID 1 -> 1",
                 r"write to ID: #GP -> 1", r"non-zero EOI: #GP -> 1",
                 r"SIPI: vcpu 2 ran real-mode code at CS:IP = 0x7000:0 -> 1"]:
        one(m, r"^\(d%d\) lapic: %s \(expected -?\d+\) ok$" % (d, case), "lapic")
    tally = one(m, r"^\(d%d\) lapic: (\d+) passed, (\d+) failed$" % d, "lapic")
    check(not fails and tally.group(2) == "0" and int(tally.group(1)) > 30,
          "lapic: %s passed, %s failed:\n%s" % (tally.group(1), tally.group(2), "\n".join(fails)))
    print("vlapic: %s cases passed" % tally.group(1))
