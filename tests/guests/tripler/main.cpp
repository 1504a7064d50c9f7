// tripler: makes its vCPU triple fault. With an empty IDT (limit 0) the int3
// cannot be delivered (#GP), neither can the #GP (#DF), nor the #DF: the CPU
// would reset; under VT-x it is a triple-fault VM exit, and the hypervisor
// must crash this domain alone.
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

extern "C" const char guest_name[] = "tripler";

extern "C" void guest_main(const xen::hvm_start_info*) {
    print("tripler: triple faulting\n");
    struct [[gnu::packed]] {
        uint16_t limit;
        uintptr_t base;
    } empty{0, 0};
    asm volatile("lidt %0\n\t"
                 "int3\n\t"
                 "ud2"
                 :
                 : "m"(empty)
                 : "memory");
    print("tripler: still alive (BUG)\n");
    poweroff();
}
