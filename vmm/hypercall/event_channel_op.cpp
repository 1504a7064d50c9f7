// event_channel_op: Xen's 2-level event channels. The port tables are
// vmm/event_channel (pure, unit-tested); this decodes the calls, checks who
// may act on which domain, and raises the events.
#include "kernel/sched/scheduler.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/console_rings.hpp"
#include "vmm/domain.hpp"
#include "vmm/event_channel.hpp"
#include "vmm/events.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::hypercall {
namespace {

template <typename T>
int64_t with_arg(Vcpu& v, uint64_t ptr, T& arg)
{
    return guest::copy_from(v, ptr, &arg, sizeof arg) ? 0 : xen::err::efault;
}

template <typename T>
int64_t put_arg(Vcpu& v, uint64_t ptr, const T& arg)
{
    return guest::copy_to(v, ptr, &arg, sizeof arg) ? 0 : xen::err::efault;
}

int64_t alloc_unbound(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnAllocUnbound a{};
    if (int64_t e = with_arg(v, ptr, a)) return e;
    int64_t err = 0;
    Domain* d = target_domain(v, a.dom, err);   // dom0 may allocate in another domain (for its backends)
    if (!d) return err;
    const uint16_t remote = a.remote_dom == xen::domid_self ? v.domain->id : a.remote_dom;
    SpinGuard g{events::lock()};
    if (int64_t e = evtchn::alloc_unbound(d->events, remote, a.port)) return e;
    return put_arg(v, ptr, a);
}

int64_t bind_interdomain(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnBindInterdomain b{};
    if (int64_t e = with_arg(v, ptr, b)) return e;
    const uint16_t remote_id = b.remote_dom == xen::domid_self ? v.domain->id : b.remote_dom;
    SpinGuard g{events::lock()};
    Domain* remote = domains::get(remote_id);
    if (!remote || remote->state == DomainState::dying) return xen::err::esrch;
    if (int64_t e = evtchn::bind_interdomain(v.domain->events, remote->events, b.remote_port, b.local_port)) return e;
    if (int64_t e = put_arg(v, ptr, b)) return e;
    // Xen raises the new local port so neither side misses an early send.
    events::notify(*v.domain, b.local_port);
    return 0;
}

int64_t bind_virq(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnBindVirq b{};
    if (int64_t e = with_arg(v, ptr, b)) return e;
    SpinGuard g{events::lock()};
    if (int64_t e = evtchn::bind_virq(v.domain->events, b.virq, b.vcpu, b.port)) return e;
    return put_arg(v, ptr, b);
}

int64_t bind_ipi(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnBindIpi b{};
    if (int64_t e = with_arg(v, ptr, b)) return e;
    SpinGuard g{events::lock()};
    if (int64_t e = evtchn::bind_ipi(v.domain->events, b.vcpu, b.port)) return e;
    return put_arg(v, ptr, b);
}

int64_t bind_pirq(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnBindPirq b{};
    if (int64_t e = with_arg(v, ptr, b)) return e;
    if (!v.domain->irq_allowed(b.pirq)) return xen::err::eperm;
    SpinGuard g{events::lock()};
    if (int64_t e = evtchn::bind_pirq(v.domain->events, b.pirq, b.port)) return e;
    return put_arg(v, ptr, b);
}

int64_t close(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnPortOnly p{};
    if (int64_t e = with_arg(v, ptr, p)) return e;
    SpinGuard g{events::lock()};
    if (int64_t e = evtchn::close(v.domain->events, p.port, events::table_of, nullptr)) return e;
    // A port handed out again must not start with a stale event.
    evtchn::clear_pending(*v.domain->shared(), p.port);
    return 0;
}

int64_t send(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnPortOnly p{};
    if (int64_t e = with_arg(v, ptr, p)) return e;
    bool unbound = false;
    {
        SpinGuard g{events::lock()};
        evtchn::Target t{};
        if (int64_t e = evtchn::send(v.domain->events, p.port, events::table_of, nullptr, t)) return e;
        if (t.valid)
            if (Domain* d = domains::get(t.domid)) events::notify(*d, t.port);
        unbound = !t.valid && v.domain->events.ports[p.port].state == evtchn::State::unbound;
    }
    // An unbound port may be the console ring the hypervisor serves (taken
    // outside the event lock: the console service's lock comes first).
    if (unbound) console_rings::notified(*v.domain, p.port);
    return 0;
}

int64_t status(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnStatus s{};
    if (int64_t e = with_arg(v, ptr, s)) return e;
    int64_t err = 0;
    Domain* d = target_domain(v, s.dom, err);
    if (!d) return err;
    SpinGuard g{events::lock()};
    if (int64_t e = evtchn::status(d->events, s.port, s)) return e;
    return put_arg(v, ptr, s);
}

int64_t unmask(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnPortOnly p{};
    if (int64_t e = with_arg(v, ptr, p)) return e;
    if (p.port >= evtchn::max_ports) return xen::err::einval;
    SpinGuard g{events::lock()};
    Domain& d = *v.domain;
    const uint32_t vcpu = d.events.ports[p.port].vcpu;
    if (vcpu < d.vcpu_count && evtchn::unmask(*d.shared(), *d.vcpus[vcpu]->info, p.port))
        scheduler::kick(*d.vcpus[vcpu]);
    return 0;
}

int64_t bind_vcpu(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnBindVcpu b{};
    if (int64_t e = with_arg(v, ptr, b)) return e;
    SpinGuard g{events::lock()};
    return evtchn::bind_vcpu(v.domain->events, b.port, b.vcpu);
}

// The FIFO ABI is not offered, but its set-up call checks its arguments
// first, in Xen's order (common/event_fifo.c evtchn_fifo_init_control and
// map_control_block): a vCPU the domain lacks -ENOENT; a control block that
// would cross its page or is not 8-byte aligned -EINVAL; a gfn that is not a
// writable page of the domain's RAM -EINVAL. A well-formed request then gets
// -EOPNOTSUPP, what a Xen built without CONFIG_EVTCHN_FIFO answers; Linux
// falls back to the 2-level ABI on any error.
int64_t init_control(Vcpu& v, uint64_t ptr)
{
    xen::EvtchnInitControl c{};
    if (int64_t e = with_arg(v, ptr, c)) return e;
    Domain& d = *v.domain;
    if (c.vcpu >= d.vcpu_count) return xen::err::enoent;
    if (c.offset > page_size - xen::evtchn_fifo_control_block_size || (c.offset & 7)) return xen::err::einval;
    const uint64_t gfn_limit = 1ull << 36;   // 48-bit guest-physical addresses
    if (c.control_gfn >= gfn_limit) return xen::err::einval;
    auto leaf = d.ept().translate(GuestPhys{c.control_gfn * page_size});
    // Its own RAM, writable: not a hole, a grant or foreign page, or a special page.
    if (!leaf || !leaf->flags.write || !leaf->flags.owned) return xen::err::einval;
    return xen::err::eopnotsupp;
}

} // namespace

int64_t event_channel_op(Vcpu& v, Args& args)
{
    const uint64_t ptr = args[1];
    switch (args[0]) {
    case xen::evtchnop_alloc_unbound: return alloc_unbound(v, ptr);
    case xen::evtchnop_bind_interdomain: return bind_interdomain(v, ptr);
    case xen::evtchnop_bind_virq: return bind_virq(v, ptr);
    case xen::evtchnop_bind_ipi: return bind_ipi(v, ptr);
    case xen::evtchnop_bind_pirq: return bind_pirq(v, ptr);
    case xen::evtchnop_close: return close(v, ptr);
    case xen::evtchnop_send: return send(v, ptr);
    case xen::evtchnop_status: return status(v, ptr);
    case xen::evtchnop_unmask: return unmask(v, ptr);
    case xen::evtchnop_bind_vcpu: return bind_vcpu(v, ptr);
    case xen::evtchnop_init_control: return init_control(v, ptr);
    default: return xen::err::enosys;   // reset and the rest of the FIFO ABI are not offered
    }
}

} // namespace menhir::hypercall
