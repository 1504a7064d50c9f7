#include "vmm/console_rings.hpp"
#include "kernel/console.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/mm/frame_refs.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/abi/xen_console.hpp"
#include "vmm/console_ring.hpp"
#include "vmm/domain.hpp"
#include "vmm/events.hpp"
#include "vmm/special_page.hpp"

namespace menhir::console_rings {
namespace {

// Output taken per notification: one ring's worth, so a guest that keeps
// notifying pays for each page of output with a hypercall of its own.
constexpr uint32_t drain_max = xen::xencons_out_size;

struct Served {
    Domain* domain;    // nullptr: not served
    HostPhys page;     // the ring frame; we hold a reference while serving
    uint32_t port;
};

Spinlock lock;                       // IrqSpinGuard: serial input comes from the UART interrupt
Served served[max_domains];

xen::XenconsInterface& ring_of(const Served& s) { return *phys_to_virt<xen::XenconsInterface>(s.page); }

// Caller holds lock.
void stop_locked(Served& s)
{
    frame_refs::put(s.page);
    s = Served{};
}

// Caller holds lock: prints what d wrote, or drops a ring that lies.
void drain_locked(Served& s)
{
    Domain& d = *s.domain;
    char buf[256];   // small chunks: this runs on the hypercall path's stack
    for (uint32_t total = 0; total < drain_max;) {
        const uint32_t want = drain_max - total < sizeof buf ? drain_max - total : sizeof buf;
        const conring::Drained r = conring::drain_out(ring_of(s), buf, want);
        if (r.status == conring::Status::hostile) {
            info("d%u: console ring dropped: out_prod - out_cons exceeds the %u-byte ring", d.id,
                 xen::xencons_out_size);
            stop_locked(s);
            return;
        }
        for (uint32_t i = 0; i < r.bytes; ++i) d.console_put(buf[i]);
        if (r.bytes < want) return;
        total += r.bytes;
    }
}

} // namespace

bool attach(Domain& d)
{
    if (d.id == 0 || d.id >= max_domains) return false;
    if (d.memory_bytes > xen::special_first_gfn * page_size) {
        info("domain %u (%s): no console ring: its RAM reaches the special pages at 0x%lx", d.id, d.name,
             xen::special_first_gfn * page_size);
        return false;
    }
    // Mapped as the domain's own RAM, freed with it; our reference keeps it
    // while we serve, even if the guest takes it out of its physical map.
    // The port is unbound, for dom0: its console back end binds it after hand_over.
    const uint64_t gfn = xen::special_console_gfn;
    HostPhys frame;
    uint32_t port = 0;
    if (!special_page::give(d, gfn, frame, port)) return false;
    // Without a port or our reference the page stays mapped as ordinary
    // RAM, freed with the domain (a fresh frame's count cannot be full).
    if (!port || !frame_refs::get(frame)) return false;
    d.hvm_params[xen::hvm_param_console_pfn] = gfn;
    d.hvm_params[xen::hvm_param_console_evtchn] = port;
    IrqSpinGuard g{lock};
    served[d.id] = Served{&d, frame, port};
    return true;
}

void notified(Domain& d, uint32_t port)
{
    if (d.id >= max_domains) return;
    IrqSpinGuard g{lock};
    Served& s = served[d.id];
    if (s.domain != &d || s.port != port) return;
    drain_locked(s);
}

void detach(Domain& d)
{
    if (d.id >= max_domains) return;
    IrqSpinGuard g{lock};
    if (served[d.id].domain == &d) stop_locked(served[d.id]);
}

int64_t hand_over(Domain& d, uint64_t& gfn, uint32_t& port)
{
    if (d.id >= max_domains) return xen::err::enoent;
    IrqSpinGuard g{lock};
    Served& s = served[d.id];
    if (s.domain != &d) return xen::err::enoent;
    port = s.port;
    gfn = xen::special_console_gfn;
    drain_locked(s);   // what the guest wrote until now is still ours to print
    if (s.domain) stop_locked(s);
    info("d%u: console handed over to dom0 (gfn 0x%lx, port %u)", d.id, gfn, port);
    return 0;
}

size_t served_ids(uint16_t* ids, size_t max)
{
    IrqSpinGuard g{lock};
    size_t n = 0;
    for (uint32_t i = 1; i < max_domains && n < max; ++i)
        if (served[i].domain) ids[n++] = static_cast<uint16_t>(i);
    return n;
}

void input(uint16_t domid, char c)
{
    if (domid >= max_domains) return;
    IrqSpinGuard g{lock};
    Served& s = served[domid];
    if (!s.domain) return;
    Domain& d = *s.domain;
    switch (conring::put_in(ring_of(s), c)) {
    case conring::Put::full: return;   // dropped, as a full UART would
    case conring::Put::hostile:
        info("d%u: console ring dropped: in_prod - in_cons exceeds the %u-byte ring", d.id, xen::xencons_in_size);
        stop_locked(s);
        return;
    case conring::Put::stored: break;
    }
    SpinGuard eg{events::lock()};
    // Only while the port is still the unbound one we gave it: a guest that
    // closed it gets no events on whatever reuses the number.
    const evtchn::Channel& ch = d.events.ports[s.port];
    if (ch.state == evtchn::State::unbound && ch.remote_dom == 0) events::notify(d, s.port);
}

} // namespace menhir::console_rings
