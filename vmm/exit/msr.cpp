// RDMSR/WRMSR exits. MSRs the guest may use freely are passed through by the
// MSR bitmap (arch/x86/vmx/vmcs.cpp); what exits is answered from this table,
// and anything not in it gets #GP, as on a CPU without that MSR.
#include "arch/x86/cpu.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "kernel/console.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/guest_state.hpp"
#include "vmm/exit/handlers.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::exit {
namespace {

constexpr uint32_t msr_efer = 0xc0000080, msr_pat = 0x277;
constexpr uint64_t efer_sce = 1u << 0, efer_lme = 1u << 8, efer_lma = 1u << 10, efer_nxe = 1u << 11;

// Read returns true and fills value; write returns false for #GP.
using Read = bool (*)(Vcpu&, uint64_t& value);
using Write = bool (*)(Vcpu&, uint64_t value);
struct MsrRule { uint32_t index; Read read; Write write; };

bool read_zero(Vcpu&, uint64_t& value) { value = 0; return true; }
bool write_ignore(Vcpu&, uint64_t) { return true; }
bool write_gp(Vcpu&, uint64_t) { return false; }

bool read_efer(Vcpu&, uint64_t& value) { value = vmx::read(vmx::Field::guest_efer); return true; }
bool write_efer(Vcpu&, uint64_t value)
{
    if (value & ~(efer_sce | efer_lme | efer_lma | efer_nxe)) return false;
    // LMA is the CPU's to set (with CR0.PG, see cr.cpp); keep the current one.
    const uint64_t lma = vmx::read(vmx::Field::guest_efer) & efer_lma;
    if ((value & efer_lme) != ((vmx::read(vmx::Field::guest_efer) & efer_lme)) &&
        (vmx::read(vmx::Field::guest_cr0) & (1u << 31)))
        return false;   // LME may not change while paging is on (SDM Vol 3A 10.8.5)
    vmx::write(vmx::Field::guest_efer, (value & ~efer_lma) | lma);
    return true;
}

bool read_pat(Vcpu&, uint64_t& value) { value = vmx::read(vmx::Field::guest_pat); return true; }
bool write_pat(Vcpu&, uint64_t value)
{
    // Each byte must be a valid memory type: 0, 1, 4, 5, 6 or 7 (SDM Vol 3A 12.12.2).
    for (int i = 0; i < 8; ++i) {
        const uint64_t t = (value >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7) return false;
    }
    vmx::write(vmx::Field::guest_pat, value);
    return true;
}

// Fast strings enabled; BTS and PEBS unavailable (SDM Vol 4, IA32_MISC_ENABLE).
bool read_misc_enable(Vcpu&, uint64_t& value) { value = 1u | (1u << 11) | (1u << 12); return true; }
// Locked, VMX off: the guest cannot nest.
bool read_feature_control(Vcpu&, uint64_t& value) { value = cpu::feature_control::lock; return true; }
bool read_tsc(Vcpu&, uint64_t& value) { value = cpu::rdtsc(); return true; }

bool write_hypercall_page(Vcpu& v, uint64_t value) { return hypercall::write_page(v, value); }

constexpr MsrRule rules[] = {
    {0x10, read_tsc, write_ignore},                      // IA32_TSC (writes ignored)
    {0x3a, read_feature_control, write_gp},              // IA32_FEATURE_CONTROL
    {0x8b, read_zero, write_ignore},                     // IA32_BIOS_SIGN_ID (microcode revision)
    {0xfe, read_zero, write_gp},                         // IA32_MTRRCAP: no MTRRs
    {0x1a0, read_misc_enable, write_ignore},             // IA32_MISC_ENABLE
    {msr_pat, read_pat, write_pat},                      // IA32_PAT (a guest-state field)
    {0x2ff, read_zero, write_ignore},                    // IA32_MTRR_DEF_TYPE
    {msr_efer, read_efer, write_efer},                   // IA32_EFER (a guest-state field)
    {xen::hypercall_msr, read_zero, write_hypercall_page},   // Xen's hypercall page (cpuid leaf 0x40000002)
};

const MsrRule* find(uint32_t index)
{
    for (const auto& r : rules)
        if (r.index == index) return &r;
    return nullptr;
}

} // namespace

void rdmsr(Vcpu& v)
{
    GuestRegs& r = v.ctx.regs;
    const auto index = static_cast<uint32_t>(r.rcx);
    uint64_t value = 0;
    const MsrRule* rule = find(index);
    if (!rule || !rule->read(v, value)) {
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
    const auto index = static_cast<uint32_t>(r.rcx);
    const uint64_t value = (r.rdx << 32) | (r.rax & 0xffffffff);
    const MsrRule* rule = find(index);
    if (!rule || !rule->write(v, value)) {
        guest::inject_gp();
        return;
    }
    guest::skip_instruction();
}

} // namespace menhir::exit
