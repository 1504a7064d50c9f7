#include "arch/x86/percpu.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/fpu.hpp"
#include "arch/x86/idt.hpp"
#include "kernel/console.hpp"
#include "kernel/debug_keys.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/panic.hpp"
#include "vmm/domain.hpp"

namespace menhir {
namespace {

PerCpu* cpus[max_cpus];
uint32_t cpu_count = 0;

uint64_t new_stack(size_t size)
{
    auto* s = static_cast<char*>(kmalloc(size, page_size));
    if (!s) panic("out of memory for CPU stacks");
    return reinterpret_cast<uint64_t>(s + size);
}

void dump_cpus(char)
{
    info("'c' pressed -> dumping per-CPU state");
    for (uint32_t i = 0; i < cpu_count; ++i) {
        const PerCpu& c = *cpus[i];
        if (c.stopped || !c.current)
            info("CPU%u: APIC id %u, VMX %s, current %s", c.index, c.apic_id, c.vmx_on ? "on" : "off",
                 c.stopped ? "stopped" : "idle");
        else
            info("CPU%u: APIC id %u, VMX %s, current d%uv%u", c.index, c.apic_id, c.vmx_on ? "on" : "off",
                 c.current->domain->id, c.current->id);
    }
}

struct KeyRegistrar {
    KeyRegistrar() { debug_keys::register_key('c', "dump per-CPU state", dump_cpus); }
} key_registrar;

} // namespace

namespace percpu {

PerCpu* create(uint32_t index, uint32_t apic_id)
{
    if (index >= max_cpus) return nullptr;
    auto* c = static_cast<PerCpu*>(kmalloc(sizeof(PerCpu), 64));
    if (!c) panic("out of memory for per-CPU data");
    __builtin_memset(static_cast<void*>(c), 0, sizeof(PerCpu));
    c->self = c;
    c->index = index;
    c->apic_id = apic_id;
    c->stack_top = new_stack(stack_size);
    c->tss.ist[gdt::ist_double_fault - 1] = new_stack(ist_stack_size);
    c->tss.ist[gdt::ist_nmi - 1] = new_stack(ist_stack_size);
    c->tss.ist[gdt::ist_machine_check - 1] = new_stack(ist_stack_size);
    c->tss.rsp[0] = c->stack_top;
    cpus[index] = c;
    if (index >= cpu_count) cpu_count = index + 1;
    return c;
}

void activate(PerCpu& c)
{
    // SSE state is saved with FXSAVE/XSAVE when vCPUs change; the
    // hypervisor itself never uses it (SDM Vol 3A 2.5, CR4 bits 9, 10, 18).
    uint64_t cr4 = cpu::read_cr4() | (1u << 9) | (1u << 10);
    if ((cpu::cpuid(1).ecx >> 26) & 1) cr4 |= 1u << 18;
    cpu::write_cr4(cr4);
    fpu::init_this_cpu();
    gdt::load(c.gdt, &c.tss);
    idt::load();
    cpu::wrmsr(cpu::msr::gs_base, reinterpret_cast<uint64_t>(&c));
}

uint32_t count() { return cpu_count; }

PerCpu* get(uint32_t index) { return index < cpu_count ? cpus[index] : nullptr; }

} // namespace percpu
} // namespace menhir
