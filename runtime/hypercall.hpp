// Issuing Xen hypercalls from an HVM/PVH guest.
//
// Two ways, both part of Xen's ABI:
//  - `vmcall` directly (what current Linux does). 64-bit mode: number in rax,
//    arguments in rdi rsi rdx r10 r8. 32-bit mode: number in eax, arguments in
//    ebx ecx edx esi edi. The result comes back in rax/eax.
//  - the hypercall page: the guest writes the physical address of a page to
//    the MSR named by CPUID leaf base+2 (EBX); the hypervisor fills it with
//    32-byte stubs and the guest calls page + 32 * number with the arguments
//    already in the registers above.
// The hypervisor may scribble over argument registers it did not use (a Xen
// debug build does), so every argument register is an in/out operand here.
#pragma once

#include <stdint.h>

#include "xen.hpp"

namespace guest {

// Set by hypercall_page_install(); null while hypercalls use vmcall.
extern uint8_t* hypercall_page_in_use;

// Installs the hypercall page (CPUID base+2 MSR) and routes hypercall()
// through it from then on. False if there is no Xen CPUID leaf or it offers
// no page.
bool hypercall_page_install();

inline constexpr unsigned long HYPERCALL_PAGE_STUBS = 4096 / 32;

// One hypercall through `vmcall`, whatever the page setting.
inline long hypercall_vmcall(unsigned long nr, unsigned long a1 = 0, unsigned long a2 = 0, unsigned long a3 = 0,
                             unsigned long a4 = 0, unsigned long a5 = 0) {
    unsigned long ax = nr;
#if defined(__x86_64__)
    register unsigned long r10 asm("r10") = a4;
    register unsigned long r8 asm("r8") = a5;
    asm volatile("vmcall"
                 : "+a"(ax), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                 :
                 : "memory", "cc");
#else
    asm volatile("vmcall"
                 : "+a"(ax), "+b"(a1), "+c"(a2), "+d"(a3), "+S"(a4), "+D"(a5)
                 :
                 : "memory", "cc");
#endif
    return static_cast<long>(ax);
}

// One hypercall through a call into the stub for `nr` in the installed page.
// The stub loads the number into eax itself, so eax carries the stub address.
inline long hypercall_via_page(unsigned long nr, unsigned long a1 = 0, unsigned long a2 = 0, unsigned long a3 = 0,
                               unsigned long a4 = 0, unsigned long a5 = 0) {
    unsigned long ax = reinterpret_cast<uintptr_t>(hypercall_page_in_use) + 32 * nr;
#if defined(__x86_64__)
    register unsigned long r10 asm("r10") = a4;
    register unsigned long r8 asm("r8") = a5;
    asm volatile("call *%%rax"
                 : "+a"(ax), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                 :
                 : "memory", "cc");
#else
    asm volatile("call *%%eax"
                 : "+a"(ax), "+b"(a1), "+c"(a2), "+d"(a3), "+S"(a4), "+D"(a5)
                 :
                 : "memory", "cc");
#endif
    return static_cast<long>(ax);
}

// The hypercall page when installed (and the number has a stub), else vmcall.
inline long hypercall(unsigned long nr, unsigned long a1 = 0, unsigned long a2 = 0, unsigned long a3 = 0,
                      unsigned long a4 = 0, unsigned long a5 = 0) {
    if (hypercall_page_in_use != nullptr && nr < HYPERCALL_PAGE_STUBS) return hypercall_via_page(nr, a1, a2, a3, a4, a5);
    return hypercall_vmcall(nr, a1, a2, a3, a4, a5);
}

inline unsigned long arg(const volatile void* p) { return reinterpret_cast<uintptr_t>(p); }
inline unsigned long arg(int v) { return static_cast<uint32_t>(v); }
inline unsigned long arg(unsigned v) { return v; }

// Typed wrappers. Sub-op numbers and int arguments are passed zero-extended
// to 32 bits, as Xen reads them as (unsigned) int.
inline long console_io(unsigned cmd, unsigned count, const void* buf) {
    return hypercall(xen::HYPERVISOR_console_io, cmd, count, arg(buf));
}
inline long xen_version(int cmd, void* buf) { return hypercall(xen::HYPERVISOR_xen_version, arg(cmd), arg(buf)); }
inline long sched_op(int cmd, void* a) { return hypercall(xen::HYPERVISOR_sched_op, arg(cmd), arg(a)); }
inline long memory_op(unsigned cmd, void* a) { return hypercall(xen::HYPERVISOR_memory_op, cmd, arg(a)); }
inline long hvm_op(unsigned op, void* a) { return hypercall(xen::HYPERVISOR_hvm_op, op, arg(a)); }
inline long vcpu_op(int cmd, unsigned vcpu, void* extra) {
    return hypercall(xen::HYPERVISOR_vcpu_op, arg(cmd), vcpu, arg(extra));
}
inline long event_channel_op(int cmd, void* a) { return hypercall(xen::HYPERVISOR_event_channel_op, arg(cmd), arg(a)); }
inline long grant_table_op(unsigned cmd, void* uop, unsigned count) {
    return hypercall(xen::HYPERVISOR_grant_table_op, cmd, arg(uop), count);
}
// Privileged (dom0): the argument is the whole op structure.
inline long domctl(void* op) { return hypercall(xen::HYPERVISOR_domctl, arg(op)); }
inline long sysctl(void* op) { return hypercall(xen::HYPERVISOR_sysctl, arg(op)); }

inline long sched_shutdown(unsigned reason) {
    xen::sched_shutdown s{reason};
    return sched_op(xen::SCHEDOP_shutdown, &s);
}
inline long sched_yield() { return sched_op(xen::SCHEDOP_yield, nullptr); }
inline long sched_block() { return sched_op(xen::SCHEDOP_block, nullptr); }

// HVMOP_get_param for this domain; the value, or a negative errno.
long hvm_get_param(uint32_t index, uint64_t* value);
// HVMOP_set_param for this domain; 0 or a negative errno.
long hvm_set_param(uint32_t index, uint64_t value);

}  // namespace guest
