#!/usr/bin/env python3
"""dom0's xenstored serves every boot-time domU's xenstore ring (issue 8).
One boot, two CPUs: dom0 with `xenstored` and four xsclient guests:

  xsclient (1)  finds its ring at HVM_PARAM_STORE_PFN 0xfeffc (Xen's
                SPECIALPAGE_XENSTORE) with a port; its check lines: READ of
                its name and domid, GET_DOMAIN_PATH, WRITE/READ/MKDIR/
                DIRECTORY/RM under data/, a WATCH's first event and one after
                a write, a committed and a conflicting (EAGAIN) transaction,
                EACCES, E2BIG. Then it waits for three @releaseDomain events
                (the hostile domains going) and checks it is still served.
  indices (2)   req_prod more than a ring past req_cons,
  oversize (3)  a header with len > XENSTORE_PAYLOAD_MAX,
  flood (4)     requests without ever reading a reply:
                each connection is dropped with a dom0 line naming the domain;
                the domains power off and are released.
"""
from harness import (Machine, check, iso_with_modules, guest, one, BANNER, TO_DOM0, DOM0_ELF)

XS = guest("xsclient")
iso = iso_with_modules("xenstore", [
    (DOM0_ELF, "dom0 xenstored"),
    (XS, "domain name=xsclient memory=8 vcpus=1 cmdline=releases=3"),
    (XS, "domain name=indices memory=8 vcpus=1 cmdline=mode=indices"),
    (XS, "domain name=oversize memory=8 vcpus=1 cmdline=mode=oversize"),
    (XS, "domain name=flood memory=8 vcpus=1 cmdline=mode=flood"),
])
D1 = r"^\(d1\) xsclient: "
X = r"^(?:\(d0\) )?xenstored: "   # (d0) until dom0's shell takes the terminal
DROPS = [
    (2, "indices", r"req_prod - req_cons exceeds the ring"),
    (3, "oversize", r"message longer than XENSTORE_PAYLOAD_MAX"),
    (4, "flood", r"floods requests without reading its replies"),
]

with Machine(cpus=2, iso=iso, timeout=600) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(TO_DOM0, timeout=240)
    for d in range(1, 5):
        m.wait_for(r"^\(d%d\) xsclient: HVM_PARAM_STORE_PFN -> 0 0xfeffc, HVM_PARAM_STORE_EVTCHN -> 0 [1-9]\d*$" % d,
                   timeout=120, anywhere=True)
        m.wait_for(X + r"introduced d%d \(\w+\): store page 0xfeffc, port \d+ \(local port \d+\)$" % d,
                   timeout=240, anywhere=True)
    for d, name, why in DROPS:
        m.wait_for(X + r"d%d \(%s\): connection dropped: %s$" % (d, name, why), timeout=300, anywhere=True)
        m.wait_for(r"^\(d%d\) xsclient: %s: abuse sent, lingering 5 s$" % (d, name), timeout=60, anywhere=True)
        m.wait_for(r"^menhir: domain %d \(%s\) shut down: poweroff$" % (d, name), timeout=120, anywhere=True)
    m.wait_for(D1 + r"@releaseDomain events \(after the first\) -> 3 \(expected 3\) ok$", timeout=300, anywhere=True)
    m.wait_for(D1 + r"READ data/after -> \"still\" \(expected \"still\"\) ok$", timeout=120, anywhere=True)
    done = m.wait_for(D1 + r"(\d+) passed, (\d+) failed$", timeout=120, anywhere=True)
    check(done.group(2) == "0" and int(done.group(1)) >= 30, "xsclient: %s" % done.group(0))
    for case in ["WATCH first event", "WATCH event after the write", "TRANSACTION_END commit",
                 "TRANSACTION_END conflicting commit", "READ /local/domain/0/name", "GET_DOMAIN_PATH"]:
        one(m, D1 + case + r" -> .* ok$", case)
    m.wait_for(r"^menhir: domain 1 \(xsclient\) shut down: poweroff$", timeout=120, anywhere=True)
    m.settle(2)
    fails = [x.group(0) for x in m.find_all(r"^.*FAIL.*$")]
    check(not fails, "FAIL lines:\n%s" % "\n".join(fails))
    crashed = [x.group(0) for x in m.find_all(r"^menhir: domain \d+ \(.*\) crashed: .*$")]
    check(not crashed, "crashed:\n%s" % "\n".join(crashed))
    for d, name, _ in DROPS:
        one(m, X + r"d%d \(%s\): connection dropped: .*$" % (d, name), name)
    check(m.count(X + r"d1 \(xsclient\): connection dropped") == 0, "xsclient's connection was dropped")
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    print("xenstore: xsclient served throughout, 3 hostile rings dropped; %.1fs" % m.elapsed())
