#!/usr/bin/env python3
"""Two CPUs in VMX root operation, x2APIC mode by default; then, on the same
boot, the serial input toggle and the debug keys h, c and m. Boots
menhir-bare.iso (no dom0, no domUs): a quiet machine whose memory use is the
hypervisor's own."""
import math
import os
import re

from harness import Machine, check, BANNER, BARE_ISO, TO_DOM0, TO_MENHIR

MEMORY_MIB = 256
TYPES = {"available", "reserved", "ACPI data", "ACPI NVS", "bad RAM"}
MAP_LINE = r"^menhir:  0x([0-9a-f]{16}) - 0x([0-9a-f]{16}) (.+)$"

with Machine(cpus=2, memory=MEMORY_MIB, iso=BARE_ISO) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for(TO_DOM0)
    vmx_seconds = m.elapsed()
    check(m.count(r"^menhir: local APIC in x2APIC mode$") == 1,
          "expected 'menhir: local APIC in x2APIC mode' (corei7_skylake_x has x2APIC)")
    check(m.count(r"^menhir: local APIC in xAPIC mode$") == 0,
          "the local APIC is in xAPIC mode although x2APIC is available")

    # The memory map printed at boot.
    regions = []
    for mt in m.find_all(MAP_LINE):
        base, end, kind = int(mt.group(1), 16), int(mt.group(2), 16), mt.group(3).strip()
        check(kind in TYPES, "unknown memory type %r in %r" % (kind, mt.group(0)))
        check(end > base, "empty or reversed region %r" % mt.group(0))
        regions.append((base, end, kind))
    check(regions, "no memory map lines ('menhir:  0x... - 0x... TYPE') at boot")
    for (b1, e1, _), (b2, e2, _) in zip(regions, regions[1:]):
        check(b2 >= e1, "memory map regions overlap or are unsorted: %#x-%#x, %#x-%#x"
              % (b1, e1, b2, e2))
    expected_total = sum(max(0, end // 4096 - math.ceil(base / 4096))
                         for base, end, kind in regions if kind == "available")
    ram_frames = MEMORY_MIB * 256
    check(0.9 * ram_frames <= expected_total <= ram_frames,
          "the map's available memory (%d frames) is not about --memory %d MiB (%d frames)"
          % (expected_total, MEMORY_MIB, ram_frames))

    # Ctrl-A x3: input to Menhir.
    m.switch_input()
    m.wait_for(TO_MENHIR, timeout=30)

    # h: the key list.
    m.send("h")
    m.wait_for(r"^menhir: 'h' pressed -> showing installed handlers$", timeout=30)
    keys = {}
    lines = m.wait_for_all([r"^menhir:  key '%s' \(ascii '([0-9a-f]{2})'\) => (\S.*)$" % re.escape(k)
                            for k in "hcmRPC"], timeout=30)
    for k, mt in zip("hcmRPC", lines):
        check(int(mt.group(1), 16) == ord(k),
              "key %r listed with ascii '%s', expected '%02x'" % (k, mt.group(1), ord(k)))
        keys[k] = mt.group(2)

    # c: per-CPU state.
    m.send("c")
    m.wait_for(r"^menhir: 'c' pressed -> dumping per-CPU state$", timeout=30)
    cpus = m.wait_for_all([r"^menhir: CPU%d: APIC id (\d+), VMX on, current idle$" % i
                           for i in range(2)], timeout=30)
    apic_ids = [int(c.group(1)) for c in cpus]
    check(len(set(apic_ids)) == 2, "CPU0 and CPU1 report the same APIC id %s" % apic_ids)
    check(m.count(r"^menhir: CPU2:") == 0, "'c' lists a CPU2 on a 2-CPU machine")

    # m: memory statistics against the boot memory map.
    m.send("m")
    m.wait_for(r"^menhir: 'm' pressed -> dumping memory statistics$", timeout=30)
    st = m.wait_for(r"^menhir: frames: total (\d+), free (\d+), used (\d+)$", timeout=30)
    total, free, used = (int(x) for x in st.groups())
    check(total == expected_total,
          "'m' says %d frames in total; the boot memory map's available regions hold %d"
          % (total, expected_total))
    check(free + used == total, "free %d + used %d != total %d" % (free, used, total))
    # Used memory: the hypervisor's own (at most 16 MiB here) and the modules
    # GRUB loaded (bounded by the ISO's size). No domain runs on this ISO.
    check(m.count(r"^menhir: domain \d+ \(") == 0, "a domain was built from menhir-bare.iso")
    iso_frames = math.ceil(os.path.getsize(m.iso) / 4096)
    limit = 16 * 256 + iso_frames
    check(0 < used <= limit,
          "%d frames used: expected more than 0 and at most %d (16 MiB: %d, the ISO's size: %d)"
          % (used, limit, 16 * 256, iso_frames))

    # Ctrl-A x3 again: input back to dom0.
    m.switch_input()
    m.wait_for(TO_DOM0, timeout=30)
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")
    print("boot_2cpu: VMX on 2/2 after %.1fs; keys %s; APIC ids %s; frames %d total, %d used"
          % (vmx_seconds, "".join(sorted(keys)), apic_ids, total, used))
