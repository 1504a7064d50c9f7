#!/usr/bin/env python3
"""Every boot-time domU has a console ring, served by the hypervisor until
dom0 takes it over (issue 7, section 3). One boot, two CPUs: dom0 with
`test=console` (dom0/console_test.cpp) and two conring guests:

  conring (1)   HVM_PARAM_CONSOLE_PFN/EVTCHN non-zero, the page reserved in
                both memory maps, the port unbound for dom 0; a hello and 30
                lines through the ring (indices wrap, one send drains a full
                ring) arrive as `(d1) ...` lines; then it echoes input.
  hostile (2)   conring mode=hostile linger: out_prod = out_cons + 100000;
                the hypervisor drops the ring with a log line, the domain
                lives on (a later ring line is not printed, out_cons stays),
                says so through console_io and waits until dom0 shuts it
                down (`kill 2` typed to dom0).

Then serial input: Ctrl-A three times goes DOM0 -> Menhir -> DOM1 (typed
text reaches d1's in[], its echo comes back through the ring) -> DOM0, never
to DOM2 (alive, but its ring was dropped). dom0 is told `take 1`: the hypervisor hands the
ring over (domctl console_handover), dom0 binds the port and maps the page;
a line typed to dom0 is forwarded into d1's in[] and d1's echo now reaches
dom0 (`dom0: d1: ...`), not the hypervisor; the input cycle skips DOM1
(Menhir -> DOM0). `quit` ends d1, dom0 releases its console, and the
hypervisor still answers q with dom0 alone.
"""
from harness import (Machine, check, iso_with_modules, guest, one, BANNER, TO_DOM0, TO_DOMU, TO_MENHIR, DOM0_ELF)

LINES = 30
CONRING = guest("conring")
iso = iso_with_modules("console_rings", [
    (DOM0_ELF, "dom0 test=console"),
    (CONRING, "domain name=conring memory=8 vcpus=1 cmdline=lines=%d" % LINES),
    (CONRING, "domain name=hostile memory=8 vcpus=1 cmdline=\"mode=hostile linger\""),
])

TO_DOM1 = TO_DOMU % 1
ANY_SWITCH = r"^menhir: \*\*\* Serial input to (\S+) \(type 'CTRL-a' three times to switch input\)$"
D1 = r"^\(d1\) conring: "
D2 = r"^\(d2\) conring: "


def switches(m):
    return [x.group(1) for x in m.find_all(ANY_SWITCH)]


with Machine(cpus=2, iso=iso, timeout=420) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for(TO_DOM0, timeout=120)

    # Both find the ring where Xen's PVH toolstack puts it (SPECIALPAGE_CONSOLE).
    for d in (D1, D2):
        m.wait_for(d + r"HVM_PARAM_CONSOLE_PFN -> 0 0xfefff, HVM_PARAM_CONSOLE_EVTCHN -> 0 [1-9]\d*$",
                   timeout=120, anywhere=True)
        m.wait_for(d + r"console page reserved in the memory map \(\d+ entries, XENMEM_memory_map \d+\) ok$",
                   timeout=60, anywhere=True)
        m.wait_for(d + r"port \d+ unbound for domain 0 ok$", timeout=60, anywhere=True)
        # Through the ring, printed by the hypervisor's console service.
        m.wait_for(d + r"hello through the ring$", timeout=60, anywhere=True)

    # d1: all lines, in order, each once (the ring wrapped on the way).
    m.wait_for(D1 + r"waiting for input$", timeout=120, anywhere=True)
    got = [int(x.group(1)) for x in m.find_all(D1 + r"line (\d+) of %d abcdefghijklmnopqrstuvwxyz0123456789"
                                                     r"abcdefghijklmnopqrstuvwxyz$" % LINES)]
    check(got == list(range(1, LINES + 1)), "d1's ring lines came as %s, expected 1..%d once each" % (got, LINES))

    # d2: the bogus out_prod costs it its console, nothing more.
    m.wait_for(r"^menhir: d2: console ring dropped: out_prod - out_cons exceeds the 2048-byte ring$",
               timeout=60, anywhere=True)
    m.wait_for(D2 + r"ring dropped, out_cons stays at \d+ ok$", timeout=60, anywhere=True)
    m.wait_for(D2 + r"still alive after the hostile ring$", timeout=60, anywhere=True)
    m.wait_for(D2 + r"lingering until shut down$", timeout=60, anywhere=True)

    # Input: DOM0 -> Menhir -> DOM1, text echoed through d1's ring.
    m.switch_input()
    m.wait_for(TO_MENHIR, timeout=30)
    m.switch_input()
    m.wait_for(TO_DOM1, timeout=30)
    m.send("xyz\r")
    m.wait_for(D1 + r"got 'xyz'$", timeout=60)
    m.send("hello ring\r")
    m.wait_for(D1 + r"got 'hello ring'$", timeout=60)
    # Then back to dom0: DOM2 is alive but not in the cycle (its ring was dropped).
    m.switch_input()
    m.wait_for(TO_DOM0, timeout=30)
    check(switches(m)[-4:] == ["DOM0", "Menhir", "DOM1", "DOM0"],
          "input went %s, expected DOM0 -> Menhir -> DOM1 -> DOM0" % switches(m))
    check(m.count(r"^menhir: domain 2 \(hostile\) (shut down|crashed|destroyed)") == 0,
          "d2 stopped before the input cycle was checked")
    # The text typed for d1 did not go to dom0.
    check(m.count(r"^\(d0\) dom0: input ") == 0, "dom0 got input meant for d1")
    # dom0 shuts the lingering d2 down.
    m.send("kill 2\r")
    m.wait_for(r"^\(d0\) dom0: domctl shutdown\(d2\) -> 0$", timeout=60)
    m.wait_for(r"^menhir: domain 2 \(hostile\) shut down: poweroff$", timeout=60, anywhere=True)
    m.wait_for(r"^menhir: domain 2 \(hostile\) destroyed, frames free: \d+$", timeout=60, anywhere=True)

    # Hand d1's console to dom0's back end.
    m.send("take 1\r")
    m.wait_for(r"^\(d0\) dom0: input 'take 1'$", timeout=60)
    m.wait_for(r"^menhir: d1: console handed over to dom0 \(gfn 0xfefff, port \d+\)$", timeout=60)
    m.wait_for(r"^\(d0\) dom0: took the console of d1 \(gfn 0xfefff, port \d+, local port \d+\)$", timeout=60)
    m.send("ping\r")
    m.wait_for(r"^\(d0\) dom0: d1: conring: got 'ping'$", timeout=60)
    check(m.count(D1 + r"got 'ping'$") == 0, "the hypervisor still printed d1's ring after the handover")
    # The cycle skips d1 now: Menhir -> DOM0.
    m.switch_input()
    m.wait_for(TO_MENHIR, timeout=30)
    m.switch_input()
    m.wait_for(TO_DOM0, timeout=30)
    check(switches(m)[-2:] == ["Menhir", "DOM0"], "after the handover input went %s" % switches(m))
    m.send("quit\r")
    m.wait_for(r"^\(d0\) dom0: d1: conring: bye$", timeout=60)
    m.wait_for(r"^menhir: domain 1 \(conring\) shut down: poweroff$", timeout=60, anywhere=True)
    m.wait_for(r"^\(d0\) dom0: d1 is gone, its console released$", timeout=60)
    m.wait_for(r"^menhir: domain 1 \(conring\) destroyed, frames free: \d+$", timeout=60, anywhere=True)

    m.settle(1)
    fails = [x.group(0) for x in m.find_all(r"^.*FAIL.*$")]
    check(not fails, "FAIL lines:\n%s" % "\n".join(fails))
    crashed = [x.group(0) for x in m.find_all(r"^menhir: domain \d+ \(.*\) crashed: .*$")]
    check(not crashed, "crashed:\n%s" % "\n".join(crashed))
    check("DOM2" not in switches(m), "serial input went to DOM2: %s" % switches(m))
    one(m, r"^menhir: d2: console ring dropped: .*$", "hostile")
    m.check_only_dom0_left()
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    print("console_rings: %d ring lines, echo both ways, hostile ring dropped, handover to dom0; %.1fs"
          % (LINES, m.elapsed()))
