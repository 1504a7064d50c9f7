#!/usr/bin/env python3
"""QEMU TCG with a CPU model without VMX: Menhir says so and halts; it must
not reset (QEMU runs with -no-reboot, so a triple fault would end it)."""

from harness import Machine, check, BANNER

with Machine(emulator="qemu", accel="tcg", cpus=2) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VT-x \(VMX\) not available on this CPU$", timeout=120)
    m.wait_for(r"^menhir: halting$", timeout=30)
    m.settle(3)
    check(m.alive(), "QEMU ended after 'halting' (a triple fault or reset?); see the run log")
    check(m.count(BANNER) == 1, "the machine rebooted")
    check(m.count(r"VMX on") == 0, "'VMX on' printed on a CPU without VMX")
    check(m.count(r"^menhir: domain \d+ \(") == 0 and m.count(r"^\(d\d+\) ") == 0,
          "a domain was built on a CPU without VMX")
    print("no_vtx_qemu: halted, QEMU still running 3 s later")
