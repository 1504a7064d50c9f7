// RDMSR/WRMSR exits, answered as vmm/msr_policy says: values from the
// VMCS for the MSRs that are guest-state fields, fixed answers for a few
// others, #GP for everything else.
#include "arch/x86/cpu.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/guest_state.hpp"
#include "vmm/exit/handlers.hpp"
#include "vmm/hypercall/hypercall.hpp"
#include "vmm/msr_policy.hpp"

namespace menhir::exit {
namespace {

using msr_policy::Read;
using msr_policy::Write;

bool read_value(Read kind, uint64_t& value)
{
    switch (kind) {
    case Read::gp: return false;
    case Read::zero: value = 0; return true;
    case Read::misc_enable: value = msr_policy::misc_enable_value; return true;
    case Read::feature_control: value = cpu::feature_control::lock; return true;
    case Read::tsc: value = cpu::rdtsc(); return true;
    case Read::efer: value = vmx::read(vmx::Field::guest_efer); return true;
    case Read::pat: value = vmx::read(vmx::Field::guest_pat); return true;
    case Read::debugctl: value = vmx::read(vmx::Field::guest_debugctl); return true;
    }
    return false;
}

bool write_value(Vcpu& v, Write kind, uint64_t value)
{
    switch (kind) {
    case Write::gp: return false;
    case Write::ignore: return true;
    case Write::pat:
        if (!msr_policy::valid_pat(value)) return false;
        vmx::write(vmx::Field::guest_pat, value);
        return true;
    case Write::efer: {
        if (!msr_policy::valid_efer(value)) return false;
        const uint64_t old = vmx::read(vmx::Field::guest_efer);
        // LME may not change while paging is on (SDM Vol 3A 10.8.5); LMA is
        // the CPU's, kept as it is (cr.cpp sets it with CR0.PG).
        if (((value ^ old) & msr_policy::efer_lme) && (vmx::read(vmx::Field::guest_cr0) & (1u << 31))) return false;
        vmx::write(vmx::Field::guest_efer, (value & ~msr_policy::efer_lma) | (old & msr_policy::efer_lma));
        return true;
    }
    case Write::hypercall_page: return hypercall::write_page(v, value);
    case Write::debugctl: {
        // CPUID.(EAX=7,ECX=0):EBX bit 11, which the CPUID policy passes through.
        const bool rtm = (cpu::cpuid(7, 0).ebx >> 11) & 1;
        if (!msr_policy::valid_debugctl(value, rtm)) return false;
        vmx::write(vmx::Field::guest_debugctl, msr_policy::kept_debugctl(value));
        return true;
    }
    }
    return false;
}

} // namespace

void rdmsr(Vcpu& v)
{
    GuestRegs& r = v.ctx.regs;
    uint64_t value = 0;
    const auto* rule = msr_policy::find(static_cast<uint32_t>(r.rcx));
    if (!rule || !read_value(rule->read, value)) {
        guest::inject_gp();
        return;
    }
    r.rax = value & 0xffffffff;
    r.rdx = value >> 32;
    guest::skip_instruction();
}

void wrmsr(Vcpu& v)
{
    GuestRegs& r = v.ctx.regs;
    const uint64_t value = (r.rdx << 32) | (r.rax & 0xffffffff);
    const auto* rule = msr_policy::find(static_cast<uint32_t>(r.rcx));
    if (!rule || !write_value(v, rule->write, value)) {
        guest::inject_gp();
        return;
    }
    guest::skip_instruction();
}

} // namespace menhir::exit
