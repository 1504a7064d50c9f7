// Secondary vCPUs: see smp.hpp.
#include "smp.hpp"

#include "hypercall.hpp"
#include "print.hpp"
#include "runtime.hpp"
#include "x86.hpp"

extern "C" {
void ap_entry64();  // smp_entry.S
[[noreturn]] void ap_start(unsigned vcpu, guest::smp::ApMain fn);
}

namespace guest::smp {

long vcpu_initialise(unsigned vcpu, ApMain fn, void* stack_top) {
    xen::vcpu_hvm_context ctx{};
    ctx.mode = xen::VCPU_HVM_MODE_64B;
    xen::vcpu_hvm_x86_64& r = ctx.cpu_regs.x86_64;
    r.rip = reinterpret_cast<uintptr_t>(ap_entry64);
    r.rsp = reinterpret_cast<uintptr_t>(stack_top) & ~uint64_t{15};
    r.rdi = vcpu;
    r.rsi = reinterpret_cast<uintptr_t>(fn);
    r.rflags = 0x2;
    r.cr0 = read_cr0();
    r.cr3 = read_cr3();
    r.cr4 = read_cr4();
    r.efer = rdmsr(MSR_EFER);
    return vcpu_op(xen::VCPUOP_initialise, vcpu, &ctx);
}

long vcpu_up(unsigned vcpu) { return vcpu_op(xen::VCPUOP_up, vcpu, nullptr); }
long vcpu_down(unsigned vcpu) { return vcpu_op(xen::VCPUOP_down, vcpu, nullptr); }
long vcpu_is_up(unsigned vcpu) { return vcpu_op(xen::VCPUOP_is_up, vcpu, nullptr); }

}  // namespace guest::smp

using namespace guest;

extern "C" void ap_start(unsigned vcpu, smp::ApMain fn) {
    idt_load();
    percpu_init(vcpu);
    fn(vcpu);
    long rc = smp::vcpu_down(vcpu);
    if (rc != 0) print("%s: FAIL vcpu %u: VCPUOP_down on itself -> %ld\n", guest_name, vcpu, rc);
    halt_forever();
}
