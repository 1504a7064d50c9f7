// Which MSRs a guest may touch and how: passed through by the MSR bitmap,
// answered by the hypervisor, or refused with #GP (as a CPU without that MSR
// would). Pure: the VMCS setup builds its bitmap from it, the RDMSR/WRMSR
// exit handler follows it, and host unit tests check it.
#pragma once
#include <cstddef>
#include <cstdint>
#include "vmm/vlapic_state.hpp"

namespace menhir::msr_policy {

enum class Read : uint8_t { gp, zero, misc_enable, feature_control, tsc, efer, pat, debugctl, tsc_adjust, xss,
                            platform_info, misc_features };
enum class Write : uint8_t { gp, ignore, efer, pat, hypercall_page, debugctl, tsc, tsc_adjust, xss, misc_features };
struct Rule { uint32_t index; Read read; Write write; };

inline constexpr uint32_t efer = 0xc0000080, pat = 0x277, hypercall_page = 0x40000000, debugctl = 0x1d9;
inline constexpr uint32_t tsc = 0x10, tsc_adjust = 0x3b, platform_info = 0xce, misc_features_enables = 0x140,
                          xss = 0xda0;

// Answered by the hypervisor (every other exit is #GP).
inline constexpr Rule rules[] = {
    {tsc, Read::tsc, Write::tsc},                       // IA32_TSC (reads pass through; writes set the offset)
    {0x3a, Read::feature_control, Write::gp},           // IA32_FEATURE_CONTROL: locked, no VMX for guests
    {tsc_adjust, Read::tsc_adjust, Write::tsc_adjust},  // IA32_TSC_ADJUST, per vCPU
    {0x8b, Read::zero, Write::ignore},                  // IA32_BIOS_SIGN_ID (microcode revision)
    {platform_info, Read::platform_info, Write::gp},    // MSR_PLATFORM_INFO: CPUID faulting offered, as Xen does
    {misc_features_enables, Read::misc_features, Write::misc_features},   // MSR_MISC_FEATURES_ENABLES
    {0xfe, Read::zero, Write::gp},                      // IA32_MTRRCAP: no MTRRs
    {0x1a0, Read::misc_enable, Write::ignore},          // IA32_MISC_ENABLE
    {debugctl, Read::debugctl, Write::debugctl},        // IA32_DEBUGCTL: a guest-state field
    {pat, Read::pat, Write::pat},                       // IA32_PAT: a guest-state field
    {0x2ff, Read::zero, Write::ignore},                 // IA32_MTRR_DEF_TYPE
    {xss, Read::xss, Write::xss},                       // IA32_XSS: only with XSAVES, no supervisor state offered
    {efer, Read::efer, Write::efer},                    // IA32_EFER: a guest-state field
    {hypercall_page, Read::zero, Write::hypercall_page}, // Xen's hypercall page MSR (CPUID 0x40000002)
};

// Used by the guest without exits: guest-state fields the CPU switches
// (SYSENTER, FS/GS base) or MSRs Menhir switches with the vCPU (the SYSCALL
// ones, KERNEL_GS_BASE, TSC_AUX).
inline constexpr uint32_t passthrough[] = {
    0x174, 0x175, 0x176, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
    0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103,
};
inline constexpr uint32_t passthrough_reads[] = {tsc};   // IA32_TSC reads equal RDTSC (offset applied)

[[nodiscard]] constexpr const Rule* find(uint32_t index)
{
    for (const auto& r : rules)
        if (r.index == index) return &r;
    return nullptr;
}

// CPUID faulting as Xen offers it to HVM guests: MSR_PLATFORM_INFO bit 31
// says it exists, MSR_MISC_FEATURES_ENABLES bit 0 turns it on, and then
// CPUID at CPL > 0 takes #GP(0).
inline constexpr uint64_t platform_info_cpuid_faulting = 1ull << 31;
inline constexpr uint64_t misc_features_cpuid_faulting = 1ull << 0;
[[nodiscard]] constexpr bool valid_misc_features(uint64_t value) { return !(value & ~misc_features_cpuid_faulting); }

// IA32_XSS with no supervisor state components offered: only 0 (and only
// when XSAVES is offered at all; without it the MSR does not exist: #GP).
[[nodiscard]] constexpr bool valid_xss(uint64_t value) { return value == 0; }

// A vCPU's TSC: the guest reads host TSC + offset. Writing IA32_TSC_ADJUST
// moves the TSC by as much as the MSR changes; writing IA32_TSC moves
// TSC_ADJUST by as much as the TSC changes (SDM Vol 3B, "Time-Stamp Counter
// Adjustment"; Xen does both).
struct TscState { uint64_t offset; uint64_t adjust; };
constexpr void write_tsc_adjust(TscState& t, uint64_t value)
{
    t.offset += value - t.adjust;
    t.adjust = value;
}
constexpr void write_tsc(TscState& t, uint64_t host_tsc, uint64_t value)
{
    const uint64_t offset = value - host_tsc;
    t.adjust += offset - t.offset;
    t.offset = offset;
}

// Unknown MSRs are logged once each per domain, in a table of this many;
// past that, one line says logging stopped. Safe against the domain's vCPUs
// on other CPUs (each slot is claimed with a compare-exchange).
inline constexpr size_t unknown_log_size = 16;
struct UnknownLog {
    uint64_t slots[unknown_log_size];   // MSR index | 1 << 32 once claimed, 0 = free
    bool full_reported;
};
enum class Note : uint8_t { first, seen, full_now, full };
[[nodiscard]] inline Note note_unknown(UnknownLog& log, uint32_t msr)
{
    const uint64_t tag = msr | (1ull << 32);
    for (auto& slot : log.slots) {
        uint64_t cur = __atomic_load_n(&slot, __ATOMIC_ACQUIRE);
        if (cur == 0) {
            uint64_t expected = 0;
            if (__atomic_compare_exchange_n(&slot, &expected, tag, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                return Note::first;
            cur = expected;
        }
        if (cur == tag) return Note::seen;
    }
    return __atomic_exchange_n(&log.full_reported, true, __ATOMIC_ACQ_REL) ? Note::full : Note::full_now;
}

// IA32_MISC_ENABLE as guests see it: fast strings on, BTS and PEBS unavailable.
inline constexpr uint64_t misc_enable_value = 1u | (1u << 11) | (1u << 12);

// EFER bits a guest may write: SCE, LME, LMA (kept as the CPU has it), NXE.
inline constexpr uint64_t efer_sce = 1u << 0, efer_lme = 1u << 8, efer_lma = 1u << 10, efer_nxe = 1u << 11;
[[nodiscard]] constexpr bool valid_efer(uint64_t value) { return !(value & ~(efer_sce | efer_lme | efer_lma | efer_nxe)); }

// Each PAT entry must be a memory type that exists: 0, 1, 4, 5, 6 or 7 (SDM Vol 3A 12.12.2).
[[nodiscard]] constexpr bool valid_pat(uint64_t value)
{
    for (int i = 0; i < 8; ++i) {
        const uint64_t t = (value >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7) return false;
    }
    return true;
}

// IA32_DEBUGCTL bits (SDM Vol 4 Table 2-2) a guest may set, as Xen allows
// them to an HVM guest without vPMU: LBR and BTF, and RTM when the guest's
// CPUID has RTM; anything else is #GP. Menhir gives guests no LBR MSRs, so a
// written LBR is dropped and reads as 0, as Xen does where it knows no LBR
// MSRs for the CPU (and as CPUs with architectural LBRs only do).
inline constexpr uint64_t debugctl_lbr = 1u << 0, debugctl_btf = 1u << 1, debugctl_rtm = 1u << 15;
[[nodiscard]] constexpr bool valid_debugctl(uint64_t value, bool rtm)
{
    return !(value & ~(debugctl_lbr | debugctl_btf | (rtm ? debugctl_rtm : 0)));
}
// What of a valid value goes into GUEST_IA32_DEBUGCTL.
[[nodiscard]] constexpr uint64_t kept_debugctl(uint64_t value) { return value & ~debugctl_lbr; }

// The VMX MSR bitmap (SDM Vol 3C 25.6.9): four 1 KiB bitmaps (reads of
// 0-0x1fff, reads of 0xc0000000-0xc0001fff, then writes of both); a set
// bit makes the access exit. Everything exits except the lists above.
inline constexpr size_t bitmap_bytes = 4096;
constexpr void pass(uint8_t* bitmap, uint32_t msr, bool write)
{
    const uint32_t bit = msr & 0x1fff;
    const size_t at = (write ? 2048 : 0) + (msr >= 0xc0000000 ? 1024 : 0) + bit / 8;
    bitmap[at] = static_cast<uint8_t>(bitmap[at] & ~(1u << (bit % 8)));
}
constexpr void build_bitmap(uint8_t* bitmap)
{
    for (size_t i = 0; i < bitmap_bytes; ++i) bitmap[i] = 0xff;
    for (uint32_t m : passthrough) {
        pass(bitmap, m, false);
        pass(bitmap, m, true);
    }
    for (uint32_t m : passthrough_reads) pass(bitmap, m, false);
}
// For a vCPU in x2APIC mode under the CPU's APIC virtualisation: beside the
// above, the x2APIC reads its virtual-APIC page answers and the writes the
// CPU virtualises itself (vmm/vlapic_state.hpp says which).
constexpr void build_apicv_bitmap(uint8_t* bitmap)
{
    build_bitmap(bitmap);
    for (uint32_t m = vlapic::msr_base; m <= vlapic::msr_base + 0xff; ++m)
        if (vlapic::page_answers_read(m)) pass(bitmap, m, false);
    for (uint32_t m : vlapic::cpu_written_msrs) pass(bitmap, m, true);
}

// Whether an access exits, read from a bitmap built as above.
[[nodiscard]] constexpr bool exits(const uint8_t* bitmap, uint32_t msr, bool write)
{
    if (msr > 0x1fff && (msr < 0xc0000000 || msr > 0xc0001fff)) return true;   // outside both ranges
    const uint32_t bit = msr & 0x1fff;
    const size_t off = (write ? 2048 : 0) + (msr >= 0xc0000000 ? 1024 : 0) + bit / 8;
    return (bitmap[off] >> (bit % 8)) & 1;
}

} // namespace menhir::msr_policy
