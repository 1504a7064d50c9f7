#!/usr/bin/env python3
"""Debug key R reboots the machine: the banner and VMX bring-up come again."""
from harness import Machine, check, BANNER, TO_DOM0

with Machine(cpus=2) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for(TO_DOM0)
    m.send_debug_key("R")
    m.wait_for(r"^menhir: 'R' pressed -> rebooting machine$", timeout=30)
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for(TO_DOM0)
    check(m.count(BANNER) == 2, "expected the banner twice, saw it %d times" % m.count(BANNER))
    check(m.alive(), "the emulator ended after the reboot")
    print("reset: rebooted into VMX root again after %.1fs" % m.elapsed())
