#include "arch/x86/vmx/vmx.hpp"
#include "arch/x86/cpu.hpp"
#include "kernel/mm/memory.hpp"

namespace menhir::vmx {
namespace {

Capabilities caps;

uint32_t msr_index(Msr m) { return static_cast<uint32_t>(m); }

} // namespace

const char* to_string(EnableResult r)
{
    switch (r) {
    case EnableResult::ok: return "ok";
    case EnableResult::no_vmx: return "VT-x (VMX) not available on this CPU";
    case EnableResult::disabled_by_firmware: return "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL is locked without VMX outside SMX); enable it in the firmware setup";
    case EnableResult::cr_fixed_bits: return "CR0/CR4 cannot take the values VMX operation requires";
    case EnableResult::no_memory: return "no memory for the VMXON region";
    case EnableResult::vmxon_failed: return "VMXON failed";
    }
    return "?";
}

bool cpu_has_vmx() { return (cpu::cpuid(1).ecx >> 5) & 1; }   // CPUID.1:ECX.VMX[bit 5]

const Capabilities& read_capabilities()
{
    RawMsrs raw{};
    raw.basic = cpu::rdmsr(msr_index(Msr::basic));
    raw.pinbased = cpu::rdmsr(msr_index(Msr::pinbased));
    raw.procbased = cpu::rdmsr(msr_index(Msr::procbased));
    raw.exit = cpu::rdmsr(msr_index(Msr::exit));
    raw.entry = cpu::rdmsr(msr_index(Msr::entry));
    raw.misc = cpu::rdmsr(msr_index(Msr::misc));
    raw.cr0_fixed0 = cpu::rdmsr(msr_index(Msr::cr0_fixed0));
    raw.cr0_fixed1 = cpu::rdmsr(msr_index(Msr::cr0_fixed1));
    raw.cr4_fixed0 = cpu::rdmsr(msr_index(Msr::cr4_fixed0));
    raw.cr4_fixed1 = cpu::rdmsr(msr_index(Msr::cr4_fixed1));
    // The others exist only when the controls above say so (SDM Vol 3D A.3.3, A.10, A.11).
    if ((raw.procbased >> 32) & proc_activate_secondary) {
        raw.procbased2 = cpu::rdmsr(msr_index(Msr::procbased2));
        const uint32_t allowed1 = static_cast<uint32_t>(raw.procbased2 >> 32);
        if (allowed1 & (proc2_ept | proc2_vpid)) raw.ept_vpid_cap = cpu::rdmsr(msr_index(Msr::ept_vpid_cap));
        if (allowed1 & proc2_vmfunc) raw.vmfunc = cpu::rdmsr(msr_index(Msr::vmfunc));
    }
    if ((raw.basic >> 55) & 1) {
        raw.true_pinbased = cpu::rdmsr(msr_index(Msr::true_pinbased));
        raw.true_procbased = cpu::rdmsr(msr_index(Msr::true_procbased));
        raw.true_exit = cpu::rdmsr(msr_index(Msr::true_exit));
        raw.true_entry = cpu::rdmsr(msr_index(Msr::true_entry));
    }
    caps = decode(raw);
    return caps;
}

const Capabilities& capabilities() { return caps; }

EnableResult enable_this_cpu(PerCpu& c)
{
    if (!cpu_has_vmx()) return EnableResult::no_vmx;

    // Firmware normally locks IA32_FEATURE_CONTROL; if it left it unlocked we
    // allow VMX outside SMX and lock it ourselves (SDM Vol 3C 24.7).
    uint64_t fc = cpu::rdmsr(cpu::msr::feature_control);
    if (fc & cpu::feature_control::lock) {
        if (!(fc & cpu::feature_control::vmx_outside_smx)) return EnableResult::disabled_by_firmware;
    } else {
        fc |= cpu::feature_control::vmx_outside_smx | cpu::feature_control::lock;
        cpu::wrmsr(cpu::msr::feature_control, fc);
    }

    // CR0 and CR4 must respect the fixed bits in VMX operation (SDM Vol 3D A.7, A.8).
    const uint64_t cr0 = fix_cr(cpu::read_cr0(), cpu::rdmsr(msr_index(Msr::cr0_fixed0)),
                                cpu::rdmsr(msr_index(Msr::cr0_fixed1)));
    const uint64_t cr4 = fix_cr(cpu::read_cr4() | cpu::cr4_vmxe, cpu::rdmsr(msr_index(Msr::cr4_fixed0)),
                                cpu::rdmsr(msr_index(Msr::cr4_fixed1)));
    if (!(cr4 & cpu::cr4_vmxe) || !(cr0 & 0x80000001)) return EnableResult::cr_fixed_bits;
    cpu::write_cr0(cr0);
    cpu::write_cr4(cr4);

    // The VMXON region: one page whose first dword is the VMCS revision
    // identifier from IA32_VMX_BASIC bits 30:0 (SDM Vol 3C 25.11.5).
    if (c.vmxon_region.value() == 0) {
        auto frame = memory::alloc_frames(1);
        if (!frame) return EnableResult::no_memory;
        c.vmxon_region = *frame;
    }
    auto* region = phys_to_virt<uint32_t>(c.vmxon_region);
    __builtin_memset(region, 0, page_size);
    region[0] = static_cast<uint32_t>(cpu::rdmsr(msr_index(Msr::basic)) & 0x7fffffff);

    uint64_t phys = c.vmxon_region.value();
    bool failed;
    // VMfailInvalid sets CF, VMfailValid sets ZF (SDM Vol 3C 31.2).
    asm volatile("vmxon %1; setbe %0" : "=q"(failed) : "m"(phys) : "cc", "memory");
    if (failed) return EnableResult::vmxon_failed;
    c.vmx_on = true;
    return EnableResult::ok;
}

void disable_this_cpu()
{
    if (!(cpu::read_cr4() & cpu::cr4_vmxe)) return;
    PerCpu& c = this_cpu();
    if (c.vmx_on) {
        asm volatile("vmxoff" ::: "cc", "memory");
        c.vmx_on = false;
    }
    cpu::write_cr4(cpu::read_cr4() & ~cpu::cr4_vmxe);
}

void invept_single(uint64_t eptp)
{
    struct { uint64_t eptp, reserved; } desc{eptp, 0};
    const uint64_t type = caps.invept_single ? 1 : 2;   // single-context, else all-context (SDM Vol 3C 31.3)
    asm volatile("invept %0, %1" :: "m"(desc), "r"(type) : "cc", "memory");
}

void invvpid_single(uint16_t vpid)
{
    if (!caps.invvpid) return;
    struct { uint64_t vpid, address; } desc{vpid, 0};
    const uint64_t type = caps.invvpid_single ? 1 : 2;
    asm volatile("invvpid %0, %1" :: "m"(desc), "r"(type) : "cc", "memory");
}

} // namespace menhir::vmx
