// CPUID exits: the hot path a benchmark measures. Host leaves come from the
// CPU itself, filtered by vmm/cpuid_policy. With CPUID faulting on
// (MSR_MISC_FEATURES_ENABLES, exit/msr.cpp) CPUID at CPL > 0 takes #GP, as
// Xen does for HVM guests.
#include "arch/x86/cpu.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "arch/x86/vmx/vmx_caps.hpp"
#include "vmm/cpuid_policy.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/guest_state.hpp"
#include "vmm/exit/handlers.hpp"

namespace menhir::exit {
namespace {
cpuid_policy::Regs host_cpuid(uint32_t leaf, uint32_t subleaf)
{
    const auto h = cpu::cpuid(leaf, subleaf);
    return {h.eax, h.ebx, h.ecx, h.edx};
}
} // namespace

void cpuid(Vcpu& v)
{
    if (v.cpuid_faulting && guest::cpl() > 0) {
        guest::inject_gp();
        return;
    }
    GuestRegs& r = v.ctx.regs;
    const auto leaf = static_cast<uint32_t>(r.rax);
    const auto subleaf = static_cast<uint32_t>(r.rcx);
    cpuid_policy::Regs out{};
    if (!cpuid_policy::synthetic(leaf)) {
        const auto h = cpu::cpuid(leaf, subleaf);
        out = {h.eax, h.ebx, h.ecx, h.edx};
    }
    if (cpuid_policy::filtered(leaf)) {
        const uint32_t proc2 = vmx::secondary_controls();
        const cpuid_policy::Context ctx{v.id, v.domain->id,
                                        cpuid_policy::needs_cr4(leaf) ? vmx::read(vmx::Field::cr4_read_shadow) : 0,
                                        (proc2 & vmx::proc2_rdtscp) != 0, (proc2 & vmx::proc2_invpcid) != 0,
                                        (proc2 & vmx::proc2_xsaves) != 0, v.xcr0, host_cpuid,
                                        vmx::apic_virtualisation(vmx::ApicMode::xapic) && v.domain->apic_access.value(),
                                        vmx::apic_virtualisation(vmx::ApicMode::x2apic)};
        cpuid_policy::filter(leaf, subleaf, out, ctx);
    }
    r.rax = out.eax;
    r.rbx = out.ebx;
    r.rcx = out.ecx;
    r.rdx = out.edx;
    guest::skip_instruction(guest::cpuid_length);
}

} // namespace menhir::exit
