// A virtual local APIC's registers and rules: see vlapic_state.hpp.
#include "vmm/vlapic_state.hpp"

namespace menhir::vlapic {
namespace {

// CMCI (0x2f0) is apart from the others (0x320-0x370): the ICR lies between.
constexpr unsigned lvt_index(uint32_t offset)
{
    return offset == reg::lvt_cmci ? 0 : ((offset - reg::lvt_timer) >> 4) + 1;
}
static_assert(lvt_index(reg::lvt_timer) == static_cast<unsigned>(Lvt::timer) &&
              lvt_index(reg::lvt_error) == static_cast<unsigned>(Lvt::error));

// Writable bits of each LVT entry, in Lvt order (SDM Vol 3A Figure 11-8).
constexpr uint32_t lvt_vector = 0xff, lvt_dmode = 0x700, lvt_polarity = 1u << 13, lvt_trigger = 1u << 15;
constexpr uint32_t lvt_timer_mode = 3u << 17;
constexpr uint32_t lvt_writable[] = {
    lvt_vector | lvt_dmode | lvt_masked,                                  // CMCI (absent: max LVT is 5)
    lvt_vector | lvt_masked | (1u << 17),                                 // timer: one-shot / periodic (no TSC deadline)
    lvt_vector | lvt_dmode | lvt_masked,                                  // thermal
    lvt_vector | lvt_dmode | lvt_masked,                                  // performance counters
    lvt_vector | lvt_dmode | lvt_polarity | lvt_trigger | lvt_masked,     // LINT0
    lvt_vector | lvt_dmode | lvt_polarity | lvt_trigger | lvt_masked,     // LINT1
    lvt_vector | lvt_masked,                                              // error
};

constexpr uint32_t esr_send_illegal = 1u << 5, esr_receive_illegal = 1u << 6;

// A 256-bit register in the page: word i at bits[4 * i].
int highest(const uint32_t* bits)
{
    for (int i = 7; i >= 0; --i)
        if (const uint32_t w = __atomic_load_n(&bits[4 * i], __ATOMIC_RELAXED)) return i * 32 + 31 - __builtin_clz(w);
    return -1;
}
// Atomic: another CPU raises IRR bits while the CPU running the vCPU may
// be moving one to ISR (as Xen sets them in its vLAPIC page).
void set_bit(uint32_t* bits, uint8_t v) { __atomic_fetch_or(&bits[4 * (v >> 5)], 1u << (v & 31), __ATOMIC_SEQ_CST); }
void clear_bit(uint32_t* bits, uint8_t v) { __atomic_fetch_and(&bits[4 * (v >> 5)], ~(1u << (v & 31)), __ATOMIC_SEQ_CST); }
bool test_bit(const uint32_t* bits, uint8_t v) { return (__atomic_load_n(&bits[4 * (v >> 5)], __ATOMIC_RELAXED) >> (v & 31)) & 1; }

uint32_t* irr(State& s) { return s.page.bits(reg::irr); }
uint32_t* isr(State& s) { return s.page.bits(reg::isr); }
uint32_t* tmr(State& s) { return s.page.bits(reg::tmr); }
const uint32_t* irr(const State& s) { return s.page.bits(reg::irr); }
const uint32_t* isr(const State& s) { return s.page.bits(reg::isr); }

uint64_t divisor(const State& s)
{
    const uint32_t v = (s.timer_divide & 3) | ((s.timer_divide & 8) >> 1);
    return v == 7 ? 1 : 2ull << v;
}
uint64_t period_ns(const State& s) { return static_cast<uint64_t>(s.timer_initial) * divisor(s) * bus_ns; }

uint32_t current_count(const State& s, uint64_t now_ns)
{
    if (!s.timer_running || s.timer_initial == 0) return 0;
    const uint64_t period = period_ns(s);
    const uint64_t elapsed = now_ns > s.timer_start_ns ? now_ns - s.timer_start_ns : 0;
    uint64_t left;
    if (timer_mode(s) == TimerMode::periodic) left = period - elapsed % period;
    else left = elapsed >= period ? 0 : period - elapsed;
    return static_cast<uint32_t>(left / (divisor(s) * bus_ns));
}

void error(State& s, uint32_t bit, Effects& fx)
{
    s.esr_pending |= bit;
    if (!(s.lvt[static_cast<unsigned>(Lvt::error)] & lvt_masked)) fx.error = true;
}

void send(State& s, const Ipi& ipi, Effects& fx)
{
    // Fixed and lowest-priority IPIs need a vector of 16 or more (SDM Vol 3A 11.5.3: send illegal vector).
    if ((ipi.delivery == Delivery::fixed || ipi.delivery == Delivery::lowest) && ipi.vector < 16) {
        error(s, esr_send_illegal, fx);
        return;
    }
    fx.ipi = true;
    fx.ipi_req = ipi;
}

Ipi decode_icr(uint32_t lo, uint32_t dest)
{
    Ipi i;
    i.vector = static_cast<uint8_t>(lo & 0xff);
    i.delivery = static_cast<Delivery>((lo >> 8) & 7);
    i.logical = (lo >> 11) & 1;
    i.level_assert = (lo >> 14) & 1;
    i.level_trigger = (lo >> 15) & 1;
    i.shorthand = static_cast<Shorthand>((lo >> 18) & 3);
    i.dest = dest;
    return i;
}

void do_eoi(State& s, Effects& fx)
{
    const int v = highest(isr(s));
    if (v < 0) return;
    clear_bit(isr(s), static_cast<uint8_t>(v));
    clear_bit(tmr(s), static_cast<uint8_t>(v));
    fx.eoi = true;
    fx.eoi_vector = static_cast<uint8_t>(v);
}

void write_svr(State& s, uint32_t value)
{
    // Vector, software enable, focus checking, EOI-broadcast suppression.
    s.svr = value & (0xffu | svr_enabled | (1u << 9) | (1u << 12));
    if (!s.sw_enabled())
        for (uint32_t& l : s.lvt) l |= lvt_masked;   // SDM Vol 3A 11.4.7.2
}

void write_lvt(State& s, uint32_t offset, uint32_t value, Effects& fx)
{
    const unsigned i = lvt_index(offset);
    uint32_t v = value & lvt_writable[i];
    if (!s.sw_enabled()) v |= lvt_masked;
    const bool timer_changed = i == static_cast<unsigned>(Lvt::timer) && ((v ^ s.lvt[i]) & (lvt_timer_mode | lvt_masked));
    s.lvt[i] = v;
    if (timer_changed) fx.timer = true;
}

void write_timer_initial(State& s, uint32_t value, uint64_t now_ns, Effects& fx)
{
    s.timer_initial = value;
    s.timer_start_ns = now_ns;
    s.timer_running = value != 0;
    fx.timer = true;
}

// A register read common to both modes; false: not readable this way.
bool read_reg(const State& s, uint32_t offset, uint64_t now_ns, uint32_t& out)
{
    const bool x2 = s.x2apic();
    out = 0;
    switch (offset) {
    case reg::id: out = x2 ? s.id : s.id << 24; return true;
    case reg::version: out = version_value; return true;
    case reg::tpr: out = s.tpr(); return true;
    case reg::ppr: out = ppr(s); return true;
    case reg::ldr: out = x2 ? x2apic_ldr(s.id) : s.ldr; return true;
    case reg::dfr: out = s.dfr; return !x2;
    case reg::svr: out = s.svr; return true;
    case reg::esr: out = s.esr; return true;
    case reg::apr:
    case reg::rrd: return !x2;   // read as 0 in xAPIC mode; absent in x2APIC mode
    case reg::icr_lo: out = s.icr_lo(); return true;
    case reg::icr_hi: out = s.icr_hi(); return !x2;
    case reg::timer_initial: out = s.timer_initial; return true;
    case reg::timer_current: out = current_count(s, now_ns); return true;
    case reg::timer_divide: out = s.timer_divide; return true;
    default: break;
    }
    if (offset >= reg::isr && offset < reg::irr + 0x80) { out = s.page.at(offset); return true; }   // ISR, TMR, IRR
    if (offset >= reg::lvt_timer && offset <= reg::lvt_error) { out = s.lvt[lvt_index(offset)]; return true; }
    return false;   // EOI and SELF_IPI are write-only, CMCI absent, the rest reserved
}

// The readable registers that are not the CPU's own into the page, as
// read_reg gives them in the current mode (see Page). After every change.
void publish(State& s)
{
    constexpr uint32_t registers[] = {reg::id, reg::version, reg::ppr, reg::ldr, reg::dfr, reg::svr, reg::esr,
                                      reg::lvt_timer, reg::lvt_thermal, reg::lvt_pmc, reg::lvt_lint0,
                                      reg::lvt_lint1, reg::lvt_error, reg::timer_initial, reg::timer_divide};
    for (uint32_t off : registers) {
        uint32_t v;
        (void)read_reg(s, off, 0, v);   // DFR in x2APIC mode: not read from the page either way
        s.page.at(off) = v;
    }
}

}  // namespace

void reset(State& s, uint32_t vcpu)
{
    s = State{};
    s.apic_base = default_base | base_enable | (vcpu == 0 ? base_bsp : 0);
    s.id = vcpu;
    for (uint32_t& l : s.lvt) l = lvt_masked;
    publish(s);
}

Access read_msr(const State& s, uint32_t msr, uint64_t now_ns, uint64_t& value)
{
    value = 0;
    if (!s.x2apic() || msr < msr_base || msr > msr_base + 0xff) return Access::gp;
    const uint32_t offset = (msr - msr_base) << 4;
    if (offset == reg::icr_lo) {
        value = (static_cast<uint64_t>(s.icr_hi()) << 32) | s.icr_lo();
        return Access::ok;
    }
    uint32_t v = 0;
    if (!read_reg(s, offset, now_ns, v)) return Access::gp;
    value = v;
    return Access::ok;
}

namespace {

Access write_msr_register(State& s, uint32_t msr, uint64_t value, uint64_t now_ns, Effects& fx)
{
    if (!s.x2apic() || msr < msr_base || msr > msr_base + 0xff) return Access::gp;
    const uint32_t offset = (msr - msr_base) << 4;
    const uint32_t lo = static_cast<uint32_t>(value);
    // Every register but ICR is 32 bits wide: high bits set are reserved.
    if (offset != reg::icr_lo && (value >> 32)) return Access::gp;
    switch (offset) {
    case reg::tpr:
        if (lo & ~0xffu) return Access::gp;
        s.page.at(reg::tpr) = lo;
        return Access::ok;
    case reg::eoi:
        if (lo) return Access::gp;
        do_eoi(s, fx);
        return Access::ok;
    case reg::svr: write_svr(s, lo); return Access::ok;
    case reg::esr:
        if (lo) return Access::gp;
        s.esr = s.esr_pending;
        s.esr_pending = 0;
        return Access::ok;
    case reg::icr_lo: {
        // Vector, delivery mode, destination mode, level, trigger, shorthand, destination (as Xen checks it).
        constexpr uint64_t allowed = 0xffull | 0x700 | (1u << 11) | (1u << 14) | (1u << 15) | (3u << 18) | (0xffffffffull << 32);
        if (value & ~allowed) return Access::gp;
        s.page.at(reg::icr_lo) = lo;
        s.page.at(reg::icr_hi) = static_cast<uint32_t>(value >> 32);
        send(s, decode_icr(lo, s.icr_hi()), fx);
        return Access::ok;
    }
    case reg::timer_initial: write_timer_initial(s, lo, now_ns, fx); return Access::ok;
    case reg::timer_divide:
        if (lo & ~0xbu) return Access::gp;
        s.timer_divide = lo;
        fx.timer = true;
        return Access::ok;
    case reg::self_ipi:
        if (lo & ~0xffu) return Access::gp;
        send(s, Ipi{static_cast<uint8_t>(lo), Delivery::fixed, false, true, false, Shorthand::self, 0}, fx);
        return Access::ok;
    default: break;
    }
    if (offset >= reg::lvt_timer && offset <= reg::lvt_error) {
        write_lvt(s, offset, lo, fx);
        return Access::ok;
    }
    return Access::gp;   // read-only (ID, version, LDR, PPR, ISR, TMR, IRR, current count) or reserved
}

void write_mmio_register(State& s, uint32_t offset, uint32_t value, uint64_t now_ns, Effects& fx);

} // namespace

Access write_msr(State& s, uint32_t msr, uint64_t value, uint64_t now_ns, Effects& fx)
{
    const Access a = write_msr_register(s, msr, value, now_ns, fx);
    publish(s);
    return a;
}

uint32_t read_mmio(const State& s, uint32_t offset, uint64_t now_ns)
{
    uint32_t v = 0;
    if ((offset & 0xf) || offset > 0xff0) return 0;
    return read_reg(s, offset, now_ns, v) ? v : 0;
}

void write_mmio(State& s, uint32_t offset, uint32_t value, uint64_t now_ns, Effects& fx)
{
    write_mmio_register(s, offset, value, now_ns, fx);
    publish(s);
}

namespace {

void write_mmio_register(State& s, uint32_t offset, uint32_t value, uint64_t now_ns, Effects& fx)
{
    if ((offset & 0xf) || offset > 0xff0 || s.x2apic()) return;
    switch (offset) {
    case reg::tpr: s.page.at(reg::tpr) = value & 0xff; return;
    case reg::eoi: do_eoi(s, fx); return;
    case reg::ldr: s.ldr = value & 0xff000000u; return;
    case reg::dfr: s.dfr = value | 0x0fffffffu; return;
    case reg::svr: write_svr(s, value); return;
    case reg::esr:
        s.esr = s.esr_pending;
        s.esr_pending = 0;
        return;
    case reg::icr_hi: s.page.at(reg::icr_hi) = value & 0xff000000u; return;
    case reg::icr_lo:
        // Delivery status (bit 12) always reads idle: the IPI is sent at once.
        s.page.at(reg::icr_lo) = value & ~(1u << 12);
        send(s, decode_icr(s.icr_lo(), s.icr_hi() >> 24), fx);
        return;
    case reg::timer_initial: write_timer_initial(s, value, now_ns, fx); return;
    case reg::timer_divide:
        s.timer_divide = value & 0xb;
        fx.timer = true;
        return;
    default: break;
    }
    if (offset >= reg::lvt_timer && offset <= reg::lvt_error) write_lvt(s, offset, value, fx);
    // Read-only and reserved registers ignore writes in xAPIC mode.
}

} // namespace

namespace {

// The bits of its register a 1- or 2-byte access at `offset` covers; 0 for
// other sizes and for an access crossing the register's 4 bytes.
constexpr uint32_t narrow_mask(uint32_t offset, uint32_t size)
{
    if ((size != 1 && size != 2) || (offset & 3) + size > 4) return 0;
    return ((1u << (8 * size)) - 1) << (8 * (offset & 3));
}
static_assert(narrow_mask(0xd3, 1) == 0xff000000u && narrow_mask(0xd3, 2) == 0 && narrow_mask(0x30, 4) == 0);

} // namespace

uint32_t read_mmio_sized(const State& s, uint32_t offset, uint32_t size, uint64_t now_ns)
{
    const uint32_t value = read_mmio(s, offset & ~3u, now_ns);
    if (size == 4) return (offset & 3) ? 0 : value;
    return (value & narrow_mask(offset, size)) >> (8 * (offset & 3));
}

bool write_mmio_narrow(State& s, uint32_t offset, uint32_t size, uint32_t value, uint64_t now_ns, Effects& fx)
{
    const uint32_t mask = narrow_mask(offset, size);
    if (!mask) return false;
    const uint32_t reg = offset & ~3u;
    const uint32_t merged = (read_mmio(s, reg, now_ns) & ~mask) | ((value << (8 * (offset & 3))) & mask);
    write_mmio(s, reg, merged, now_ns, fx);
    return true;
}

void apply_page_write(State& s, uint32_t offset, uint64_t now_ns, Effects& fx)
{
    // Virtualised writes are to registers below 0x400 (30.4.3.1); ICR_HI
    // is the CPU's alone (it clears its low bytes and never exits).
    const uint32_t reg = offset & 0x3f0;
    if (reg != reg::icr_hi) write_mmio_register(s, reg, s.page.at(reg), now_ns, fx);
    publish(s);
}

Access write_apic_base(State& s, uint64_t value, uint32_t vcpu)
{
    constexpr uint64_t writable = base_extd | base_enable;
    if ((value & ~(writable | base_bsp | 0xfffff000ull)) != 0) return Access::gp;
    if ((value & 0xfffff000ull) != default_base) return Access::gp;
    const bool en = value & base_enable, ex = value & base_extd;
    const bool was_en = s.hw_enabled(), was_ex = s.x2apic();
    if (ex && !en) return Access::gp;                      // x2APIC without the APIC
    if (was_ex && en && !ex) return Access::gp;            // x2APIC -> xAPIC: through disabled only
    if (!was_en && en && ex) return Access::gp;            // disabled -> x2APIC: through xAPIC only
    if (!en && was_en) {
        const uint32_t id = s.id;
        reset(s, vcpu);
        s.id = id;
    }
    s.apic_base = (s.apic_base & base_bsp) | default_base | (value & writable);
    publish(s);   // ID and LDR read differently in x2APIC mode
    return Access::ok;
}

bool accept(State& s, uint8_t vector, bool level, Effects& fx)
{
    if (!s.hw_enabled() || !s.sw_enabled()) return false;   // as Xen's vlapic drops them
    if (vector < 16) {
        error(s, esr_receive_illegal, fx);
        return false;
    }
    // TMR first: the vector is visible in IRR only with its trigger mode.
    if (level) set_bit(tmr(s), vector);
    else clear_bit(tmr(s), vector);
    set_bit(irr(s), vector);
    s.irr_raised = true;
    return true;
}

uint32_t ppr(const State& s)
{
    const int isrv = highest(isr(s));
    const uint32_t isr_class = isrv < 0 ? 0 : static_cast<uint32_t>(isrv) & 0xf0;
    const uint32_t tpr = s.tpr();
    return (tpr & 0xf0) >= isr_class ? tpr & 0xff : isr_class;
}

void write_tpr(State& s, uint32_t value)
{
    s.page.at(reg::tpr) = value & 0xff;
    s.page.at(reg::ppr) = ppr(s);
}

int highest_irr(const State& s) { return highest(irr(s)); }
int highest_isr(const State& s) { return highest(isr(s)); }

int deliverable(const State& s)
{
    if (!s.hw_enabled() || !s.sw_enabled()) return -1;
    const int v = highest(irr(s));
    if (v < 0) return -1;
    return (static_cast<uint32_t>(v) & 0xf0) > (ppr(s) & 0xf0) ? v : -1;
}

void acknowledge(State& s, uint8_t vector)
{
    if (!test_bit(irr(s), vector)) return;
    clear_bit(irr(s), vector);
    set_bit(isr(s), vector);
    s.page.at(reg::ppr) = ppr(s);
}

TimerMode timer_mode(const State& s)
{
    return static_cast<TimerMode>((s.lvt[static_cast<unsigned>(Lvt::timer)] >> 17) & 3);
}

uint64_t timer_deadline(const State& s)
{
    if (!s.timer_running || s.timer_initial == 0) return 0;
    const uint64_t period = period_ns(s);
    return s.timer_start_ns + period;   // one-shot: its end; periodic: this period's end
}

int timer_fire(State& s, uint64_t now_ns)
{
    const uint64_t due = timer_deadline(s);
    if (due == 0 || now_ns < due) return -1;
    if (timer_mode(s) == TimerMode::periodic) {
        // The next period starts where this one ended; a vCPU that slept
        // through several gets one interrupt, not a burst.
        const uint64_t period = period_ns(s);
        s.timer_start_ns = due + period <= now_ns ? now_ns : due;
    } else {
        s.timer_running = false;
    }
    const uint32_t lvt = s.lvt[static_cast<unsigned>(Lvt::timer)];
    return (lvt & lvt_masked) ? -1 : static_cast<int>(lvt & 0xff);
}

bool is_destination(const State& s, const Ipi& ipi, uint32_t sender_id)
{
    switch (ipi.shorthand) {
    case Shorthand::self: return s.id == sender_id;
    case Shorthand::all: return true;
    case Shorthand::others: return s.id != sender_id;
    case Shorthand::none: break;
    }
    if (s.x2apic()) {
        if (ipi.dest == 0xffffffffu) return true;
        if (!ipi.logical) return ipi.dest == s.id;
        const uint32_t ldr = x2apic_ldr(s.id);
        return (ipi.dest >> 16) == (ldr >> 16) && (ipi.dest & ldr & 0xffff) != 0;
    }
    const uint32_t dest = ipi.dest & 0xff;
    if (dest == 0xff) return true;
    if (!ipi.logical) return dest == (s.id & 0xff);
    const uint32_t logical = s.ldr >> 24;
    if ((s.dfr >> 28) == 0xf) return (logical & dest) != 0;                            // flat
    return (dest >> 4) == (logical >> 4) && (dest & logical & 0xf) != 0;               // cluster
}

}  // namespace menhir::vlapic
