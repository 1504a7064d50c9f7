#!/usr/bin/env python3
"""dom0's shell on the serial console (issue 8, "The shell"), driven as a
person would: one boot, two CPUs, dom0 and two quiet spinners (spin1,
spin2). Waits for `dom0# `, types commands and reads what comes back:

  editing       `xl lisx<DEL>t` runs `xl list`; an empty line gives a new prompt
  xl list       xl's header, Domain-0 first, then spin1 and spin2
  xl list -l    JSON (domid, c_info name, b_info memory, vCPUs, sched_params)
  xl info       key : value lines, free_memory in MiB, xen_version, scheduler
  xl uptime     xl's `Name ID Uptime` table
  pause/unpause the state letter p comes and goes
  vcpu-pin      both spinners pinned to CPU 1: vcpu-list shows them there
                (several times, though CPU 0 is nearly idle) with affinity
                `1 / all`; spin2 re-pinned to CPU 0 moves there; a CPU that
                does not exist is refused
  sched-credit  -d spin2 -w 512, then the table shows 512
  destroy       spin2 goes (the hypervisor says destroyed), xl list lacks it
  dmesg         the hypervisor's boot lines, read back from its console ring
  errors        an unknown command, an unknown domain: messages, and the
                prompt comes back
  disks         `disks` lists only the CD-ROM (no disk attached);
                `xl block-list spin1 nosuch`: xl's header, no rows, xl's
                message for the unknown domain
  Ctrl-A x3     still switches input to Menhir's debug keys and back
  poweroff      powers the machine off (ACPI S5), as Xen's dom0 does
"""
import json
import re
import time

from harness import (Machine, check, iso_with_modules, guest, BANNER, TO_DOM0, TO_DOMU, TO_MENHIR, DOM0_ELF,
                     TestFailure, PROMPT, shell_command as command)

EVERY = 1_000_000_000   # spinner loop iterations per report: a line every ~40 s, quiet
SPINNERS = ["spin1", "spin2"]
iso = iso_with_modules("dom0_shell", [(DOM0_ELF, "dom0")] + [
    (guest("spinner"), 'domain name=%s memory=8 vcpus=1 cmdline="name=%s every=%d"' % (n, n, EVERY))
    for n in SPINNERS])

def rows(lines, header):
    """The table's rows after its header line, by name."""
    check(header in lines, "no header %r in:\n%s" % (header, "\n".join(lines)))
    out = {}
    for l in lines[lines.index(header) + 1:]:
        out[l.split()[0]] = l
    return out


LIST_HEADER = "Name                                        ID   Mem VCPUs\tState\tTime(s)"
LIST_ROW = re.compile(r"^(\S+) +(\d+) +(\d+) +(\d+)     ([r-][b-][p-][s-][-rscwS][d-]) +(\d+\.\d)$")
VCPU_HEADER = "%-32s %5s %5s %5s %5s %9s %s" % ("Name", "ID", "VCPU", "CPU", "State", "Time(s)",
                                              "Affinity (Hard / Soft)")   # xl's widths
UPTIME_HEADER = "%-33s %4s %s" % ("Name", "ID", "Uptime")
CREDIT_HEADER = "%-33s %4s %6s %4s" % ("Name", "ID", "Weight", "Cap")
VCPU_ROW = re.compile(r"^(\S+) +(\d+) +(\d+) +(\d+|-) +([r-][b-][p-]) +(\d+\.\d)  (\S+) / (\S+)$")


def xl_list(m):
    lines = command(m, "xl list")
    table = rows(lines, LIST_HEADER)
    parsed = {}
    for name, l in table.items():
        mt = LIST_ROW.match(l)
        check(mt, "xl list row not in xl's format: %r" % l)
        parsed[name] = mt
    return lines, parsed


def vcpu_of(m, dom):
    lines = command(m, "xl vcpu-list %s" % dom)
    table = rows(lines, VCPU_HEADER)
    check(dom in table, "vcpu-list %s shows %s" % (dom, lines))
    mt = VCPU_ROW.match(table[dom])
    check(mt, "vcpu-list row not in xl's format: %r" % table[dom])
    return mt


with Machine(cpus=2, iso=iso, timeout=600) as m:
    m.wait_for(BANNER, timeout=120)
    m.wait_for(r"^menhir: VMX on 2/2 CPUs$", timeout=180)
    m.wait_for(TO_DOM0, timeout=120)
    m.wait_for(r"^\(d0\) dom0: Menhir dom0 started$", timeout=120, anywhere=True)
    m.wait_for(r"^dom0# ", timeout=120, partial=True)
    for n in SPINNERS:
        m.wait_for(r"^\(d\d+\) spinner %s: started, every %d$" % (n, EVERY), timeout=120, anywhere=True)

    # Editing: DEL takes the x back; the line that runs is `xl list`.
    lines = command(m, "xl lisx\x7ft")
    check(LIST_HEADER in lines, "`xl lisx<DEL>t` did not run xl list:\n%s" % "\n".join(lines))
    check(command(m, "") == [], "an empty line printed something")

    lines, doms = xl_list(m)
    names = [l.split()[0] for l in lines[lines.index(LIST_HEADER) + 1:]]
    check(names == ["Domain-0", "spin1", "spin2"], "xl list shows %s" % names)
    check(doms["Domain-0"].group(2) == "0", "Domain-0 is not id 0: %r" % doms["Domain-0"].group(0))
    ids = {n: int(doms[n].group(2)) for n in SPINNERS}
    check(all(doms[n].group(3) == "8" and doms[n].group(4) == "1" for n in SPINNERS),
          "spinners' Mem/VCPUs: %s" % [doms[n].group(0) for n in SPINNERS])
    check(all("p" not in doms[n].group(5) for n in SPINNERS), "a spinner is paused at boot")

    # xl list -l: JSON.
    text = "\n".join(command(m, "xl list -l"))
    try:
        js = json.loads(text)
    except ValueError as e:
        raise TestFailure("xl list -l is not JSON (%s):\n%s" % (e, text))
    by_name = {d["config"]["c_info"]["name"]: d for d in js}
    check(sorted(by_name) == ["Domain-0", "spin1", "spin2"], "xl list -l names %s" % sorted(by_name))
    s1 = by_name["spin1"]
    check(s1["domid"] == ids["spin1"] and s1["config"]["b_info"]["max_memkb"] == 8192
          and s1["config"]["b_info"]["max_vcpus"] == 1
          and s1["config"]["b_info"]["sched_params"]["weight"] == 256, "xl list -l spin1: %s" % s1)

    # xl info.
    info = {}
    for l in command(m, "xl info"):
        mt = re.match(r"^(\w+) +: (.*)$", l)
        check(mt and len(l.split(":")[0]) == 23, "xl info line not `key : value` as xl prints: %r" % l)
        info[mt.group(1)] = mt.group(2)
    for key in ("host", "release", "machine", "nr_cpus", "nr_nodes", "cores_per_socket", "threads_per_core",
                "cpu_mhz", "total_memory", "free_memory", "xen_major", "xen_minor", "xen_extra",
                "xen_version", "xen_caps", "xen_scheduler", "xen_commandline"):
        check(key in info, "xl info lacks %s: %s" % (key, info))
    check(info["nr_cpus"] == "2" and info["xen_scheduler"] == "credit", "xl info: %s" % info)
    check(info["xen_version"] == "4.17.0-menhir", "xen_version %r" % info["xen_version"])
    free_mib = int(info["free_memory"])
    check(0 < free_mib < int(info["total_memory"]) <= 256, "free_memory %d, total_memory %s"
          % (free_mib, info["total_memory"]))

    # xl uptime.
    up = rows(command(m, "xl uptime"), UPTIME_HEADER)
    check(re.match(r"^Domain-0 +0 +\d+:\d\d:\d\d$", up.get("Domain-0", "")), "xl uptime: %s" % up)
    check(re.match(r"^spin1 +%d +\d+:\d\d:\d\d$" % ids["spin1"], up.get("spin1", "")), "xl uptime: %s" % up)

    # pause / unpause: the p letter.
    check(command(m, "xl pause spin1") == [], "xl pause printed something")
    _, doms = xl_list(m)
    check(doms["spin1"].group(5) == "--p---", "paused spin1 shows %r" % doms["spin1"].group(5))
    check(command(m, "xl unpause %d" % ids["spin1"]) == [], "xl unpause printed something")
    _, doms = xl_list(m)
    check("p" not in doms["spin1"].group(5), "unpaused spin1 shows %r" % doms["spin1"].group(5))

    # vcpu-pin: both spinners to CPU 1. Without affinity CPU 0, idle but
    # for dom0, would take one of them; pinned, both stay on CPU 1.
    check(command(m, "xl vcpu-pin spin1 0 1") == [], "xl vcpu-pin printed something")
    check(command(m, "xl vcpu-pin spin2 all 1-1") == [], "xl vcpu-pin printed something")
    for _ in range(4):
        for n in SPINNERS:
            v = vcpu_of(m, n)
            check(v.group(4) == "1" and v.group(7) == "1" and v.group(8) == "all",
                  "%s pinned to CPU 1: %r" % (n, v.group(0)))
        time.sleep(1)
    # A vCPU queued or running where it may no longer be moves.
    check(command(m, "xl vcpu-pin spin2 0 0 -") == [], "xl vcpu-pin printed something")
    for _ in range(3):
        v = vcpu_of(m, "spin2")
        check(v.group(4) == "0" and v.group(7) == "0", "spin2 re-pinned to CPU 0: %r" % v.group(0))
        check(vcpu_of(m, "spin1").group(4) == "1", "spin1 left CPU 1")
        time.sleep(1)
    bad = command(m, "xl vcpu-pin spin1 0 7")
    check(bad == ["xl: invalid CPU list '7': no such CPU"], "vcpu-pin to CPU 7: %s" % bad)
    check(vcpu_of(m, "spin1").group(7) == "1", "a refused vcpu-pin changed the affinity")
    all_v = rows(command(m, "xl vcpu-list"), VCPU_HEADER)
    check(VCPU_ROW.match(all_v.get("Domain-0", "")), "vcpu-list lacks Domain-0: %s" % all_v)

    # sched-credit.
    check(command(m, "xl sched-credit -d spin2 -w 512") == [], "sched-credit -w printed something")
    lines = command(m, "xl sched-credit")
    check(lines and lines[0].startswith("Cpupool Pool-0: tslice=30ms"), "sched-credit: %s" % lines)
    sc = rows(lines, CREDIT_HEADER)
    check(re.match(r"^spin2 +%d +512 +0$" % ids["spin2"], sc.get("spin2", "")), "sched-credit: %s" % sc)
    check(re.match(r"^spin1 +%d +256 +0$" % ids["spin1"], sc.get("spin1", "")), "sched-credit: %s" % sc)
    one_d = command(m, "xl sched-credit -d spin2")
    check(re.match(r"^spin2 +%d +512 +0$" % ids["spin2"], one_d[-1] if one_d else ""), "sched-credit -d: %s"
          % one_d)

    # destroy.
    check(command(m, "xl destroy spin2") == [], "xl destroy printed something")
    m.wait_for(r"^menhir: domain %d \(spin2\) destroyed, frames free: \d+$" % ids["spin2"], timeout=60,
               anywhere=True)
    _, doms = xl_list(m)
    check(sorted(doms) == ["Domain-0", "spin1"], "after destroy xl list shows %s" % sorted(doms))
    check(command(m, "xl destroy 0") == ["Cannot destroy privileged domain 0."], "xl destroy 0")

    # dmesg: the hypervisor's own boot lines, from its console ring.
    command(m, "xl dmesg", timeout=300)
    # Its output is "menhir: " lines, which command() leaves out: look at the text.
    start = m.output().rfind("xl dmesg")
    seg = m.output()[start:]
    check(re.search(r"^menhir: VMX on 2/2 CPUs$", seg, re.M), "xl dmesg lacks the boot line 'VMX on 2/2 CPUs'")
    check(re.search(r"^menhir: domain 0 \(Domain-0\): ", seg, re.M), "xl dmesg lacks dom0's build line")
    check(re.search(BANNER, seg, re.M), "xl dmesg lacks the banner")
    banners = m.count(BANNER)   # the boot's, and the one dmesg showed
    check(banners == 2, "banner %d times after xl dmesg" % banners)

    # Errors, and the shell goes on.
    check(command(m, "foo bar") == ["dom0: unknown command 'foo' (try 'xl help')"], "unknown command")
    check(command(m, "xl pause nosuch") == ["nosuch is an invalid domain identifier (rc=-6)"], "unknown domain")
    check(command(m, "xl vcpu-list 99") == ["99 is an invalid domain identifier (rc=-6)"], "unknown id")
    check(command(m, "xl list nosuch") == ["Error: Domain 'nosuch' does not exist."], "xl list nosuch")
    helps = command(m, "xl help")
    for c in ("list", "info", "dmesg", "vcpu-list", "vcpu-pin", "sched-credit", "pause", "unpause", "destroy",
              "uptime", "block-list"):
        check(any(re.match(r"^ %s +\S" % re.escape(c), l) for l in helps), "xl help lacks %s" % c)
    check(command(m, "xl 'list' \"spin1\"")[0] == LIST_HEADER, "quoted words")
    # Disks: none attached here (--no-disk), only the boot CD-ROM; no domain has a virtual disk.
    disks = command(m, "disks")
    check(len(disks) == 1 and re.match(r'^dom0: /dev/hda: ATAPI device, model "[^"]+" \(not a disk: skipped\)$',
                                       disks[0]), "disks: %r" % disks)
    block_header = "%-5s %-3s %-6s %-5s %-6s %-8s %-30s" % ("Vdev", "BE", "handle", "state", "evt-ch", "ring-ref",
                                                          "BE-path")
    out = command(m, "xl block-list spin1 nosuch")
    check([l.rstrip() for l in out] == [block_header.rstrip(), "nosuch is an invalid domain identifier"],
          "xl block-list spin1 nosuch: %r" % out)

    # Ctrl-A three times still reaches the debug keys, and comes back.
    m.switch_input()
    m.wait_for(TO_MENHIR, timeout=30)
    m.send("h")
    m.wait_for(r"'h' pressed", timeout=30)
    m.switch_input()   # dom0 serves the domUs' consoles now (xl console): back to DOM0
    m.wait_for(TO_DOM0, timeout=30)
    check(LIST_HEADER in command(m, "xl list"), "the shell after the input cycle")

    crashed = [x.group(0) for x in m.find_all(r"^menhir: domain \d+ \(.*\) crashed: .*$")]
    check(not crashed, "crashed:\n%s" % "\n".join(crashed))
    check(m.count(r"PANIC") == 0, "the hypervisor panicked")

    # poweroff: the machine goes, as with Xen's dom0.
    m.send("poweroff\r")
    m.wait_for(r"^menhir: domain 0 \(Domain-0\) shut down: poweroff$", timeout=60)
    status = m.wait_exit(timeout=120)
    check(status == 0, "scripts/run exited with status %d after poweroff" % status)
    check("machine powered off (ACPI control: soft power off)" in m.run_log(),
          "the emulator ended, but not through ACPI S5")
    check(m.count(BANNER) == banners, "the machine rebooted")
    print("dom0_shell: xl list/-l/info/uptime/pause/unpause/vcpu-pin/vcpu-list/sched-credit/destroy/dmesg, "
          "errors, editing and poweroff from the shell; free_memory %d MiB; %.1fs" % (free_mib, m.elapsed()))
