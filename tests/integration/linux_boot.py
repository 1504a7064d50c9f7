#!/usr/bin/env python3
"""The stock Debian kernel of linux_domu as a boot-time domU (issue 10):
Multiboot2 modules `domain name=linux memory=256 vcpus=1 cmdline=...` and
`ramdisk` (the busybox initramfs), started by the hypervisor next to dom0.

  boot       its hvc0 lines reach the serial console through dom0's console
             back end: the userspace marker, `on 1 CPUs (xen, hvc0)`
  console    `xl console linux` attaches; /proc/cpuinfo shows one CPU and
             `sleep 1` returns
  reboot     busybox `reboot`: the domain shuts down as reboot (not a crash;
             linux_domu covers poweroff), and, a boot-time domU, is
             destroyed; dom0 answers `xl list` after
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BUILD_DIR, DOM0_ELF, PROMPT, Machine, check, guest_shell_command, iso_with_modules,
                     linux_guest, wait_domain, xl_list)

LINUX = os.path.join(BUILD_DIR, "linux")
LPROMPT = "linux# "


def sh(m, line, timeout=120):
    return guest_shell_command(m, line, LPROMPT, timeout)


if not all(os.path.isfile(os.path.join(LINUX, f)) for f in ("vmlinux", "initrd.cpio")):
    linux_guest("--no-iso")
iso = iso_with_modules("linux_boot", [
    (DOM0_ELF, "dom0"),
    (os.path.join(LINUX, "vmlinux"), 'domain name=linux memory=256 vcpus=1 cmdline="console=hvc0 quiet"'),
    (os.path.join(LINUX, "initrd.cpio"), "ramdisk"),
])

with Machine(cpus=2, memory=512, iso=iso, timeout=1500) as m:
    m.wait_for(r"^menhir: domain 1 \(linux\): 256 MiB, 1 vCPU, .*ELF64 kernel$", timeout=240, anywhere=True)
    mk = m.wait_for(r"^\(d1\) linux-guest: userspace up on (\d+) CPUs \((\w+), (\w+)\) after ([\d.]+) s$",
                    timeout=1200, anywhere=True)
    print("linux (boot-time): userspace after %s s of guest time" % mk.group(4))
    check(mk.groups()[:3] == ("1", "xen", "hvc0"), "marker: %s" % mk.group(0))
    bad = m.find_all(r"Kernel panic|BUG:|Oops|WARNING: CPU")
    check(not bad, "Linux complained: %r" % [b.group(0) for b in bad])
    m.wait_for(re.escape(PROMPT), timeout=120, partial=True, anywhere=True)

    m.send("xl console linux\r")
    m.settle(3)
    m.send("\r")
    m.wait_for(re.escape(LPROMPT), timeout=120, partial=True)
    cpus = sh(m, "grep ^processor /proc/cpuinfo")
    check(len(cpus) == 1, "/proc/cpuinfo: %r" % cpus)
    out = sh(m, "sleep 1; echo slept")
    check(out == ["slept"], "sleep 1: %r" % out)

    m.send("reboot\r")
    m.wait_for(r"^menhir: domain 1 \(linux\) shut down: reboot$", timeout=300, anywhere=True)
    m.wait_for(r"^menhir: domain 1 \(linux\) destroyed, frames free: \d+$", timeout=120, anywhere=True)
    wait_domain(m, "linux", False)
    check(set(xl_list(m)) == {"Domain-0"}, "after the reboot: %r" % xl_list(m))
print("linux_boot: passed")
