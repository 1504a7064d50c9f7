// sysctl (dom0 only): the machine as a whole, with Menhir's own layout
// (vmm/abi/menhir.hpp, docs/abi.md).
#include "arch/x86/percpu.hpp"
#include "arch/x86/pit.hpp"
#include "kernel/console.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/sched/scheduler.hpp"
#include "vmm/abi/menhir.hpp"
#include "vmm/domain.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::hypercall {
namespace {

using abi::SysctlCmd;

int64_t domain_list(Vcpu& v, abi::SysctlDomainList& l)
{
    uint32_t n = 0;
    bool fault = false;
    for (uint32_t id = l.first_domain; id < max_domains && n < l.max_domains && !fault; ++id) {
        Domain* d = domains::get(id);
        if (!d) continue;
        const abi::DomainInfo info = domain_info(*d);
        fault = !guest::copy_to(v, l.buffer + n * sizeof info, &info, sizeof info);
        ++n;
    }
    l.num_domains = n;
    return fault ? xen::err::efault : 0;
}

int64_t read_console(Vcpu& v, abi::SysctlReadConsole& c)
{
    // index counts bytes ever written; older bytes than the ring holds are gone.
    const LogRing& ring = console::ring();
    const uint64_t total = ring.total_written();
    const uint64_t oldest = total - ring.size();
    if (c.index < oldest) c.index = oldest;
    uint32_t done = 0;
    char chunk[256];
    while (done < c.count && c.index < total) {
        uint64_t n = total - c.index;
        if (n > sizeof chunk) n = sizeof chunk;
        if (n > c.count - done) n = c.count - done;
        const size_t got = ring.read(static_cast<size_t>(c.index - oldest), chunk, static_cast<size_t>(n));
        if (!got) break;
        if (!guest::copy_to(v, c.buffer + done, chunk, got)) return xen::err::efault;
        done += static_cast<uint32_t>(got);
        c.index += got;
    }
    c.count = done;
    if (c.flags & abi::read_console_clear) console::clear_log();
    return 0;
}

} // namespace

int64_t sysctl(Vcpu& v, Args& args)
{
    abi::Sysctl s{};
    if (!guest::copy_from(v, args[0], &s, sizeof s)) return xen::err::efault;
    if (s.interface_version != abi::domctl_interface_version) return xen::err::eacces;
    int64_t rc = 0;
    switch (static_cast<SysctlCmd>(s.cmd)) {
    case SysctlCmd::domain_list: rc = domain_list(v, s.u.list); break;
    case SysctlCmd::read_console: rc = read_console(v, s.u.console); break;
    case SysctlCmd::physinfo: {
        const auto st = memory::stats();
        s.u.physinfo = abi::SysctlPhysinfo{percpu::count(), 0, st.total_frames, st.free_frames, tsc::khz(),
                                           scheduler::now_ns()};
        break;
    }
    case SysctlCmd::console_mode:
        if (s.u.console_mode.interactive > 1) return xen::err::einval;
        console::set_dom0_interactive(s.u.console_mode.interactive != 0);
        break;
    default: return xen::err::enosys;
    }
    if (rc) return rc;
    return guest::copy_to(v, args[0], &s, sizeof s) ? 0 : xen::err::efault;
}

} // namespace menhir::hypercall
