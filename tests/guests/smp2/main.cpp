// smp2: a second vCPU (the domain needs vcpus=2). Command line: `count=N`
// increments per vCPU (default 100000).
//
// vCPU 0 checks VCPUOP_is_up(1) == 0, starts vCPU 1 with VCPUOP_initialise
// (vcpu_hvm_context, 64-bit mode: our page tables, an entry in this image,
// its own stack) and VCPUOP_up, and checks is_up(1) == 1. vCPU 1 prints
// `smp2: vcpu 1 up`. Both vCPUs add 1 to a shared counter N times with a
// locked add, and each to its own counter; they exchange one IPI each way
// (EVTCHNOP_bind_ipi ports bound to vCPU 1 and to vCPU 0: each handler must
// run on its own vCPU). vCPU 1 then takes itself down (VCPUOP_down), vCPU 0
// waits for is_up(1) == 0 and prints `smp2: ok` (or FAIL lines).
#include "../lib/check.hpp"
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/smp.hpp"
#include "runtime/x86.hpp"

using namespace guest;

extern "C" const char guest_name[] = "smp2";

namespace {

alignas(16) uint8_t g_ap_stack[16384];

uint64_t g_count = 100000;
volatile uint64_t g_shared_counter = 0;
volatile uint64_t g_own_counter[2] = {0, 0};
volatile uint32_t g_ap_started = 0;
volatile uint32_t g_ap_ready_for_ipi = 0;
volatile uint32_t g_ap_done = 0;
volatile uint32_t g_ap_ipi_ok = 0;

uint32_t g_port_to_ap = 0;   // bound to vCPU 1
uint32_t g_port_to_bsp = 0;  // bound to vCPU 0
volatile uint32_t g_ipi_seen[2] = {0, 0};
volatile uint32_t g_ipi_wrong_vcpu = 0;

unsigned g_target[2] = {0, 1};  // handler contexts: the vCPU each port is for

void on_ipi(uint32_t, void* ctx) {
    const unsigned target = *static_cast<const unsigned*>(ctx);
    if (this_vcpu() != target) g_ipi_wrong_vcpu = g_ipi_wrong_vcpu + 1;
    g_ipi_seen[target] = g_ipi_seen[target] + 1;
}

void count_up(unsigned vcpu) {
    for (uint64_t i = 0; i < g_count; ++i) {
        __atomic_fetch_add(&g_shared_counter, 1, __ATOMIC_SEQ_CST);
        g_own_counter[vcpu] = g_own_counter[vcpu] + 1;
    }
}

// vCPU 1's life.
void ap_main(unsigned vcpu) {
    g_ap_started = 1;
    print("smp2: vcpu %u up\n", vcpu);
    count_up(vcpu);
    // The IPI: interrupts on, tell vCPU 0, wait for its event, answer.
    irq_enable();
    g_ap_ready_for_ipi = 1;
    if (!ev::wait_until([] { return g_ipi_seen[1] != 0; }, 10000 * ev::MS)) {
        print("smp2: FAIL vcpu 1 saw no IPI within 10 s\n");
        ev::print_state();
    } else if (ev::send(g_port_to_bsp) == 0) {
        g_ap_ipi_ok = 1;
    }
    irq_disable();
    g_ap_done = 1;
    // Returning takes the vCPU down with VCPUOP_down (smp.cpp).
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    cmdline_number(cmdline(), "count", &g_count);
    if (!ev::init() || !ev::heartbeat_start(100 * ev::MS)) poweroff();
    Checks c;

    long p = ev::bind_ipi(1);
    long q = ev::bind_ipi(0);
    c.expect("bind_ipi(vcpu 1)", p > 0 ? 0 : p, 0);
    c.expect("bind_ipi(vcpu 0)", q > 0 ? 0 : q, 0);
    if (p <= 0 || q <= 0) poweroff();
    g_port_to_ap = static_cast<uint32_t>(p);
    g_port_to_bsp = static_cast<uint32_t>(q);
    ev::set_handler(g_port_to_ap, on_ipi, &g_target[1]);
    ev::set_handler(g_port_to_bsp, on_ipi, &g_target[0]);
    irq_enable();

    c.expect("is_up(vcpu 1) before", smp::vcpu_is_up(1), 0);
    c.expect("up(vcpu 1) before initialise", smp::vcpu_up(1), -xen::XEN_EINVAL);
    c.expect("initialise(vcpu 1)", smp::vcpu_initialise(1, ap_main, g_ap_stack + sizeof(g_ap_stack)), 0);
    c.expect("up(vcpu 1)", smp::vcpu_up(1), 0);
    c.expect("is_up(vcpu 1)", smp::vcpu_is_up(1), 1);
    c.expect("initialise(vcpu 1) again", smp::vcpu_initialise(1, ap_main, g_ap_stack + sizeof(g_ap_stack)),
             -xen::XEN_EEXIST);
    c.expect("is_up(vcpu 2) (no such vCPU)", smp::vcpu_is_up(2), -xen::XEN_ENOENT);

    if (!ev::wait_until([] { return g_ap_started != 0; }, 10000 * ev::MS)) {
        print("smp2: FAIL vcpu 1 did not start within 10 s\n");
        poweroff();
    }
    count_up(0);
    if (!ev::wait_until([] { return g_ap_ready_for_ipi != 0; }, 60000 * ev::MS)) {
        print("smp2: FAIL vcpu 1 did not finish counting within 60 s (%llu)\n",
              static_cast<unsigned long long>(g_own_counter[1]));
        poweroff();
    }
    c.expect("send IPI to vcpu 1", ev::send(g_port_to_ap), 0);
    bool ipi_back = ev::wait_until([] { return g_ipi_seen[0] != 0; }, 10000 * ev::MS);
    if (!ipi_back) ev::print_state();
    bool ap_done = ev::wait_until([] { return g_ap_done != 0; }, 10000 * ev::MS);
    c.expect("IPI 0 -> 1 handled on vcpu 1", g_ap_ipi_ok && g_ipi_seen[1] == 1 ? 1 : 0, 1);
    c.expect("IPI 1 -> 0 handled on vcpu 0", ipi_back && g_ipi_seen[0] == 1 ? 1 : 0, 1);
    c.expect("IPI handlers on the wrong vcpu", g_ipi_wrong_vcpu, 0);
    if (!ap_done) print("smp2: FAIL vcpu 1 did not finish\n");

    // vCPU 1 takes itself down once it returns.
    const uint64_t t0 = ev::now_ns();
    long up = 1;
    while ((up = smp::vcpu_is_up(1)) == 1 && ev::now_ns() - t0 < 10000 * ev::MS) sched_yield();
    c.expect("is_up(vcpu 1) after its VCPUOP_down", up, 0);

    const uint64_t total = g_shared_counter;
    const bool counts_ok = total == 2 * g_count && g_own_counter[0] == g_count && g_own_counter[1] == g_count;
    print("smp2: counters %llu + %llu, shared %llu (expected %llu) %s\n",
          static_cast<unsigned long long>(g_own_counter[0]), static_cast<unsigned long long>(g_own_counter[1]),
          static_cast<unsigned long long>(total), static_cast<unsigned long long>(2 * g_count),
          counts_ok ? "ok" : "FAIL");
    if (counts_ok && ap_done && c.failed == 0)
        print("smp2: ok\n");
    else
        print("smp2: FAIL (%u checks failed%s)\n", c.failed, counts_ok ? "" : ", counters wrong");
    poweroff();
}
