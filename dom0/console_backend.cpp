// dom0's console back end: see console_backend.hpp. The ring logic is the
// hypervisor's own pure code (vmm/console_ring), the rate limit too
// (kernel/console_rate), so a domU's lines look the same whoever serves it.
#include "console_backend.hpp"

#include "gfn_pool.hpp"
#include "terminal.hpp"
#include "kernel/console_rate.hpp"
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"
#include "vmm/abi/menhir.hpp"
#include "vmm/console_ring.hpp"
#include "domctl.hpp"

using namespace guest;
namespace abi = menhir::abi;

namespace dom0::consoles {
namespace {

constexpr uint64_t PAGE = 4096;
constexpr unsigned LINE_MAX = 160;   // as the hypervisor's (d0) lines

struct Console {
    bool used = false;
    uint16_t domid = 0;
    uint64_t local_gfn = 0;
    uint32_t local_port = 0;
    menhir::xen::XenconsInterface* ring = nullptr;
    char line[LINE_MAX] = {};
    unsigned len = 0;
    menhir::CharBucket bucket;
    uint64_t suppressed = 0;
    char history[HISTORY_BYTES] = {};
    uint64_t history_total = 0;   // bytes ever kept: history holds the last HISTORY_BYTES
    uint64_t timing_start = 0;    // time_first_output(): TSC at xl create, 0 when not timed
};

Console g_consoles[MAX_CONSOLES];
volatile bool g_pending = false;
int g_terminal = -1;   // index into g_consoles, or -1

Console* find(uint16_t domid) {
    for (Console& c : g_consoles)
        if (c.used && c.domid == domid) return &c;
    return nullptr;
}

void on_event(uint32_t, void*) { g_pending = true; }

uint64_t now_ms() { return ev::now_ns() / ev::MS; }

// One whole line as "(dN) TEXT", paid from the domain's bucket as the
// hypervisor's lines are; a line it cannot pay is counted, and the count
// comes out before its next line.
void emit_line(Console& c) {
    c.line[c.len] = '\0';
    const uint64_t cost = c.len + 8;
    if (!c.bucket.take(now_ms(), cost)) {
        c.suppressed += c.len + 1;
    } else {
        terminal::async_output();
        if (c.suppressed != 0) {
            print("(d%u) ... %llu characters suppressed\n", c.domid, static_cast<unsigned long long>(c.suppressed));
            c.suppressed = 0;
        }
        print("(d%u) %s\n", c.domid, c.line);
    }
    c.len = 0;
}

void put_line_char(Console& c, char ch) {
    if (ch == '\r') return;
    // Control characters would drive the administrator's terminal.
    if (ch != '\n' && ch != '\t' && (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)) ch = '.';
    if (ch == '\n') {
        emit_line(c);
        return;
    }
    if (c.len + 1 >= LINE_MAX) emit_line(c);
    c.line[c.len++] = ch;
}

void keep(Console& c, const char* s, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) c.history[(c.history_total + i) % HISTORY_BYTES] = s[i];
    c.history_total += n;
}

void release(Console& c) {
    if (c.local_port != 0) (void)ev::close(c.local_port);
    if (c.local_gfn != 0) gfn_pool::unmap_ring(c.local_gfn);
    if (g_terminal == &c - g_consoles) g_terminal = -1;
    c = Console{};
}

// Drains one ring; false if the guest broke it (the connection is dropped).
bool drain(Console& c) {
    char buf[256];
    for (int round = 0; round < 64; ++round) {
        const menhir::conring::Drained r = menhir::conring::drain_out(*c.ring, buf, sizeof buf);
        if (r.status == menhir::conring::Status::hostile) {
            terminal::async_output();
            print("dom0: d%u: console ring dropped: out_prod - out_cons exceeds the %u-byte ring\n", c.domid,
                  menhir::xen::xencons_out_size);
            return false;
        }
        if (r.bytes == 0) break;
        if (c.timing_start != 0) {
            const uint64_t ticks = guest::rdtsc() - c.timing_start;
            c.timing_start = 0;
            terminal::async_output();
            print("dom0: d%u: first console output %llu ticks after xl create\n", c.domid,
                  static_cast<unsigned long long>(ticks));
        }
        keep(c, buf, r.bytes);
        if (g_terminal == &c - g_consoles)
            console_write(buf, r.bytes);
        else
            for (uint32_t i = 0; i < r.bytes; ++i) put_line_char(c, buf[i]);
        (void)ev::send(c.local_port);   // Xen's console back end notifies on consumption
    }
    return true;
}

}  // namespace

bool attach(uint16_t domid, uint64_t gfn, uint32_t remote_port, char* why, size_t why_size) {
    if (find(domid)) {
        format(why, why_size, "d%u's console is served already", domid);
        return false;
    }
    Console* c = nullptr;
    for (Console& k : g_consoles)
        if (!k.used) {
            c = &k;
            break;
        }
    if (!c) {
        format(why, why_size, "dom0 serves %u consoles already", MAX_CONSOLES);
        return false;
    }
    c->used = true;
    c->domid = domid;
    long rc = gfn_pool::map_ring(domid, gfn, c->local_gfn);
    if (rc != 0) {
        format(why, why_size, "mapping its console page (gfn 0x%llx) failed: error %ld",
               static_cast<unsigned long long>(gfn), rc);
        release(*c);
        return false;
    }
    c->ring = reinterpret_cast<menhir::xen::XenconsInterface*>(c->local_gfn * PAGE);
    rc = ev::bind_interdomain(domid, remote_port);
    if (rc <= 0) {
        format(why, why_size, "binding its console port %u failed: error %ld", remote_port, rc);
        release(*c);
        return false;
    }
    c->local_port = static_cast<uint32_t>(rc);
    ev::set_handler(c->local_port, on_event);
    g_pending = true;   // what it wrote before we came
    return true;
}

void detach(uint16_t domid) {
    Console* c = find(domid);
    if (!c) return;
    (void)drain(*c);
    if (c->len != 0) emit_line(*c);
    release(*c);
}

bool served(uint16_t domid) { return find(domid) != nullptr; }

void time_first_output(uint16_t domid, uint64_t start_tsc) {
    if (Console* c = find(domid)) c->timing_start = start_tsc;
}

unsigned served_domains(uint16_t* ids, unsigned max) {
    unsigned n = 0;
    for (const Console& c : g_consoles)
        if (c.used && n < max) ids[n++] = c.domid;
    return n;
}

void take_over_boot_consoles() {
    static abi::DomainInfo list[MAX_CONSOLES];
    abi::Sysctl s{};
    s.cmd = static_cast<uint32_t>(abi::SysctlCmd::domain_list);
    s.interface_version = abi::domctl_interface_version;
    s.u.list.first_domain = 1;
    s.u.list.max_domains = MAX_CONSOLES;
    s.u.list.buffer = reinterpret_cast<uintptr_t>(list);
    if (sysctl(&s) != 0) return;
    for (uint32_t i = 0; i < s.u.list.num_domains; ++i) {
        const uint16_t id = list[i].domain;
        abi::Domctl c = domctl_op(abi::DomctlCmd::console_handover, id);
        if (domctl(&c) != 0) continue;   // no ring, or not the hypervisor's to give
        char why[96];
        if (!attach(id, c.u.console.gfn, c.u.console.port, why, sizeof why))
            print("dom0: d%u: console not taken over: %s\n", id, why);
    }
}

bool work_pending() { return g_pending; }

void poll() {
    if (!g_pending) return;
    g_pending = false;
    for (Console& c : g_consoles) {
        if (!c.used || drain(c)) continue;
        if (c.len != 0) emit_line(c);
        release(c);
    }
}

bool terminal_attach(uint16_t domid) {
    Console* c = find(domid);
    if (!c) return false;
    (void)drain(*c);
    if (c->len != 0) emit_line(*c);
    g_terminal = static_cast<int>(c - g_consoles);
    // Its recent output first, as xenconsoled's buffer gives a new client.
    const uint64_t n = c->history_total < HISTORY_BYTES ? c->history_total : HISTORY_BYTES;
    for (uint64_t i = c->history_total - n; i < c->history_total; ++i) console_write(&c->history[i % HISTORY_BYTES], 1);
    return true;
}

void terminal_detach() { g_terminal = -1; }

int terminal_domain() { return g_terminal < 0 ? -1 : g_consoles[g_terminal].domid; }

void terminal_input(const char* s, size_t n) {
    if (g_terminal < 0) return;
    Console& c = g_consoles[g_terminal];
    bool any = false;
    for (size_t i = 0; i < n; ++i) {
        const menhir::conring::Put p = menhir::conring::put_in(*c.ring, s[i]);
        if (p == menhir::conring::Put::hostile) {
            print("dom0: d%u: console ring dropped: in_prod - in_cons exceeds the %u-byte ring\n", c.domid,
                  menhir::xen::xencons_in_size);
            release(c);
            return;
        }
        if (p == menhir::conring::Put::stored) any = true;
    }
    if (any) (void)ev::send(c.local_port);
}

}  // namespace dom0::consoles
