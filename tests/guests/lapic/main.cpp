// lapic: the virtual local APIC a PVH domU gets (the domain needs vcpus=2),
// in xAPIC then x2APIC mode, one `lapic: CASE -> GOT (expected X) ok|FAIL`
// line per case.
//
// vCPU 0 first uses the xAPIC page at 0xfee00000 as Linux does before it
// switches: ID, version, SVR, LDR/DFR, TPR (seen in CR8), a self-IPI
// through ICR with its ISR bit and an EOI, an IPI to its own ID through
// ICR_HI then ICR_LO, PPR following TPR, one-byte reads and writes;
// then it switches to x2APIC through IA32_APIC_BASE, enables the APIC in
// SVR and checks ID, version and LDR; #GP for a write to the ID and for a
// non-zero EOI; a self-IPI arrives, with its ISR bit set in the handler and
// clear after its EOI; a TPR above the vector's class holds it in IRR
// until CR8 lowers it; the one-shot timer fires once after about the time
// programmed, the periodic one repeatedly over 50 ms (a sanity range only);
// then vCPU 1 (VCPUOP_up) enables its own LAPIC and a fixed IPI from
// vCPU 0 to APIC ID 1 arrives there; INIT and SIPI start vCPU 2 in real
// mode at the SIPI vector's page (the domain needs vcpus=3).
#include "../lib/check.hpp"
#include "runtime/events.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/smp.hpp"
#include "runtime/x86.hpp"

using namespace guest;

extern "C" const char guest_name[] = "lapic";

extern "C" {
void gp_catcher();
void vec_self();
void vec_tpr();
void vec_oneshot();
void vec_periodic();
void vec_ipi();
void vec_xself();
extern const char sipi_tramp[], sipi_tramp_end[];
extern volatile uint32_t gp_count;
extern volatile uint32_t counts[6];
extern volatile uint32_t isr_seen[6];
extern volatile uint32_t id_seen[6];
}

namespace {

enum : unsigned { SELF, TPR, ONESHOT, PERIODIC, IPI, XSELF };
constexpr uint8_t VEC_XSELF = 0x41, VEC_SELF = 0x40, VEC_TPR = 0x50, VEC_ONESHOT = 0x60, VEC_PERIODIC = 0x61, VEC_IPI = 0x70;
constexpr uint32_t APIC_BASE = 0x1b, ID = 0x802, VERSION = 0x803, TPR_MSR = 0x808, EOI = 0x80b, LDR = 0x80d,
                   SVR = 0x80f, ISR0 = 0x810, IRR0 = 0x820, ICR = 0x830, LVT_TIMER = 0x832, TIMER_INITIAL = 0x838,
                   TIMER_CURRENT = 0x839, TIMER_DIVIDE = 0x83e, SELF_IPI = 0x83f;
constexpr uint64_t BASE_BSP = 1u << 8, BASE_EXTD = 1u << 10, BASE_ENABLE = 1u << 11;

Checks c;
alignas(16) uint8_t g_ap_stack[16384];
volatile uint32_t g_ap_ready = 0, g_ap_done = 0;

bool rdmsr_gp(uint32_t msr, uint64_t& value) {
    uint32_t before = gp_count, lo = 0, hi = 0;
    asm volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
    value = (static_cast<uint64_t>(hi) << 32) | lo;
    return gp_count != before;
}
bool wrmsr_gp(uint32_t msr, uint64_t value) {
    uint32_t before = gp_count;
    asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<uint32_t>(value)), "d"(static_cast<uint32_t>(value >> 32))
                 : "memory");
    return gp_count != before;
}
uint64_t rd(uint32_t msr) {
    uint64_t v = 0;
    if (rdmsr_gp(msr, v)) c.fail("rdmsr took #GP");
    return v;
}
void wr(uint32_t msr, uint64_t v) {
    if (wrmsr_gp(msr, v)) c.fail("wrmsr took #GP");
}
bool bit_of(uint32_t base, uint8_t vector) { return (rd(base + (vector >> 5)) >> (vector & 31)) & 1; }
uint64_t read_cr8() {
    uint64_t v;
    asm volatile("mov %%cr8, %0" : "=r"(v));
    return v;
}
void write_cr8(uint64_t v) { asm volatile("mov %0, %%cr8" : : "r"(v) : "memory"); }

// The xAPIC page: 32-bit registers at 16-byte offsets (SDM Vol 3A 11.4.1).
constexpr uintptr_t XAPIC = 0xfee00000;
uint32_t mmio_rd(uint32_t off) { return *reinterpret_cast<volatile uint32_t*>(XAPIC + off); }
void mmio_wr(uint32_t off, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(XAPIC + off) = v; }

// Enables this vCPU's LAPIC in x2APIC mode with the APIC on in SVR; checks its ID.
void enable_x2apic(unsigned vcpu) {
    const uint64_t base = rd(APIC_BASE);
    c.expect(vcpu ? "vcpu 1: APIC_BASE enabled, xAPIC mode" : "APIC_BASE enabled, xAPIC mode",
             static_cast<long>(base & (BASE_ENABLE | BASE_EXTD)), static_cast<long>(BASE_ENABLE));
    c.expect(vcpu ? "vcpu 1: APIC_BASE BSP flag" : "APIC_BASE BSP flag", (base & BASE_BSP) ? 1 : 0, vcpu ? 0 : 1);
    c.expect(vcpu ? "vcpu 1: APIC_BASE address" : "APIC_BASE address", static_cast<long>(base & ~0xfffull), 0xfee00000);
    c.expect(vcpu ? "vcpu 1: x2APIC on: no #GP" : "x2APIC on: no #GP", wrmsr_gp(APIC_BASE, base | BASE_EXTD), 0);
    c.expect(vcpu ? "vcpu 1: APIC_BASE.EXTD" : "APIC_BASE.EXTD", (rd(APIC_BASE) & BASE_EXTD) ? 1 : 0, 1);
    c.expect(vcpu ? "vcpu 1: ID" : "ID", static_cast<long>(rd(ID)), vcpu);
    wr(SVR, 0x1ff);
    c.expect(vcpu ? "vcpu 1: SVR" : "SVR", static_cast<long>(rd(SVR)), 0x1ff);
}

void ap_main(unsigned vcpu) {
    c.expect("vcpu 1: xAPIC ID", mmio_rd(0x20), static_cast<long>(vcpu) << 24);
    enable_x2apic(vcpu);
    irq_enable();
    g_ap_ready = 1;
    const uint64_t start = ev::now_ns();
    while (counts[IPI] == 0 && ev::now_ns() - start < 5000 * ev::MS) pause();
    irq_disable();
    g_ap_done = 1;
}

void xapic_cases() {
    c.expect("xAPIC: ID (0 << 24, not all ones)", mmio_rd(0x20), 0);
    c.expect("xAPIC: version", mmio_rd(0x30), 0x50014);
    c.expect("xAPIC: SVR after reset", mmio_rd(0xf0), 0xff);
    mmio_wr(0xf0, 0x1ff);
    c.expect("xAPIC: SVR written", mmio_rd(0xf0), 0x1ff);
    c.expect("xAPIC: DFR after reset (flat)", mmio_rd(0xe0), 0xffffffffu);
    mmio_wr(0xd0, 0x01000000);
    c.expect("xAPIC: LDR written", mmio_rd(0xd0), 0x01000000);
    mmio_wr(0x80, 0x20);
    c.expect("xAPIC: TPR 0x20 is CR8 2", static_cast<long>(read_cr8()), 2);
    c.expect("xAPIC: PPR follows TPR", mmio_rd(0xa0), 0x20);   // not in the page: an exit either way
    mmio_wr(0x80, 0);
    c.expect("xAPIC: a one-byte read gets its byte of version",
             *reinterpret_cast<volatile uint8_t*>(XAPIC + 0x32), 5);
    mmio_wr(0xd0, 0x01000000);
    *reinterpret_cast<volatile uint8_t*>(XAPIC + 0xd3) = 0x80;
    // Merged into the register, as Xen's vlapic does and as the CPU's
    // APIC-register virtualisation leaves it: both paths must agree.
    c.expect("xAPIC: a one-byte write merges into its register", mmio_rd(0xd0), 0x80000000l);
    irq_enable();
    mmio_wr(0x310, 0);                              // ICR high: destination (unused with a shorthand)
    mmio_wr(0x300, (1u << 18) | (1u << 14) | VEC_XSELF);   // ICR low: self, fixed
    const bool got = ev::wait_until([] { return counts[XSELF] != 0; }, 1000 * ev::MS);
    c.expect("xAPIC: self-IPI through ICR arrived", got ? static_cast<long>(counts[XSELF]) : 0, 1);
    c.expect("xAPIC: its ISR bit was set in the handler", (isr_seen[XSELF] >> (VEC_XSELF & 31)) & 1, 1);
    c.expect("xAPIC: ID read in the handler", id_seen[XSELF], 0);
    c.expect("xAPIC: ISR clear after the handler's EOI",
             (mmio_rd(0x100 + ((VEC_XSELF >> 5) << 4)) >> (VEC_XSELF & 31)) & 1, 0);
    // To its own APIC ID by destination: ICR_HI is written first (the CPU
    // keeps that write in its page without an exit), ICR_LO then sends.
    mmio_wr(0x310, 0u << 24);
    mmio_wr(0x300, (1u << 14) | VEC_XSELF);          // physical destination 0, fixed
    const bool by_id = ev::wait_until([] { return counts[XSELF] == 2; }, 1000 * ev::MS);
    c.expect("xAPIC: IPI to its own ID through ICR_HI and ICR_LO arrived", by_id ? 1 : 0, 1);
    mmio_wr(0x310, 7u << 24);
    c.expect("xAPIC: ICR_HI reads back its destination", mmio_rd(0x310), 7l << 24);
    mmio_wr(0x300, (1u << 14) | VEC_XSELF);          // to APIC ID 7: nobody
    (void)ev::wait_until([] { return counts[XSELF] == 3; }, 20 * ev::MS);
    c.expect("xAPIC: IPI to an absent ID is not taken here", static_cast<long>(counts[XSELF]), 2);
    irq_disable();
    mmio_wr(0xf0, 0xff);   // software-disabled again, as x2APIC mode then starts
}

void register_cases() {
    c.expect("CPUID.1:ECX.x2APIC", (cpuid(1, 0).ecx >> 21) & 1, 1);
    c.expect("CPUID.1:EDX.APIC", (cpuid(1, 0).edx >> 9) & 1, 1);
    c.expect("CPUID.1:ECX.TSC-deadline (hidden)", (cpuid(1, 0).ecx >> 24) & 1, 0);
    c.expect("CPUID.1:EBX[31:24] (APIC ID)", cpuid(1, 0).ebx >> 24, 0);
    uint64_t v = 0;
    c.expect("x2APIC MSR before x2APIC mode: #GP", rdmsr_gp(VERSION, v), 1);
    c.expect("disabled -> x2APIC directly: #GP", wrmsr_gp(APIC_BASE, 0xfee00000 | BASE_BSP | BASE_EXTD), 1);
    enable_x2apic(0);
    c.expect("x2APIC mode: the xAPIC page is a hole again (all ones)", mmio_rd(0x30), 0xffffffffl);
    c.expect("version", static_cast<long>(rd(VERSION)), 0x50014);
    c.expect("LDR (cluster 0, bit 0)", static_cast<long>(rd(LDR)), 1);
    c.expect("write to ID: #GP", wrmsr_gp(ID, 5), 1);
    c.expect("ID unchanged", static_cast<long>(rd(ID)), 0);
    c.expect("non-zero EOI: #GP", wrmsr_gp(EOI, 1), 1);
    c.expect("x2APIC -> xAPIC directly: #GP", wrmsr_gp(APIC_BASE, 0xfee00000 | BASE_BSP | BASE_ENABLE), 1);
    c.expect("reserved MSR 0x801: #GP", rdmsr_gp(0x801, v), 1);
}

void self_ipi_cases() {
    irq_enable();
    wr(SELF_IPI, VEC_SELF);
    const bool got = ev::wait_until([] { return counts[SELF] != 0; }, 1000 * ev::MS);
    c.expect("self-IPI arrived", got ? static_cast<long>(counts[SELF]) : 0, 1);
    c.expect("self-IPI: ISR bit set in its handler", (isr_seen[SELF] >> (VEC_SELF & 31)) & 1, 1);
    c.expect("self-IPI: ISR bit clear after EOI", bit_of(ISR0, VEC_SELF), 0);
    c.expect("self-IPI: taken on APIC ID 0", id_seen[SELF], 0);
}

void tpr_cases() {
    wr(TPR_MSR, 0x60);
    c.expect("CR8 = TPR[7:4]", static_cast<long>(read_cr8()), 6);
    wr(SELF_IPI, VEC_TPR);
    (void)ev::wait_until([] { return counts[TPR] != 0; }, 30 * ev::MS);
    c.expect("TPR 0x60 holds vector 0x50 back", counts[TPR], 0);
    c.expect("vector 0x50 waits in IRR", bit_of(IRR0, VEC_TPR), 1);
    write_cr8(0);   // lowers TPR through CR8
    const bool got = ev::wait_until([] { return counts[TPR] != 0; }, 1000 * ev::MS);
    c.expect("after CR8 = 0: vector 0x50 arrived", got ? static_cast<long>(counts[TPR]) : 0, 1);
    c.expect("TPR after CR8 = 0", static_cast<long>(rd(TPR_MSR)), 0);
    c.expect("IRR bit clear", bit_of(IRR0, VEC_TPR), 0);
}

void timer_cases() {
    constexpr uint64_t ONESHOT_NS = 20 * ev::MS;
    wr(TIMER_DIVIDE, 0xb);   // divide by 1: 1 ns a count
    wr(LVT_TIMER, VEC_ONESHOT);
    const uint64_t t0 = ev::now_ns();
    wr(TIMER_INITIAL, ONESHOT_NS);
    const bool got = ev::wait_until([] { return counts[ONESHOT] != 0; }, 2000 * ev::MS);
    const uint64_t elapsed = ev::now_ns() - t0;
    print("lapic: one-shot of %llu us fired after %llu us\n", static_cast<unsigned long long>(ONESHOT_NS / 1000),
          static_cast<unsigned long long>(elapsed / 1000));
    c.expect("one-shot timer fired", got ? 1 : 0, 1);
    c.expect("one-shot: not before its time", elapsed >= ONESHOT_NS - ev::MS ? 1 : 0, 1);
    c.expect("one-shot: within 1 s", elapsed < 1000 * ev::MS ? 1 : 0, 1);
    (void)ev::wait_until([] { return counts[ONESHOT] > 1; }, 60 * ev::MS);
    c.expect("one-shot fired once", counts[ONESHOT], 1);
    c.expect("one-shot: current count 0", static_cast<long>(rd(TIMER_CURRENT)), 0);

    wr(LVT_TIMER, VEC_PERIODIC | (1u << 17));
    const uint32_t before = counts[PERIODIC];
    wr(TIMER_INITIAL, 1 * ev::MS);
    (void)ev::wait_until([] { return false; }, 50 * ev::MS);
    wr(TIMER_INITIAL, 0);   // stops it
    const uint32_t ticks = counts[PERIODIC] - before;
    print("lapic: periodic 1 ms timer: %u ticks in 50 ms\n", ticks);
    c.expect("periodic: between 5 and 60 ticks in 50 ms", ticks >= 5 && ticks <= 60 ? 1 : 0, 1);
    const uint32_t stopped = counts[PERIODIC];
    (void)ev::wait_until([] { return false; }, 20 * ev::MS);
    c.expect("periodic: no tick after it stopped", static_cast<long>(counts[PERIODIC] - stopped), 0);
}

void ipi_cases() {
    c.expect("initialise(vcpu 1)", smp::vcpu_initialise(1, ap_main, g_ap_stack + sizeof(g_ap_stack)), 0);
    c.expect("up(vcpu 1)", smp::vcpu_up(1), 0);
    if (!ev::wait_until([] { return g_ap_ready != 0; }, 10000 * ev::MS)) {
        c.fail("vcpu 1 did not enable its LAPIC within 10 s");
        return;
    }
    wr(ICR, (1ull << 32) | VEC_IPI);   // fixed, physical destination APIC ID 1
    const bool got = ev::wait_until([] { return counts[IPI] != 0; }, 5000 * ev::MS);
    c.expect("fixed IPI 0 -> 1 arrived", got ? static_cast<long>(counts[IPI]) : 0, 1);
    c.expect("fixed IPI taken on APIC ID 1", id_seen[IPI], 1);
    (void)ev::wait_until([] { return g_ap_done != 0; }, 5000 * ev::MS);
}

constexpr uint64_t SIPI_PAGE = 0x70000;
constexpr uint32_t SIPI_MAGIC = 0x51505153;

void sipi_cases(const xen::hvm_start_info* si) {
    if ((reinterpret_cast<uint64_t>(si) >> 12) == (SIPI_PAGE >> 12)) {
        c.fail("start_info lies in the SIPI page");
        return;
    }
    auto* page = reinterpret_cast<volatile uint8_t*>(SIPI_PAGE);
    for (const char* p = sipi_tramp; p != sipi_tramp_end; ++p) page[p - sipi_tramp] = static_cast<uint8_t>(*p);
    static volatile uint32_t* const flag = reinterpret_cast<volatile uint32_t*>(SIPI_PAGE + 0xff0);
    *flag = 0;
    c.expect("is_up(vcpu 2) before INIT/SIPI", smp::vcpu_is_up(2), 0);
    wr(ICR, (2ull << 32) | (5u << 8) | (1u << 14));              // INIT, assert, to APIC ID 2
    wr(ICR, (2ull << 32) | (6u << 8) | (SIPI_PAGE >> 12));       // SIPI, vector 0x70
    const bool ran = ev::wait_until([] { return *flag == SIPI_MAGIC; }, 5000 * ev::MS);
    c.expect("SIPI: vcpu 2 ran real-mode code at CS:IP = 0x7000:0", ran ? 1 : 0, 1);
    c.expect("is_up(vcpu 2) after SIPI", smp::vcpu_is_up(2), 1);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info* si) {
    idt_set_gate(13, gp_catcher, 0);
    idt_set_gate(VEC_SELF, vec_self, 0);
    idt_set_gate(VEC_TPR, vec_tpr, 0);
    idt_set_gate(VEC_ONESHOT, vec_oneshot, 0);
    idt_set_gate(VEC_PERIODIC, vec_periodic, 0);
    idt_set_gate(VEC_IPI, vec_ipi, 0);
    idt_set_gate(VEC_XSELF, vec_xself, 0);
    if (!ev::init() || !ev::heartbeat_start(100 * ev::MS)) poweroff();
    // Xen's HVM leaf says whether xAPIC (bit 0) and x2APIC (bit 1) accesses
    // are virtualised: the test knows which boot this is.
    print("lapic: CPUID 0x40000004 EAX[1:0] = %u\n", cpuid(0x40000004, 0).eax & 3);
    xapic_cases();
    register_cases();
    self_ipi_cases();
    tpr_cases();
    timer_cases();
    ipi_cases();
    sipi_cases(si);
    irq_disable();
    print("lapic: %u passed, %u failed\n", c.passed, c.failed);
    poweroff();
}
