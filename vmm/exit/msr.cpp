// RDMSR/WRMSR exits, answered by the vLAPIC (IA32_APIC_BASE, x2APIC) or as vmm/msr_policy says: values from the
// VMCS for the MSRs that are guest-state fields, per-vCPU state for a few
// (TSC_ADJUST, CPUID faulting), fixed answers for others, #GP for
// everything else, as Xen answers an HVM guest, each unknown MSR logged
// once per domain.
#include "arch/x86/cpu.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "kernel/console.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/guest_state.hpp"
#include "vmm/exit/handlers.hpp"
#include "vmm/hypercall/hypercall.hpp"
#include "vmm/msr_policy.hpp"
#include "vmm/vcpu_timer.hpp"
#include "vmm/vlapic.hpp"

namespace menhir::exit {
namespace {

using msr_policy::Read;
using msr_policy::Write;

// XSAVES (and so IA32_XSS) reaches the guest only with its VMX control (cpuid.cpp hides it otherwise).
bool xsaves_offered() { return vmx::secondary_controls() & vmx::proc2_xsaves; }

// The pvclock in vcpu_info is in guest TSC ticks: it follows the new offset at once.
void set_tsc_offset(Vcpu& v)
{
    vmx::write(vmx::Field::tsc_offset, v.tsc.offset);
    vcpu_timer::update_time_info(v);
}

bool read_value(Vcpu& v, Read kind, uint64_t& value)
{
    switch (kind) {
    case Read::gp: return false;
    case Read::zero: value = 0; return true;
    case Read::misc_enable: value = msr_policy::misc_enable_value; return true;
    case Read::feature_control: value = cpu::feature_control::lock; return true;
    case Read::tsc: value = cpu::rdtsc() + v.tsc.offset; return true;
    case Read::efer: value = vmx::read(vmx::Field::guest_efer); return true;
    case Read::pat: value = vmx::read(vmx::Field::guest_pat); return true;
    case Read::debugctl: value = vmx::read(vmx::Field::guest_debugctl); return true;
    case Read::tsc_adjust: value = v.tsc.adjust; return true;
    case Read::xss: value = 0; return xsaves_offered();
    case Read::platform_info: value = msr_policy::platform_info_cpuid_faulting; return true;
    case Read::misc_features: value = v.cpuid_faulting ? msr_policy::misc_features_cpuid_faulting : 0; return true;
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
    case Write::tsc:
        msr_policy::write_tsc(v.tsc, cpu::rdtsc(), value);
        set_tsc_offset(v);
        return true;
    case Write::tsc_adjust:
        msr_policy::write_tsc_adjust(v.tsc, value);
        set_tsc_offset(v);
        return true;
    case Write::xss: return xsaves_offered() && msr_policy::valid_xss(value);
    case Write::misc_features:
        if (!msr_policy::valid_misc_features(value)) return false;
        v.cpuid_faulting = value & msr_policy::misc_features_cpuid_faulting;
        return true;
    }
    return false;
}

// An MSR Menhir does not know: #GP as Xen gives, said once per MSR per domain.
void unknown(Vcpu& v, uint32_t msr, const char* op)
{
    Domain& d = *v.domain;
    switch (msr_policy::note_unknown(d.unknown_msrs, msr)) {
    case msr_policy::Note::first:
        info("domain %u (%s): %s of unknown MSR 0x%x: #GP (logged once)", d.id, d.name, op, msr);
        break;
    case msr_policy::Note::full_now:
        info("domain %u (%s): more than %lu unknown MSRs, no more logged", d.id, d.name,
             static_cast<unsigned long>(msr_policy::unknown_log_size));
        break;
    case msr_policy::Note::seen:
    case msr_policy::Note::full:
        break;
    }
    guest::inject_gp();
}

} // namespace

void rdmsr(Vcpu& v)
{
    GuestRegs& r = v.ctx.regs;
    uint64_t value = 0;
    const auto index = static_cast<uint32_t>(r.rcx);
    // The local APIC's MSRs go to its model, whatever msr_policy says.
    if (vlapic::owns_msr(index)) {
        if (!vlapic::read_msr(v, index, value)) return guest::inject_gp();
    } else {
        const auto* rule = msr_policy::find(index);
        if (!rule) return unknown(v, index, "rdmsr");
        if (!read_value(v, rule->read, value)) return guest::inject_gp();
    }
    r.rax = value & 0xffffffff;
    r.rdx = value >> 32;
    guest::skip_instruction();
}

void wrmsr(Vcpu& v)
{
    GuestRegs& r = v.ctx.regs;
    const uint64_t value = (r.rdx << 32) | (r.rax & 0xffffffff);
    const auto index = static_cast<uint32_t>(r.rcx);
    if (vlapic::owns_msr(index)) {
        if (!vlapic::write_msr(v, index, value)) return guest::inject_gp();
    } else {
        const auto* rule = msr_policy::find(index);
        if (!rule) return unknown(v, index, "wrmsr");
        if (!write_value(v, rule->write, value)) return guest::inject_gp();
    }
    guest::skip_instruction();
}

} // namespace menhir::exit
