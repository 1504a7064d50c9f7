// sched_op: yield, block and shutdown.
#include "kernel/sched/scheduler.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::hypercall {

int64_t sched_op(Vcpu& v, Args& args)
{
    switch (args[0]) {
    case xen::schedop_yield:
        scheduler::yield_current();
        return 0;
    case xen::schedop_block:
        scheduler::block_current();
        return 0;
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
