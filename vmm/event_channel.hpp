// Event channels with Xen's 2-level ABI (event_channel.h; the behaviour of
// Xen's evtchn_2l): per-domain port tables, the binding state machine, and
// the pending/mask/selector/upcall bits guests see in shared_info.
//
// Pure logic. The caller (the EVTCHNOP_* handlers) decodes hypercalls,
// resolves DOMID_SELF, checks privileges, holds the one global lock that
// serialises every call here, embeds a Table in each Domain, and does what
// the results ask for: inject the callback vector and wake the vCPU when a
// set_pending/unmask returns true. Nothing is allocated.
//
// Ports: port 0 is reserved and never handed out; new ports are the lowest
// free one, so a closed port is reused by the next bind, as in Xen.
//
// Binding states (Channel::state):
//   free -> unbound            alloc_unbound (remote_dom may bind to it)
//   unbound -> interdomain     the remote domain's bind_interdomain, which
//                              also makes a new interdomain port on its side
//   free -> virq | ipi | pirq  bind_virq, bind_ipi, bind_pirq
//   any bound state -> free    close; the interdomain peer falls back to
//                              unbound, bindable again by the closing domain
//
// What the caller must add around these calls (Xen does the same):
// - After bind_interdomain, set_pending(local_port, vCPU 0): notifications
//   sent to the remote port while it was unbound were dropped, so the new
//   local end is conservatively signalled once.
// - After close (and for every port close_all frees), clear_pending on the
//   closing domain's shared_info, so a port rebound later does not start out
//   with a stale event.
// - alloc_unbound does not check that remote_dom exists (-ESRCH is the
//   caller's), bind_pirq does not check that the domain owns the pirq.
#pragma once
#include <cstdint>

#include "vmm/abi/xen.hpp"

namespace menhir::evtchn {

inline constexpr uint32_t max_ports = 1024;   // per domain
static_assert(max_ports <= xen::evtchn_2l_ports, "ports must fit the 2-level bitmaps");
static_assert(max_ports % 64 == 0);

enum class State : uint8_t { free, reserved, unbound, interdomain, virq, ipi, pirq };

struct Channel {
    State state{State::free};
    uint16_t remote_dom{0};    // unbound: the domain allowed to bind; interdomain: the other end's domain
    uint32_t remote_port{0};   // interdomain: the other end's port
    uint32_t vcpu{0};          // the vCPU notified (bind_vcpu changes it)
    uint32_t virq{0};          // virq number, or pirq number for pirq channels
};
static_assert(sizeof(Channel) == 16);

struct Table {
    uint16_t domid{0};
    uint32_t vcpu_count{1};    // 1..xen::legacy_max_vcpus
    Channel ports[max_ports]{};
    // Port bound to each VIRQ, 0 = none. A global VIRQ always has its slot
    // in vCPU 0's row, even after bind_vcpu moved its notifications.
    uint32_t virq_port[xen::legacy_max_vcpus][xen::nr_virqs]{};

    // Everything free, port 0 reserved. vcpu_count is clamped to
    // 1..xen::legacy_max_vcpus (shared_info has no vcpu_info beyond).
    void init(uint16_t domid, uint32_t vcpu_count);
};

// Finds another domain's table (nullptr if no such domain). The caller supplies it.
using Lookup = Table* (*)(void* ctx, uint16_t domid);

// Where an event goes: domain, port in it and the vCPU to notify.
struct Target {
    bool valid;
    uint16_t domid;
    uint32_t port;
    uint32_t vcpu;
};

// EVTCHNOP_alloc_unbound: a port that `remote_dom` may bind to; notifies vCPU 0.
// -ENOSPC when no port is free.
[[nodiscard]] int64_t alloc_unbound(Table& t, uint16_t remote_dom, uint32_t& port);

// EVTCHNOP_bind_interdomain, called with the binding domain's table and the
// table of the domain that allocated `remote_port` (the same table for a
// loopback channel). The remote port must be unbound and allow local.domid
// (-EINVAL otherwise); -ENOSPC if local has no free port. Both ends become
// interdomain; the new local port notifies vCPU 0, the remote end keeps its vCPU.
[[nodiscard]] int64_t bind_interdomain(Table& local, Table& remote, uint32_t remote_port,
                                       uint32_t& local_port);

// EVTCHNOP_bind_virq. In order: virq >= nr_virqs -EINVAL; a global VIRQ
// (xen::virq_is_global) on a vCPU other than 0 -EINVAL; vcpu >= vcpu_count
// -ENOENT; already bound on that vCPU -EEXIST; no free port -ENOSPC.
[[nodiscard]] int64_t bind_virq(Table& t, uint32_t virq, uint32_t vcpu, uint32_t& port);

// EVTCHNOP_bind_ipi: a port whose sends come back to the domain, on `vcpu`.
// vcpu >= vcpu_count -ENOENT; -ENOSPC.
[[nodiscard]] int64_t bind_ipi(Table& t, uint32_t vcpu, uint32_t& port);

// EVTCHNOP_bind_pirq: at most one port per pirq per domain (-EEXIST); -ENOSPC.
// The port notifies vCPU 0.
[[nodiscard]] int64_t bind_pirq(Table& t, uint32_t pirq, uint32_t& port);

// EVTCHNOP_close: any bound state -> free; an interdomain peer goes back to
// unbound with remote_dom = this domain, keeping its vCPU. Port 0, out of
// range or free: -EINVAL. If lookup finds no peer domain only this end is freed.
[[nodiscard]] int64_t close(Table& t, uint32_t port, Lookup lookup, void* ctx);

// A domain is dying (or EVTCHNOP_reset): close every port; peers'
// interdomain ends become unbound.
void close_all(Table& t, Lookup lookup, void* ctx);

// EVTCHNOP_send: where a send on `port` lands. interdomain -> the peer's
// (domid, port, vcpu); ipi -> this domain's port and its vCPU; unbound ->
// nothing to do (0, target.valid = false); virq, pirq, free, reserved or
// out of range -> -EINVAL. The caller then does set_pending on the target
// domain's shared_info.
[[nodiscard]] int64_t send(const Table& t, uint32_t port, Lookup lookup, void* ctx, Target& target);

// EVTCHNOP_bind_vcpu: vcpu >= vcpu_count -ENOENT (checked first); then only
// unbound, interdomain, pirq and global-VIRQ ports may move, anything else
// (per-vCPU VIRQs such as TIMER, IPIs, free, reserved, out of range) is -EINVAL.
[[nodiscard]] int64_t bind_vcpu(Table& t, uint32_t port, uint32_t vcpu);

// EVTCHNOP_status: fills out.status, out.vcpu and out.u for `port`
// (free and reserved ports are "closed"); out.dom and out.port are left
// as the caller set them. -EINVAL for out of range.
[[nodiscard]] int64_t status(const Table& t, uint32_t port, xen::EvtchnStatus& out);

// Which port a VIRQ is bound to in vCPU `vcpu`'s row (0 = none). Global
// VIRQs are in vCPU 0's row.
[[nodiscard]] uint32_t virq_port(const Table& t, uint32_t virq, uint32_t vcpu);

// Where raising `virq` lands: per-vCPU VIRQs are looked up on `vcpu`,
// global ones on vCPU 0, and the event goes to the vCPU the port notifies
// now. valid = false if it is not bound (the VIRQ is then dropped).
[[nodiscard]] Target virq_target(const Table& t, uint32_t virq, uint32_t vcpu);

// The port bound to `pirq` (0 = none).
[[nodiscard]] uint32_t pirq_port(const Table& t, uint32_t pirq);

// ---- The 2-level ABI on shared_info. ----
// Every access to the shared words is an atomic read-modify-write or load:
// the guest changes them concurrently. Ports beyond xen::evtchn_2l_ports or
// vCPUs beyond xen::legacy_max_vcpus are ignored (false).

// Sets the port's pending bit; if it was not already pending and is not
// masked, sets the vCPU's selector bit (port / 64) and evtchn_upcall_pending.
// True when evtchn_upcall_pending went from 0 to 1: the caller then injects
// the callback vector / wakes the vCPU.
[[nodiscard]] bool set_pending(xen::SharedInfo& shared, uint32_t port, uint32_t vcpu);
// The same with the vCPU's vcpu_info wherever it lives (a guest may move it
// out of shared_info with VCPUOP_register_vcpu_info).
[[nodiscard]] bool set_pending(xen::SharedInfo& shared, xen::VcpuInfo& vcpu_info, uint32_t port);

// EVTCHNOP_unmask: clears the mask bit; if it was set and the port is
// pending, does the selector/upcall part as above. True when an upcall is needed.
[[nodiscard]] bool unmask(xen::SharedInfo& shared, uint32_t port, uint32_t vcpu);
[[nodiscard]] bool unmask(xen::SharedInfo& shared, xen::VcpuInfo& vcpu_info, uint32_t port);

// Clears the pending bit (for a port being freed). Selector bits are the
// guest's to clear.
void clear_pending(xen::SharedInfo& shared, uint32_t port);

[[nodiscard]] bool is_pending(const xen::SharedInfo& shared, uint32_t port);
[[nodiscard]] bool is_masked(const xen::SharedInfo& shared, uint32_t port);

} // namespace menhir::evtchn
