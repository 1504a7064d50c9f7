// bench: times the cheapest round trips into the hypervisor with RDTSC.
// For each operation: back-to-back executions between two fenced TSC reads,
// reported as the mean in TSC ticks (under Bochs these are emulated
// instruction-clock ticks, so the figures are deterministic):
//
//   bench: cpuid N ticks/op             CPUID leaf 0 (a VM exit)
//   bench: xen_version N ticks/op       the cheapest hypercall
//   bench: port_e9 N ticks/op           OUT to the debug port
//   bench: evtchn_loopback N ticks/op   EVTCHNOP_send on a loopback event
//                                       channel (both ends ours) until its
//                                       upcall handler has run
//   bench: grant_map_unmap N ticks/op   GNTTABOP_map_grant_ref of one of our
//                                       own grants, then unmap (Xen allows
//                                       mapping one's own grants; if the
//                                       hypervisor refuses, the line says
//                                       `skipped` instead)
//   bench: lapic_self_ipi_xapic N ticks/op   a self-IPI through the xAPIC
//                                       page's ICR until its handler has
//                                       run and written EOI there
//   bench: lapic_self_ipi_x2apic N ticks/op  the same through the x2APIC
//                                       SELF_IPI and EOI MSRs
#include "runtime/events.hpp"
#include "runtime/grant.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

using namespace guest;

extern "C" const char guest_name[] = "bench";

namespace {

constexpr unsigned ITERATIONS = 1000;
constexpr unsigned GRANT_ITERATIONS = 100;

template <typename Op>
uint64_t ticks_per_op(Op op, unsigned iterations = ITERATIONS) {
    op();  // warm up: first-touch effects are not what we measure
    lfence();
    uint64_t start = rdtsc();
    lfence();
    for (unsigned i = 0; i < iterations; ++i) op();
    lfence();
    uint64_t end = rdtsc();
    return (end - start) / iterations;
}

void report(const char* what, uint64_t ticks) {
    print("bench: %s %llu ticks/op\n", what, static_cast<unsigned long long>(ticks));
}

volatile uint64_t g_loopback_events = 0;
void on_loopback(uint32_t, void*) { g_loopback_events = g_loopback_events + 1; }

void bench_evtchn() {
    long a = ev::alloc_unbound(xen::DOMID_SELF);
    long b = a > 0 ? ev::bind_interdomain(xen::DOMID_SELF, static_cast<uint32_t>(a)) : a;
    if (a <= 0 || b <= 0) {
        print("bench: evtchn_loopback skipped (alloc_unbound -> %ld, bind_interdomain -> %ld)\n", a, b);
        return;
    }
    const uint32_t receiver = static_cast<uint32_t>(a), sender = static_cast<uint32_t>(b);
    ev::clear_pending(sender);  // raised by the bind itself
    ev::set_handler(receiver, on_loopback);
    irq_enable();
    bool lost = false;
    uint64_t ticks = ticks_per_op([&] {
        const uint64_t want = g_loopback_events + 1;
        ev::send(sender);
        if (!ev::wait_until([&] { return g_loopback_events >= want; }, 1000 * ev::MS)) lost = true;
    });
    irq_disable();
    if (lost)
        print("bench: evtchn_loopback FAIL: an event did not arrive within 1 s\n");
    else
        report("evtchn_loopback", ticks);
    ev::close(sender);
    ev::close(receiver);
}

alignas(4096) uint8_t g_granted_page[4096];

void bench_grant() {
    const uint16_t self = xen_domid();
    if (self == xen::DOMID_INVALID) {
        print("bench: grant_map_unmap skipped (no domain id in CPUID leaf base+4)\n");
        return;
    }
    if (!gnt::table_init(1)) return;
    constexpr uint32_t REF = gnt::FIRST_FREE_REF;
    gnt::grant_access(REF, self, reinterpret_cast<uintptr_t>(g_granted_page) >> 12, true);
    const uint64_t gpa = alloc_unused_gfn() << 12;
    uint32_t handle = 0;
    long rc = gnt::map(self, REF, gpa, xen::GNTMAP_host_map | xen::GNTMAP_readonly, &handle);
    if (rc != xen::GNTST_okay) {
        print("bench: grant_map_unmap skipped (mapping our own grant -> %ld)\n", rc);
        gnt::end_access(REF);
        return;
    }
    gnt::unmap(gpa, handle);
    long errors = 0;
    uint64_t ticks = ticks_per_op(
        [&] {
            if (gnt::map(self, REF, gpa, xen::GNTMAP_host_map | xen::GNTMAP_readonly, &handle) != xen::GNTST_okay ||
                gnt::unmap(gpa, handle) != xen::GNTST_okay)
                ++errors;
        },
        GRANT_ITERATIONS);
    if (errors != 0)
        print("bench: grant_map_unmap FAIL: %ld map/unmap pairs failed\n", errors);
    else
        report("grant_map_unmap", ticks);
    gnt::end_access(REF);
}

// The local APIC's round trip in each mode: the send, the interrupt's
// delivery, the handler's EOI (lapic_stubs.S). What exits depends on the
// CPU's APIC virtualisation (apicv=0 on the hypervisor's command line
// makes all of it exit): scripts/bench boots both ways.
extern "C" void bench_xapic_isr();
extern "C" void bench_x2apic_isr();
extern "C" volatile uint32_t bench_lapic_count;

constexpr uint8_t VEC_XAPIC = 0x40, VEC_X2APIC = 0x41;
constexpr uintptr_t XAPIC = 0xfee00000;
constexpr uint32_t APIC_BASE = 0x1b, BASE_EXTD = 1u << 10;
constexpr uint32_t X2APIC_SVR = 0x80f, X2APIC_SELF_IPI = 0x83f;

void xapic_write(uint32_t off, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(XAPIC + off) = v; }

template <typename Send>
void bench_self_ipi(const char* what, Send send) {
    bool lost = false;
    irq_enable();
    const uint64_t ticks = ticks_per_op([&] {
        const uint32_t want = bench_lapic_count + 1;
        send();
        for (unsigned spins = 0; bench_lapic_count < want; ++spins)
            if (spins > 1000000) { lost = true; break; }
    });
    irq_disable();
    if (lost)
        print("bench: %s FAIL: a self-IPI did not arrive\n", what);
    else
        report(what, ticks);
}

void bench_lapic() {
    idt_set_gate(VEC_XAPIC, bench_xapic_isr, 0);
    idt_set_gate(VEC_X2APIC, bench_x2apic_isr, 0);
    xapic_write(0xf0, 0x1ff);   // SVR: software-enabled, spurious vector 0xff
    // ICR low: fixed, edge, shorthand self (SDM Vol 3A 11.6.1).
    bench_self_ipi("lapic_self_ipi_xapic", [] { xapic_write(0x300, (1u << 18) | (1u << 14) | VEC_XAPIC); });
    wrmsr(APIC_BASE, rdmsr(APIC_BASE) | BASE_EXTD);   // xAPIC -> x2APIC (SDM Vol 3A 11.12.5)
    wrmsr(X2APIC_SVR, 0x1ff);
    bench_self_ipi("lapic_self_ipi_x2apic", [] { wrmsr(X2APIC_SELF_IPI, VEC_X2APIC); });
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    report("cpuid", ticks_per_op([] { cpuid(0); }));
    report("xen_version", ticks_per_op([] { hypercall_vmcall(xen::HYPERVISOR_xen_version, xen::XENVER_version); }));
    report("port_e9", ticks_per_op([] { outb(0xe9, '.'); }));
    // The port test left dots on the 0xE9 console: end that line.
    outb(0xe9, '\n');
    // Event channels and grants need shared_info; a heartbeat bounds the waits.
    if (ev::init() && ev::heartbeat_start(100 * ev::MS)) {
        bench_evtchn();
        bench_grant();
        ev::heartbeat_stop();
    }
    bench_lapic();
    poweroff();
}
