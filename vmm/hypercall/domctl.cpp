// domctl (dom0 only): the toolstack's control of other domains, with
// Menhir's own layout (vmm/abi/menhir.hpp, docs/abi.md).
#include "arch/x86/ioapic.hpp"
#include "kernel/lib/format.hpp"
#include "kernel/sched/scheduler.hpp"
#include "vmm/abi/menhir.hpp"
#include "vmm/abi/xen_console.hpp"
#include "vmm/console_rings.hpp"
#include "vmm/store_pages.hpp"
#include "vmm/domain.hpp"
#include "vmm/domain_builder.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"
#include "vmm/pirq.hpp"

namespace menhir::hypercall {
namespace {

using abi::DomctlCmd;

} // namespace

abi::DomainInfo domain_info(const Domain& d)
{
    abi::DomainInfo i{};
    i.domain = d.id;
    i.state = static_cast<uint8_t>(d.state);
    i.shutdown_reason = static_cast<uint8_t>(d.shutdown_reason);
    i.vcpus = d.vcpu_count;
    // As Xen's getdomaininfo: running if any vCPU is on a CPU, blocked if
    // every online one waits for an event.
    bool any_running = false, all_blocked = true;
    for (uint32_t k = 0; k < d.vcpu_count; ++k) {
        const scheduler::VcpuView view = scheduler::view(*d.vcpus[k]);
        if (d.vcpus[k]->up) {
            ++i.vcpus_online;
            if (!view.blocked) all_blocked = false;
        }
        any_running = any_running || view.running;
        i.cpu_time_ns += view.runtime_ns;
    }
    if (any_running) i.flags |= abi::dominf_running;
    else if (all_blocked && i.vcpus_online && d.state == DomainState::running) i.flags |= abi::dominf_blocked;
    i.created_ns = d.created_ns;
    i.weight = d.account.weight;
    i.cap = d.account.cap;
    i.memory_kb = d.memory_bytes / 1024;
    format(i.name, sizeof i.name, "%s", d.name);
    return i;
}

namespace {

int64_t create(abi::Domctl& c)
{
    const auto& a = c.u.create;
    char name[sizeof a.name + 1]{};
    __builtin_memcpy(name, a.name, sizeof a.name);
    if (!name[0] || a.memory_kb == 0 || a.memory_kb % 4 || a.vcpus == 0 || a.vcpus > max_vcpus_per_domain ||
        a.weight > 65535 || (a.flags & ~abi::create_acpi_tables) != 0)
        return xen::err::einval;
    const uint16_t id = domains::next_free_id(1);
    if (!id) return xen::err::enospc;
    const DomainConfig cfg{name, a.memory_kb * 1024, a.vcpus, a.weight, a.cap, false, false};
    Domain* d = domains::create(id, cfg);
    if (!d) return xen::err::enomem;
    // Its builder (dom0) populates the console and xenstore pages itself.
    if (d->memory_bytes <= xen::special_first_gfn * page_size) d->special_slack = xen::special_pages;
    d->toolstack_owned = true;
    d->acpi_tables = (a.flags & abi::create_acpi_tables) != 0;
    c.domain = id;
    return 0;
}

int64_t set_vcpu_context(Domain& d, const abi::DomctlVcpuContext& ctx)
{
    if (ctx.vcpu >= d.vcpu_count || d.state != DomainState::paused) return xen::err::einval;
    Vcpu& v = *d.vcpus[ctx.vcpu];
    SpinGuard g{d.vcpu_lock};   // as VCPUOP_initialise: one start state loaded at a time
    v.ctx.regs = GuestRegs{};
    v.ctx.regs.rbx = ctx.ebx;
    if (!builder::start_vcpu(v, vmx::pvh_start(ctx.entry))) return xen::err::einval;
    v.initialised = true;
    if (ctx.vcpu == 0) v.up = true;   // secondary vCPUs come up with VCPUOP_up
    return 0;
}

int64_t unpause(Domain& d)
{
    if (d.state != DomainState::paused) return xen::err::einval;
    if (!d.populated || !d.vcpus[0]->initialised) return xen::err::einval;
    d.state = DomainState::running;
    for (uint32_t i = 0; i < d.vcpu_count; ++i)
        if (d.vcpus[i]->up) scheduler::wake(*d.vcpus[i]);
    return 0;
}

int64_t vcpu_info(Domain& d, abi::DomctlVcpuInfo& out)
{
    if (out.vcpu >= d.vcpu_count) return xen::err::einval;
    const Vcpu& v = *d.vcpus[out.vcpu];
    const scheduler::VcpuView view = scheduler::view(v);
    const uint32_t k = out.vcpu;
    out = abi::DomctlVcpuInfo{};
    out.vcpu = k;
    out.online = v.up;
    out.running = view.running;
    out.blocked = v.up && view.blocked;
    out.cpu = view.cpu;
    out.cpu_time_ns = view.runtime_ns;
    out.hard_affinity = view.hard;
    out.soft_affinity = view.soft;
    return 0;
}

// As XEN_DOMCTL_setvcpuaffinity: -EINVAL for a vCPU that does not exist or a
// hard mask without an online CPU; the masks in force come back.
int64_t set_affinity(Domain& d, abi::DomctlAffinity& a)
{
    constexpr uint32_t known = abi::affinity_set_hard | abi::affinity_set_soft;
    if (a.vcpu >= d.vcpu_count || (a.flags & ~known) || !a.flags) return xen::err::einval;
    Vcpu& v = *d.vcpus[a.vcpu];
    const scheduler::VcpuView now = scheduler::view(v);
    const uint64_t hard = (a.flags & abi::affinity_set_hard) ? a.hard : now.hard;
    const uint64_t soft = (a.flags & abi::affinity_set_soft) ? a.soft : now.soft;
    if (!scheduler::set_affinity(v, hard, soft)) return xen::err::einval;
    const scheduler::VcpuView after = scheduler::view(v);
    a.hard = after.hard;
    a.soft = after.soft;
    return 0;
}

int64_t pause(Domain& d)
{
    if (d.state != DomainState::running) return xen::err::einval;
    d.state = DomainState::paused;
    scheduler::stop_domain(d);
    return 0;
}

} // namespace

int64_t domctl(Vcpu& v, Args& args)
{
    abi::Domctl c{};
    if (!guest::copy_from(v, args[0], &c, sizeof c)) return xen::err::efault;
    if (c.interface_version != abi::domctl_interface_version) return xen::err::eacces;
    int64_t rc = 0;
    const auto cmd = static_cast<DomctlCmd>(c.cmd);
    Domain* d = cmd == DomctlCmd::create ? nullptr : domains::get(c.domain);
    if (cmd != DomctlCmd::create && (!d || d->state == DomainState::dying)) return xen::err::esrch;
    if (d == v.domain && cmd != DomctlCmd::get_info && cmd != DomctlCmd::ioport_permission &&
        cmd != DomctlCmd::irq_permission && cmd != DomctlCmd::get_credit && cmd != DomctlCmd::set_credit &&
        cmd != DomctlCmd::get_vcpu_info && cmd != DomctlCmd::set_vcpu_affinity)
        return xen::err::einval;   // dom0 does not pause or destroy itself this way
    switch (cmd) {
    case DomctlCmd::create: rc = create(c); break;
    case DomctlCmd::populate: rc = domains::populate(*d) ? 0 : xen::err::enomem; break;
    case DomctlCmd::set_vcpu_context: rc = set_vcpu_context(*d, c.u.vcpu); break;
    case DomctlCmd::unpause: rc = unpause(*d); break;
    case DomctlCmd::pause: rc = pause(*d); break;
    case DomctlCmd::shutdown:
        if (c.u.shutdown.reason > static_cast<uint32_t>(xen::ShutdownReason::watchdog)) return xen::err::einval;
        domains::shutdown(*d, static_cast<xen::ShutdownReason>(c.u.shutdown.reason));
        break;
    case DomctlCmd::destroy: domains::destroy(*d); break;
    case DomctlCmd::get_info: c.u.info = domain_info(*d); break;
    case DomctlCmd::set_credit:
        if (c.u.credit.weight == 0 || c.u.credit.weight > 65535) return xen::err::einval;
        d->account.weight = c.u.credit.weight;
        d->account.cap = c.u.credit.cap;
        break;
    case DomctlCmd::get_credit: c.u.credit = abi::DomctlCredit{d->account.weight, d->account.cap}; break;
    case DomctlCmd::ioport_permission:
        rc = d->allow_ports(c.u.ioport.first_port, c.u.ioport.nr_ports, c.u.ioport.allow != 0) ? 0 : xen::err::einval;
        break;
    case DomctlCmd::irq_permission: rc = pirq::permit(*d, c.u.irq.irq, c.u.irq.allow != 0); break;
    case DomctlCmd::console_handover:
        c.u.console = abi::DomctlConsole{};
        rc = console_rings::hand_over(*d, c.u.console.gfn, c.u.console.port);
        break;
    case DomctlCmd::store_info:
        c.u.store = abi::DomctlStore{};
        rc = store_pages::info(*d, c.u.store.gfn, c.u.store.port);
        break;
    case DomctlCmd::get_vcpu_info: rc = vcpu_info(*d, c.u.vcpu_info); break;
    case DomctlCmd::set_vcpu_affinity: rc = set_affinity(*d, c.u.affinity); break;
    default: return xen::err::enosys;
    }
    if (rc) return rc;
    return guest::copy_to(v, args[0], &c, sizeof c) ? 0 : xen::err::efault;
}

} // namespace menhir::hypercall
