#!/usr/bin/env python3
"""Debug key C crashes the hypervisor on purpose: a panic dump, every CPU
stopped, and no reboot."""

from harness import Machine, check, BANNER, TO_DOM0

with Machine(cpus=2) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for(TO_DOM0)
    m.send_debug_key("C")
    m.wait_for(r"^menhir: 'C' pressed -> crashing the hypervisor \(testing the panic path\)$",
               timeout=30)
    m.wait_for(r"^menhir: PANIC on CPU\s*\d+", timeout=30)
    dump = m.wait_for(r"^menhir: all CPUs stopped$", timeout=60)
    text = m.output()
    start = text.rfind("menhir: PANIC on CPU", 0, dump.start())
    body = text[start:dump.end()]
    for word in ("vector", "error code", "RIP", "CR2", "backtrace:"):
        check(word in body, "the panic dump lacks %r:\n%s" % (word, body))
    after = m.settle(5)
    check(m.count(BANNER) == 1, "the machine rebooted after the panic")
    check(m.alive(), "the emulator ended after the panic (it should stay halted)")
    check("VMX on" not in after, "VMX came up again after the panic")
    print("panic: dump of %d lines, no reboot" % body.count("\n"))
