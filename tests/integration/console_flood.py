#!/usr/bin/env python3
"""No guest can flood the serial console: the fuzzer guest (domain 1) makes
20,000 fuzzed hypercalls, console_io writes of up to 64 KiB among them, next
to a spinner (domain 2) that prints a line every few million instructions,
on two CPUs without dom0.

Checks: the fuzzer finishes (`fuzzer: 20000 calls done, ...` with no
unexpected console_io result and no FAIL line), the spinner's lines keep
coming while the fuzzer floods (at least 10 while it runs) and after, and
every one of them arrives (its reports 1..N all seen, in order, and no
suppressed-count report for it), the hypervisor reports what it dropped of
the fuzzer's output as `(d1) ... N characters suppressed` and still lets some
of the fuzzer's lines out after its burst, nothing crashed and the fuzzer
powered off. On main before the transmit ring's fair share, the neighbour
lost 539 of its 938 lines.

Before output was queued and sent by the UART's interrupt, every console
byte waited for the UART (about 87 us of emulated time each at 115200 baud):
the fuzzer's ~10 MB of output would take hours, and this test failed by
timeout. The wall time of the fuzz run is printed for information only.
"""
from harness import Machine, check, iso_with_modules, guest, BANNER, one

CALLS = 20000
FUZZER, SPINNER = 1, 2

iso = iso_with_modules("console_flood", [
    (guest("fuzzer"), "domain name=fuzzer memory=8 vcpus=1 cmdline=\"seed=7 calls=%d domid=1\"" % CALLS),
    (guest("spinner"), "domain name=spinner memory=8 vcpus=1 cmdline=\"name=neighbour every=1000000\""),
])

with Machine(cpus=2, iso=iso, timeout=600) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^\(d%d\) spinner neighbour: started" % SPINNER, timeout=240, anywhere=True)
    started = m.wait_for(r"^\(d%d\) fuzzer: started, seed 7, %d calls$" % (FUZZER, CALLS),
                         timeout=240, anywhere=True)
    t0 = m.elapsed()
    done = m.wait_for(r"^\(d%d\) fuzzer: %d calls done, (\d+) console writes \((\d+) bad pointers\), "
                      r"(\d+) skipped, (\d+) unexpected results, (\d+) TSC ticks, (\d+) sched/vcpu/memory/hvm_op calls$" % (FUZZER, CALLS),
                      timeout=420, anywhere=True)
    fuzz_seconds = m.elapsed() - t0
    m.wait_for(r"^menhir: domain %d \(fuzzer\) shut down: poweroff$" % FUZZER, timeout=60, anywhere=True)
    # The spinner goes on after the flood: two more of its lines.
    last = m.spinner_counters({"neighbour": SPINNER})["neighbour"]
    m.wait_for(r"^\(d%d\) spinner neighbour: %d$" % (SPINNER, last + 2), timeout=120, anywhere=True)

    writes, bad, skipped, unexpected = (int(done.group(i)) for i in range(1, 5))
    check(unexpected == 0, "the fuzzer saw %d unexpected console_io results" % unexpected)
    check(writes > 1000 and bad > 100, "the fuzzer made only %d console writes (%d bad)" % (writes, bad))
    four = int(done.group(6))
    check(four > 1000, "the fuzzer made only %d sched_op/vcpu_op/memory_op/hvm_op calls" % four)
    fails = [mt.group(0) for mt in m.find_all(r"^.*FAIL.*$")]
    check(not fails, "FAIL lines:\n%s" % "\n".join(fails))

    # What the rate limit and the full transmit ring dropped is reported.
    suppressed = m.find_all(r"^\(d%d\) \.\.\. (\d+) characters suppressed$" % FUZZER)
    check(suppressed, "no '(d%d) ... N characters suppressed' line" % FUZZER)
    total = sum(int(s.group(1)) for s in suppressed)
    check(total > 100000, "only %d characters of the fuzzer's output suppressed" % total)

    text = m.output()
    between = [c for c in m.find_all(r"^\(d%d\) spinner neighbour: (\d+)$" % SPINNER)
               if started.end() < c.start() < done.start()]
    check(len(between) >= 10, "only %d spinner lines while the fuzzer ran" % len(between))
    # Every one of the neighbour's lines arrived, none dropped: its reports
    # 1..last all appear, once each and in order, and it never had a
    # suppressed-count report. It prints far below its own rate limit, so
    # only the fuzzer's flood could have cost it a line.
    seqs = [int(c.group(1)) for c in m.find_all(r"^\(d%d\) spinner neighbour: (\d+)$" % SPINNER)]
    missing = sorted(set(range(1, seqs[-1] + 1)) - set(seqs)) if seqs else []
    check(seqs == list(range(1, len(seqs) + 1)),
          "the neighbour's lines did not all arrive: %d of %d seen, missing %s"
          % (len(seqs), seqs[-1] if seqs else 0, missing[:20]))
    neighbour_drops = m.count(r"^\(d%d\) \.\.\. \d+ characters suppressed$" % SPINNER)
    check(neighbour_drops == 0, "the neighbour had %d suppressed-count reports" % neighbour_drops)
    # The fuzzer is limited, not silenced: some of its lines go out after its
    # burst was spent (after its first suppressed report, before it ends).
    after_burst = [l for l in text[suppressed[0].end():done.start()].splitlines()
                   if l.startswith("(d%d) " % FUZZER) and not l.startswith("(d%d) ... " % FUZZER)]
    check(after_burst, "no line of the fuzzer's went out after its first suppressed report")

    crashed = [mt.group(0) for mt in m.find_all(r"^menhir: domain \d+ \(.*\) crashed: .*$")]
    check(not crashed, "crashed:\n%s" % "\n".join(crashed))
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    print("console_flood: %d calls (%d console writes, %d bad pointers, %d sched/vcpu/memory/hvm_op, %d skipped) in %.1fs wall time; "
          "%d characters of the fuzzer's suppressed in %d reports, %d of its lines out after its burst; "
          "%d neighbour lines while the fuzzer ran, all %d of its lines arrived"
          % (CALLS, writes, bad, four, skipped, fuzz_seconds, total, len(suppressed), len(after_burst),
             len(between), len(seqs)))
