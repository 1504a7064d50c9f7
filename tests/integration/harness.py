"""Integration test harness: boots Menhir through `scripts/run --headless` and
drives its serial console.

    from harness import Machine
    with Machine(cpus=2) as m:
        m.wait_for(r"^menhir: VMX on 2/2 CPUs$")
        m.send_debug_key("h")
        m.wait_for(r"'h' pressed")

Each Machine writes build/test-logs/NAME.serial.log (the serial output),
NAME.run.log (what scripts/run said) and NAME/ (the emulator's own logs);
log_dir= chooses another directory than build/test-logs.
When the `with` block fails, the serial output is printed in full, with the
run log and the end of the emulator's log, and the exception propagates (the
test exits non-zero).

Tests that need their own set of domains make an ISO first:

    iso = iso_with_modules("mytest", [(DOM0_ELF, "dom0"),
                                      (guest("hello"), "domain name=h memory=8 vcpus=1")])
    with Machine(iso=iso) as m: ...

Environment: MENHIR_BUILD_DIR (default: <repo>/build) is where menhir.elf,
dom0.elf, guests/, the ISOs are and where test-logs/ and test-isos/ go.
"""

import codecs
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from run import make_disk_image  # noqa: E402  (the image scripts/run attaches: an MBR, one partition from 2048)

BUILD_DIR = os.path.abspath(os.environ.get("MENHIR_BUILD_DIR") or os.path.join(ROOT, "build"))

MENHIR_ELF = os.path.join(BUILD_DIR, "menhir.elf")
DOM0_ELF = os.path.join(BUILD_DIR, "dom0.elf")
MENHIR_ISO = os.path.join(BUILD_DIR, "menhir.iso")             # dom0 + the demo domU
BARE_ISO = os.path.join(BUILD_DIR, "menhir-bare.iso")          # no modules: a quiet machine

BANNER = r"^menhir: Menhir hypervisor"
TO_DOM0 = r"^menhir: \*\*\* Serial input to DOM0 \(type 'CTRL-a' three times to switch input\)$"
TO_MENHIR = r"^menhir: \*\*\* Serial input to Menhir \(type 'CTRL-a' three times to switch input\)$"
TO_DOMU = r"^menhir: \*\*\* Serial input to DOM%d \(type 'CTRL-a' three times to switch input\)$"   # % domid
CTRL_A = b"\x01"


class TestFailure(AssertionError):
    pass


def guest(name):
    """Path of a test guest's kernel, build/guests/NAME.elf."""
    return os.path.join(BUILD_DIR, "guests", name + ".elf")


def _mkiso(out, cmd):
    """Runs scripts/mkiso with `cmd` (after --out OUT); returns OUT, or
    raises TestFailure with mkiso's output."""
    cmd = [os.path.join(ROOT, "scripts", "mkiso"), "--out", out] + cmd
    os.makedirs(os.path.dirname(out), exist_ok=True)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        raise TestFailure("cannot make %s:\n$ %s\n%s" % (
            out, shlex.join(cmd), res.stdout.decode(errors="replace")))
    return out


def _module_args(modules):
    args = []
    for mod in modules:
        if isinstance(mod, str):
            spec = mod
        else:
            path, line = mod
            if ":" in path:
                raise TestFailure("mkiso cannot take a module path with ':' in it: %r" % path)
            spec = path if line is None else "%s:%s" % (path, line)
        args += ["--module", spec]
    return args


def iso_with_modules(name, modules, cmdline=None, out_dir=None):
    """Make build/test-isos/NAME.iso (or OUT_DIR/NAME.iso) with scripts/mkiso:
    build/menhir.elf and the given Multiboot2 modules, in order. modules: (FILE, COMMAND_LINE)
    pairs (COMMAND_LINE is split with shell rules, so cmdline="a b" stays one
    word) or "FILE[:COMMAND_LINE]" strings. cmdline: the hypervisor command
    line (default: mkiso's). Returns the ISO's path; raises TestFailure with
    mkiso's output if it fails."""
    out = os.path.join(out_dir or os.path.join(BUILD_DIR, "test-isos"), name + ".iso")
    cmd = ["--elf", MENHIR_ELF] + (["--cmdline", cmdline] if cmdline is not None else [])
    return _mkiso(out, cmd + _module_args(modules))


def linux_guest(*args):
    """Runs scripts/linux-guest ARGS (the Linux domU's kernel, initramfs and
    ISO, build/linux/ its download cache); its output goes to the test's."""
    r = subprocess.run([os.path.join(ROOT, "scripts", "linux-guest")] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(r.stdout, end="")
    if r.returncode:
        raise TestFailure("scripts/linux-guest failed (status %d)" % r.returncode)


def iso_with_dom0_files(name, files, cmdline=None, base=None, modules=()):
    """Make build/test-isos/NAME.iso from BASE (default build/menhir.iso: dom0,
    its initramfs, the boot-time demo domain) with more files in dom0's
    initramfs: files is a list of (SOURCE_PATH, DEST_PATH_IN_DOM0); modules
    (as for iso_with_modules) come after BASE's. Returns the ISO's path."""
    out = os.path.join(BUILD_DIR, "test-isos", name + ".iso")
    cmd = ["--from-iso", base or MENHIR_ISO] + (["--cmdline", cmdline] if cmdline is not None else [])
    for src, dest in files:
        cmd += ["--dom0-file", "%s:%s" % (src, dest)]
    return _mkiso(out, cmd + _module_args(modules))


PROMPT = "dom0# "
# Lines other writers put between the shell's (guests, the hypervisor, dom0's back ends).
_OTHER = re.compile(r"^(\(d\d+\) |menhir: )")
_OTHER_LINE = re.compile(r"^(?:\(d\d+\) |menhir: )[^\n]*\n", re.M)


def shell_command(m, line, timeout=120):
    """Types `line` and Enter at dom0's prompt; returns the shell's output
    lines up to the next prompt (the echo and other writers' lines left out).
    Output that comes on its own while typing (a guest's line) makes the
    shell draw the prompt and the line typed so far again: the echo is the
    last `dom0# LINE` (or bare `LINE`) before the output."""
    start = len(m.output())
    m.send(line + "\r")
    # The hypervisor's own lines (and guest lines it prints for domains
    # whose console it serves) end the prompt's line without a redraw, even
    # in the middle of the echo: they are taken out, and the echo may then
    # be cut by a line break anywhere.
    echo = re.compile(r"(?:^|\n)(?:" + re.escape(PROMPT) + r")?" + "\n?".join(re.escape(c) for c in line) + r"\n")
    edited = any(ord(c) < 0x20 or ord(c) == 0x7f for c in line)
    deadline = time.monotonic() + timeout
    while True:
        base = max(0, start - len(PROMPT) - 1)
        raw = m.output()[base:]
        text = _OTHER_LINE.sub("", raw)
        e = None
        if edited:
            # An edited line echoes its edits: the echo is the first line.
            nl = raw.find("\n", start - base)
            text = raw
            body_start = nl + 1 if nl >= 0 else None
        else:
            for e in echo.finditer(text):
                pass
            body_start = e.end() if e is not None else None
        if body_start is not None:
            end = text.find("\n" + PROMPT, body_start - 1)
            if end >= 0:
                body = text[body_start:end + 1] if end + 1 > body_start else ""
                return [l for l in body.split("\n") if l and not _OTHER.match(l) and not l.startswith(PROMPT)]
        if time.monotonic() > deadline or not m.alive():
            raise TestFailure("no prompt after %r; output since:\n%s" % (line, raw[-3000:]))
        time.sleep(0.2)



def guest_shell_command(m, line, prompt, timeout=120):
    """Types `line` and Enter at a guest's shell attached to the serial line
    (xl console, xl create -c) whose prompt is `prompt`; returns its output
    lines up to the next prompt (blank ones left out)."""
    start = len(m.output())
    m.send(line + "\r")
    deadline = time.monotonic() + timeout
    while True:
        text = m.output()[start:]
        at = text.find(line)
        if at >= 0:
            nl = text.find("\n", at)
            end = text.find("\n" + prompt, nl - 1) if nl >= 0 else -1
            if end >= 0:
                return [l for l in text[nl + 1:end + 1].split("\n") if l.strip()]
        if time.monotonic() > deadline or not m.alive():
            raise TestFailure("no %r prompt after %r; output since:\n%s" % (prompt, line, text[-3000:]))
        time.sleep(0.2)


# `xl list` rows as xl prints them: name, id, memory (MiB), vCPUs, state, time.
XL_LIST_ROW = re.compile(r"^(\S+) +(\d+) +(\d+) +(\d+) +([r-][b-][p-][s-][-rscwS][d-]) +(\d+\.\d)$")


def xl_list(m):
    """The domains `xl list` shows at dom0's prompt: {name: (id, memory MiB, state)}."""
    out = {}
    for l in shell_command(m, "xl list"):
        r = XL_LIST_ROW.match(l)
        if r:
            out[r.group(1)] = (int(r.group(2)), int(r.group(3)), r.group(5))
    check("Domain-0" in out, "xl list has no Domain-0 (dom0's shell is not answering?)")
    return out


def wait_domain(m, name, present, timeout=90):
    """Polls `xl list` until domain NAME is there (present) or gone; returns the last listing."""
    deadline = time.monotonic() + timeout
    while True:
        doms = xl_list(m)
        if (name in doms) == present:
            return doms
        if time.monotonic() > deadline:
            raise TestFailure("%s still %s after %ds: %r" % (name, "absent" if present else "present", timeout, doms))
        time.sleep(1)

def _die_with_parent():
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ANSI_END = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[^\[])")


def clean(text):
    """Serial text as lines: CR LF -> LF, stray CRs and ANSI sequences gone."""
    return _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", ""))


class Machine:
    def __init__(self, cpus=2, memory=256, emulator="bochs", accel=None, cmdline=None,
                 cpu_model=None, timeout=240, name=None, iso=None, log_dir=None, disk=None):
        self.name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
        self.iso = iso or MENHIR_ISO
        if not os.path.isfile(self.iso):
            raise TestFailure("no ISO at %s: build first (cmake --build build)" % self.iso)
        self.log_dir = log_dir or os.path.join(BUILD_DIR, "test-logs")
        os.makedirs(self.log_dir, exist_ok=True)
        self.serial_log_path = os.path.join(self.log_dir, self.name + ".serial.log")
        self.run_log_path = os.path.join(self.log_dir, self.name + ".run.log")
        self.emu_log_dir = os.path.join(self.log_dir, self.name)
        self.emulator = emulator

        cmd = [os.path.join(ROOT, "scripts", "run"), "--headless",
               "--emulator", emulator, "--cpus", str(cpus), "--memory", str(memory),
               "--iso", self.iso, "--timeout", str(timeout), "--log-dir", self.emu_log_dir]
        if accel:
            cmd += ["--accel", accel]
        if cmdline is not None:
            cmd += ["--cmdline", cmdline]
        if cpu_model:
            cmd += ["--cpu-model", cpu_model]
        # A raw image as /dev/hdb (primary slave), or none: scripts/run's
        # default build/disk.img would be shared by tests running in parallel.
        cmd += ["--disk", os.path.abspath(disk)] if disk else ["--no-disk"]
        self.cmd = cmd

        self._text = ""            # cleaned text of everything received
        self._cursor = 0           # wait_for searches from here
        self._cond = threading.Condition()
        self._eof = False
        self._serial_log = open(self.serial_log_path, "wb")
        self._run_log = open(self.run_log_path, "wb")
        self._run_log.write(("$ " + shlex.join(cmd) + "\n").encode())
        self._run_log.flush()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._run_log, preexec_fn=_die_with_parent)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- output ------------------------------------------------------------

    def _read(self):
        fd = self.proc.stdout.fileno()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            with self._cond:
                if not data:
                    self._text += clean(pending + decoder.decode(b"", final=True))
                    self._eof = True
                    self._cond.notify_all()
                    return
                self._serial_log.write(data)
                self._serial_log.flush()
                pending += decoder.decode(data)
                # Hold back a trailing CR (an LF may follow) or an unfinished
                # escape sequence until the next chunk completes it.
                cut = len(pending)
                esc = pending.rfind("\x1b", max(0, cut - 32))
                if esc >= 0 and not _ANSI_END.match(pending, esc):
                    cut = esc
                elif pending.endswith("\r"):
                    cut -= 1
                self._text += clean(pending[:cut])
                pending = pending[cut:]
                self._cond.notify_all()

    def output(self):
        """Everything received so far, cleaned (see clean())."""
        with self._cond:
            return self._text

    def _end(self, partial):
        """Where searches stop: after the last complete line, unless partial
        (a streaming `(.*)$` must not match half a line)."""
        return len(self._text) if partial else self._text.rfind("\n") + 1

    def find_all(self, pattern, flags=re.M, partial=False):
        """All matches of pattern in the whole output so far (complete lines
        only, unless partial)."""
        with self._cond:
            return list(re.compile(pattern, flags).finditer(self._text, 0, self._end(partial)))

    def count(self, pattern, flags=re.M, partial=False):
        return len(self.find_all(pattern, flags, partial))

    def elapsed(self):
        return time.monotonic() - self.started

    def _tail(self, n=25):
        return "\n".join(self.output().splitlines()[-n:])

    def wait_for(self, pattern, timeout=60, flags=re.M, partial=False, anywhere=False):
        """Wait until pattern matches the output after the cursor; move the
        cursor past the match and return it. Patterns are multiline regexes
        over cleaned text (lines end with \\n, no \\r) and only see complete
        lines, unless partial=True (e.g. for a prompt). anywhere=True searches
        the whole output instead, for lines whose order against the cursor is
        not fixed (guests run while the hypervisor still prints); the cursor
        then only ever moves forward."""
        return self.wait_for_all([pattern], timeout, flags, partial, anywhere)[0]

    def wait_for_all(self, patterns, timeout=60, flags=re.M, partial=False, anywhere=False):
        """Wait until every pattern matches after the cursor (in any order),
        or anywhere in the output with anywhere=True; move the cursor past the
        last of the matches (never backwards); return the matches."""
        regs = [re.compile(p, flags) for p in patterns]
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                start = 0 if anywhere else self._cursor
                found = [r.search(self._text, start, self._end(partial)) for r in regs]
                if all(found):
                    self._cursor = max([self._cursor] + [m.end() for m in found])
                    return found
                if self._eof or self.proc.poll() is not None:
                    self._cond.wait(0.5)  # let the reader catch up
                    found = [r.search(self._text, start, len(self._text)) for r in regs]
                    if all(found):
                        self._cursor = max([self._cursor] + [m.end() for m in found])
                        return found
                    raise TestFailure(
                        "scripts/run ended (exit status %s) while waiting for %s\n"
                        "--- last serial lines ---\n%s" % (
                            self.proc.poll(), self._missing(regs, found), self._tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure(
                        "timed out after %gs waiting for %s\n--- last serial lines ---\n%s" % (
                            timeout, self._missing(regs, found), self._tail()))
                self._cond.wait(min(left, 0.5))

    @staticmethod
    def _missing(regs, found):
        return ", ".join(repr(r.pattern) for r, m in zip(regs, found) if not m)

    def frames_free_after_domus(self):
        """The `frames free:` values of the `destroyed` lines so far, in order."""
        return [int(x.group(1)) for x in
                self.find_all(r"^menhir: domain \d+ \(.*\) destroyed, frames free: (\d+)$")]

    def check_powered_off_once(self, ids):
        """Every domain {name: id} shut down with poweroff and was destroyed,
        once each, and no domain crashed."""
        for name, i in ids.items():
            one(self, r"^menhir: domain %d \(%s\) shut down: poweroff$" % (i, name), name)
            one(self, r"^menhir: domain %d \(%s\) destroyed, frames free: \d+$" % (i, name), name)
        crashed = [mt.group(0) for mt in self.find_all(r"^menhir: domain \d+ \(.*\) crashed: .*$")]
        check(not crashed, "crashed:\n%s" % "\n".join(crashed))

    def check_frames_back(self, before, what="every domU"):
        """After the last domU was destroyed, the free frame count must be
        what it was before the first one was built."""
        frees = self.frames_free_after_domus()
        check(frees, "no domain was destroyed")
        check(frees[-1] == before,
              "after %s was destroyed %d frames are free, %d before the first domU was built (%+d)"
              % (what, frees[-1], before, frees[-1] - before))
        return frees

    def check_only_dom0_left(self, what="every domU died"):
        """Debug key q still answers, and lists dom0 alone."""
        self.send_debug_key("q")
        self.wait_for(r"^menhir: 'q' pressed -> dumping domain info$", timeout=30)
        self.wait_for(r"^menhir: domain 0 \(Domain-0\): running, ", timeout=30)
        self.settle(1)
        q_text = self.output()[self.output().rfind("'q' pressed"):]
        listed = re.findall(r"^menhir: domain (\d+) \(.*\): .+?, \d+ MiB, ", q_text, re.M)
        check(listed == ["0"], "'q' lists domains %s after %s; expected only 0" % (listed, what))

    def spinner_counters(self, ids):
        """The last `spinner NAME: N` of each spinner {name: domain id}."""
        last = {}
        for name, dom in ids.items():
            found = self.find_all(r"^\(d%d\) spinner %s: (\d+)$" % (dom, name))
            last[name] = int(found[-1].group(1)) if found else 0
        return last

    def wait_spinner_reports(self, ids, total, timeout=200):
        """Wait until the spinners together reported `total` counters; return
        the wall-clock seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            c = self.spinner_counters(ids)
            if sum(c.values()) >= total:
                return time.monotonic() - started
            if not self.alive() or time.monotonic() > deadline:
                raise TestFailure("after %.0fs the spinners reported %s, %d reports together expected"
                                  % (time.monotonic() - started, c, total))
            time.sleep(0.5)

    def settle(self, seconds):
        """Let the machine run for a while; return what it printed meanwhile."""
        start = len(self.output())
        time.sleep(seconds)
        return self.output()[start:]

    # -- input -------------------------------------------------------------

    def send(self, data, delay=0.02):
        """Type bytes on the serial line, one at a time, so the UART's
        receive FIFO never overruns."""
        if isinstance(data, str):
            data = data.encode()
        for b in data:
            try:
                self.proc.stdin.write(bytes([b]))
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                raise TestFailure("cannot send %r: scripts/run has ended (status %s)" % (
                    data, self.proc.poll()))
            time.sleep(delay)

    def switch_input(self):
        """Ctrl-A three times: moves serial input on, dom0 -> Menhir -> each
        boot-time domU whose console ring the hypervisor serves -> dom0."""
        self.send(CTRL_A * 3)

    def send_debug_key(self, key):
        """Ctrl-A three times (input to Menhir, whose message is awaited),
        then the debug key. Input stays with Menhir afterwards: switch_input()
        moves it on (to dom0 when no domU with a served console ring lives)."""
        self.switch_input()
        self.wait_for(TO_MENHIR, timeout=30)
        self.send(key)

    # -- life cycle --------------------------------------------------------

    def alive(self):
        return self.proc.poll() is None

    def wait_exit(self, timeout=60):
        """Wait for scripts/run to end by itself; return its exit status."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("the emulator was still running %gs later\n"
                              "--- last serial lines ---\n%s" % (timeout, self._tail()))

    def run_log(self):
        try:
            with open(self.run_log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        for f in (self._serial_log, self._run_log):
            try:
                f.close()
            except OSError:
                pass

    def dump(self):
        """Print everything a person needs to see why a test failed."""
        out = sys.stdout
        out.write("\n===== %s: serial output (%s) =====\n" % (self.name, self.serial_log_path))
        out.write(self.output())
        out.write("\n===== %s: scripts/run (%s) =====\n" % (self.name, self.run_log_path))
        out.write(self.run_log())
        for log in ("bochs.log", "qemu.out", "qemu.log"):
            path = os.path.join(self.emu_log_dir, log)
            if not os.path.exists(path):
                continue
            with open(path, errors="replace") as f:
                lines = f.read().splitlines()
            # Bochs logs a lot: its errors and panics, then its last lines.
            bad = [l for l in lines if re.match(r"^\d+[ep]\[", l)]
            if bad:
                out.write("\n===== %s: errors in %s (last 20 of %d) =====\n"
                          % (self.name, path, len(bad)))
                out.write("\n".join(bad[-20:]) + "\n")
            out.write("\n===== %s: last lines of %s =====\n" % (self.name, path))
            out.write("\n".join(lines[-15:]) + "\n")
        out.flush()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        if exc_type is not None:
            self.dump()
        return False


def one(m, pattern, what):
    """The single match of pattern in the whole output (domains interleave
    their lines, so such checks do not depend on order)."""
    found = m.find_all(pattern)
    check(len(found) == 1, "%s: expected one line matching %r, found %d" % (what, pattern, len(found)))
    return found[0]


def check(condition, message):
    """assert that survives python -O."""
    if not condition:
        raise TestFailure(message)
