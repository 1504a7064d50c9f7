// deafener: tries to deafen the hypervisor's serial console. Interrupts off
// for good, then back-to-back VM exits forever: CPUID, then SCHEDOP_yield.
// A host interrupt pending at VM entry is not taken as an exit while the
// guest has RFLAGS.IF=0 (so it is in Bochs), so the hypervisor must find
// serial input by itself on the exit path. Prints `deafener: spinning with
// interrupts off` once, then nothing; never ends.
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

using namespace guest;

extern "C" const char guest_name[] = "deafener";

extern "C" void guest_main(const xen::hvm_start_info*) {
    irq_disable();
    print("deafener: spinning with interrupts off\n");
    for (;;) {
        (void)cpuid(0);
        (void)hypercall(xen::HYPERVISOR_sched_op, xen::SCHEDOP_yield, 0);
    }
}
