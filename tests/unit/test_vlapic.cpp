#include <catch2/catch.hpp>

#include "vmm/vlapic_state.hpp"

using namespace menhir::vlapic;

namespace {

uint32_t msr(uint32_t offset) { return msr_base + (offset >> 4); }

State x2(uint32_t vcpu)
{
    State s;
    reset(s, vcpu);
    REQUIRE(write_apic_base(s, default_base | base_enable | base_extd, vcpu) == Access::ok);
    Effects fx;
    REQUIRE(write_msr(s, msr(reg::svr), svr_enabled | 0xff, 0, fx) == Access::ok);
    return s;
}

}  // namespace

TEST_CASE("vlapic: reset state is an enabled xAPIC, software-disabled, every LVT masked", "[vlapic]")
{
    State s;
    reset(s, 3);
    CHECK(s.hw_enabled());
    CHECK_FALSE(s.x2apic());
    CHECK_FALSE(s.sw_enabled());
    CHECK((s.apic_base & base_bsp) == 0);
    CHECK(read_mmio(s, reg::id, 0) == 3u << 24);
    CHECK(read_mmio(s, reg::version, 0) == version_value);
    CHECK(read_mmio(s, reg::lvt_timer, 0) == lvt_masked);
    CHECK(read_mmio(s, reg::dfr, 0) == 0xffffffffu);
    reset(s, 0);
    CHECK((s.apic_base & base_bsp) != 0);
}

TEST_CASE("vlapic: IA32_APIC_BASE allows only the SDM's mode transitions", "[vlapic]")
{
    State s;
    reset(s, 1);
    const uint64_t b = default_base;
    CHECK(write_apic_base(s, b | base_extd, 1) == Access::gp);                  // x2APIC without enable
    CHECK(write_apic_base(s, 0xfed00000 | base_enable, 1) == Access::gp);       // relocation
    CHECK(write_apic_base(s, b | base_enable | (1u << 9), 1) == Access::gp);    // reserved bit
    REQUIRE(write_apic_base(s, b | base_enable | base_extd, 1) == Access::ok);
    CHECK(s.x2apic());
    CHECK(write_apic_base(s, b | base_enable, 1) == Access::gp);                // x2APIC -> xAPIC
    REQUIRE(write_apic_base(s, b, 1) == Access::ok);                            // -> disabled
    CHECK_FALSE(s.hw_enabled());
    CHECK(s.id == 1);
    CHECK(write_apic_base(s, b | base_enable | base_extd, 1) == Access::gp);    // disabled -> x2APIC
    CHECK(write_apic_base(s, b | base_enable, 1) == Access::ok);
}

TEST_CASE("vlapic: x2APIC MSRs: read-only, write-only and reserved registers #GP", "[vlapic]")
{
    State s = x2(5);
    uint64_t v = 0;
    Effects fx;
    REQUIRE(read_msr(s, msr(reg::id), 0, v) == Access::ok);
    CHECK(v == 5);
    REQUIRE(read_msr(s, msr(reg::ldr), 0, v) == Access::ok);
    CHECK(v == ((0u << 16) | (1u << 5)));
    CHECK(read_msr(s, msr(reg::eoi), 0, v) == Access::gp);
    CHECK(read_msr(s, msr(reg::self_ipi), 0, v) == Access::gp);
    CHECK(read_msr(s, msr(reg::dfr), 0, v) == Access::gp);
    CHECK(read_msr(s, msr(reg::icr_hi), 0, v) == Access::gp);
    CHECK(read_msr(s, 0x8ff, 0, v) == Access::gp);
    CHECK(write_msr(s, msr(reg::id), 7, 0, fx) == Access::gp);
    CHECK(write_msr(s, msr(reg::ldr), 7, 0, fx) == Access::gp);
    CHECK(write_msr(s, msr(reg::eoi), 1, 0, fx) == Access::gp);
    CHECK(write_msr(s, msr(reg::tpr), 0x100, 0, fx) == Access::gp);
    CHECK(write_msr(s, msr(reg::esr), 1, 0, fx) == Access::gp);
    CHECK(write_msr(s, msr(reg::self_ipi), 0x100, 0, fx) == Access::gp);
    CHECK(write_msr(s, msr(reg::icr_lo), 1u << 12, 0, fx) == Access::gp);   // delivery status is not writable
    CHECK(write_msr(s, msr(reg::tpr), 1ull << 32, 0, fx) == Access::gp);
    State xapic;
    reset(xapic, 0);
    CHECK(read_msr(xapic, msr(reg::id), 0, v) == Access::gp);   // not in x2APIC mode
}

TEST_CASE("vlapic: priorities: TPR, ISR and PPR decide what is deliverable", "[vlapic]")
{
    State s = x2(0);
    Effects fx;
    CHECK(deliverable(s) == -1);
    REQUIRE(accept(s, 0x51, false, fx));
    REQUIRE(accept(s, 0x32, false, fx));
    CHECK(deliverable(s) == 0x51);
    REQUIRE(write_msr(s, msr(reg::tpr), 0x50, 0, fx) == Access::ok);
    CHECK(deliverable(s) == -1);                 // class 5 is not above TPR class 5
    REQUIRE(write_msr(s, msr(reg::tpr), 0x40, 0, fx) == Access::ok);
    CHECK(deliverable(s) == 0x51);
    acknowledge(s, 0x51);
    CHECK(ppr(s) == 0x50);
    CHECK(deliverable(s) == -1);                 // 0x32 waits under the 0x51 in service
    REQUIRE(accept(s, 0x61, false, fx));
    CHECK(deliverable(s) == 0x61);               // nesting: a higher class interrupts
    acknowledge(s, 0x61);
    Effects e;
    REQUIRE(write_msr(s, msr(reg::eoi), 0, 0, e) == Access::ok);
    CHECK(e.eoi);
    CHECK(e.eoi_vector == 0x61);                 // the highest in service goes first
    REQUIRE(write_msr(s, msr(reg::eoi), 0, 0, e) == Access::ok);
    CHECK(e.eoi_vector == 0x51);
    REQUIRE(write_msr(s, msr(reg::tpr), 0, 0, fx) == Access::ok);
    CHECK(deliverable(s) == 0x32);
}

TEST_CASE("vlapic: illegal vectors and a disabled APIC are not accepted", "[vlapic]")
{
    State s = x2(0);
    Effects fx;
    CHECK_FALSE(accept(s, 5, false, fx));
    CHECK_FALSE(fx.error);                       // LVT Error masked
    REQUIRE(write_msr(s, msr(reg::lvt_error), 0xfe, 0, fx) == Access::ok);
    CHECK_FALSE(accept(s, 7, false, fx));
    CHECK(fx.error);
    REQUIRE(write_msr(s, msr(reg::esr), 0, 0, fx) == Access::ok);
    uint64_t v = 0;
    REQUIRE(read_msr(s, msr(reg::esr), 0, v) == Access::ok);
    CHECK(v == (1u << 6));
    Effects e2;
    REQUIRE(write_msr(s, msr(reg::svr), 0xff, 0, e2) == Access::ok);   // software-disabled
    CHECK_FALSE(accept(s, 0x40, false, e2));
    REQUIRE(read_msr(s, msr(reg::lvt_error), 0, v) == Access::ok);
    CHECK((v & lvt_masked) != 0);                // disabling masks every LVT
}

TEST_CASE("vlapic: level-triggered vectors set TMR until their EOI", "[vlapic]")
{
    State s = x2(0);
    Effects fx;
    REQUIRE(accept(s, 0x80, true, fx));
    uint64_t v = 0;
    REQUIRE(read_msr(s, msr(reg::tmr + 0x40), 0, v) == Access::ok);
    CHECK(v == 1);
    acknowledge(s, 0x80);
    REQUIRE(write_msr(s, msr(reg::eoi), 0, 0, fx) == Access::ok);
    REQUIRE(read_msr(s, msr(reg::tmr + 0x40), 0, v) == Access::ok);
    CHECK(v == 0);
}

TEST_CASE("vlapic: the one-shot timer counts down at the bus clock over the divider", "[vlapic]")
{
    State s = x2(0);
    Effects fx;
    REQUIRE(write_msr(s, msr(reg::timer_divide), 0x3, 1000, fx) == Access::ok);   // divide by 16
    REQUIRE(write_msr(s, msr(reg::lvt_timer), 0xec, 1000, fx) == Access::ok);
    Effects t;
    REQUIRE(write_msr(s, msr(reg::timer_initial), 100, 1000, t) == Access::ok);
    CHECK(t.timer);
    CHECK(timer_deadline(s) == 1000 + 100 * 16 * bus_ns);
    uint64_t v = 0;
    REQUIRE(read_msr(s, msr(reg::timer_current), 1000 + 16 * 10, v) == Access::ok);
    CHECK(v == 90);
    CHECK(timer_fire(s, 2000) == -1);            // not due
    CHECK(timer_fire(s, 2600) == 0xec);
    CHECK(timer_deadline(s) == 0);
    REQUIRE(read_msr(s, msr(reg::timer_current), 3000, v) == Access::ok);
    CHECK(v == 0);
    CHECK(timer_fire(s, 5000) == -1);            // once only
}

TEST_CASE("vlapic: the periodic timer reloads, a masked one counts silently, divide by 1", "[vlapic]")
{
    State s = x2(0);
    Effects fx;
    REQUIRE(write_msr(s, msr(reg::timer_divide), 0xb, 0, fx) == Access::ok);   // divide by 1
    REQUIRE(write_msr(s, msr(reg::lvt_timer), (1u << 17) | 0xef, 0, fx) == Access::ok);
    REQUIRE(timer_mode(s) == TimerMode::periodic);
    REQUIRE(write_msr(s, msr(reg::timer_initial), 1000, 0, fx) == Access::ok);
    CHECK(timer_deadline(s) == 1000);
    CHECK(timer_fire(s, 1000) == 0xef);
    CHECK(timer_deadline(s) == 2000);
    uint64_t v = 0;
    REQUIRE(read_msr(s, msr(reg::timer_current), 1250, v) == Access::ok);
    CHECK(v == 750);
    CHECK(timer_fire(s, 9500) == 0xef);          // slept through periods: one interrupt
    CHECK(timer_deadline(s) == 10500);
    REQUIRE(write_msr(s, msr(reg::lvt_timer), (1u << 17) | lvt_masked | 0xef, 0, fx) == Access::ok);
    CHECK(timer_fire(s, 10500) == -1);
    CHECK(timer_deadline(s) == 11500);
    REQUIRE(write_msr(s, msr(reg::timer_initial), 0, 0, fx) == Access::ok);
    CHECK(timer_deadline(s) == 0);
}

TEST_CASE("vlapic: ICR writes decode into IPIs; vectors below 16 are a send error", "[vlapic]")
{
    State s = x2(2);
    Effects fx;
    REQUIRE(write_msr(s, msr(reg::icr_lo), (3ull << 32) | (1u << 14) | 0x41, 0, fx) == Access::ok);
    REQUIRE(fx.ipi);
    CHECK(fx.ipi_req.vector == 0x41);
    CHECK(fx.ipi_req.dest == 3);
    CHECK(fx.ipi_req.delivery == Delivery::fixed);
    CHECK_FALSE(fx.ipi_req.logical);
    uint64_t v = 0;
    REQUIRE(read_msr(s, msr(reg::icr_lo), 0, v) == Access::ok);
    CHECK(v == ((3ull << 32) | (1u << 14) | 0x41));
    Effects init;
    REQUIRE(write_msr(s, msr(reg::icr_lo), (1ull << 32) | (5u << 8) | (1u << 14), 0, init) == Access::ok);
    CHECK(init.ipi_req.delivery == Delivery::init);
    Effects sipi;
    REQUIRE(write_msr(s, msr(reg::icr_lo), (1ull << 32) | (6u << 8) | 0x9a, 0, sipi) == Access::ok);
    CHECK(sipi.ipi_req.delivery == Delivery::startup);
    CHECK(sipi.ipi_req.vector == 0x9a);
    Effects bad;
    REQUIRE(write_msr(s, msr(reg::icr_lo), (1ull << 32) | 0x05, 0, bad) == Access::ok);
    CHECK_FALSE(bad.ipi);
    REQUIRE(write_msr(s, msr(reg::esr), 0, 0, bad) == Access::ok);
    REQUIRE(read_msr(s, msr(reg::esr), 0, v) == Access::ok);
    CHECK(v == (1u << 5));
    Effects self;
    REQUIRE(write_msr(s, msr(reg::self_ipi), 0x77, 0, self) == Access::ok);
    CHECK(self.ipi_req.shorthand == Shorthand::self);
    CHECK(self.ipi_req.vector == 0x77);
}

TEST_CASE("vlapic: destinations: physical, x2APIC cluster, xAPIC flat and cluster, shorthands", "[vlapic]")
{
    State a = x2(17);   // cluster 1, bit 1
    Ipi i;
    i.dest = 17;
    CHECK(is_destination(a, i, 0));
    i.dest = 16;
    CHECK_FALSE(is_destination(a, i, 0));
    i.dest = 0xffffffffu;
    CHECK(is_destination(a, i, 0));
    i.logical = true;
    i.dest = (1u << 16) | 0x2;
    CHECK(is_destination(a, i, 0));
    i.dest = (0u << 16) | 0x2;
    CHECK_FALSE(is_destination(a, i, 0));
    i.shorthand = Shorthand::others;
    CHECK_FALSE(is_destination(a, i, 17));
    CHECK(is_destination(a, i, 3));
    i.shorthand = Shorthand::self;
    CHECK(is_destination(a, i, 17));

    State b;
    reset(b, 2);
    Effects fx;
    write_mmio(b, reg::ldr, 0x04000000, 0, fx);   // flat: bit 2
    Ipi f;
    f.logical = true;
    f.dest = 0x06;
    CHECK(is_destination(b, f, 0));
    f.dest = 0x01;
    CHECK_FALSE(is_destination(b, f, 0));
    write_mmio(b, reg::dfr, 0x0fffffff, 0, fx);   // cluster model
    write_mmio(b, reg::ldr, 0x21000000, 0, fx);   // cluster 2, bit 0
    f.dest = 0x21;
    CHECK(is_destination(b, f, 0));
    f.dest = 0x11;
    CHECK_FALSE(is_destination(b, f, 0));
    Ipi p;
    p.dest = 2;
    CHECK(is_destination(b, p, 0));
}

TEST_CASE("vlapic: xAPIC MMIO: the ICR is two registers, read-only ones ignore writes", "[vlapic]")
{
    State s;
    reset(s, 0);
    Effects fx;
    write_mmio(s, reg::svr, 0x1ff, 0, fx);
    write_mmio(s, reg::id, 0x05000000, 0, fx);
    CHECK(read_mmio(s, reg::id, 0) == 0);
    write_mmio(s, reg::icr_hi, 0x03000000, 0, fx);
    CHECK_FALSE(fx.ipi);
    write_mmio(s, reg::icr_lo, 0x4031, 0, fx);
    REQUIRE(fx.ipi);
    CHECK(fx.ipi_req.dest == 3);
    CHECK(fx.ipi_req.vector == 0x31);
    CHECK((read_mmio(s, reg::icr_lo, 0) & (1u << 12)) == 0);
    CHECK(read_mmio(s, reg::eoi, 0) == 0);
    CHECK(read_mmio(s, 0x304, 0) == 0);          // not 16-aligned
}

namespace {

// What RDMSR gives with APIC-register virtualisation: the 8 bytes at
// (msr & 0xff) << 4 of the virtual-APIC page (SDM Vol 3C 30.5).
uint64_t cpu_read(const State& s, uint32_t m)
{
    const uint32_t off = (m - msr_base) << 4;
    return (static_cast<uint64_t>(s.page.at(off + 4)) << 32) | s.page.at(off);
}

// Every MSR the page answers reads there as the model reads it, and every
// MSR the model refuses (#GP) or computes (current count, ICR) exits.
void check_page_matches(const State& s)
{
    for (uint32_t m = msr_base; m <= msr_base + 0xff; ++m) {
        uint64_t v = 0;
        const Access a = read_msr(s, m, 0, v);
        if (page_answers_read(m)) {
            INFO("MSR 0x" << std::hex << m);
            REQUIRE(a == Access::ok);
            CHECK(cpu_read(s, m) == v);
        }
    }
}

}  // namespace

TEST_CASE("vlapic: the virtual-APIC page holds every register the CPU may read from it", "[vlapic]")
{
    State s = x2(6);
    check_page_matches(s);
    Effects fx;
    REQUIRE(write_msr(s, msr(reg::tpr), 0x20, 0, fx) == Access::ok);
    REQUIRE(write_msr(s, msr(reg::lvt_timer), 0x20031, 0, fx) == Access::ok);
    REQUIRE(write_msr(s, msr(reg::lvt_error), 0xfe, 0, fx) == Access::ok);
    REQUIRE(write_msr(s, msr(reg::timer_divide), 0xb, 0, fx) == Access::ok);
    REQUIRE(write_msr(s, msr(reg::timer_initial), 12345, 0, fx) == Access::ok);
    REQUIRE(write_msr(s, msr(reg::self_ipi), 0x08, 0, fx) == Access::ok);   // illegal vector: ESR latches it
    REQUIRE(write_msr(s, msr(reg::esr), 0, 0, fx) == Access::ok);
    CHECK(s.page.at(reg::esr) != 0);
    REQUIRE(accept(s, 0x51, false, fx));
    REQUIRE(accept(s, 0x93, true, fx));
    acknowledge(s, 0x93);
    CHECK(s.page.at(reg::ppr) == 0x90);
    check_page_matches(s);
    REQUIRE(write_msr(s, msr(reg::eoi), 0, 0, fx) == Access::ok);
    CHECK(s.page.at(reg::ppr) == 0x20);
    check_page_matches(s);
    write_tpr(s, 0x70);
    CHECK(s.page.at(reg::ppr) == 0x70);
    check_page_matches(s);

    // Not for the page: the running count, ICR (64 bits with its high half
    // elsewhere), EOI and SELF_IPI (write-only), CMCI (absent).
    for (uint32_t off : {reg::timer_current, reg::icr_lo, reg::icr_hi, reg::eoi, reg::self_ipi, reg::lvt_cmci, reg::apr})
        CHECK_FALSE(page_answers_read(msr(off)));
}

TEST_CASE("vlapic: the page's ID and LDR follow the mode", "[vlapic]")
{
    State s;
    reset(s, 3);
    CHECK(s.page.at(reg::id) == 3u << 24);
    REQUIRE(write_apic_base(s, default_base | base_enable | base_extd, 3) == Access::ok);
    CHECK(s.page.at(reg::id) == 3u);
    CHECK(s.page.at(reg::ldr) == x2apic_ldr(3));
    check_page_matches(s);
    CHECK(highest_irr(s) == -1);
    Effects fx;
    REQUIRE(write_msr(s, msr(reg::svr), svr_enabled | 0xff, 0, fx) == Access::ok);
    s.irr_raised = false;
    REQUIRE(accept(s, 0x40, false, fx));
    CHECK(s.irr_raised);   // the effectful half then tells the CPU (RVI)
    REQUIRE(accept(s, 0x61, false, fx));
    CHECK(highest_irr(s) == 0x61);
    acknowledge(s, 0x61);
    CHECK(highest_irr(s) == 0x40);
    CHECK(highest_isr(s) == 0x61);
}

TEST_CASE("vlapic: xAPIC writes the CPU virtualises are applied from the page and published back checked", "[vlapic]")
{
    State s;
    reset(s, 0);
    Effects fx;
    write_mmio(s, reg::svr, 0x1ff, 0, fx);

    // What the guest left in the page (SDM Vol 3C 30.4.3), then the
    // APIC-write exit at that offset.
    s.page.at(reg::lvt_timer) = 0xffffffffu;
    apply_page_write(s, reg::lvt_timer, 0, fx);
    CHECK(s.page.at(reg::lvt_timer) == read_mmio(s, reg::lvt_timer, 0));
    CHECK(s.page.at(reg::lvt_timer) == (0xffu | lvt_masked | (1u << 17)));   // reserved bits and TSC-deadline gone
    CHECK(fx.timer);

    s.page.at(reg::id) = 0x05000000;   // read-only: the model's value comes back
    apply_page_write(s, reg::id, 0, fx);
    CHECK(s.page.at(reg::id) == 0);

    // ICR_HI is written without an exit; ICR_LO's exit sends with it.
    fx = Effects{};
    s.page.at(reg::icr_hi) = 0x02000000;
    apply_page_write(s, reg::icr_hi, 0, fx);   // even if it came, it would change nothing
    CHECK_FALSE(fx.ipi);
    CHECK(s.page.at(reg::icr_hi) == 0x02000000);
    s.page.at(reg::icr_lo) = (1u << 12) | (1u << 14) | 0x31;   // delivery status set by the guest
    apply_page_write(s, reg::icr_lo, 0, fx);
    REQUIRE(fx.ipi);
    CHECK(fx.ipi_req.dest == 2);
    CHECK(fx.ipi_req.vector == 0x31);
    CHECK(s.page.at(reg::icr_lo) == ((1u << 14) | 0x31));   // idle again
    CHECK(read_mmio(s, reg::icr_hi, 0) == 0x02000000);

    // A byte write: the exit names the byte, the register is applied whole.
    s.page.at(reg::ldr) = 0x80000000u;
    apply_page_write(s, reg::ldr + 3, 0, fx);
    CHECK(read_mmio(s, reg::ldr, 0) == 0x80000000u);

    // ESR: any write latches the errors since, whatever the guest wrote.
    s.page.at(reg::icr_lo) = (1u << 18) | 0x05;   // self, illegal vector: send error
    fx = Effects{};
    apply_page_write(s, reg::icr_lo, 0, fx);
    CHECK_FALSE(fx.ipi);
    s.page.at(reg::esr) = 0x1234;
    apply_page_write(s, reg::esr, 0, fx);
    CHECK(s.page.at(reg::esr) == (1u << 5));
    CHECK(read_mmio(s, reg::esr, 0) == (1u << 5));

    fx = Effects{};
    s.page.at(reg::timer_initial) = 1000;
    apply_page_write(s, reg::timer_initial, 50, fx);
    CHECK(fx.timer);
    CHECK(timer_deadline(s) != 0);
}

TEST_CASE("vlapic: 1- and 2-byte xAPIC writes merge into their register; others are refused", "[vlapic]")
{
    State s;
    reset(s, 0);
    Effects fx;
    write_mmio(s, reg::ldr, 0x01000000, 0, fx);
    REQUIRE(write_mmio_narrow(s, reg::ldr + 3, 1, 0x80, 0, fx));
    CHECK(read_mmio(s, reg::ldr, 0) == 0x80000000u);
    REQUIRE(write_mmio_narrow(s, reg::tpr, 1, 0x40, 0, fx));
    CHECK(s.tpr() == 0x40);
    REQUIRE(write_mmio_narrow(s, reg::dfr + 2, 2, 0x0fff, 0, fx));   // DFR's model bits: only the top nibble is written
    CHECK(read_mmio(s, reg::dfr, 0) == 0x0fffffffu);
    CHECK_FALSE(write_mmio_narrow(s, reg::ldr + 3, 2, 0xffff, 0, fx));   // crosses the register
    CHECK_FALSE(write_mmio_narrow(s, reg::ldr, 3, 0xffffff, 0, fx));
    CHECK(read_mmio(s, reg::ldr, 0) == 0x80000000u);
}

TEST_CASE("vlapic: an x2APIC ICR write leaves both halves in the page", "[vlapic]")
{
    State s = x2(1);
    Effects fx;
    REQUIRE(write_msr(s, msr(reg::icr_lo), (5ull << 32) | (1u << 14) | 0x44, 0, fx) == Access::ok);
    CHECK(s.page.at(reg::icr_lo) == ((1u << 14) | 0x44));
    CHECK(s.page.at(reg::icr_hi) == 5);
    uint64_t v = 0;
    REQUIRE(read_msr(s, msr(reg::icr_lo), 0, v) == Access::ok);
    CHECK(v == ((5ull << 32) | (1u << 14) | 0x44));
    check_page_matches(s);
}

TEST_CASE("vlapic: sized xAPIC reads give their bytes of one register, 0 across registers", "[vlapic]")
{
    State s;
    reset(s, 0);
    CHECK(read_mmio_sized(s, reg::version, 4, 0) == version_value);
    CHECK(read_mmio_sized(s, reg::version + 2, 1, 0) == 5);
    CHECK(read_mmio_sized(s, reg::version, 2, 0) == 0x14);
    CHECK(read_mmio_sized(s, reg::version + 3, 2, 0) == 0);   // crosses the register
    CHECK(read_mmio_sized(s, reg::version + 1, 4, 0) == 0);
    CHECK(read_mmio_sized(s, reg::version, 8, 0) == 0);
}
