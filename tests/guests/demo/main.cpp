// demo: the domain `./scripts/run` starts and /etc/xen/demo.cfg describes: a
// small interactive guest on its console ring (hvc), for trying xl console,
// and for the tests to stop it every way a domain can stop.
//
// It writes `demo: domain N up (M MiB, K modules), cmdline "..."` and a
// `demo> ` prompt on its console ring, then runs what is typed there:
//   help               the commands
//   echo TEXT          `demo: TEXT`
//   poweroff | reboot  SCHEDOP_shutdown with that reason
//   crash              an invalid opcode (the runtime's fault handler then
//                      shuts the domain down with SHUTDOWN_crash)
//   disk               its first virtual disk (device/vbd, connected through
//                      runtime/blkfront on first use): size and features
//   disk read LBA      sector LBA: `demo: disk: sector LBA: "TEXT"` (its
//                      first 64 bytes, '.' for bytes that are not printable)
//   disk write LBA TEXT  TEXT, zero-padded, as sector LBA (flushed when the
//                      back end offers flushes): `demo: disk: wrote sector LBA`
// Lines it does not know get `demo: unknown command 'X'`.
// With a xenstore ring it also does what Linux does for `xl shutdown` and
// `xl reboot`: it writes control/feature-poweroff and feature-reboot, watches
// control/shutdown and, when dom0 writes "poweroff" or "reboot" there, says
// `demo: control/shutdown says 'X'`, clears the key and shuts down with that
// reason. `no_control` on its command line: it offers no control interface
// (like a guest without Xen's PV drivers), so xl refuses a graceful shutdown.
#include "runtime/blkfront.hpp"
#include "runtime/events.hpp"
#include "runtime/hvc.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/xenstore.hpp"

using namespace guest;

extern "C" const char guest_name[] = "demo";

namespace {

uint64_t ram_mib() {
    MemoryRange map[16];
    const size_t n = memory_map(map, 16);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; ++i)
        if (map[i].type == xen::MEMMAP_TYPE_RAM) bytes += map[i].size;
    // Rounded up: a domU's ACPI page (docs/abi.md 1.6) takes 4 KiB of the
    // MiB it was given out of RAM.
    return (bytes + (1u << 20) - 1) >> 20;
}

alignas(4096) char g_sector[blkif::sector_bytes];
bool g_store = false;

// Connects to the disk the first time it is asked for.
bool disk_ready() {
    if (blkfront::state() == blkfront::State::connected) return true;
    if (!g_store) {
        hvc::print("demo: disk: no xenstore\n");
        return false;
    }
    if (blkfront::state() == blkfront::State::broken) (void)blkfront::disconnect();
    blkfront::Options opts;
    opts.timeout_ns = 10000 * ev::MS;
    if (blkfront::open() != 0 || blkfront::connect(opts) != 0) {
        hvc::print("demo: disk: %s\n", blkfront::last_error());
        return false;
    }
    return true;
}

bool parse_lba(const char*& p, uint64_t& lba) {
    if (*p < '0' || *p > '9') return false;
    lba = 0;
    while (*p >= '0' && *p <= '9') lba = lba * 10 + static_cast<uint64_t>(*p++ - '0');
    if (*p == ' ') ++p;
    else if (*p != '\0') return false;
    return true;
}

void disk(const char* args) {
    if (!disk_ready()) return;
    const blkfront::Disk& d = blkfront::disk();
    uint64_t lba = 0;
    if (*args == '\0') {
        hvc::print("demo: disk: vbd %u: %llu sectors (%llu MiB)%s, flush %s, ring %u pages, indirect %u\n", d.devid,
                   static_cast<unsigned long long>(d.sectors), static_cast<unsigned long long>(d.sectors >> 11),
                   (d.info & blkif::vdisk_readonly) ? ", read-only" : "", d.flush ? "yes" : "no", d.ring_pages,
                   d.indirect_segments);
    } else if (str_starts_with(args, "read ") && parse_lba(args += 5, lba) && *args == '\0') {
        if (blkfront::read(lba, 1, g_sector) != 0) {
            hvc::print("demo: disk: read of sector %llu failed: %s\n", static_cast<unsigned long long>(lba),
                       blkfront::last_error());
            return;
        }
        char text[65];
        for (unsigned i = 0; i < 64; ++i) text[i] = g_sector[i] >= 0x20 && g_sector[i] < 0x7f ? g_sector[i] : '.';
        text[64] = '\0';
        hvc::print("demo: disk: sector %llu: \"%s\"\n", static_cast<unsigned long long>(lba), text);
    } else if (str_starts_with(args, "write ") && parse_lba(args += 6, lba)) {
        __builtin_memset(g_sector, 0, sizeof g_sector);
        for (unsigned i = 0; args[i] && i < sizeof g_sector; ++i) g_sector[i] = args[i];
        long rc = blkfront::write(lba, 1, g_sector);
        if (rc == 0 && d.flush) rc = blkfront::flush();
        if (rc != 0) hvc::print("demo: disk: write of sector %llu failed: %s\n", static_cast<unsigned long long>(lba),
                                blkfront::last_error());
        else hvc::print("demo: disk: wrote sector %llu\n", static_cast<unsigned long long>(lba));
    } else {
        hvc::print("demo: disk: usage: disk | disk read LBA | disk write LBA TEXT\n");
    }
}

void run(const char* line) {
    if (str_eq(line, "")) return;
    if (str_eq(line, "help")) {
        hvc::print("demo: commands: help, echo TEXT, poweroff, reboot, crash, disk [read LBA | write LBA TEXT]\n");
    } else if (str_eq(line, "disk") || str_starts_with(line, "disk ")) {
        disk(line[4] ? line + 5 : line + 4);
    } else if (str_starts_with(line, "echo ")) {
        hvc::print("demo: %s\n", line + 5);
    } else if (str_eq(line, "poweroff")) {
        hvc::print("demo: powering off\n");
        shutdown(xen::SHUTDOWN_poweroff);
    } else if (str_eq(line, "reboot")) {
        hvc::print("demo: rebooting\n");
        shutdown(xen::SHUTDOWN_reboot);
    } else if (str_eq(line, "crash")) {
        hvc::print("demo: crashing\n");
        asm volatile("ud2");
    } else {
        hvc::print("demo: unknown command '%s'\n", line);
    }
}

// A request in control/shutdown (after its watch fired).
void shutdown_request() {
    char value[32];
    if (xs::read("control/shutdown", value, sizeof value) <= 0) return;
    hvc::print("demo: control/shutdown says '%s'\n", value);
    (void)xs::write("control/shutdown", "");
    if (str_eq(value, "poweroff") || str_eq(value, "halt")) shutdown(xen::SHUTDOWN_poweroff);
    if (str_eq(value, "reboot")) shutdown(xen::SHUTDOWN_reboot);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info* si) {
    if (!ev::init() || !ev::heartbeat_start(1000 * ev::MS)) poweroff();
    if (!hvc::open()) {
        print("demo: no console ring (HVM_PARAM_CONSOLE_PFN/EVTCHN are 0)\n");
        poweroff();
    }
    irq_enable();
    hvc::print("demo: domain %u up (%llu MiB, %u module%s), cmdline \"%s\"\n", xen_domid(),
               static_cast<unsigned long long>(ram_mib()), si->nr_modules, si->nr_modules == 1 ? "" : "s", cmdline());
    char unused[2];
    const bool no_control = cmdline_option(cmdline(), "no_control", unused, sizeof unused);
    g_store = xs::open();
    bool store = !no_control && g_store;
    if (store) {
        store = xs::write("control/feature-poweroff", "1") >= 0 && xs::write("control/feature-reboot", "1") >= 0 &&
                xs::watch("control/shutdown", "shutdown") >= 0;
        if (!store) hvc::print("demo: xenstore: %s\n", xs::last_error());
    }
    char line[128];
    size_t len = 0;
    hvc::write("demo> ", 6);
    for (;;) {
        ev::wait_until([&] { return hvc::input_ready() || (store && xs::event_pending()); }, ev::FOREVER);
        char path[64], token[16];
        while (store && xs::next_event(path, sizeof path, token, sizeof token)) shutdown_request();
        if (hvc::poll_line(line, sizeof line, &len)) {
            run(line);
            hvc::write("demo> ", 6);
        }
    }
}
