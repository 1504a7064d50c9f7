#!/usr/bin/env python3
"""No guest can deafen the serial console: on one CPU, dom0 and the
deafener guest (domain 1), which spins forever with interrupts off making
back-to-back VM exits (CPUID, SCHEDOP_yield). A host interrupt pending at VM
entry is not taken as an exit while the guest has IF=0 (Bochs), so the
UART's interrupt never reaches the hypervisor while the deafener runs: it
must find serial input on its own exit path.

Checks, once the deafener spins: Ctrl-A three times switches input to
Menhir, debug key h lists the keys, q dumps the domains (dom0 and the
deafener, running), Ctrl-A three times gives input back to dom0 (whose
console back end took the deafener's ring, so the cycle has no DOM1), and
dom0's shell answers `xl list` with the deafener running. The
timeouts are generous; the answers are expected within a second (printed
for information only).

Before the exit path polled the UART this hung: no answer to Ctrl-A.
"""
import time

from harness import (Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, TO_MENHIR, DOM0_ELF, PROMPT,
                     shell_command)

iso = iso_with_modules("console_deafen", [
    (DOM0_ELF, "dom0"),
    (guest("deafener"), "domain name=deafener memory=8 vcpus=1"),
])


def timed(m, send, pattern):
    t = time.monotonic()
    send()
    m.wait_for(pattern, timeout=60)
    return time.monotonic() - t


with Machine(cpus=1, iso=iso, timeout=300) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(TO_DOM0, timeout=180)
    m.wait_for(r"^\(d1\) deafener: spinning with interrupts off$", timeout=120, anywhere=True)
    m.wait_for(PROMPT, timeout=120, partial=True, anywhere=True)
    m.settle(2)

    answers = {}
    answers["Ctrl-A x3"] = timed(m, m.switch_input, TO_MENHIR)
    answers["h"] = timed(m, lambda: m.send("h"), r"^menhir: 'h' pressed -> showing installed handlers$")
    m.wait_for(r"^menhir:  key 'q' \(ascii '71'\) => ", timeout=60, anywhere=True)
    answers["q"] = timed(m, lambda: m.send("q"), r"^menhir: 'q' pressed -> dumping domain info$")
    m.wait_for_all([r"^menhir: domain 0 \(Domain-0\): running, ", r"^menhir: domain 1 \(deafener\): "],
                   timeout=60)
    # dom0 serves the deafener's console ring: back to dom0 at once.
    answers["Ctrl-A x3 back"] = timed(m, m.switch_input, TO_DOM0)
    t = time.monotonic()
    out = shell_command(m, "xl list")
    answers["xl list"] = time.monotonic() - t
    check(any(l.startswith("deafener ") for l in out), "xl list lacks the deafener: %r" % out)

    crashed = [mt.group(0) for mt in m.find_all(r"^menhir: domain \d+ \(.*\) crashed: .*$")]
    check(not crashed, "crashed:\n%s" % "\n".join(crashed))
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    print("console_deafen: answers (wall seconds, typing included): %s"
          % ", ".join("%s %.1f" % kv for kv in answers.items()))
