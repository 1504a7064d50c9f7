// See hypervisor.hpp.
#include "hypervisor.hpp"
#include "runtime/hypercall.hpp"
#include "../domctl.hpp"

namespace dom0::xl::hv {
namespace {

long call(abi::Domctl& c) { return guest::domctl(&c); }

abi::Sysctl sysctl_op(abi::SysctlCmd cmd)
{
    abi::Sysctl s{};
    s.cmd = static_cast<uint32_t>(cmd);
    s.interface_version = abi::domctl_interface_version;
    return s;
}

long simple(abi::DomctlCmd cmd, uint16_t dom)
{
    abi::Domctl c = domctl_op(cmd, dom);
    return call(c);
}

} // namespace

long list_domains(abi::DomainInfo* out, size_t max)
{
    abi::Sysctl s = sysctl_op(abi::SysctlCmd::domain_list);
    s.u.list.first_domain = 0;
    s.u.list.max_domains = static_cast<uint32_t>(max);
    s.u.list.buffer = reinterpret_cast<uintptr_t>(out);
    const long rc = guest::sysctl(&s);
    return rc < 0 ? rc : static_cast<long>(s.u.list.num_domains);
}

bool listed(uint16_t dom)
{
    abi::DomainInfo one{};
    abi::Sysctl s = sysctl_op(abi::SysctlCmd::domain_list);
    s.u.list.first_domain = dom;
    s.u.list.max_domains = 1;
    s.u.list.buffer = reinterpret_cast<uintptr_t>(&one);
    return guest::sysctl(&s) == 0 && s.u.list.num_domains == 1 && one.domain == dom;
}

long domain_info(uint16_t dom, abi::DomainInfo& out)
{
    abi::Domctl c = domctl_op(abi::DomctlCmd::get_info, dom);
    const long rc = call(c);
    if (rc == 0) out = c.u.info;
    return rc;
}

long vcpu_info(uint16_t dom, uint32_t vcpu, abi::DomctlVcpuInfo& out)
{
    abi::Domctl c = domctl_op(abi::DomctlCmd::get_vcpu_info, dom);
    c.u.vcpu_info.vcpu = vcpu;
    const long rc = call(c);
    if (rc == 0) out = c.u.vcpu_info;
    return rc;
}

long set_affinity(uint16_t dom, uint32_t vcpu, uint32_t flags, uint64_t hard, uint64_t soft)
{
    abi::Domctl c = domctl_op(abi::DomctlCmd::set_vcpu_affinity, dom);
    c.u.affinity = abi::DomctlAffinity{vcpu, flags, hard, soft};
    return call(c);
}

long get_credit(uint16_t dom, abi::DomctlCredit& out)
{
    abi::Domctl c = domctl_op(abi::DomctlCmd::get_credit, dom);
    const long rc = call(c);
    if (rc == 0) out = c.u.credit;
    return rc;
}

long set_credit(uint16_t dom, uint32_t weight, uint32_t cap)
{
    abi::Domctl c = domctl_op(abi::DomctlCmd::set_credit, dom);
    c.u.credit = abi::DomctlCredit{weight, cap};
    return call(c);
}

long pause(uint16_t dom) { return simple(abi::DomctlCmd::pause, dom); }
long unpause(uint16_t dom) { return simple(abi::DomctlCmd::unpause, dom); }
long destroy(uint16_t dom) { return simple(abi::DomctlCmd::destroy, dom); }

long physinfo(abi::SysctlPhysinfo& out)
{
    abi::Sysctl s = sysctl_op(abi::SysctlCmd::physinfo);
    const long rc = guest::sysctl(&s);
    if (rc == 0) out = s.u.physinfo;
    return rc;
}

long read_console(char* buf, uint32_t count, uint64_t& index, bool clear, uint32_t& got)
{
    abi::Sysctl s = sysctl_op(abi::SysctlCmd::read_console);
    s.u.console.buffer = reinterpret_cast<uintptr_t>(buf);
    s.u.console.count = count;
    s.u.console.index = index;
    s.u.console.flags = clear ? abi::read_console_clear : 0;
    const long rc = guest::sysctl(&s);
    if (rc == 0) {
        index = s.u.console.index;
        got = s.u.console.count;
    }
    return rc;
}

long console_interactive(bool on)
{
    abi::Sysctl s = sysctl_op(abi::SysctlCmd::console_mode);
    s.u.console_mode.interactive = on ? 1 : 0;
    return guest::sysctl(&s);
}

} // namespace dom0::xl::hv
