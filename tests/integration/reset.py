#!/usr/bin/env python3
"""Debug key R reboots the machine (dom0 running): the banner, VMX bring-up
and dom0 come again."""
from harness import Machine, check, BANNER, TO_DOM0

DOM0_UP = r"^\(d0\) dom0: Menhir dom0 started$"

with Machine(cpus=2) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for_all([TO_DOM0, DOM0_UP], timeout=60)
    m.send_debug_key("R")
    m.wait_for(r"^menhir: 'R' pressed -> rebooting machine$", timeout=30)
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for_all([TO_DOM0, DOM0_UP], timeout=60)
    check(m.count(BANNER) == 2, "expected the banner twice, saw it %d times" % m.count(BANNER))
    check(m.alive(), "the emulator ended after the reboot")
    check(m.count(DOM0_UP) == 2, "dom0 started %d times, expected twice" % m.count(DOM0_UP))
    print("reset: rebooted into VMX root and dom0 again after %.1fs" % m.elapsed())
