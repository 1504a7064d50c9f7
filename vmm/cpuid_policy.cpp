#include "vmm/cpuid_policy.hpp"
#include "vmm/abi/xen.hpp"

namespace menhir::cpuid_policy {
namespace {

// CPUID.1 (SDM Vol 2A, CPUID, Table 3-10/3-11).
constexpr uint32_t ecx_dtes64 = 1u << 2, ecx_monitor = 1u << 3, ecx_ds_cpl = 1u << 4, ecx_vmx = 1u << 5,
                   ecx_smx = 1u << 6, ecx_est = 1u << 7, ecx_tm2 = 1u << 8, ecx_pdcm = 1u << 15,
                   ecx_x2apic = 1u << 21, ecx_tsc_deadline = 1u << 24, ecx_hypervisor = 1u << 31;
constexpr uint32_t ecx_osxsave = 1u << 27;
constexpr uint32_t edx_apic = 1u << 9, edx_ds = 1u << 21, edx_acpi = 1u << 22, edx_htt = 1u << 28,
                   edx_tm = 1u << 29, edx_pbe = 1u << 31;
constexpr uint64_t cr4_osxsave = 1u << 18, cr4_pke = 1u << 22;
// CPUID.7.0 (Table 3-8).
constexpr uint32_t ebx7_tsc_adjust = 1u << 1, ebx7_sgx = 1u << 2, ebx7_invpcid = 1u << 10, ebx7_pqm = 1u << 12, ebx7_pqe = 1u << 15,
                   ebx7_pt = 1u << 25;
constexpr uint32_t ecx7_ospke = 1u << 4, ecx7_waitpkg = 1u << 5;
constexpr uint32_t edx7_ibrs = 1u << 26, edx7_stibp = 1u << 27, edx7_l1d_flush = 1u << 28,
                   edx7_arch_caps = 1u << 29, edx7_core_caps = 1u << 30, edx7_ssbd = 1u << 31;
constexpr uint32_t edx_ext_rdtscp = 1u << 27;   // CPUID.80000001h:EDX
// CPUID.(EAX=0Dh,ECX=1):EAX; XFD comes with MSRs Menhir does not offer.
constexpr uint32_t eax_d1_xsavec = 1u << 1, eax_d1_xsaves = 1u << 3, eax_d1_xfd = 1u << 4;
constexpr uint32_t ecx_d_supervisor = 1u << 0, ecx_d_align64 = 1u << 1;   // CPUID.(0Dh,i>=2):ECX

// "XenVMMXenVMM" as the three signature registers.
constexpr uint32_t sig_ebx = 0x566e6558, sig_ecx = 0x65584d4d, sig_edx = 0x4d4d566e;
constexpr uint32_t xen_max_leaf = xen::cpuid_base + 4;

Regs xen_leaf(uint32_t leaf, uint32_t subleaf, const Context& ctx)
{
    switch (leaf - xen::cpuid_base) {
    case 0: return {xen_max_leaf, sig_ebx, sig_ecx, sig_edx};
    case 1: return {(xen::version_major << 16) | xen::version_minor, 0, 0, 0};
    case 2: return {1, xen::hypercall_msr, 0, 0};          // one hypercall page, its MSR
    case 4:
        // The HVM leaf: only sub-leaf 0 (arch-x86/cpuid.h).
        if (subleaf != 0) return {0, 0, 0, 0};
        return {(ctx.xapic_virt ? xen::cpuid_hvm_apic_access_virt : 0) |
                    (ctx.x2apic_virt ? xen::cpuid_hvm_x2apic_virt : 0) | xen::cpuid_hvm_vcpu_id_present |
                    xen::cpuid_hvm_domid_present,
                ctx.vcpu_id, ctx.domid, 0};
    default: return {0, 0, 0, 0};                           // leaf 3 (TSC) and beyond: nothing offered
    }
}

} // namespace

uint32_t compacted_xsave_size(uint64_t mask, Regs (*host)(uint32_t, uint32_t))
{
    uint32_t size = 512 + 64;
    for (uint32_t i = 2; i < 63; ++i) {
        if (!((mask >> i) & 1)) continue;
        const Regs c = host(0xd, i);
        if (c.ecx & ecx_d_align64) size = (size + 63) & ~63u;
        size += c.eax;
    }
    return size;
}

void filter(uint32_t leaf, uint32_t subleaf, Regs& host, const Context& ctx)
{
    if (synthetic(leaf)) {
        host = xen_leaf(leaf, subleaf, ctx);
        return;
    }
    switch (leaf) {
    case 1:
        // No VMX or SMX (no nesting), no MONITOR/MWAIT, no thermal,
        // debug-store or performance interfaces. The local APIC is the
        // emulated one (vmm/vlapic.cpp), x2APIC included, whatever the host
        // has; its timer has no TSC-deadline mode.
        host.ecx &= ~(ecx_dtes64 | ecx_monitor | ecx_ds_cpl | ecx_vmx | ecx_smx | ecx_est | ecx_tm2 | ecx_pdcm |
                      ecx_tsc_deadline);
        host.ecx |= ecx_hypervisor | ecx_x2apic;
        // OSXSAVE mirrors the guest's CR4, not the host's.
        host.ecx = (host.ecx & ~ecx_osxsave) | ((ctx.guest_cr4 & cr4_osxsave) ? ecx_osxsave : 0);
        host.edx &= ~(edx_ds | edx_acpi | edx_htt | edx_tm | edx_pbe);
        host.edx |= edx_apic;
        host.ebx = (host.ebx & 0x0000ffffu) | (1u << 16) | (ctx.vcpu_id << 24);   // one logical CPU, APIC id = vCPU
        return;
    case 5: case 6: case 0xa: case 0xb: case 0x1f:
        host = {0, 0, 0, 0};   // MONITOR, power, PMU and topology: not offered
        return;
    case 7:
        if (subleaf == 0) {
            host.ebx &= ~(ebx7_sgx | ebx7_pqm | ebx7_pqe | ebx7_pt);
            host.ebx |= ebx7_tsc_adjust;   // emulated per vCPU, whatever the host has (exit/msr.cpp)
            if (!ctx.invpcid) host.ebx &= ~ebx7_invpcid;
            host.ecx &= ~(ecx7_waitpkg | ecx7_ospke);
            if (ctx.guest_cr4 & cr4_pke) host.ecx |= ecx7_ospke;
            host.edx &= ~(edx7_ibrs | edx7_stibp | edx7_l1d_flush | edx7_arch_caps | edx7_core_caps | edx7_ssbd);
        }
        return;
    case 0xd:
        // No supervisor state components (IA32_XSS stays 0): sub-leaf 1
        // lists none, their own sub-leaves read as zeros, and the size in
        // sub-leaf 1 EBX is that of XCR0 | XSS = XCR0, compacted, where
        // XSAVEC or XSAVES exist to use it (reserved, 0, otherwise).
        if (subleaf == 1) {
            host.eax &= ~eax_d1_xfd;
            if (!ctx.xsaves) host.eax &= ~eax_d1_xsaves;
            host.ebx = (host.eax & (eax_d1_xsavec | eax_d1_xsaves)) && ctx.host
                           ? compacted_xsave_size(ctx.xcr0, ctx.host) : 0;
            host.ecx = 0;
            host.edx = 0;
        } else if (subleaf >= 2 && subleaf < 63 && (host.ecx & ecx_d_supervisor)) {
            host = {0, 0, 0, 0};
        }
        return;
    case 0x80000001:
        if (!ctx.rdtscp) host.edx &= ~edx_ext_rdtscp;
        return;
    default:
        return;
    }
}

} // namespace menhir::cpuid_policy
