#!/usr/bin/env python3
"""No register state crosses domains: three regspy domUs alone (no dom0) on
one CPU, switching with SCHEDOP_yield. The writer fills XMM0-15, MXCSR, the
x87 control word and top of stack, CR2, DR0-DR3, DR6, DR7 and DEBUGCTL (BTF)
with its markers while its XCR0 stays 1; the reader looks at its fresh state after the
writer's markers were set (it must be the initial state), sets its own and
checks after every yield that they are intact and never the writer's; the
writer checks the same of its own. Both check the IA32_DEBUGCTL policy (read
0, accept 0, BTF kept, LBR dropped, other bits #GP). The avx domain runs
with XCR0 = x87|SSE|AVX|AVX-512 and keeps markers in ZMM0-31/k0-7 (YMM0-15
without AVX-512); at the end the reader enables the same XCR0 and must find
its own state there (its XMM markers, zero above), not the avx domain's.

Every check line must be there and ok, the reader's fresh look must come
after the writer set its markers, the reader must set its markers while the
writer is still checking (so each sees the other's values come and go), and
the avx domain's markers must be live before the reader widens its XCR0.
"""
from harness import Machine, check, iso_with_modules, guest, BANNER, one

ROUNDS = {"writer": 60, "reader": 30, "avx": 60}
WAIT = {"writer": 0, "reader": 4, "avx": 2}
ROLES = ["writer", "reader", "avx"]
IDS = {role: i for i, role in enumerate(ROLES, start=1)}
REGS = ["xmm%d" % i for i in range(16)] + ["mxcsr", "fcw", "cr2", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7",
                                           "x87 tags", "st0"]

iso = iso_with_modules("regstate", [
    (guest("regspy"), 'domain name=%s memory=8 vcpus=1 cmdline="role=%s rounds=%d wait=%d"'
     % (role, role, ROUNDS[role], WAIT[role])) for role in ROLES])

CASE = r"(.+) -> (-?\d+) \(expected (-?\d+)\) (ok|FAIL)$"

with Machine(cpus=1, iso=iso, timeout=300) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: no dom0 kernel among the modules: running the boot-time domains only$", timeout=180)
    m.wait_for_all([r"^menhir: domain %d \(%s\) destroyed, frames free: \d+$" % (IDS[r], r) for r in ROLES],
                   timeout=240, anywhere=True)
    m.settle(1)
    pre = {r: r"^\(d%d\) regspy" % IDS[r] for r in ROLES}

    fails = [mt.group(0) for mt in m.find_all(r"^.*FAIL.*$")]
    check(not fails, "FAIL lines:\n%s" % "\n".join(fails))
    m.check_powered_off_once(IDS)

    for role in ROLES:
        found = m.find_all(pre[role] + ": " + CASE)
        cases = {mt.group(1): (int(mt.group(2)), int(mt.group(3)), mt.group(4)) for mt in found}
        check(len(cases) == len(found), "%s printed a check twice" % role)
        bad = ["%s -> %d (expected %d) %s" % ((k,) + v) for k, v in cases.items() if v[2] != "ok" or v[0] != v[1]]
        check(not bad, "%s: checks that failed:\n%s" % (role, "\n".join(bad)))
        if role == "avx":
            expected = ["fresh wide registers not 0", "wide registers not ours after the yields"]
        else:
            other = "reader" if role == "writer" else "writer"
            expected = ["rdmsr DEBUGCTL (-1: #GP)", "wrmsr DEBUGCTL 0 faults", "wrmsr DEBUGCTL BTF faults",
                        "wrmsr DEBUGCTL LBR faults", "wrmsr DEBUGCTL TR (bit 6) faults",
                        "wrmsr DEBUGCTL bit 32 faults", "debugctl after the yields"]
            expected += ["fresh state: %s" % r for r in ("xmm registers not as expected", "mxcsr", "fcw",
                                                           "x87 tags", "cr2", "dr0", "dr3", "dr6", "dr7",
                                                           "debugctl")]
            for r in REGS:
                expected.append("%s: yields after which it was not ours" % r)
                if r != "x87 tags":   # both push one value: the tags cannot tell whose
                    expected.append("%s: yields after which it held the %s's" % (r, other))
        if role == "reader":
            expected += ["wide registers after XSETBV: not ours", "wide registers after XSETBV: the avx domain's",
                         "wide registers after the yields: not ours",
                         "wide registers after the yields: the avx domain's"]
        missing = [e for e in expected if e not in cases]
        check(not missing, "%s: no check line for:\n%s" % (role, "\n".join(missing)))
        summary = one(m, pre[role] + r": (\d+) passed, (\d+) failed$", role)
        check(int(summary.group(2)) == 0 and int(summary.group(1)) == len(cases),
              "%s: summary %s vs %d check lines" % (role, summary.group(0), len(cases)))

    # They really interleaved: the reader looked after the writer's markers
    # were live and set its own while the writer was still yielding; the avx
    # domain's markers were live before the others finished and before the
    # reader widened its XCR0.
    def at(pattern, what):
        return one(m, pattern, what).start()
    w_set = at(pre["writer"] + r" writer: markers set$", "writer")
    w_done = at(pre["writer"] + r" writer: done$", "writer")
    r_fresh = at(pre["reader"] + r": fresh state: xmm registers not as expected -> ", "reader")
    r_set = at(pre["reader"] + r" reader: markers set$", "reader")
    check(w_set < r_fresh, "the reader looked at its fresh state before the writer set its markers")
    check(r_set < w_done, "the writer finished before the reader set its markers: they did not interleave")
    a_set = at(pre["avx"] + r" avx: markers set$", "avx")
    r_wide = at(pre["reader"] + r" reader: XCR0 0x[0-9a-f]+$", "reader")
    r_done = at(pre["reader"] + r" reader: done$", "reader")
    check(a_set < r_wide, "the reader widened its XCR0 before the avx domain set its markers")
    check(a_set < min(w_done, r_done), "the avx domain set its markers after the others finished")
    xcr0 = one(m, pre["avx"] + r" avx: XCR0 (0x[0-9a-f]+) \((.*)\)$", "avx")

    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    print("regstate: writer %d, reader %d and avx %d rounds (XCR0 %s: %s) interleaved on one CPU, every "
          "register intact; %.1fs" % (ROUNDS["writer"], ROUNDS["reader"], ROUNDS["avx"], xcr0.group(1),
                                      xcr0.group(2), m.elapsed()))
