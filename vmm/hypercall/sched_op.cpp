// sched_op: yield, block, poll and shutdown.
#include "kernel/sched/scheduler.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/event_channel.hpp"
#include "vmm/events.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"
#include "vmm/vcpu_timer.hpp"

namespace menhir::hypercall {
namespace {

constexpr uint32_t poll_ports_max = 128;   // Xen refuses more than 128 ports per poll

int64_t block(Vcpu& v)
{
    // Blocking re-enables event delivery first, as Xen does; a pending
    // upcall means there is nothing to wait for.
    __atomic_store_n(&v.info->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    if (!events::work_pending(v)) scheduler::block_current();
    return 0;
}

int64_t poll(Vcpu& v, uint64_t ptr)
{
    xen::SchedPoll p{};
    if (!guest::copy_from(v, ptr, &p, sizeof p)) return xen::err::efault;
    if (p.nr_ports > poll_ports_max) return xen::err::einval;
    uint32_t ports[poll_ports_max];
    if (!guest::copy_from(v, p.ports, ports, p.nr_ports * sizeof(uint32_t))) return xen::err::efault;
    auto any_pending = [&]() {
        for (uint32_t i = 0; i < p.nr_ports; ++i)
            if (ports[i] < evtchn::max_ports && evtchn::is_pending(*v.domain->shared(), ports[i])) return true;
        return false;
    };
    for (uint32_t i = 0; i < p.nr_ports; ++i)
        if (ports[i] >= evtchn::max_ports) return xen::err::einval;
    if (any_pending()) return 0;
    if (p.timeout && p.timeout <= scheduler::now_ns()) return 0;   // already timed out
    v.polling = true;
    if (p.timeout) vcpu_timer::set_poll_timeout(v, p.timeout);
    scheduler::block_current();
    if (any_pending()) scheduler::wake(v);   // raced with a send: do not sleep
    return 0;
}

} // namespace

int64_t sched_op(Vcpu& v, Args& args)
{
    switch (args[0]) {
    case xen::schedop_yield:
        scheduler::yield_current();
        return 0;
    case xen::schedop_block:
        return block(v);
    case xen::schedop_poll:
        return poll(v, args[1]);
    case xen::schedop_shutdown: {
        xen::SchedShutdown s{};
        if (!guest::copy_from(v, args[1], &s, sizeof s)) return xen::err::efault;
        if (s.reason > static_cast<uint32_t>(xen::ShutdownReason::watchdog)) return xen::err::einval;
        domains::shutdown(*v.domain, static_cast<xen::ShutdownReason>(s.reason));
        return 0;
    }
    case xen::schedop_shutdown_code: {
        xen::SchedShutdown s{};
        if (!guest::copy_from(v, args[1], &s, sizeof s)) return xen::err::efault;
        v.domain->shutdown_code = static_cast<int32_t>(s.reason);
        return 0;
    }
    case xen::schedop_remote_shutdown:
        return v.domain->privileged ? xen::err::enosys : xen::err::eperm;
    default:
        return xen::err::enosys;
    }
}

} // namespace menhir::hypercall
