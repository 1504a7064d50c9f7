#!/usr/bin/env python3
"""Device delegation and VIRQ_DOM_EXC, in one boot on two CPUs.

dom0 (`test=devices`) owns the primary ATA channel's ports and IRQ 14. It
binds pirq 14 and VIRQ_DOM_EXC, sends IDENTIFY to the primary master (the
emulator's CD-ROM) through the delegated ports and waits for the device's
interrupt, which must arrive as an event; it reads the answer with REP INSW
(string I/O passed through to the port). Then it shuts domain 1 (a spinner)
down with domctl, and VIRQ_DOM_EXC must tell it so. The hypervisor must log
the IRQ delegation, the shutdown and the destruction. (Frame accounting is
checked by the other tests: here dom0 itself takes a frame when mapping its
shared_info splits a large EPT page, so the counts legitimately differ.)
"""
from harness import Machine, check, iso_with_modules, guest, DOM0_ELF

iso = iso_with_modules("dom0_devices", [
    (DOM0_ELF, "dom0 test=devices"),
    (guest("spinner"), "domain name=spin memory=8 vcpus=1 cmdline=name=s"),
])

with Machine(cpus=2, iso=iso, timeout=240) as m:
    m.wait_for(r"^menhir: IRQ 14 delegated to domain 0 \(Domain-0\)$", timeout=120)
    irq = m.wait_for(r"^\(d0\) dom0: ATA IRQ 14 arrived as event on port (\d+) \((\d+) events\)$", timeout=120)
    check(int(irq.group(1)) > 0, "the pirq port must be a real port, not %s" % irq.group(1))
    check(int(irq.group(2)) >= 1, "at least one interrupt event, got %s" % irq.group(2))
    model = m.wait_for(r'^\(d0\) dom0: ATA model "([^"]*)"$', timeout=30).group(1)
    check(model.strip() != "", "IDENTIFY's model string came back empty: REP INSW read nothing")
    m.wait_for(r"^\(d1\) spinner s: started", timeout=120, anywhere=True)   # it ran before dom0 stops it
    m.wait_for(r"^menhir: domain 1 \(spin\) shut down: poweroff$", timeout=60)
    exc = m.wait_for(r"^\(d0\) dom0: VIRQ_DOM_EXC received on port (\d+)$", timeout=60)
    check(exc.group(1) != irq.group(1), "VIRQ_DOM_EXC and pirq 14 must be different ports")
    m.wait_for(r"^\(d0\) dom0: test=devices ok$", timeout=30)
    # Freed by whichever CPU passes a quiescent point last: its line may come
    # before or after dom0's.
    m.wait_for(r"^menhir: domain 1 \(spin\) destroyed, frames free: \d+$", timeout=60, anywhere=True)
    check(not m.find_all(r"FAIL|crashed|PANIC"), "no FAIL, crash or panic may appear")
print("dom0_devices: ok")
