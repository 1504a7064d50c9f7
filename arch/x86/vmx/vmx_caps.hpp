// VMX capability decoding and control adjustment (SDM Vol 3D Appendix A;
// the controls themselves are described in Vol 3C 25.6-25.8, numbered 24.6-
// 24.8 in editions before 2023). Pure logic: the caller reads the MSRs.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::vmx {

// Capability MSR numbers, SDM Vol 4 Table 2-2 and Vol 3D A.1-A.11.
enum class Msr : uint32_t {
    basic = 0x480,
    pinbased = 0x481,
    procbased = 0x482,
    exit = 0x483,
    entry = 0x484,
    misc = 0x485,
    cr0_fixed0 = 0x486,
    cr0_fixed1 = 0x487,
    cr4_fixed0 = 0x488,
    cr4_fixed1 = 0x489,
    vmcs_enum = 0x48a,
    procbased2 = 0x48b,
    ept_vpid_cap = 0x48c,
    true_pinbased = 0x48d,
    true_procbased = 0x48e,
    true_exit = 0x48f,
    true_entry = 0x490,
    vmfunc = 0x491,
};

// Zero where the MSR does not exist (reading it would #GP).
struct RawMsrs {
    uint64_t basic, pinbased, procbased, exit, entry, misc, cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1,
        procbased2, ept_vpid_cap, true_pinbased, true_procbased, true_exit, true_entry, vmfunc;
};

// Reads every capability MSR that exists, following the existence rules of
// Appendix A so that no read can fault. `read` does the RDMSR.
using MsrReadFn = uint64_t (*)(void* ctx, Msr msr);
[[nodiscard]] RawMsrs read_msrs(MsrReadFn read, void* ctx);

// A.3-A.5: bit X of a control may be 0 iff bit X of the low half is 0, and
// may be 1 iff bit X of the high half is 1.
struct ControlMsr {
    uint32_t allowed0{0};   // low 32 bits: bits that must be 1
    uint32_t allowed1{0};   // high 32 bits: bits that may be 1
};

[[nodiscard]] constexpr ControlMsr split(uint64_t msr)
{
    return ControlMsr{static_cast<uint32_t>(msr), static_cast<uint32_t>(msr >> 32)};
}

struct Capabilities {
    uint32_t revision;
    uint32_t vmcs_size;
    uint8_t memory_type;   // for the VMCS and other structures the CPU reads (A.1): 0 UC, 6 WB
    bool true_controls;
    bool ins_outs_info;
    ControlMsr pin, proc, proc2, exit, entry;   // the TRUE_* variants when basic bit 55 is set
    bool ept, vpid, unrestricted_guest, ept_4level, ept_wb, ept_uc, ept_2m, ept_1g, ept_ad, invept, invept_single,
        invept_all;
    bool invvpid, invvpid_individual, invvpid_single, invvpid_all, invvpid_single_retain;
    bool preemption_timer;
    uint8_t preemption_timer_rate;   // the timer counts down every 2^rate TSC ticks (MISC bits 4:0)
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

[[nodiscard]] Capabilities decode(const RawMsrs&);

struct Adjusted {
    uint32_t value;
    uint32_t missing;   // desired bits the CPU cannot set
};

// The control value closest to `desired` that VM entry accepts: bits the CPU
// forces on are added, bits it cannot set are dropped and reported.
[[nodiscard]] constexpr Adjusted adjust(ControlMsr msr, uint32_t desired)
{
    return Adjusted{(desired | msr.allowed0) & msr.allowed1, desired & ~msr.allowed1};
}

// A.7, A.8: CR0/CR4 in VMX operation. Bits set in fixed0 must be 1, bits
// clear in fixed1 must be 0.
[[nodiscard]] constexpr uint64_t fix_cr(uint64_t cr, uint64_t fixed0, uint64_t fixed1)
{
    return (cr | fixed0) & fixed1;
}

// Name of the first feature guests need that is missing ("EPT", "unrestricted
// guest", "EPT 4-level page walk", "EPT write-back memory type"), or nullptr.
[[nodiscard]] const char* missing_guest_feature(const Capabilities&);

// Human-readable description, one line per call of `line`, no newline.
using LineFn = void (*)(void* ctx, const char* line);
void describe(const Capabilities&, LineFn line, void* ctx);

// IA32_VMX_BASIC, A.1.
inline constexpr uint64_t basic_revision_mask = 0x7fffffffull;   // bits 30:0
inline constexpr unsigned basic_size_shift = 32;                 // bits 44:32
inline constexpr uint64_t basic_size_mask = 0x1fffull;
inline constexpr uint64_t basic_phys32 = 1ull << 48;
inline constexpr unsigned basic_memtype_shift = 50;              // bits 53:50
inline constexpr uint64_t basic_memtype_mask = 0xfull;
inline constexpr uint64_t basic_ins_outs = 1ull << 54;
inline constexpr uint64_t basic_true_controls = 1ull << 55;
inline constexpr uint8_t memtype_uc = 0, memtype_wb = 6;

// IA32_VMX_MISC, A.6.
inline constexpr uint64_t misc_timer_rate_mask = 0x1f;           // bits 4:0
inline constexpr uint64_t misc_store_lma = 1ull << 5;
inline constexpr uint64_t misc_activity_hlt = 1ull << 6;
inline constexpr uint64_t misc_activity_shutdown = 1ull << 7;
inline constexpr uint64_t misc_activity_wait_sipi = 1ull << 8;
inline constexpr uint64_t misc_vmwrite_any = 1ull << 29;

// IA32_VMX_EPT_VPID_CAP, A.10.
inline constexpr uint64_t ept_cap_execute_only = 1ull << 0;
inline constexpr uint64_t ept_cap_walk4 = 1ull << 6;
inline constexpr uint64_t ept_cap_walk5 = 1ull << 7;
inline constexpr uint64_t ept_cap_uc = 1ull << 8;
inline constexpr uint64_t ept_cap_wb = 1ull << 14;
inline constexpr uint64_t ept_cap_2m = 1ull << 16;
inline constexpr uint64_t ept_cap_1g = 1ull << 17;
inline constexpr uint64_t ept_cap_invept = 1ull << 20;
inline constexpr uint64_t ept_cap_ad = 1ull << 21;
inline constexpr uint64_t ept_cap_invept_single = 1ull << 25;
inline constexpr uint64_t ept_cap_invept_all = 1ull << 26;
inline constexpr uint64_t vpid_cap_invvpid = 1ull << 32;
inline constexpr uint64_t vpid_cap_individual = 1ull << 40;
inline constexpr uint64_t vpid_cap_single = 1ull << 41;
inline constexpr uint64_t vpid_cap_all = 1ull << 42;
inline constexpr uint64_t vpid_cap_single_retain = 1ull << 43;

// Pin-based VM-execution controls, SDM Vol 3C 25.6.1 (24.6.1 in older editions).
inline constexpr uint32_t pin_external_interrupt = 1u << 0;
inline constexpr uint32_t pin_nmi = 1u << 3;
inline constexpr uint32_t pin_virtual_nmi = 1u << 5;
inline constexpr uint32_t pin_preemption_timer = 1u << 6;
inline constexpr uint32_t pin_posted_interrupts = 1u << 7;

// Primary processor-based VM-execution controls, 25.6.2 (24.6.2).
inline constexpr uint32_t proc_interrupt_window = 1u << 2;
inline constexpr uint32_t proc_tsc_offsetting = 1u << 3;
inline constexpr uint32_t proc_hlt = 1u << 7;
inline constexpr uint32_t proc_invlpg = 1u << 9;
inline constexpr uint32_t proc_mwait = 1u << 10;
inline constexpr uint32_t proc_rdpmc = 1u << 11;
inline constexpr uint32_t proc_rdtsc = 1u << 12;
inline constexpr uint32_t proc_cr3_load = 1u << 15;
inline constexpr uint32_t proc_cr3_store = 1u << 16;
inline constexpr uint32_t proc_activate_tertiary = 1u << 17;
inline constexpr uint32_t proc_cr8_load = 1u << 19;
inline constexpr uint32_t proc_cr8_store = 1u << 20;
inline constexpr uint32_t proc_tpr_shadow = 1u << 21;
inline constexpr uint32_t proc_nmi_window = 1u << 22;
inline constexpr uint32_t proc_mov_dr = 1u << 23;
inline constexpr uint32_t proc_unconditional_io = 1u << 24;
inline constexpr uint32_t proc_io_bitmaps = 1u << 25;
inline constexpr uint32_t proc_monitor_trap_flag = 1u << 27;
inline constexpr uint32_t proc_msr_bitmaps = 1u << 28;
inline constexpr uint32_t proc_monitor = 1u << 29;
inline constexpr uint32_t proc_pause = 1u << 30;
inline constexpr uint32_t proc_activate_secondary = 1u << 31;

// Secondary processor-based VM-execution controls, 25.6.2 (24.6.2).
inline constexpr uint32_t proc2_virtualize_apic = 1u << 0;
inline constexpr uint32_t proc2_ept = 1u << 1;
inline constexpr uint32_t proc2_descriptor_table = 1u << 2;
inline constexpr uint32_t proc2_rdtscp = 1u << 3;
inline constexpr uint32_t proc2_virtualize_x2apic = 1u << 4;
inline constexpr uint32_t proc2_vpid = 1u << 5;
inline constexpr uint32_t proc2_wbinvd = 1u << 6;
inline constexpr uint32_t proc2_unrestricted = 1u << 7;
inline constexpr uint32_t proc2_apic_register_virt = 1u << 8;
inline constexpr uint32_t proc2_virtual_interrupt_delivery = 1u << 9;
inline constexpr uint32_t proc2_pause_loop = 1u << 10;
inline constexpr uint32_t proc2_rdrand = 1u << 11;
inline constexpr uint32_t proc2_invpcid = 1u << 12;
inline constexpr uint32_t proc2_vmfunc = 1u << 13;
inline constexpr uint32_t proc2_vmcs_shadowing = 1u << 14;
inline constexpr uint32_t proc2_rdseed = 1u << 16;
inline constexpr uint32_t proc2_pml = 1u << 17;
inline constexpr uint32_t proc2_ept_ve = 1u << 18;
inline constexpr uint32_t proc2_xsaves = 1u << 20;
inline constexpr uint32_t proc2_mode_based_ept_exec = 1u << 22;
inline constexpr uint32_t proc2_tsc_scaling = 1u << 25;
inline constexpr uint32_t proc2_user_wait_pause = 1u << 26;

// Primary VM-exit controls, 25.7.1 (24.7.1).
inline constexpr uint32_t exit_save_debug = 1u << 2;
inline constexpr uint32_t exit_host_64bit = 1u << 9;
inline constexpr uint32_t exit_load_perf_global = 1u << 12;
inline constexpr uint32_t exit_ack_interrupt = 1u << 15;
inline constexpr uint32_t exit_save_pat = 1u << 18;
inline constexpr uint32_t exit_load_pat = 1u << 19;
inline constexpr uint32_t exit_save_efer = 1u << 20;
inline constexpr uint32_t exit_load_efer = 1u << 21;
inline constexpr uint32_t exit_save_preemption_timer = 1u << 22;
inline constexpr uint32_t exit_clear_bndcfgs = 1u << 23;
inline constexpr uint32_t exit_load_cet = 1u << 28;

// VM-entry controls, 25.8.1 (24.8.1).
inline constexpr uint32_t entry_load_debug = 1u << 2;
inline constexpr uint32_t entry_ia32e_guest = 1u << 9;
inline constexpr uint32_t entry_smm = 1u << 10;
inline constexpr uint32_t entry_deactivate_dual_monitor = 1u << 11;
inline constexpr uint32_t entry_load_perf_global = 1u << 13;
inline constexpr uint32_t entry_load_pat = 1u << 14;
inline constexpr uint32_t entry_load_efer = 1u << 15;
inline constexpr uint32_t entry_load_bndcfgs = 1u << 16;
inline constexpr uint32_t entry_load_cet = 1u << 20;

// Controls that are "default1" (A.2): without TRUE_* MSRs they read as
// must-be-1; with them, software may clear some of these bits.
inline constexpr uint32_t pin_default1 = 0x00000016;
inline constexpr uint32_t proc_default1 = 0x0401e172;
inline constexpr uint32_t exit_default1 = 0x00036dff;
inline constexpr uint32_t entry_default1 = 0x000011ff;

} // namespace menhir::vmx
