#!/usr/bin/env python3
"""References by domain id never act on a new domain that got a dead one's id
(issue 7, "Teardown and reuse are race-free"). One boot of build/menhir.iso
(dom0, boot-demo as d1) with max_domid=3, so that the id rover hands a dead
domain's id to the next domain; dom0's xl creates four domains of
tests/guests/reuse, one after the other:

  holder (d2)    binds the victim's unbound port, maps its ref 8 read-only
  victim (d3)    powers off while both are held; xl destroys it
  newcomer (d3)  the same id (asserted from its console line and `xl list`);
                 its first port is where the victim's port was (asserted), a
                 trap for a send misrouted by id; it grants refs 8 and 9 to
                 the holder too
  heir (d2)      the holder's id, once the holder died with ref 9 mapped

Through its stale references the holder finds its port unbound for d3, as
Xen's evtchn_close leaves a dead peer's port, and its sends on it return 0
and reach nobody (the newcomer counts no event on the trap port nor on any
port it did not bind); the stale mapping still shows the victim's page, not
the newcomer's; unmapping the stale handle (same granter id, same ref number)
leaves the newcomer's ref 8 pinned: GTF_reading still set and its end_access
refused until the holder unmaps its own mapping of it. The holder then dies
with the newcomer's ref 9 mapped: ref 9 must be unpinned at once (a pin left
under the id 2 would let the heir map and unpin it as its own), the
newcomer's port is left unbound for d2 and the heir binds that very port (as
Xen allows), maps ref 9 (pinned meanwhile) and unmaps it (revocable after).
Every check line ok, no FAIL, all four power off and are destroyed, and the
hypervisor's free frame count (debug key m) is back where it was: the
victim's page was freed once the holder's stale mapping went.
"""
import os
import re

from harness import (Machine, check, guest, iso_with_dom0_files, shell_command as sh, PROMPT, BUILD_DIR, TO_DOMU,
                     TestFailure)

WORK = os.path.join(BUILD_DIR, "test-isos", "domid_reuse")
os.makedirs(WORK, exist_ok=True)
HOLDER, VICTIM = 2, 3    # boot-demo is d1; max_domid=3 gives the victim's id to the newcomer
CHECKS = {"holder": 15, "newcomer": 13, "heir": 3}   # tests/guests/reuse/main.cpp
IDS = {"holder": HOLDER, "newcomer": VICTIM, "heir": HOLDER}

ROLES = {"holder": VICTIM, "victim": HOLDER, "newcomer": HOLDER, "heir": VICTIM}
files = [(guest("reuse"), "/boot/reuse.elf")]
for role, peer in ROLES.items():
    path = os.path.join(WORK, role + ".cfg")
    with open(path, "w") as f:
        f.write('name = "%s"\nkernel = "/boot/reuse.elf"\nmemory = 8\nextra = "role=%s peer=%d"\n'
                % (role, role, peer))
    files.append((path, "/etc/xen/%s.cfg" % role))
iso = iso_with_dom0_files("domid_reuse", files, cmdline="console=com1 com1=115200,8n1 max_domid=3")

LIST_ROW = re.compile(r"^(\S+) +(\d+) +\d+ +\d+ +\S+ +\d+\.\d$")


def xl_list(m):
    return {r.group(1): int(r.group(2)) for r in map(LIST_ROW.match, sh(m, "xl list")) if r}


def free_frames(m):
    """The hypervisor's free frame count (debug key m), input back to dom0 after."""
    m.send_debug_key("m")
    m.wait_for(r"^menhir: 'm' pressed -> dumping memory statistics$", timeout=60)
    free = int(m.wait_for(r"^menhir: frames: total \d+, free (\d+), used \d+$", timeout=60).group(1))
    m.switch_input()
    m.wait_for(TO_DOMU % 0, timeout=30)
    return free


def create(m, role):
    out = sh(m, "xl create /etc/xen/%s.cfg" % role)
    check(not any("rror" in l or "annot" in l for l in out), "xl create %s: %r" % (role, out))


def run(m):
    m.wait_for(r"^menhir: domain ids up to 3 \(max_domid\)$", timeout=180)
    m.wait_for(r"^menhir: d1: console handed over to dom0", timeout=120)
    m.wait_for(re.escape(PROMPT), timeout=120, partial=True)
    frames0 = free_frames(m)

    create(m, "holder")
    m.wait_for(r"^\(d%d\) reuse: holder d%d: waiting for d%d$" % (HOLDER, HOLDER, VICTIM), timeout=90)
    create(m, "victim")
    v = m.wait_for(r"^\(d%d\) reuse: victim d%d: ref 8 and port (\d+) for d%d$" % (VICTIM, VICTIM, HOLDER),
                   timeout=90)
    victim_port = int(v.group(1))
    # The guests run while the hypervisor and dom0 print: these come in any order.
    m.wait_for_all([r"^\(d%d\) reuse: holder: bound port \d+ to d%d port %d, mapped its ref 8 \(handle \d+\): "
                    r"the victim's page$" % (HOLDER, VICTIM, victim_port),
                    r"^\(d%d\) reuse: victim: held by d%d, powering off$" % (VICTIM, HOLDER),
                    r"^menhir: domain %d \(victim\) destroyed, frames free: \d+$" % VICTIM,
                    r"^\(d%d\) reuse: holder: the victim is gone; waiting for a new d%d$" % (HOLDER, VICTIM)],
                   timeout=150)
    doms = xl_list(m)
    check("victim" not in doms and doms.get("holder") == HOLDER, "xl list after the victim died: %r" % doms)

    # The newcomer must really have the victim's id, and its trap where the victim's port was.
    create(m, "newcomer")
    n = m.wait_for(r"^\(d(\d+)\) reuse: newcomer d(\d+): ref 8 and port (\d+) for d%d, trap port (\d+)$" % HOLDER,
                   timeout=90)
    check(int(n.group(1)) == VICTIM and int(n.group(2)) == VICTIM,
          "the newcomer got id %s, not the victim's %d: no id was reused" % (n.group(1), VICTIM))
    newcomer_port = int(n.group(3))
    check(int(n.group(4)) == victim_port, "the newcomer's trap port is %s, not the victim's port %d: a send "
          "misrouted by id would miss it" % (n.group(4), victim_port))

    # The holder dies with the newcomer's ref 9 mapped; the heir gets its id and the port it left.
    m.wait_for_all([r"^menhir: domain %d \(holder\) destroyed" % HOLDER,
                    r"^\(d%d\) reuse: newcomer: the holder is gone; waiting for a new d%d$" % (VICTIM, HOLDER)],
                   timeout=180, anywhere=True)
    doms = xl_list(m)
    check(doms.get("newcomer") == VICTIM and "holder" not in doms, "xl list after the holder died: %r" % doms)
    create(m, "heir")
    h = m.wait_for(r"^\(d(\d+)\) reuse: heir d(\d+): bound port \d+ to d%d port (\d+)$" % VICTIM, timeout=90)
    check(int(h.group(1)) == HOLDER and int(h.group(2)) == HOLDER,
          "the heir got id %s, not the holder's %d: no id was reused" % (h.group(1), HOLDER))
    check(int(h.group(3)) == newcomer_port, "the heir bound the newcomer's port %s, not the one the holder left "
          "(%d)" % (h.group(3), newcomer_port))
    # Each powers off when done, or at its first FAIL.
    m.wait_for_all([r"^menhir: domain %d \(heir\) destroyed" % HOLDER,
                    r"^menhir: domain %d \(newcomer\) destroyed" % VICTIM], timeout=180, anywhere=True)
    m.settle(1)

    fails = [mt.group(0) for mt in m.find_all(r"^.*FAIL.*$")]
    check(not fails, "FAIL lines:\n%s" % "\n".join(fails))
    cases = m.find_all(r"^\(d\d+\) reuse: (.+) -> (-?\d+) \(expected (-?\d+)\) (ok|FAIL)$")
    bad = [c.group(0) for c in cases if c.group(4) != "ok" or c.group(2) != c.group(3)]
    check(not bad, "checks that failed:\n%s" % "\n".join(bad))
    check(len(cases) == sum(CHECKS.values()), "%d check lines, expected %d" % (len(cases), sum(CHECKS.values())))
    for role, expected in CHECKS.items():
        check(m.count(r"^\(d%d\) reuse: %s: %d checks ok" % (IDS[role], role, expected)) == 1,
              "no '%s: %d checks ok'" % (role, expected))
    for d, role in ((VICTIM, "victim"), (HOLDER, "holder"), (VICTIM, "newcomer"), (HOLDER, "heir")):
        check(m.count(r"^menhir: domain %d \(%s\) shut down: poweroff$" % (d, role)) == 1,
              "%s (d%d) did not power off once" % (role, d))
    check(m.count(r"crashed") == 0, "a domain crashed")

    doms = xl_list(m)
    check(set(doms) == {"Domain-0", "boot-demo"}, "xl list at the end: %r" % doms)
    frames1 = free_frames(m)
    check(frames1 == frames0, "%d frames free at the end, %d before the holder was created (%+d): the victim's "
          "held page (or more) was not freed" % (frames1, frames0, frames1 - frames0))
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    print("domid_reuse: d%d reused after the victim died: the holder's stale port, mapping and unmap left the "
          "new d%d alone; d%d reused after the holder died with a pin: it was dropped (%d checks ok); %d frames "
          "free before and after; %.1fs" % (VICTIM, VICTIM, HOLDER, sum(CHECKS.values()), frames0, m.elapsed()))


with Machine(cpus=2, iso=iso, timeout=280, name="domid_reuse") as m:
    try:
        run(m)
    except TestFailure as e:
        # After a failed check a guest may stop, and its peer wait in vain: show what failed first.
        fails = [mt.group(0) for mt in m.find_all(r"^.*FAIL.*$")]
        if not fails:
            raise
        raise TestFailure("%s\n--- FAIL lines so far ---\n%s" % (e, "\n".join(fails))) from None
