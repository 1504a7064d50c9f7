// Secondary vCPUs for the 64-bit test guests, through Xen's VCPUOP_initialise
// (struct vcpu_hvm_context, VCPU_HVM_MODE_64B) and VCPUOP_up/down/is_up.
//
// vcpu_initialise() gives the vCPU the boot vCPU's CR0/CR3/CR4/EFER (our
// identity map), RIP = ap_entry64 (smp_entry.S), RSP = the stack given,
// RDI = its id and RSI = fn. There it loads our GDT, segments and IDT, sets
// its per-vCPU block (this_vcpu()) and calls fn(vcpu). If fn returns, the
// vCPU takes itself down with VCPUOP_down.
#pragma once

#include <stdint.h>

#if !defined(__x86_64__)
#error "smp.hpp is for the 64-bit guests"
#endif

namespace guest::smp {

using ApMain = void (*)(unsigned vcpu);

// VCPUOP_initialise; 0 or a negative errno.
long vcpu_initialise(unsigned vcpu, ApMain fn, void* stack_top);
// VCPUOP_up / VCPUOP_down / VCPUOP_is_up: 0 (is_up: 0 or 1) or a negative errno.
long vcpu_up(unsigned vcpu);
long vcpu_down(unsigned vcpu);
long vcpu_is_up(unsigned vcpu);

}  // namespace guest::smp
