#!/usr/bin/env python3
"""A stock Debian Linux kernel as a PVH domU (issue 10), driven from dom0's
prompt as a user would, in one boot.

scripts/linux-guest fetches linux-image-6.1.0-*-cloud-amd64-unsigned (once:
build/linux/ keeps it), takes the ELF vmlinux out of its bzImage unchanged
and makes a busybox initramfs; build/test-isos/linux_domu.iso is menhir.iso
with both and /etc/xen/linux.cfg
(LINUX_VCPUS vCPUs, default 2; `disk = [ 'phy:/dev/hdb,xvda,w' ]`) in dom0's
initramfs. The machine gets a fresh 64 MiB image with one partition as
/dev/hdb. At dom0's prompt:

  boot       `xl create /etc/xen/linux.cfg -c`: Linux's busybox prints the
             userspace marker on hvc0 (`on N CPUs (xen, hvc0)`), N = vCPUs
  shell      /proc/cpuinfo lists every vCPU; `sleep 1` returns (the timer
             ticks); the xen-blkfront disk is there as xvda with xvda1
  disk       mke2fs /dev/xvda1, mount it, write a token file, umount
  poweroff   busybox `poweroff`: the domain shuts down as poweroff (not a
             crash) and is destroyed
  re-create  `xl create` again, then `xl console linux`: the file is still
             there; Ctrl-] gives the prompt back
  shutdown   `xl shutdown linux`: Linux powers off through xenstore's
             control/shutdown; the domain goes
  image      once the machine is stopped, the host's image file holds the
             token: the write reached the disk.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILD_DIR, Machine, PROMPT, check, guest_shell_command, linux_guest, make_disk_image,
                     shell_command, wait_domain, xl_list)

VCPUS = int(os.environ.get("LINUX_VCPUS", "2"))
ISO = os.path.join(BUILD_DIR, "test-isos", "linux_domu.iso")
IMAGE = os.path.join(BUILD_DIR, "test-isos", "linux-domu-disk.img")
LPROMPT = "linux# "
TOKEN = "menhir-linux-token-%d" % int(time.time())


def sh(m, line, timeout=120):
    return guest_shell_command(m, line, LPROMPT, timeout)


def marker(m, timeout):
    r = m.wait_for(r"^linux-guest: userspace up on (\d+) CPUs \((\w+), (\w+)\) after ([\d.]+) s$",
                   timeout=timeout, anywhere=True)
    m.wait_for(re.escape(LPROMPT), timeout=120, partial=True)
    return r


def linux_gone(m, dom, how):
    m.wait_for(r"^menhir: domain %d \(linux\) shut down: %s$" % (dom, how), timeout=300, anywhere=True)
    m.wait_for(r"^menhir: domain %d \(linux\) destroyed, frames free: \d+$" % dom, timeout=120, anywhere=True)


def domid(m):
    rows = xl_list(m)
    check("linux" in rows, "xl list: no linux row: %r" % rows)
    return rows["linux"][0]


# Its own ISO, made each time: build/menhir-linux.iso may hold another
# vCPU count (scripts/bench-linux and --vcpus change it).
linux_guest("--iso", ISO, "--vcpus", str(VCPUS))
os.makedirs(os.path.dirname(IMAGE), exist_ok=True)
make_disk_image(IMAGE, 64)
with Machine(cpus=2, memory=512, iso=ISO, timeout=3000, disk=IMAGE) as m:
    m.wait_for(r"^\(d0\) xenstored: serving", timeout=240, anywhere=True)
    m.wait_for(re.escape(PROMPT), timeout=180, partial=True)

    # Boot, attached to its console from the start.
    t0 = time.monotonic()
    m.send("xl create /etc/xen/linux.cfg -c\r")
    mk = marker(m, 1500)
    print("linux: userspace after %s s of guest time (%.0f s wall)" % (mk.group(4), time.monotonic() - t0))
    check(mk.group(1) == str(VCPUS), "Linux runs on %s CPUs, the config gives %d" % (mk.group(1), VCPUS))
    check(mk.group(2) == "xen", "Linux does not see Xen (/sys/hypervisor/type: %s)" % mk.group(2))
    check(mk.group(3) == "hvc0", "the console is %s, not hvc0" % mk.group(3))
    panics = m.find_all(r"Kernel panic|BUG:|Oops|WARNING: CPU")
    check(not panics, "Linux complained: %r" % [p.group(0) for p in panics])

    cpus = sh(m, "grep ^processor /proc/cpuinfo")
    check(len(cpus) == VCPUS, "/proc/cpuinfo: %r" % cpus)
    out = sh(m, "date +%s; sleep 1; date +%s; echo slept")
    check(out[-1] == "slept" and len(out) == 3 and 1 <= int(out[1]) - int(out[0]) <= 3,
          "sleep 1: %r" % out)
    parts = sh(m, "cat /proc/partitions")
    check(any(l.split()[-1] == "xvda" for l in parts[1:]) and any(l.split()[-1] == "xvda1" for l in parts[1:]),
          "no xvda and xvda1 in /proc/partitions: %r" % parts)

    sh(m, "mke2fs -q /dev/xvda1 && echo made", timeout=300)
    sh(m, "T=%s" % TOKEN)   # busybox redraws lines wider than its terminal: keep them short
    out = sh(m, "mount /dev/xvda1 /mnt && echo $T >/mnt/t && cat /mnt/t", timeout=300)
    check(out and out[-1] == TOKEN, "the file on xvda1: %r" % out)

    # poweroff from inside: a clean poweroff, not a crash.
    m.send("poweroff\r")
    m.wait_for(r"^menhir: domain (\d+) \(linux\) shut down: poweroff$", timeout=300, anywhere=True)
    m.wait_for(r"^menhir: domain \d+ \(linux\) destroyed, frames free: \d+$", timeout=120, anywhere=True)
    wait_domain(m, "linux", False)

    # Re-created in the background, then attached with xl console.
    shell_command(m, "xl create /etc/xen/linux.cfg", timeout=600)
    dom = domid(m)
    m.send("xl console linux\r")
    marker(m, 1500)
    out = sh(m, "mount /dev/xvda1 /mnt && cat /mnt/t", timeout=300)
    check(out and out[-1] == TOKEN, "the file after a poweroff and a re-create: %r" % out)
    sh(m, "umount /mnt && echo unmounted", timeout=120)
    m.send("\x1d")
    m.wait_for(re.escape(PROMPT), timeout=60, partial=True)

    # xl shutdown: through xenstore's control/shutdown.
    shell_command(m, "xl shutdown linux", timeout=120)
    linux_gone(m, dom, "poweroff")
    wait_domain(m, "linux", False)
    oops = m.find_all(r"Kernel panic|BUG:|Oops|PANIC|crashed")
    check(not oops, "after the run: %r" % [o.group(0) for o in oops])

with open(IMAGE, "rb") as f:
    data = f.read()
check(TOKEN.encode() in data, "the token is not in the host's image file %s" % IMAGE)
print("linux_domu: passed")
