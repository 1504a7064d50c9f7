#!/usr/bin/env python3
"""One boot, boot-time domUs only: each checks from inside the ACPI tables it
was given (RSDP in start_info, every signature and checksum, a
hardware-reduced FADT with its sleep and reset registers, \\_S5 in the DSDT,
a MADT with one enabled local APIC per vCPU and nothing else, the tables in an ACPI range of both
memory maps and outside RAM), makes the harmless register writes an OS makes,
then ends through a register:

  off1   1 vCPU,  SLP_TYP(\\_S5) | SLP_EN to the sleep control register -> poweroff
  off2   2 vCPUs, the same
  reset  1 vCPU,  the FADT's reset value to its reset register -> reboot

The hypervisor reports each end as it reports SCHEDOP_shutdown, the machine
itself neither reboots nor powers off, and every domU's frames come back.
"""
import re

from harness import one, Machine, check, iso_with_modules, guest, BANNER

DOMAINS = [  # (name, vCPUs, command line, the hypervisor's reason)
    ("off1", 1, "poweroff vcpus=1", "poweroff"),
    ("off2", 2, "poweroff vcpus=2", "poweroff"),
    ("reset", 1, "reboot vcpus=1", "reboot"),
]
MEMORY_MIB = 8

modules = [(guest("acpi"), "domain name=%s memory=%d vcpus=%d cmdline=\"%s\"" % (n, MEMORY_MIB, v, c))
           for n, v, c, _ in DOMAINS]
iso = iso_with_modules("acpi_tables", modules)

with Machine(cpus=2, memory=128, iso=iso) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    before = int(m.wait_for(r"^menhir: frames free before the boot-time domUs: (\d+)$",
                            timeout=60).group(1))
    ids = {}
    for name, vcpus, _, _ in DOMAINS:
        mt = m.wait_for(r"^menhir: domain (\d+) \(%s\): %d MiB, %d vCPUs?," % (name, MEMORY_MIB, vcpus),
                        timeout=60)
        ids[name] = int(mt.group(1))
    m.wait_for_all([r"^menhir: domain %d \(%s\) destroyed, frames free: (\d+)$" % (ids[n], n)
                           for n, _, _, _ in DOMAINS], timeout=240, anywhere=True)
    m.settle(1)

    for name, vcpus, _, reason in DOMAINS:
        d = r"^\(d%d\) acpi: " % ids[name]
        one(m, d + r"rsdp_paddr (0x[0-9a-f]+)$", name)
        for case in ("rsdp_paddr set", "RSDP checksum", "RSDP extended checksum", "XSDT checksum",
                     "FACP checksum", "DSDT checksum", "FADT HW_REDUCED_ACPI", "FADT RESET_REG_SUP",
                     "DSDT has \\_S5", "tables inside an ACPI range of start_info's memory map",
                     "tables outside RAM of start_info's memory map",
                     "tables inside an ACPI range of XENMEM_memory_map",
                     "tables outside RAM of XENMEM_memory_map",
                     "sleep status reads WAK_STS clear", "still running after harmless writes"):
            one(m, d + re.escape(case) + r" -> .* ok$", "%s: %s" % (name, case))
        fails = m.find_all(r"^\(d%d\) .*FAIL.*$" % ids[name])
        check(not fails, "%s: FAIL lines:\n%s" % (name, "\n".join(f.group(0) for f in fails)))
        tally = one(m, d + r"(\d+) passed, (\d+) failed$", name)
        check(int(tally.group(1)) >= 30 and tally.group(2) == "0", "%s: %s" % (name, tally.group(0)))
        madt = one(m, d + r"MADT with (\d+) local APIC entries$", name)
        check(int(madt.group(1)) == vcpus, "%s: %s" % (name, madt.group(0)))
        one(m, d + r"sleep control port 0xb004, sleep status port 0xb000, reset port 0xcf9 value 0x6$", name)
        one(m, d + r"\\_S5 SLP_TYP 5$", name)
        what = "writing SLP_TYP 5 \\| SLP_EN" if reason == "poweroff" else "writing 0x6 to the reset register"
        one(m, d + what, name)
        # It ended as SCHEDOP_shutdown ends a domain, at the write.
        one(m, r"^menhir: domain %d \(%s\) shut down: %s$" % (ids[name], name, reason), name)
        check(not m.find_all(d + r"still running after the"), "%s outlived its register write" % name)
        check(not m.find_all(d + r"done$"), "%s fell through to its hypercall power-off" % name)

    last = max(int(x.group(1)) for x in m.find_all(r"^menhir: domain \d+ \(\w+\) destroyed, frames free: (\d+)$"))
    check(last == before, "frames free %d after the domUs, %d before" % (last, before))
    check(m.count(BANNER) == 1, "the machine rebooted")
    check(not m.find_all(r"^menhir: .*(powering off the machine|rebooting the machine)"),
          "a domU's register write reached the machine")
    print("acpi_tables: %d domUs checked their tables and ended through their registers" % len(DOMAINS))
