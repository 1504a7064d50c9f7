// Debug keys about guests: `q` lists the domains (and, as Xen's does,
// raises VIRQ_DEBUG on every vCPU), `d` the registers of every vCPU.
#include "arch/x86/percpu.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "kernel/console.hpp"
#include "kernel/debug_keys.hpp"
#include "vmm/domain.hpp"
#include "vmm/events.hpp"

namespace menhir {
namespace {

void dump_domains(char)
{
    info("'q' pressed -> dumping domain info");
    domains::for_each([](Domain& d) {
        uint64_t runtime = 0;
        for (uint32_t i = 0; i < d.vcpu_count; ++i) runtime += d.vcpus[i]->unit.runtime_ns;
        info("domain %u (%s): %s, %lu MiB, %u vCPUs, weight %u, cap %u, CPU time %lu ms", d.id, d.name,
             to_string(d.state), d.memory_bytes >> 20, d.vcpu_count, d.account.weight, d.account.cap,
             runtime / 1000000);
        // Xen's 'q' notifies each vCPU's VIRQ_DEBUG port, if bound (keyhandler.c dump_domains).
        for (uint32_t i = 0; i < d.vcpu_count; ++i) events::raise_virq(d, xen::virq_debug, i);
    });
}

bool loaded_elsewhere(const Vcpu& v)
{
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        const PerCpu* c = percpu::get(i);
        if (c && c != &this_cpu() && c->current == &v) return true;
    }
    return false;
}

void dump_vcpu(Vcpu& v)
{
    const GuestRegs& r = v.ctx.regs;
    info("d%uv%u: %s, %lu exits", v.domain->id, v.id, v.up ? "up" : "down", v.exits);
    info("  RAX %016lx RBX %016lx RCX %016lx RDX %016lx", r.rax, r.rbx, r.rcx, r.rdx);
    info("  RSI %016lx RDI %016lx RBP %016lx R8  %016lx", r.rsi, r.rdi, r.rbp, r.r8);
    info("  R9  %016lx R10 %016lx R11 %016lx R12 %016lx", r.r9, r.r10, r.r11, r.r12);
    info("  R13 %016lx R14 %016lx R15 %016lx", r.r13, r.r14, r.r15);
    if (!v.up) return;
    if (loaded_elsewhere(v)) {
        info("  (running on another CPU: VMCS state not shown)");
        return;
    }
    // The VMCS is either current here or clear in memory: read it in place.
    const uint64_t previous = vmx::current_vmcs();
    const bool here = previous == v.vmcs.value();
    if (!here && !vmx::vmptrld(v.vmcs)) return;
    info("  RIP %016lx RSP %016lx RFLAGS %08lx", vmx::read(vmx::Field::guest_rip), vmx::read(vmx::Field::guest_rsp),
         vmx::read(vmx::Field::guest_rflags));
    info("  CR0 %08lx CR3 %016lx CR4 %08lx EFER %lx", vmx::read(vmx::Field::cr0_read_shadow),
         vmx::read(vmx::Field::guest_cr3), vmx::read(vmx::Field::cr4_read_shadow), vmx::read(vmx::Field::guest_efer));
    if (!here) {
        (void)vmx::vmclear(v.vmcs);
        if (previous != ~0ull) (void)vmx::vmptrld(HostPhys{previous});
    }
}

void dump_registers(char)
{
    info("'d' pressed -> dumping vCPU registers");
    domains::for_each([](Domain& d) {
        for (uint32_t i = 0; i < d.vcpu_count; ++i) dump_vcpu(*d.vcpus[i]);
    });
}

struct KeyRegistrar {
    KeyRegistrar()
    {
        debug_keys::register_key('q', "dump domain info (and send VIRQ_DEBUG)", dump_domains);
        debug_keys::register_key('d', "dump registers of every vCPU", dump_registers);
    }
} key_registrar;

} // namespace
} // namespace menhir
