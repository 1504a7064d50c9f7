#!/usr/bin/env python3
"""Debug key P powers the machine off through ACPI S5: the emulator ends by
itself, and scripts/run reports a power-off (exit status 0)."""
from harness import Machine, check, BANNER, TO_DOM0

with Machine(cpus=2) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for(TO_DOM0)
    m.send_debug_key("P")
    m.wait_for(r"^menhir: 'P' pressed -> powering off$", timeout=30)
    status = m.wait_exit(timeout=60)
    check(status == 0, "scripts/run exited with status %d after the power-off" % status)
    check("machine powered off (ACPI control: soft power off)" in m.run_log(),
          "the emulator ended, but not through ACPI S5 (see the run log)")
    check(m.count(BANNER) == 1, "the machine rebooted instead of powering off")
    print("poweroff: the emulator ended by itself after %.1fs" % m.elapsed())
