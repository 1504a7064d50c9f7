// The arithmetic of a hardware task switch (SDM Vol 3A 7.3) on 32-bit
// TSSes: the TSS image, what goes into the old one and comes from the new
// one, busy bits, NT and the back link, descriptors as VMX access rights.
// Pure: vmm/exit/task_switch.cpp does the guest-memory and VMCS side, host
// unit tests check this part.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::tss {

// 32-bit TSS (SDM Vol 3A Figure 7-2).
struct [[gnu::packed]] Tss32 {
    uint16_t link, r0;
    uint32_t esp0;
    uint16_t ss0, r1;
    uint32_t esp1;
    uint16_t ss1, r2;
    uint32_t esp2;
    uint16_t ss2, r3;
    uint32_t cr3, eip, eflags;
    uint32_t gpr[8];          // EAX ECX EDX EBX ESP EBP ESI EDI: x86 register-number order
    uint16_t seg[6][2];       // ES CS SS DS FS GS selectors, each with a reserved word
    uint16_t ldt, r4;
    uint16_t trap, iomap;
};
static_assert(sizeof(Tss32) == 104);
static_assert(offsetof(Tss32, cr3) == 0x1c && offsetof(Tss32, eip) == 0x20 && offsetof(Tss32, gpr) == 0x28);
static_assert(offsetof(Tss32, seg) == 0x48 && offsetof(Tss32, ldt) == 0x60 && offsetof(Tss32, trap) == 0x64);

// The part a task switch writes into the outgoing TSS: EIP through GS.
inline constexpr size_t dynamic_first = offsetof(Tss32, eip), dynamic_end = offsetof(Tss32, ldt);
inline constexpr uint32_t min_limit = sizeof(Tss32) - 1;

enum Seg : uint8_t { es, cs, ss, ds, fs, gs };

// Exit qualification bits 31:30 (SDM Vol 3C Table 28-2).
enum class Source : uint8_t { call, iret, jmp, gate };
[[nodiscard]] constexpr Source source(uint64_t qualification) { return static_cast<Source>((qualification >> 30) & 3); }
[[nodiscard]] constexpr uint16_t selector(uint64_t qualification) { return qualification & 0xffff; }

// IDT-vectoring information (SDM Vol 3C 25.9.3): valid bit 31, type 10:8,
// error code valid bit 11.
inline constexpr uint32_t vectoring_valid = 1u << 31, vectoring_error_code = 1u << 11;
enum class EventType : uint8_t { external = 0, nmi = 2, hardware = 3, soft_int = 4, priv_soft = 5, soft_exc = 6 };
[[nodiscard]] constexpr EventType event_type(uint32_t info) { return static_cast<EventType>((info >> 8) & 7); }

// The EIP saved in the old TSS: past the instruction for CALL, JMP, IRET and
// software interrupts/exceptions; at it for faults, NMIs and interrupts.
[[nodiscard]] constexpr uint32_t saved_eip(Source src, uint32_t vectoring, uint64_t rip, uint64_t length)
{
    bool after = src != Source::gate;
    if (src == Source::gate && (vectoring & vectoring_valid)) {
        const EventType t = event_type(vectoring);
        after = t == EventType::soft_int || t == EventType::priv_soft || t == EventType::soft_exc;
    }
    return static_cast<uint32_t>(after ? rip + length : rip);
}

// An event delivered through the gate whose error code goes on the new stack.
[[nodiscard]] constexpr bool pushes_error_code(Source src, uint32_t vectoring)
{
    return src == Source::gate && (vectoring & vectoring_valid) && (vectoring & vectoring_error_code);
}
[[nodiscard]] constexpr bool delivers_nmi(Source src, uint32_t vectoring)
{
    return src == Source::gate && (vectoring & vectoring_valid) && event_type(vectoring) == EventType::nmi;
}

inline constexpr uint32_t eflags_nt = 1u << 14, eflags_vm = 1u << 17, eflags_fixed = 1u << 1;

// The old task's state into its TSS; IRET saves NT clear (SDM Vol 3A 7.3 step 9-10).
struct State32 {
    uint32_t eip, eflags;
    uint32_t gpr[8];
    uint16_t seg[6];
};
constexpr void save(Tss32& old, const State32& s, Source src)
{
    old.eip = s.eip;
    old.eflags = src == Source::iret ? s.eflags & ~eflags_nt : s.eflags;
    for (int i = 0; i < 8; ++i) old.gpr[i] = s.gpr[i];
    for (int i = 0; i < 6; ++i) old.seg[i][0] = s.seg[i];
}

// The new task's EFLAGS: NT set when it is nested in the old one (CALL, gate).
[[nodiscard]] constexpr uint32_t entry_eflags(const Tss32& next, Source src)
{
    const uint32_t f = next.eflags | eflags_fixed;
    return src == Source::call || src == Source::gate ? f | eflags_nt : f;
}
[[nodiscard]] constexpr bool nests(Source src) { return src == Source::call || src == Source::gate; }
// JMP and IRET leave the old task (not busy any more); all but IRET enter a
// task that was not busy (and becomes so).
[[nodiscard]] constexpr bool clears_old_busy(Source src) { return src == Source::jmp || src == Source::iret; }
[[nodiscard]] constexpr bool sets_new_busy(Source src) { return src != Source::iret; }

// Segment descriptors (SDM Vol 3A 3.4.5).
[[nodiscard]] constexpr uint32_t base(uint64_t d)
{
    return static_cast<uint32_t>(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000u));
}
[[nodiscard]] constexpr uint32_t limit(uint64_t d)
{
    const uint32_t raw = static_cast<uint32_t>((d & 0xffff) | ((d >> 32) & 0xf0000));
    return (d >> 55) & 1 ? (raw << 12) | 0xfff : raw;
}
[[nodiscard]] constexpr uint8_t type(uint64_t d) { return (d >> 40) & 0xf; }
[[nodiscard]] constexpr bool present(uint64_t d) { return (d >> 47) & 1; }
[[nodiscard]] constexpr bool system(uint64_t d) { return !((d >> 44) & 1); }
// VMX access rights (SDM Vol 3C 25.4.1): descriptor bits 40-47 and 52-55 at 0-7 and 12-15.
[[nodiscard]] constexpr uint32_t access_rights(uint64_t d) { return static_cast<uint32_t>((d >> 40) & 0xf0ff); }
inline constexpr uint32_t ar_unusable = 1u << 16;
inline constexpr uint64_t busy_bit = 1ull << 41, accessed_bit = 1ull << 40;

// 32-bit TSS types: 9 available, 11 busy; 1 and 3 are the 16-bit ones.
enum class TssCheck : uint8_t { ok, tss16, bad_type, not_present, too_small };
[[nodiscard]] constexpr TssCheck check_new_tss(uint64_t d, Source src)
{
    if (!system(d)) return TssCheck::bad_type;
    const uint8_t t = type(d);
    if (t == 1 || t == 3) return TssCheck::tss16;
    if (t != (src == Source::iret ? 11 : 9)) return TssCheck::bad_type;
    if (!present(d)) return TssCheck::not_present;
    if (limit(d) < min_limit) return TssCheck::too_small;
    return TssCheck::ok;
}

// A code or data segment a new task may load (SDM Vol 3A 7.3 step 13):
// present, code/data (S = 1), CS executable, SS writable data, others not
// execute-only. Null selectors are for the data segments only.
enum class SegCheck : uint8_t { ok, null, bad, not_present };
[[nodiscard]] constexpr SegCheck check_segment(Seg which, uint16_t sel, uint64_t d)
{
    if ((sel & ~3u) == 0) return which == cs || which == ss ? SegCheck::bad : SegCheck::null;
    if (system(d)) return SegCheck::bad;
    const bool code = type(d) & 8, readable_or_writable = type(d) & 2;
    if (which == cs && !code) return SegCheck::bad;
    if (which == ss && (code || !readable_or_writable)) return SegCheck::bad;
    if (which != cs && which != ss && code && !readable_or_writable) return SegCheck::bad;
    if (!present(d)) return SegCheck::not_present;   // #SS for SS, #NP for the others
    return SegCheck::ok;
}

} // namespace menhir::tss
