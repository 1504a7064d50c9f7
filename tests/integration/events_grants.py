#!/usr/bin/env python3
"""Event channels and grant tables between domains, on two CPUs, in one boot:
dom0 and two pairs of boot-time domUs that talk to each other.

  evping (1) + evpong (2)    10,000 interdomain event round trips
  granter (3) + mapper (4)   a shared ring of 1,000 checksummed messages each
                             way, a read-only page, GNTTABOP_copy, and the
                             mapper's refused grant operations

Each guest finds its peer by id (peer=N on its command line), so the ids must
follow module order. Every ok line must be there, no line anywhere may say
FAIL, every domU powers off (none is crashed) and is destroyed, and then the
free frame count is back to what it was before the first domU was built:
no page of a closed event channel, a grant table or a grant mapping stays
allocated.
"""
import re

from harness import Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, DOM0_ELF, one

MEMORY_MIB = 8
ROUNDS = 10000          # evping/evpong's default
MESSAGES = 1000         # granter/mapper's default
MAPPER_CHECKS = 14      # the mapper's refused operations and unmaps (tests/guests/README.md)

# (name, peer's name): ids 1.. in module order.
DOMAINS = [("evping", "evpong"), ("evpong", "evping"), ("granter", "mapper"), ("mapper", "granter")]
IDS = {name: i for i, (name, _) in enumerate(DOMAINS, start=1)}

iso = iso_with_modules("events_grants", [(DOM0_ELF, "dom0")] + [
    (guest(name), "domain name=%s memory=%d vcpus=1 cmdline=peer=%d" % (name, MEMORY_MIB, IDS[peer]))
    for name, peer in DOMAINS])

HEX = r"0x[0-9a-f]+"


with Machine(cpus=2, iso=iso, timeout=300) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for(r"^menhir: domain 0 \(Domain-0\): ", timeout=60)
    before = int(m.wait_for(r"^menhir: frames free before the boot-time domUs: (\d+)$",
                            timeout=60).group(1))
    for name, _ in DOMAINS:
        mt = m.wait_for(r"^menhir: domain (\d+) \(%s\): %d MiB, 1 vCPUs?, weight 256, entry %s, "
                        r"ELF64 kernel$" % (name, MEMORY_MIB, HEX), timeout=60)
        check(int(mt.group(1)) == IDS[name], "domain %s got id %s, expected %d (module order; "
              "its peer looks for it there)" % (name, mt.group(1), IDS[name]))
    m.wait_for(TO_DOM0, timeout=60)

    m.wait_for_all([r"^menhir: domain %d \(%s\) destroyed, frames free: \d+$" % (IDS[n], n)
                    for n, _ in DOMAINS], timeout=240, anywhere=True)
    m.settle(1)
    d = {name: r"^\(d%d\) " % i for name, i in IDS.items()}

    # Nothing failed, wherever it was printed.
    fails = [mt.group(0) for mt in m.find_all(r"^.*FAIL.*$")]
    check(not fails, "FAIL lines:\n%s" % "\n".join(fails))

    # evping / evpong: connected to each other, every event answered.
    one(m, d["evpong"] + r"evpong: port \d+ for domain %d, expecting %d events$"
        % (IDS["evping"], ROUNDS), "evpong")
    one(m, d["evping"] + r"evping: bound local port \d+ to domain %d, %d round trips$"
        % (IDS["evpong"], ROUNDS), "evping")
    one(m, d["evping"] + r"evping: %d round trips ok$" % ROUNDS, "evping")
    one(m, d["evping"] + r"evping: round trip \d+ ticks$", "evping")
    one(m, d["evpong"] + r"evpong: %d events ok$" % ROUNDS, "evpong")

    # granter / mapper: the grants, the mappings, the ring, the refusals.
    one(m, d["granter"] + r"granter: refs 8 \(ring\) 9 \(read-only\) 10 \(for d28672\) granted to "
        r"d%d, port \d+$" % IDS["mapper"], "granter")
    one(m, d["mapper"] + r"mapper: mapped ref 8 at %s \(handle \d+\) and ref 9 read-only at %s "
        r"\(handle \d+\)$" % (HEX, HEX), "mapper")
    one(m, d["mapper"] + r"mapper: GNTTABOP_copy of ref 9 ok$", "mapper")
    cases = m.find_all(d["mapper"] + r"mapper: (.+) -> (-?\d+) \(expected (-?\d+)\) (ok|FAIL)$")
    bad = [c.group(0) for c in cases if c.group(4) != "ok" or c.group(2) != c.group(3)]
    check(not bad, "mapper checks that failed:\n%s" % "\n".join(bad))
    check(len(cases) == MAPPER_CHECKS, "mapper printed %d check lines, expected %d"
          % (len(cases), MAPPER_CHECKS))
    one(m, d["mapper"] + r"mapper: map\+unmap \d+ ticks$", "mapper")
    one(m, d["mapper"] + r"mapper: %d messages ok, %d hostile checks ok$" % (MESSAGES, MAPPER_CHECKS),
        "mapper")
    one(m, d["granter"] + r"granter: ok$", "granter")

    # Every domU powered off by itself and was destroyed once.
    m.check_powered_off_once(IDS)

    m.check_frames_back(before)
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    check(m.count(BANNER) == 1, "the machine rebooted")
    check(m.count(r"^menhir: domain 0 \(Domain-0\) (crashed|shut down|destroyed)") == 0, "dom0 died")
    print("events_grants: %d round trips and %d messages each way ok, %d mapper checks ok, "
          "%d frames free before and after; %.1fs" % (ROUNDS, MESSAGES, MAPPER_CHECKS, before,
                                                      m.elapsed()))
