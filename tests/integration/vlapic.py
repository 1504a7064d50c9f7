#!/usr/bin/env python3
"""The virtual local APIC, two boots with dom0 and the boot-time domU lapic
(vcpus=3): first as the hypervisor starts by default, where Bochs's VMX
virtualises both modes (its APIC-access page for xAPIC, virtualize x2APIC
mode; TPR shadow, APIC-register virtualisation and virtual-interrupt
delivery for both), then with apicv=0, where every access exits to the
emulated vLAPIC. The same checks must pass both ways: the guest checks
itself first in xAPIC mode through the page at 0xfee00000 (ID, version,
SVR, LDR/DFR, TPR seen in CR8, PPR, a self-IPI through ICR with its ISR bit
and an EOI, an IPI to its own ID through ICR_HI then ICR_LO, one-byte reads
and writes), then in x2APIC mode (APIC_BASE transitions, ID, version, LDR,
#GP rules, a self-IPI and its EOI, TPR/CR8 holding a vector back, the
one-shot and periodic timer, a fixed IPI to vCPU 1, INIT and SIPI starting
vCPU 2 in real mode) with one ok/FAIL line per case; the hypervisor says at
boot how the vLAPIC works, and CPUID leaf 0x40000004 tells the guest.
"""
from harness import one, Machine, check, iso_with_modules, guest, BANNER, DOM0_ELF

MODULES = [(DOM0_ELF, "dom0"), (guest("lapic"), "domain name=lapic memory=8 vcpus=3")]
CONSOLE = "console=com1 com1=115200,8n1"
BOOTS = [
    ("vlapic", CONSOLE,
     r"^menhir: guest local APICs: emulated, and virtualised by the CPU in xAPIC and x2APIC mode \(APIC-access page", 3),
    ("vlapic-apicv0", CONSOLE + " apicv=0",
     r"^menhir: guest local APICs: emulated, x2APIC MSRs and the xAPIC page by exits \(apicv=0", 0),
]
CASES = [r"xAPIC: ID \(0 << 24, not all ones\) -> 0", r"xAPIC: version -> 327700",
         r"xAPIC: TPR 0x20 is CR8 2 -> 2", r"xAPIC: PPR follows TPR -> 32",
         r"xAPIC: self-IPI through ICR arrived -> 1", r"xAPIC: ISR clear after the handler's EOI -> 0",
         r"xAPIC: IPI to its own ID through ICR_HI and ICR_LO arrived -> 1",
         r"xAPIC: ICR_HI reads back its destination -> 117440512",
         r"xAPIC: IPI to an absent ID is not taken here -> 2",
         r"xAPIC: a one-byte write merges into its register -> 2147483648",
         r"x2APIC mode: the xAPIC page is a hole again \(all ones\) -> 4294967295", r"self-IPI arrived -> 1",
         r"TPR 0x60 holds vector 0x50 back -> 0", r"after CR8 = 0: vector 0x50 arrived -> 1",
         r"one-shot fired once -> 1", r"periodic: between 5 and 60 ticks in 50 ms -> 1",
         r"fixed IPI taken on APIC ID 1 -> 1", r"write to ID: #GP -> 1", r"non-zero EOI: #GP -> 1",
         r"SIPI: vcpu 2 ran real-mode code at CS:IP = 0x7000:0 -> 1"]

for name, cmdline, decision, leaf_bits in BOOTS:
    iso = iso_with_modules(name, MODULES, cmdline=cmdline)
    with Machine(cpus=2, iso=iso, name=name) as m:
        m.wait_for(BANNER, timeout=120)
        m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
        m.wait_for(decision, timeout=60)
        d = int(m.wait_for(r"^menhir: domain (\d+) \(lapic\): ", timeout=60).group(1))
        # Xen's HVM leaf tells the guest the same (bit 0 xAPIC, bit 1 x2APIC).
        bits = m.wait_for(r"^\(d%d\) lapic: CPUID 0x40000004 EAX\[1:0\] = (\d+)$" % d, timeout=120)
        check(int(bits.group(1)) == leaf_bits, "%s: %s, expected %d" % (name, bits.group(0), leaf_bits))
        ended = m.wait_for(r"^menhir: domain %d \(lapic\) (shut down: poweroff|crashed: .*)$" % d, timeout=240,
                           anywhere=True)
        fails = [x.group(0) for x in m.find_all(r"^\(d%d\) .*FAIL.*$" % d)]
        check(ended.group(1) == "shut down: poweroff", "%s: %s\n%s" % (name, ended.group(0), "\n".join(fails)))
        for case in CASES:
            one(m, r"^\(d%d\) lapic: %s \(expected -?\d+\) ok$" % (d, case), name)
        tally = one(m, r"^\(d%d\) lapic: (\d+) passed, (\d+) failed$" % d, name)
        check(not fails and tally.group(2) == "0" and int(tally.group(1)) > 30,
              "%s: %s passed, %s failed:\n%s" % (name, tally.group(1), tally.group(2), "\n".join(fails)))
        print("%s: %s cases passed" % (name, tally.group(1)))
