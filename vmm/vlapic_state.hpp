// A virtual local APIC's registers and rules (pure, host-tested): what reads and writes do in xAPIC and x2APIC mode, IRR/ISR/TMR and priorities, the timer's count, and the ICR decoded into what to deliver.
//
// SDM Vol 3A chapter 11 ("Advanced Programmable Interrupt Controller") is the
// reference; where the SDM leaves room, Xen's vlapic is (version 0x14 with
// six LVT entries, a 1 GHz bus clock for the timer). The effectful half
// (vmm/vlapic.cpp) owns the time source, the exits and the injection: this
// half only takes `now_ns` and says what to do.
#pragma once
#include <cstdint>

namespace menhir::vlapic {

// Register offsets in the xAPIC page; the x2APIC MSR of a register is
// 0x800 + (offset >> 4) (SDM Vol 3A 11.12.1.2).
namespace reg {
inline constexpr uint32_t id = 0x20, version = 0x30, tpr = 0x80, apr = 0x90, ppr = 0xa0, eoi = 0xb0, rrd = 0xc0,
                          ldr = 0xd0, dfr = 0xe0, svr = 0xf0, isr = 0x100, tmr = 0x180, irr = 0x200, esr = 0x280,
                          lvt_cmci = 0x2f0, icr_lo = 0x300, icr_hi = 0x310, lvt_timer = 0x320, lvt_thermal = 0x330,
                          lvt_pmc = 0x340, lvt_lint0 = 0x350, lvt_lint1 = 0x360, lvt_error = 0x370,
                          timer_initial = 0x380, timer_current = 0x390, timer_divide = 0x3e0, self_ipi = 0x3f0;
}  // namespace reg

inline constexpr uint32_t msr_base = 0x800;           // IA32_X2APIC_APICID is 0x802
inline constexpr uint32_t msr_apic_base = 0x1b;       // IA32_APIC_BASE
inline constexpr uint64_t default_base = 0xfee00000;  // the xAPIC page
inline constexpr uint64_t base_bsp = 1u << 8, base_extd = 1u << 10, base_enable = 1u << 11;
inline constexpr uint32_t version_value = 0x00050014;  // version 0x14, max LVT entry 5 (as Xen's)
inline constexpr uint32_t lvt_masked = 1u << 16;
inline constexpr uint32_t svr_enabled = 1u << 8;
inline constexpr uint64_t bus_ns = 1;                  // the timer's clock: 1 GHz (Xen: APIC_BUS_CYCLE_NS)

// The LVT entries, in the order of their registers.
enum class Lvt : uint8_t { cmci, timer, thermal, pmc, lint0, lint1, error, count };

enum class TimerMode : uint8_t { one_shot = 0, periodic = 1, tsc_deadline = 2 };

// ICR fields (SDM Vol 3A 11.6.1).
enum class Delivery : uint8_t { fixed = 0, lowest = 1, smi = 2, nmi = 4, init = 5, startup = 6, reserved = 7 };
enum class Shorthand : uint8_t { none = 0, self = 1, all = 2, others = 3 };

struct Ipi {
    uint8_t vector{0};
    Delivery delivery{Delivery::fixed};
    bool logical{false};
    bool level_assert{true};   // bit 14 (INIT level de-assert has it clear)
    bool level_trigger{false};
    Shorthand shorthand{Shorthand::none};
    uint32_t dest{0};          // x2APIC: 32 bits; xAPIC: the top byte of ICR_HI
};

// The virtual-APIC page (SDM Vol 3C 30.1): every register at its xAPIC
// offset. With the CPU's APIC virtualisation it is the CPU's as much as
// ours: it raises IRR bits into ISR, retires EOIs and takes TPR writes
// there itself, and answers register reads from it; in xAPIC mode the
// guest's writes to the ICR land here too (ICR_HI without an exit). So
// TPR, IRR, ISR, TMR and the ICR live only here, and publish() keeps the
// other readable registers here as a read of them gives them.
struct alignas(4096) Page {
    uint32_t words[1024];
    [[nodiscard]] uint32_t& at(uint32_t offset) { return words[offset >> 2]; }
    [[nodiscard]] uint32_t at(uint32_t offset) const { return words[offset >> 2]; }
    // 256-bit registers (IRR, ISR, TMR): 32 bits at each of 8 offsets 16 apart.
    [[nodiscard]] uint32_t* bits(uint32_t base) { return &words[base >> 2]; }
    [[nodiscard]] const uint32_t* bits(uint32_t base) const { return &words[base >> 2]; }
};
static_assert(sizeof(Page) == 4096);

struct State {
    Page page{};
    uint64_t apic_base{default_base | base_enable};
    uint32_t id{0};            // the vCPU's APIC ID (x2APIC form; xAPIC shows id << 24)
    uint32_t ldr{0};           // xAPIC only; x2APIC derives it from the id
    uint32_t dfr{0xffffffffu};
    uint32_t svr{0xff};
    uint32_t esr{0};           // what ESR reads (latched by the last write to it)
    uint32_t esr_pending{0};   // errors since
    uint32_t lvt[static_cast<unsigned>(Lvt::count)]{};
    uint32_t timer_initial{0};
    uint32_t timer_divide{0};
    uint64_t timer_start_ns{0};   // when the current count was loaded (periodic: when this period began)
    bool timer_running{false};    // counting (a one-shot stops at 0)
    // accept() set an IRR bit since the effectful half last said so to the
    // CPU (RVI): every other IRR change under its virtualisation is the
    // CPU's own, so an entry with this clear has nothing to tell it.
    bool irr_raised{false};

    [[nodiscard]] uint32_t tpr() const { return page.at(reg::tpr); }
    [[nodiscard]] uint32_t icr_lo() const { return page.at(reg::icr_lo); }
    [[nodiscard]] uint32_t icr_hi() const { return page.at(reg::icr_hi); }
    [[nodiscard]] bool x2apic() const { return (apic_base & base_extd) != 0; }
    [[nodiscard]] bool hw_enabled() const { return (apic_base & base_enable) != 0; }
    [[nodiscard]] bool sw_enabled() const { return (svr & svr_enabled) != 0; }
};

// Power-on / INIT state of vCPU `vcpu` (APIC ID = its index; the BSP flag
// on vCPU 0): every LVT masked, SVR 0xff (software-disabled).
void reset(State& s, uint32_t vcpu);

// What an access asks of the effectful half beside the register change.
struct Effects {
    bool eoi{false};           // an EOI retired `eoi_vector` (a level-triggered one is for the IO-APIC: none here)
    uint8_t eoi_vector{0};
    bool ipi{false};           // deliver `ipi` (ICR written, or SELF_IPI)
    Ipi ipi_req{};
    bool timer{false};         // the timer's deadline changed: re-arm it from timer_deadline()
    bool error{false};         // an error was latched and LVT Error is unmasked: deliver its vector
};

enum class Access : uint8_t { ok, gp, ignored };

// x2APIC MSR access (`msr` in 0x800..0x8ff). Rules of SDM Vol 3A 11.12.1.2:
// #GP for reserved and write-only/read-only registers accessed the wrong
// way, non-zero EOI writes, reserved bits set; ICR is one 64-bit register.
[[nodiscard]] Access read_msr(const State& s, uint32_t msr, uint64_t now_ns, uint64_t& value);
[[nodiscard]] Access write_msr(State& s, uint32_t msr, uint64_t value, uint64_t now_ns, Effects& fx);

// xAPIC MMIO access of 4 bytes at `offset` (0..0xff0, 16-aligned; other
// offsets read as 0 and writes are ignored, as the SDM leaves them).
[[nodiscard]] uint32_t read_mmio(const State& s, uint32_t offset, uint64_t now_ns);
void write_mmio(State& s, uint32_t offset, uint32_t value, uint64_t now_ns, Effects& fx);
// A 1-, 2- or 4-byte read at `offset` within one register: those bytes of
// it (as Xen's vlapic gives them); 0 for other sizes or a read crossing the
// register's 4 bytes.
[[nodiscard]] uint32_t read_mmio_sized(const State& s, uint32_t offset, uint32_t size, uint64_t now_ns);
// A 1- or 2-byte write at `offset` (within one register): merged into the
// register as it reads now and written whole, as Xen's vlapic does and as
// the CPU's APIC-register virtualisation leaves it in the page. False for
// other sizes or a write crossing the register's 4 bytes (Xen crashes the
// domain for those; the caller decides).
[[nodiscard]] bool write_mmio_narrow(State& s, uint32_t offset, uint32_t size, uint32_t value, uint64_t now_ns,
                                     Effects& fx);
// The CPU virtualised a guest write to the xAPIC page at `offset` (a byte
// offset, as the APIC-write exit gives it, SDM Vol 3C 30.4.3.3): the
// register there holds what the guest wrote, not yet checked. Applies it
// as write_mmio would, then publish()es the checked value back.
void apply_page_write(State& s, uint32_t offset, uint64_t now_ns, Effects& fx);

// IA32_APIC_BASE writes (SDM Vol 3A 11.12.5): the legal transitions only
// (disabled -> xAPIC -> x2APIC, x2APIC -> disabled); a change of the base
// address is refused too (Menhir keeps the page at 0xfee00000). Going to
// disabled resets the state as INIT does, keeping the id.
[[nodiscard]] Access write_apic_base(State& s, uint64_t value, uint32_t vcpu);

// Interrupts: a vector arriving (from an IPI, the timer or an LVT) sets
// IRR (and TMR when level-triggered); vectors 0-15 are illegal and latch
// "receive illegal vector" instead. Returns whether it was taken.
bool accept(State& s, uint8_t vector, bool level, Effects& fx);
// The highest vector in IRR that the processor priority lets through, or
// -1 (also when the APIC is disabled).
[[nodiscard]] int deliverable(const State& s);
// The vector is being injected: IRR -> ISR.
void acknowledge(State& s, uint8_t vector);
[[nodiscard]] uint32_t ppr(const State& s);
// TPR from CR8 (SDM Vol 3A 11.8.6.1: CR8 is TPR[7:4]).
void write_tpr(State& s, uint32_t value);
// The highest vector in IRR / ISR, or -1: what the CPU's RVI and SVI hold
// while it virtualises interrupt delivery (SDM Vol 3C 30.1.1).
[[nodiscard]] int highest_irr(const State& s);
[[nodiscard]] int highest_isr(const State& s);

// The x2APIC MSRs whose reads the virtual-APIC page can answer without an
// exit (with APIC-register virtualisation, SDM Vol 3C 30.5: RDMSR reads the
// 8 bytes at (msr & 0xff) << 4): those whose value sits there as read_msr
// gives it. Not the current count (it runs), nor ICR (the page has its high
// half at 0x310, the CPU would read it at 0x304), nor write-only, absent
// or reserved registers (they #GP).
[[nodiscard]] constexpr bool page_answers_read(uint32_t msr)
{
    const uint32_t r = msr - msr_base;
    return r == 0x02 || r == 0x03 || r == 0x08 || r == 0x0a || r == 0x0d || r == 0x0f ||
           (r >= 0x10 && r <= 0x28) || (r >= 0x32 && r <= 0x38) || r == 0x3e;
}
// The writes the CPU virtualises itself with virtual-interrupt delivery
// (TPR, EOI, SELF_IPI; SDM Vol 3C 30.5): with no level-triggered vectors
// (no IO-APIC), an EOI needs nothing of Menhir.
inline constexpr uint32_t cpu_written_msrs[] = {msr_base + 0x08, msr_base + 0x0b, msr_base + 0x3f};

// The timer. Its deadline in ns (0: not running) from the registers; when
// it is reached, fire() says which vector to raise (or none if masked) and
// restarts a periodic count.
[[nodiscard]] uint64_t timer_deadline(const State& s);
[[nodiscard]] TimerMode timer_mode(const State& s);
// Returns the vector to accept, or -1 (masked or not running).
int timer_fire(State& s, uint64_t now_ns);

// Whether an APIC with state `s` is a destination of `ipi` sent by APIC
// `sender_id` (SDM Vol 3A 11.6.2: physical IDs, logical flat/cluster, or
// the x2APIC cluster form; broadcast 0xff / 0xffffffff).
[[nodiscard]] bool is_destination(const State& s, const Ipi& ipi, uint32_t sender_id);

// x2APIC's logical ID, derived from the APIC ID (SDM Vol 3A 11.12.10.2).
[[nodiscard]] constexpr uint32_t x2apic_ldr(uint32_t id) { return ((id >> 4) << 16) | (1u << (id & 0xf)); }

}  // namespace menhir::vlapic
