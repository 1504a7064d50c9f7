#include "arch/x86/lapic.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/idt.hpp"
#include "arch/x86/pit.hpp"
#include "kernel/console.hpp"
#include "kernel/mm/memory.hpp"

namespace menhir::lapic {
namespace {

// Register offsets in xAPIC MMIO space; the x2APIC MSR is 0x800 + offset / 16
// (SDM Vol 3A 11.12.1.2).
enum Reg : uint32_t {
    id_reg = 0x20, eoi_reg = 0xb0, svr = 0xf0, esr = 0x280, icr_low = 0x300, icr_high = 0x310,
    lvt_timer = 0x320, lvt_lint0 = 0x350, lvt_lint1 = 0x360, lvt_error = 0x370,
    timer_initial = 0x380, timer_current = 0x390, timer_divide = 0x3e0,
};
constexpr uint64_t apic_base_enable = 1u << 11;
constexpr uint64_t apic_base_x2apic = 1u << 10;
constexpr uint32_t svr_enable = 1u << 8;
constexpr uint32_t lvt_masked = 1u << 16;
constexpr uint32_t icr_pending = 1u << 12;
constexpr uint32_t icr_assert = 1u << 14;
constexpr uint32_t icr_all_but_self = 3u << 18;
constexpr uint32_t delivery_fixed = 0u << 8, delivery_nmi = 4u << 8, delivery_init = 5u << 8,
                   delivery_startup = 6u << 8;

Mode current_mode = Mode::xapic;
volatile uint32_t* mmio = nullptr;
bool is_ready = false;

uint32_t read(Reg r)
{
    if (current_mode == Mode::x2apic) return static_cast<uint32_t>(cpu::rdmsr(0x800 + r / 16));
    return mmio[r / 4];
}

void write(Reg r, uint32_t v)
{
    if (current_mode == Mode::x2apic)
        cpu::wrmsr(0x800 + r / 16, v);
    else
        mmio[r / 4] = v;
}

void send_icr(uint32_t dest, uint32_t low)
{
    if (current_mode == Mode::x2apic) {
        // One 64-bit write; no delivery-status bit in x2APIC mode.
        cpu::wrmsr(0x830, (static_cast<uint64_t>(dest) << 32) | low);
        return;
    }
    write(icr_high, dest << 24);
    write(icr_low, low);
    for (int i = 0; i < 1000000 && (read(icr_low) & icr_pending); ++i) cpu::pause();
}

void spurious(InterruptFrame&) {}

} // namespace

void init_bsp(int x2apic_option, HostPhys mmio_base)
{
    const bool has_x2apic = (cpu::cpuid(1).ecx >> 21) & 1;
    current_mode = (has_x2apic && x2apic_option != 0) ? Mode::x2apic : Mode::xapic;
    if (x2apic_option == 1 && !has_x2apic) warning("x2apic=1 but this CPU has no x2APIC");
    if (current_mode == Mode::xapic) mmio = static_cast<volatile uint32_t*>(memory::map_mmio(mmio_base, page_size));
    idt::set_handler(vector::spurious, spurious);
    info("local APIC in %s mode", current_mode == Mode::x2apic ? "x2APIC" : "xAPIC");
}

void init_this_cpu()
{
    uint64_t base = cpu::rdmsr(cpu::msr::apic_base) | apic_base_enable;
    // xAPIC -> x2APIC must go through enabled xAPIC (SDM Vol 3A 11.12.5).
    cpu::wrmsr(cpu::msr::apic_base, base);
    if (current_mode == Mode::x2apic) cpu::wrmsr(cpu::msr::apic_base, base | apic_base_x2apic);
    write(svr, svr_enable | vector::spurious);
    write(lvt_timer, lvt_masked);
    write(lvt_error, lvt_masked);
    write(esr, 0);
    is_ready = true;
}

bool ready() { return is_ready; }
Mode mode() { return current_mode; }

uint32_t id()
{
    const uint32_t v = read(id_reg);
    return current_mode == Mode::x2apic ? v : v >> 24;
}

void eoi() { write(eoi_reg, 0); }

void send_init(uint32_t apic_id) { send_icr(apic_id, delivery_init | icr_assert); }
void send_startup(uint32_t apic_id, uint8_t page) { send_icr(apic_id, delivery_startup | icr_assert | page); }
void send_fixed(uint32_t apic_id, uint8_t vec) { send_icr(apic_id, delivery_fixed | icr_assert | vec); }
void send_fixed_all_but_self(uint8_t vec) { send_icr(0, icr_all_but_self | delivery_fixed | icr_assert | vec); }
void send_nmi_all_but_self() { send_icr(0, icr_all_but_self | delivery_nmi | icr_assert); }

void arm_oneshot(uint32_t ticks)
{
    write(timer_divide, 0xb);
    write(lvt_timer, vector::timer);   // one-shot mode, unmasked
    write(timer_initial, ticks ? ticks : 1);
}

uint32_t calibrate_timer()
{
    write(timer_divide, 0xb);   // divide by 1
    write(lvt_timer, lvt_masked);
    write(timer_initial, 0xffffffff);
    const uint32_t start = read(timer_current);
    pit::wait_ms(10);
    const uint32_t end = read(timer_current);
    write(timer_initial, 0);
    return (start - end) / 10;
}

} // namespace menhir::lapic
