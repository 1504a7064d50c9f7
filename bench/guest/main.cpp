// bench: times the cheapest round trips into the hypervisor with RDTSC.
// For each operation: 1000 back-to-back executions between two fenced TSC
// reads, reported as the mean in TSC ticks (under Bochs these are emulated
// instruction-clock ticks, so the figures are deterministic).
#include "../../tests/guests/lib/hypercall.hpp"
#include "../../tests/guests/lib/print.hpp"
#include "../../tests/guests/lib/runtime.hpp"
#include "../../tests/guests/lib/x86.hpp"

using namespace guest;

extern "C" const char guest_name[] = "bench";

namespace {

constexpr unsigned ITERATIONS = 1000;

template <typename Op>
uint64_t ticks_per_op(Op op) {
    op();  // warm up: first-touch effects are not what we measure
    lfence();
    uint64_t start = rdtsc();
    lfence();
    for (unsigned i = 0; i < ITERATIONS; ++i) op();
    lfence();
    uint64_t end = rdtsc();
    return (end - start) / ITERATIONS;
}

void report(const char* what, uint64_t ticks) {
    print("bench: %s %llu ticks/op\n", what, static_cast<unsigned long long>(ticks));
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    report("cpuid", ticks_per_op([] { cpuid(0); }));
    report("xen_version", ticks_per_op([] { hypercall_vmcall(xen::HYPERVISOR_xen_version, xen::XENVER_version); }));
    report("port_e9", ticks_per_op([] { outb(0xe9, '.'); }));
    // The port test left dots on the 0xE9 console: end that line.
    outb(0xe9, '\n');
    poweroff();
}
