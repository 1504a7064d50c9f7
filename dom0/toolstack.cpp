// dom0's toolstack: see toolstack.hpp. A domain that stops raises
// VIRQ_DOM_EXC; dom0 then looks at each domain it knows and applies the
// config's action as xl does (xl_vmcontrol.c's handle_domain_death):
// destroy, restart (destroy and create again, with the same config) or
// preserve (leave it shut down or crashed for inspection). A domain's
// disks are given to it between building and unpausing, as libxl adds its
// devices before the domain runs; they go with the domain.
#include "toolstack.hpp"

#include "block/blkback.hpp"
#include "block/disks.hpp"
#include "console_backend.hpp"
#include "terminal.hpp"
#include "xenstored.hpp"
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"
#include "vmm/abi/menhir.hpp"
#include "domctl.hpp"

using namespace guest;
namespace abi = menhir::abi;

namespace dom0::toolstack {
namespace {

struct Record {
    bool used = false;
    bool handled = false;   // its stop was dealt with (preserved)
    uint16_t domid = 0;
    xl::DomainConfig cfg;
};

Record g_records[MAX_RECORDS];
FileReader g_reader = nullptr;
bool g_timing = false;   // `timing` on dom0's command line
volatile bool g_dom_exc = false;

void on_dom_exc(uint32_t, void*) { g_dom_exc = true; }

Record* find(uint16_t domid) {
    for (Record& r : g_records)
        if (r.used && r.domid == domid) return &r;
    return nullptr;
}

long get_info(uint16_t domid, abi::DomainInfo& out) {
    abi::Domctl d = domctl_op(abi::DomctlCmd::get_info, domid);
    const long rc = domctl(&d);
    if (rc == 0) out = d.u.info;
    return rc;
}

const char* action_name(xl::Action a) {
    switch (a) {
        case xl::Action::destroy: return "destroy";
        case xl::Action::restart: return "restart";
        case xl::Action::preserve: return "preserve";
    }
    return "?";
}

const char* reason_name(uint8_t reason) {
    switch (reason) {
        case xen::SHUTDOWN_poweroff: return "powered off";
        case xen::SHUTDOWN_reboot: return "rebooted";
        case xen::SHUTDOWN_suspend: return "suspended";
        case xen::SHUTDOWN_crash: return "crashed";
        case xen::SHUTDOWN_watchdog: return "was stopped by its watchdog";
    }
    return "shut down";
}

// The name of a domain, for messages: the config's for ours, else the hypervisor's.
const char* domain_name(uint16_t domid, abi::DomainInfo& info) {
    if (const Record* r = find(domid)) return r->cfg.name;
    return get_info(domid, info) == 0 ? info.name : "?";
}

// Disk `d` of domain `domid` ('name'): its target found, the one-writer
// rule kept (Xen's block script refuses a disk a guest writes, or one a
// guest uses when asked for writing), then served. False with the reason
// printed as xl prints it.
bool attach_disk(uint16_t domid, const char* name, const block::DiskSpec& d) {
    block::Extent e;
    const block::OpenError oe = block::resolve(d.target, e);
    if (oe != block::OpenError::none) {
        print("xl: cannot give domain '%s' disk %s: %s: %s\n", name, d.vdev, d.target, block::to_string(oe));
        return false;
    }
    uint16_t other = 0;
    if (blkback::conflicts(e, d.writable, other)) {
        // Which of its disks, for a message naming both ends.
        static blkback::VbdInfo vbds[blkback::MAX_VBDS];
        const unsigned n = blkback::list(other, vbds, blkback::MAX_VBDS);
        const blkback::VbdInfo* v = nullptr;
        for (unsigned i = 0; i < n && !v; ++i) {
            const block::Extent& x = vbds[i].extent;
            if (x.disk == e.disk && x.start < e.start + e.sectors && e.start < x.start + x.sectors &&
                (d.writable || vbds[i].writable))
                v = &vbds[i];
        }
        if (other == domid) {
            print("xl: cannot give domain '%s' disk %s (%s): its %s already has %s, and a disk has one writer or any "
                  "number of readers\n",
                  name, d.vdev, d.target, v ? v->vdev : "other disk", v ? v->target : "it");
            return false;
        }
        abi::DomainInfo info{};
        const char* oname = domain_name(other, info);
        print("xl: cannot give domain '%s' disk %s (%s, %s): domain %u (%s) has %s as %s %s, and a disk has one writer "
              "or any number of readers\n",
              name, d.vdev, d.target, d.writable ? "writable" : "read-only", other, oname, v ? v->target : "it",
              v ? v->vdev : "a disk", v ? (v->writable ? "writable" : "read-only") : "");
        return false;
    }
    char why[128] = "";
    const long rc = blkback::add(domid, d.devid, d.vdev, d.target, e, d.writable, why, sizeof why);
    if (rc != 0) {
        print("xl: cannot give domain '%s' disk %s (%s): %s (error %ld)\n", name, d.vdev, d.target, why, rc);
        return false;
    }
    return true;
}

// Builds and starts cfg's domain; its id or -1 (reason printed).
long build_and_start(const xl::DomainConfig& cfg) {
    const uint64_t t0 = rdtsc();
    Blob kernel, ramdisk;
    if (!g_reader || !g_reader(cfg.kernel, kernel)) {
        print("xl: kernel '%s': no such file in dom0's initramfs\n", cfg.kernel);
        return -1;
    }
    if (cfg.ramdisk[0] != '\0' && !g_reader(cfg.ramdisk, ramdisk)) {
        print("xl: ramdisk '%s': no such file in dom0's initramfs\n", cfg.ramdisk);
        return -1;
    }
    BuiltDomain b;
    char why[160];
    if (!build_domain(cfg, kernel, ramdisk, b, why, sizeof why)) {
        print("xl: cannot create domain '%s': %s\n", cfg.name, why);
        return -1;
    }
    if (!consoles::attach(b.domid, b.console_gfn, b.console_port, why, sizeof why))
        print("dom0: d%u: no console: %s\n", b.domid, why);
    else if (g_timing)
        consoles::time_first_output(b.domid, t0);
    // Its /local/domain/N before it runs, as xl writes it before unpausing.
    const long xrc = xenstored::introduce(b.domid, b.store_gfn, b.store_port, cfg.name);
    if (xrc != 0) print("dom0: d%u: not introduced to xenstore: error %ld\n", b.domid, xrc);
    bool disks_ok = true;
    for (unsigned i = 0; i < cfg.nr_disks && disks_ok; ++i) {
        if (xrc != 0) {   // its frontend directories live in the store
            print("xl: cannot give domain '%s' its disks: it has no xenstore\n", cfg.name);
            disks_ok = false;
            break;
        }
        disks_ok = attach_disk(b.domid, cfg.name, cfg.disks[i]);
    }
    const long rc = disks_ok ? unpause_domain(b.domid) : 0;
    if (!disks_ok || rc != 0) {
        if (rc != 0) print("xl: cannot start domain '%s' (d%u): error %ld\n", cfg.name, b.domid, rc);
        else print("xl: domain '%s' (d%u) not created: nothing is left of it\n", cfg.name, b.domid);
        blkback::remove_domain(b.domid);
        consoles::detach(b.domid);
        (void)xenstored::release(b.domid);
        (void)destroy_domain(b.domid);
        return -1;
    }
    return b.domid;
}

void forget(Record& r) { r = Record{}; }

// The domain goes with its console and xenstore entries; 0 or Xen's -errno.
long teardown(uint16_t domid) {
    blkback::remove_domain(domid);
    consoles::detach(domid);
    (void)xenstored::release(domid);
    return destroy_domain(domid);
}

// One domain dom0 created stopped: what its config says.
void handle_stop(Record& r, const abi::DomainInfo& info) {
    const bool crashed = static_cast<abi::DomainStateAbi>(info.state) == abi::DomainStateAbi::crashed ||
                         info.shutdown_reason == xen::SHUTDOWN_crash;
    xl::Action a = r.cfg.on_poweroff;
    if (crashed)
        a = r.cfg.on_crash;
    else if (info.shutdown_reason == xen::SHUTDOWN_reboot)
        a = r.cfg.on_reboot;
    else if (info.shutdown_reason == xen::SHUTDOWN_suspend)
        return;   // nothing resumes a suspended domain yet: leave it as it is
    terminal::async_output();
    print("dom0: domain %u (%s) %s: %s\n", r.domid, r.cfg.name, crashed ? "crashed" : reason_name(info.shutdown_reason),
          action_name(a));
    switch (a) {
        case xl::Action::preserve: r.handled = true; return;
        case xl::Action::destroy:
            teardown(r.domid);
            forget(r);
            return;
        case xl::Action::restart: {
            teardown(r.domid);
            const long id = build_and_start(r.cfg);
            if (id < 0) {
                print("dom0: domain '%s' not restarted\n", r.cfg.name);
                forget(r);
                return;
            }
            print("dom0: domain '%s' restarted as domain %ld\n", r.cfg.name, id);
            r.domid = static_cast<uint16_t>(id);
            r.handled = false;
            return;
        }
    }
}

void handle_domain_exceptions() {
    for (Record& r : g_records) {
        if (!r.used || r.handled) continue;
        abi::DomainInfo info{};
        const long rc = get_info(r.domid, info);
        if (rc == -xen::XEN_ESRCH) {   // destroyed behind our back
            blkback::remove_domain(r.domid);
            consoles::detach(r.domid);
            forget(r);
            continue;
        }
        if (rc != 0) continue;
        const auto st = static_cast<abi::DomainStateAbi>(info.state);
        if (st == abi::DomainStateAbi::shutdown || st == abi::DomainStateAbi::crashed) handle_stop(r, info);
    }
    // Boot-time domains the hypervisor reaped: their consoles go too.
    uint16_t ids[consoles::MAX_CONSOLES];
    const unsigned n = consoles::served_domains(ids, consoles::MAX_CONSOLES);
    for (unsigned i = 0; i < n; ++i) {
        const uint16_t id = ids[i];
        abi::DomainInfo info{};
        const long rc = get_info(id, info);
        if (rc == -xen::XEN_ESRCH || (rc == 0 && static_cast<abi::DomainStateAbi>(info.state) == abi::DomainStateAbi::dying))
            consoles::detach(id);
    }
}

}  // namespace

bool start(FileReader reader, bool take_consoles) {
    g_reader = reader;
    char word[4];
    g_timing = cmdline_option(cmdline(), "timing", word, sizeof word);
    // A boot test (test=devices, test=console) may hold VIRQ_DOM_EXC already.
    const long port = ev::bind_virq(xen::VIRQ_DOM_EXC, 0);
    if (port > 0)
        ev::set_handler(static_cast<uint32_t>(port), on_dom_exc);
    else
        print("dom0: bind_virq(VIRQ_DOM_EXC) -> %ld: domains that stop will not be noticed\n", port);
    if (take_consoles) consoles::take_over_boot_consoles();
    (void)xenstored::start();
    // The disks, so that a config's disk = [...] finds them (test=disk
    // may have done this already; it is done once).
    (void)block::disks_init();
    return port > 0;
}

long create(const xl::DomainConfig& cfg) {
    Record* slot = nullptr;
    for (Record& r : g_records) {
        if (r.used && str_eq(r.cfg.name, cfg.name)) {
            print("xl: domain with name '%s' already exists (domain %u)\n", cfg.name, r.domid);
            return -1;
        }
        if (!r.used && !slot) slot = &r;
    }
    if (!slot) {
        print("xl: dom0 keeps at most %u domains it created\n", MAX_RECORDS);
        return -1;
    }
    const long id = build_and_start(cfg);
    if (id < 0) return -1;
    slot->used = true;
    slot->handled = false;
    slot->domid = static_cast<uint16_t>(id);
    slot->cfg = cfg;
    return id;
}

long destroy(uint16_t domid) {
    const long rc = teardown(domid);
    if (Record* r = find(domid)) forget(*r);
    return rc;
}

const xl::DomainConfig* config_of(uint16_t domid) {
    const Record* r = find(domid);
    return r ? &r->cfg : nullptr;
}

bool work_pending() {
    return g_dom_exc || consoles::work_pending() || xenstored::pending() || blkback::work_pending();
}

void poll() {
    consoles::poll();
    xenstored::poll();   // before blkback: it delivers the watch events blkback follows
    blkback::poll();
    if (g_dom_exc) {
        g_dom_exc = false;
        handle_domain_exceptions();
        xenstored::domains_changed();
        consoles::poll();
        xenstored::poll();
        blkback::poll();
    }
}

}  // namespace dom0::toolstack
