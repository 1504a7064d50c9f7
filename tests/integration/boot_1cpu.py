#!/usr/bin/env python3
"""One CPU, with hypervisor options: x2apic=0 forces xAPIC mode, an unknown
option is warned about and boot goes on to VMX root operation. menhir.iso
with --cmdline is a copy that scripts/run repacks (mkiso --from-iso): dom0
and the boot-time demo domU must still start (the demo's command line
whole), dom0 take its console over and give the administrator its prompt."""
from harness import Machine, check, BANNER, TO_DOM0, PROMPT

CMDLINE = "console=com1 com1=115200,8n1 x2apic=0 bogus_option=1"
DEMO_CMDLINE = "started by the hypervisor at boot"   # the boot-time demo domU's, in CMakeLists.txt

with Machine(cpus=1, cmdline=CMDLINE) as m:
    m.wait_for(BANNER, timeout=120)
    line = m.wait_for(r"^menhir: command line: (.*)$").group(1)
    check(line.strip() == CMDLINE,
          "the hypervisor saw command line %r, expected %r" % (line, CMDLINE))
    m.wait_for(r"^menhir: VMX on 1/1 CPUs$", timeout=120)
    m.wait_for(TO_DOM0)
    m.wait_for_all([r"^\(d0\) dom0: Menhir dom0 started$",
                    r'^\(d1\) demo: domain 1 up \(16 MiB, 0 modules\), cmdline "%s"$' % DEMO_CMDLINE,
                    r"^menhir: d1: console handed over to dom0 \(gfn 0xfefff, port \d+\)$"],
                   timeout=60, anywhere=True)
    m.wait_for(PROMPT, timeout=60, partial=True)

    out = m.output()
    check(m.count(r"^menhir: warning: unknown option 'bogus_option=1'$") == 1
          or m.count(r"^menhir: warning: unknown option 'bogus_option'$") == 1,
          "expected exactly one \"menhir: warning: unknown option 'bogus_option=1'\" line")
    check(m.count(r"^menhir: warning: unknown option '(x2apic|console|com1)") == 0,
          "a known option was reported as unknown")
    check(m.count(r"^menhir: local APIC in xAPIC mode$") == 1,
          "x2apic=0 must give exactly one 'menhir: local APIC in xAPIC mode' line")
    check(m.count(r"^menhir: local APIC in x2APIC mode$") == 0,
          "x2apic=0 was ignored: the local APIC is in x2APIC mode")
    check(m.count(r"^menhir: VMX on \d+/\d+ CPUs$") == 1,
          "expected one 'VMX on' line, saw %d" % m.count(r"^menhir: VMX on \d+/\d+ CPUs$"))
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    print("boot_1cpu: VMX on 1/1, xAPIC forced, unknown option warned; dom0 and the demo domU ran, dom0 prompts; "
          "%.1fs" % m.elapsed())
