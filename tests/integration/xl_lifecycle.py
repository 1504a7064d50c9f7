#!/usr/bin/env python3
"""dom0 runs domains from xl.cfg files (issue 8, "xl.cfg and the domain
builder", "The console backend", lifecycle), driven at the `dom0# ` prompt as
a person would. One boot of build/menhir.iso (dom0, its initramfs with
/etc/xen/demo.cfg and /boot/demo.elf, the boot-time domain boot-demo) with
more configs added to dom0's initramfs:

  ramdisk       a boot-time domain (withrd) whose next module is `ramdisk`
                finds it as its start_info module
  boot-time     boot-demo is in `xl list`, and its console (taken over from
                the hypervisor, which printed its banner) answers through
                `xl console boot-demo`
  create -c     `xl create /etc/xen/demo.cfg -c` attaches to the new domain:
                its banner (command line from the config's `extra`), `echo`
                answered; Ctrl-] gives the prompt back; `xl list` shows it;
                an override (memory=24) is honoured
  history       `xl console demo` again replays what it printed before
  bad configs   a syntax error, a bad value and an unknown kernel are reported
                as `FILE:LINE: ...` (or the missing file) and nothing is
                created: `xl list` is unchanged, free_memory too; an unknown
                key is a warning and the domain is still created, with its
                `ramdisk` as start_info module 0 and its vCPU pinned by `cpus`
  disks         demo.cfg's disk (/dev/hdb1 of a two-partition image) is in
                `xl block-list demo` as xl prints it; while demo writes it, a
                second writer, a reader and a reader of the whole disk are
                refused with the reason naming demo; a disk that does not
                exist and a bad disk entry (FILE:LINE) are refused: nothing is
                created, free_memory unchanged; two readers of hdb2 are fine
  unknown DOM   `xl console nosuch` and `xl destroy 99` give xl's error
  on_crash      restart: the domain crashes (the demo guest's `crash`) and
                comes back under a new id, with its disk (hdb2) again;
                preserve: it stays, state `c`, until `xl destroy`
  on_poweroff   destroy (the default): it goes
  xl shutdown   -w: written to control/shutdown in xenstore, the guest powers
                off, xl waits for it; xl reboot with on_reboot="restart": it
                comes back under a new id; a guest without the control
                interface (no control/feature-poweroff) gets xl's refusal and
                is left running
  50 cycles     create + destroy of demo.cfg (with its disk) 50 times: xl
                info's free_memory is back where it started, and the
                hypervisor's frame count too; a disk left behind would have
                made the next create refuse hdb1
"""
import os
import re
import time

from harness import (Machine, check, guest, iso_with_dom0_files, shell_command as sh, PROMPT, BUILD_DIR, wait_domain, xl_list,
                     TestFailure)

CYCLES = int(os.environ.get("XL_LIFECYCLE_CYCLES", "50"))
DEMO = guest("demo")
WORK = os.path.join(BUILD_DIR, "test-isos", "xl_lifecycle")
os.makedirs(WORK, exist_ok=True)

CONFIGS = {
    "crashy.cfg": 'name = "crashy"\nkernel = "/boot/demo.elf"\nmemory = 16\non_crash = "restart"\n'
                  'disk = [ "phy:/dev/hdb2,xvdb,w" ]\n',
    "keep.cfg": 'name = "keep"\nkernel = "/boot/demo.elf"\nmemory = 8\non_crash = "preserve"\n',
    "reader.cfg": 'name = "reader"\nkernel = "/boot/demo.elf"\nmemory = 8\ndisk = [ "/dev/hdb2,,xvda,r" ]\n',
    "nodisk.cfg": 'name = "nodisk"\nkernel = "/boot/demo.elf"\nmemory = 8\ndisk = [ "phy:/dev/hdc1,xvda,w" ]\n',
    "baddisk.cfg": 'name = "baddisk"\nkernel = "/boot/demo.elf"\nmemory = 8\n'
                   'disk = [ "phy:/dev/hdb2,xvda,r",\n  "phy:/dev/hdb2,xvdb,q" ]\n',
    "syntax.cfg": '# a syntax error on line 3\nname = "bad"\nmemory = = 16\nkernel = "/boot/demo.elf"\n',
    "value.cfg": 'name = "bad"\nkernel = "/boot/demo.elf"\nmemory = "lots"\n',
    "nokernel.cfg": 'name = "bad"\nkernel = "/boot/missing.elf"\nmemory = 8\n',
    "colour.cfg": 'name = "colour"\nkernel = "/boot/demo.elf"\nmemory = 8\ncolour = "red"\n'
                  'ramdisk = "/etc/xen/demo.cfg"\ncpus = "1"\n',
    "again.cfg": 'name = "again"\nkernel = "/boot/demo.elf"\nmemory = 8\non_reboot = "restart"\n',
    "deaf.cfg": 'name = "deaf"\nkernel = "/boot/demo.elf"\nmemory = 8\nextra = "no_control"\n',
}
files = []
CONFIG_RAMDISK = os.path.join(WORK, "ramdisk.img")
with open(CONFIG_RAMDISK, "wb") as f:
    f.write(b"not really an initrd\n" * 100)
for name, text in CONFIGS.items():
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    files.append((path, "/etc/xen/" + name))
# A second boot-time domain with a ramdisk module after its own.
iso = iso_with_dom0_files("xl_lifecycle", files, modules=[
    (DEMO, 'domain name=withrd memory=8 cmdline="boot-time ramdisk"'), (CONFIG_RAMDISK, "ramdisk")])

# /dev/hdb: hdb1 for demo.cfg's disk, hdb2 for the others.
DISK = os.path.join(WORK, "disk.img")
P1 = (2048, 16384)
P2 = (2048 + 16384, 16384)
with open(DISK, "wb") as f:
    f.truncate((P2[0] + P2[1]) * 512)
    mbr = bytearray(512)
    for i, (start, count) in enumerate((P1, P2)):
        e = bytes([0, 0xfe, 0xff, 0xff, 0x83, 0xfe, 0xff, 0xff]) + start.to_bytes(4, "little") + count.to_bytes(4, "little")
        mbr[446 + 16 * i:462 + 16 * i] = e
    mbr[510:512] = b"\x55\xaa"
    f.write(mbr)


def free_memory(m):
    for l in sh(m, "xl info"):
        r = re.match(r"^free_memory +: (\d+)$", l)
        if r:
            return int(r.group(1))
    raise TestFailure("xl info has no free_memory line")


def attach(m, dom, expect):
    """xl console DOM; waits for `expect` (a regex) in its output."""
    m.send("xl console %s\r" % dom)
    return m.wait_for(expect, timeout=90, partial=True)


def detach(m):
    m.send("\x1d")
    m.wait_for(re.escape(PROMPT), timeout=30, partial=True)


def block_list(m, dom):
    """`xl block-list DOM`'s rows (the header checked), each split in its columns."""
    lines = sh(m, "xl block-list %s" % dom)
    header = "%-5s %-3s %-6s %-5s %-6s %-8s %-30s" % ("Vdev", "BE", "handle", "state", "evt-ch", "ring-ref", "BE-path")
    check(lines and lines[0].rstrip() == header.rstrip(), "xl block-list %s: header %r" % (dom, lines[:1]))
    return [l for l in lines[1:] if l.strip()]


def refused(m, command, *expect):
    """xl create COMMAND fails with lines containing each of `expect`; nothing is created."""
    out = sh(m, "xl create " + command)
    for e in expect:
        check(any(e in l for l in out), "xl create %s: no %r in %r" % (command, e, out))


with Machine(cpus=2, iso=iso, timeout=900, name="xl_lifecycle", disk=DISK) as m:
    m.wait_for(r"^menhir: d1: console handed over to dom0", timeout=120)
    m.wait_for(re.escape(PROMPT), timeout=120, partial=True)

    # A boot-time domain's ramdisk module is its start_info module 0.
    m.wait_for(r'^\(d2\) demo: domain 2 up \(8 MiB, 1 module\), cmdline "boot-time ramdisk"$', timeout=60,
               anywhere=True)
    # Boot-time domain: listed, and its console served by dom0.
    doms = xl_list(m)
    check("boot-demo" in doms and doms["boot-demo"][0] == 1, "xl list lacks boot-demo (id 1): %r" % doms)
    # Its banner went out through the hypervisor before dom0 took the ring.
    m.send("xl console boot-demo\r")
    time.sleep(2)
    m.send("echo boot-time console\r")
    m.wait_for(r"^demo: boot-time console$", timeout=30)
    detach(m)
    mem0 = free_memory(m)

    # create -c with an override.
    m.send("xl create /etc/xen/demo.cfg -c memory=24\r")
    m.wait_for(r"^Parsing config from /etc/xen/demo.cfg$", timeout=30)
    up = m.wait_for(r'^demo: domain (\d+) up \(24 MiB, 0 modules\), cmdline "created by xl in dom0"$', timeout=60)
    demo = int(up.group(1))
    m.wait_for(r"demo> ", timeout=90, partial=True)
    m.send("echo attached\r")
    m.wait_for(r"^demo: attached$", timeout=30)
    detach(m)
    doms = xl_list(m)
    check(doms.get("demo", (None,))[0] == demo and doms["demo"][1] == 24, "xl list: demo is not domain %d with "
          "24 MiB: %r" % (demo, doms))
    # Attaching again shows what it printed before.
    start = len(m.output())
    attach(m, "demo", r"demo: attached")
    check("created by xl in dom0" in m.output()[start:], "xl console demo did not replay the domain's history")
    detach(m)

    # Bad configs: nothing is created.
    before = set(xl_list(m))
    out = sh(m, "xl create /etc/xen/syntax.cfg")
    check(any(re.match(r"^/etc/xen/syntax.cfg:3: ", l) for l in out), "no syntax.cfg:3 error: %r" % out)
    out = sh(m, "xl create /etc/xen/value.cfg")
    check(any(re.match(r"^/etc/xen/value.cfg:3: ", l) for l in out), "no value.cfg:3 error: %r" % out)
    out = sh(m, "xl create /etc/xen/nokernel.cfg")
    check(any("/boot/missing.elf" in l for l in out), "no missing-kernel message: %r" % out)
    out = sh(m, "xl create /etc/xen/absent.cfg")
    check(any("/etc/xen/absent.cfg" in l and "No such file" in l for l in out), "no missing-file message: %r" % out)
    check(set(xl_list(m)) == before, "a bad config created a domain")

    # Disks: demo has hdb1 writable.
    rows = block_list(m, "demo")
    want = "%-5d %-3d %-6d %-5d %-6d %-8d %-30s" % (51712, 0, demo, 1, -1, -1,
                                                    "/local/domain/0/backend/vbd/%d/51712" % demo)
    check(len(rows) == 1 and rows[0].rstrip() == want.rstrip(), "xl block-list demo: %r, expected %r" % (rows, want))
    mem_d = free_memory(m)
    who = "domain %d (demo) has /dev/hdb1 as xvda writable" % demo
    refused(m, "/etc/xen/demo.cfg 'name=\"demo2\"'",
            "cannot give domain 'demo2' disk xvda (/dev/hdb1, writable): " + who, "nothing is left")
    refused(m, "/etc/xen/demo.cfg 'name=\"demo2\"' \"disk=['phy:/dev/hdb1,xvda,r']\"",
            "cannot give domain 'demo2' disk xvda (/dev/hdb1, read-only): " + who)
    refused(m, "/etc/xen/demo.cfg 'name=\"demo2\"' \"disk=['phy:/dev/hdb,xvdc,r']\"",
            "cannot give domain 'demo2' disk xvdc (/dev/hdb, read-only): " + who)
    refused(m, "/etc/xen/nodisk.cfg", "cannot give domain 'nodisk' disk xvda: /dev/hdc1: no such disk")
    refused(m, "/etc/xen/baddisk.cfg",
            "/etc/xen/baddisk.cfg:5: disk: 'phy:/dev/hdb2,xvdb,q': unknown value for access: 'q'")
    check(set(xl_list(m)) == before, "a refused disk left a domain: %r" % xl_list(m))
    check(free_memory(m) == mem_d, "free_memory changed after the refused disks")
    check(block_list(m, "demo") == rows, "demo's disks changed after the refusals")
    # Readers share a disk nobody writes.
    sh(m, "xl create /etc/xen/reader.cfg")
    sh(m, "xl create /etc/xen/reader.cfg 'name=\"reader2\"'")
    r1 = wait_domain(m, "reader", True)["reader"][0]
    r2 = wait_domain(m, "reader2", True)["reader2"][0]
    check(len(block_list(m, "reader")) == 1 and len(block_list(m, "reader2")) == 1, "two readers of hdb2")
    refused(m, "/etc/xen/crashy.cfg", "domain %d (reader) has /dev/hdb2 as xvda read-only" % r1)
    sh(m, "xl destroy reader")
    sh(m, "xl destroy reader2")
    wait_domain(m, "reader", False)
    wait_domain(m, "reader2", False)
    out = sh(m, "xl create /etc/xen/colour.cfg")
    check(any(re.match(r"^/etc/xen/colour.cfg:4: warning: .*colour", l) for l in out),
          "no warning for the unknown key: %r" % out)
    # ramdisk= is start_info module 0; cpus= pins its vCPU.
    m.wait_for(r'^\(d\d+\) demo: domain \d+ up \(8 MiB, 1 module\), cmdline ""$', timeout=90)
    wait_domain(m, "colour", True)
    vl = [l for l in sh(m, "xl vcpu-list colour") if l.startswith("colour ")]
    check(len(vl) == 1 and re.search(r"\s1 / all$", vl[0]), "colour's vCPU is not pinned to CPU 1: %r" % vl)
    sh(m, "xl destroy colour")
    wait_domain(m, "colour", False)

    # Unknown domains.
    out = sh(m, "xl console nosuch")
    check(any("nosuch is an invalid domain identifier" in l for l in out), "xl console nosuch: %r" % out)
    out = sh(m, "xl destroy 99")
    check(any("99 is an invalid domain identifier" in l for l in out), "xl destroy 99: %r" % out)

    # on_crash = restart: a new domain, same name.
    sh(m, "xl create /etc/xen/crashy.cfg")
    first = wait_domain(m, "crashy", True)["crashy"][0]
    attach(m, "crashy", r"demo> ")
    m.send("crash\r")
    m.wait_for(r"^dom0: domain %d \(crashy\) crashed: restart$" % first, timeout=60)
    again = m.wait_for(r"^dom0: domain 'crashy' restarted as domain (\d+)$", timeout=60)
    second = int(again.group(1))
    check(second != first, "crashy came back with the same id")
    m.wait_for(r"^\(d%d\) demo: domain %d up" % (second, second), timeout=60)
    doms = xl_list(m)
    check(doms.get("crashy", (None,))[0] == second, "xl list: crashy is not domain %d: %r" % (second, doms))
    rows = block_list(m, "crashy")
    check(len(rows) == 1 and rows[0].split()[:3] == ["51728", "0", str(second)],
          "crashy restarted without its disk: %r" % rows)

    # on_crash = preserve: it stays, crashed.
    sh(m, "xl create /etc/xen/keep.cfg")
    keep = wait_domain(m, "keep", True)["keep"][0]
    attach(m, "keep", r"demo> ")
    m.send("crash\r")
    m.wait_for(r"^dom0: domain %d \(keep\) crashed: preserve$" % keep, timeout=60)
    detach(m)
    doms = xl_list(m)
    check(doms.get("keep", (None, None, ""))[2][4] == "c", "keep is not listed as crashed: %r" % doms)
    sh(m, "xl destroy keep")
    wait_domain(m, "keep", False)

    # on_poweroff = destroy (the default).
    attach(m, "demo", r"demo")
    m.send("poweroff\r")
    m.wait_for(r"^dom0: domain %d \(demo\) powered off: destroy$" % demo, timeout=60)
    # xl console ends with its domain: the prompt comes back by itself.
    m.wait_for(re.escape(PROMPT), timeout=30, partial=True)
    # The hypervisor's line may come after the prompt: wait for it before typing.
    m.wait_for(r"^menhir: domain %d \(demo\) destroyed" % demo, timeout=60, anywhere=True)
    wait_domain(m, "demo", False)
    sh(m, "xl destroy crashy")
    wait_domain(m, "crashy", False)

    # xl shutdown / reboot through xenstore's control/shutdown.
    sh(m, "xl create /etc/xen/demo.cfg")
    up = m.wait_for(r'^\(d(\d+)\) demo: domain \d+ up', timeout=90)
    demo = int(up.group(1))
    time.sleep(2)   # its watch is set after the banner
    out = sh(m, "xl shutdown -w demo", timeout=180)
    check("Domain %d has been shut down, reason code 0" % demo in out, "xl shutdown -w demo: %r" % out)
    one = m.find_all(r"^\(d%d\) .*demo: control/shutdown says 'poweroff'$" % demo)
    check(len(one) == 1, "demo did not see control/shutdown = poweroff")
    check("demo" not in xl_list(m), "demo is still listed after xl shutdown -w")
    sh(m, "xl create /etc/xen/again.cfg")
    up = m.wait_for(r'^\(d(\d+)\) demo: domain \d+ up', timeout=90)
    first = int(up.group(1))
    time.sleep(2)
    sh(m, "xl reboot again")
    m.wait_for(r"^dom0: domain %d \(again\) rebooted: restart$" % first, timeout=60)
    again = m.wait_for(r"^dom0: domain 'again' restarted as domain (\d+)$", timeout=60)
    check(int(again.group(1)) != first, "again came back with the same id")
    sh(m, "xl destroy again")
    wait_domain(m, "again", False)
    sh(m, "xl create /etc/xen/deaf.cfg")
    m.wait_for(r'^\(d\d+\) demo: domain \d+ up', timeout=90)
    out = sh(m, "xl shutdown deaf")
    check(any("PV control interface not available" in l for l in out) and any("left running" in l for l in out),
          "xl shutdown of a guest without the control interface: %r" % out)
    time.sleep(2)
    check("deaf" in xl_list(m), "deaf is gone after a refused shutdown")
    sh(m, "xl destroy deaf")
    wait_domain(m, "deaf", False)
    check(free_memory(m) == mem0, "free_memory is not back where it was after the domains went")

    # Many cycles: nothing leaks.
    frames = [int(x) for x in re.findall(r"destroyed, frames free: (\d+)", m.output())]
    t0 = time.monotonic()
    for i in range(CYCLES):
        out = sh(m, "xl create /etc/xen/demo.cfg")
        check(not any("cannot" in l or "error" in l for l in out), "cycle %d: xl create: %r" % (i, out))
        out = sh(m, "xl destroy demo")
        check(not out, "cycle %d: xl destroy: %r" % (i, out))
    wait_domain(m, "demo", False)
    mem1 = free_memory(m)
    check(mem1 == mem0, "after %d cycles free_memory is %d MiB, was %d" % (CYCLES, mem1, mem0))
    m.settle(2)
    after = [int(x) for x in re.findall(r"destroyed, frames free: (\d+)", m.output())]
    check(len(after) - len(frames) == CYCLES, "%d domains destroyed in the cycles, expected %d"
          % (len(after) - len(frames), CYCLES))
    check(len(set(after[len(frames):])) == 1, "the frames free after each cycle differ: %r" % after[len(frames):])

    fails = m.find_all(r"^.*(FAIL|PANIC).*$")
    check(not fails, "FAIL/PANIC lines:\n%s" % "\n".join(x.group(0) for x in fails))
    check(m.count(r"^menhir: domain 0 \(Domain-0\) (crashed|shut down)") == 0, "dom0 died")
    print("xl_lifecycle: boot-time console, create -c, bad configs, on_crash restart/preserve, on_poweroff, "
          "shutdown/reboot through xenstore, "
          "%d create/destroy cycles in %.0fs with free_memory %d MiB before and after; %.0fs in all"
          % (CYCLES, time.monotonic() - t0, mem0, m.elapsed()))
