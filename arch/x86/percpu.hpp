// One block per CPU, reached through GS (gs:0 holds its own address).
#pragma once
#include "arch/x86/gdt.hpp"
#include "kernel/lib/types.hpp"
#include <cstdint>

namespace menhir {

inline constexpr uint32_t max_cpus = 64;

struct PerCpu {
    PerCpu* self;                 // must stay first: this_cpu() reads gs:0
    uint32_t index;
    uint32_t apic_id;
    volatile bool online;
    volatile bool vmx_done;       // VMX bring-up finished (successfully or not)
    volatile bool vmx_on;
    volatile bool stopped;
    const char* current;          // what runs there now ("idle" until guests exist)
    uint64_t stack_top;
    HostPhys vmxon_region;
    alignas(16) uint64_t gdt[gdt::entries];
    Tss tss;
};

namespace percpu {
inline constexpr size_t stack_size = 16 * 1024;
inline constexpr size_t ist_stack_size = 8 * 1024;

// Allocates the block and its stacks for CPU `index`.
[[nodiscard]] PerCpu* create(uint32_t index, uint32_t apic_id);
// GDT, TSS, IDT and GS for the calling CPU.
void activate(PerCpu& cpu);
[[nodiscard]] uint32_t count();
[[nodiscard]] PerCpu* get(uint32_t index);
} // namespace percpu

[[nodiscard]] inline PerCpu& this_cpu()
{
    PerCpu* p;
    asm volatile("mov %%gs:0, %0" : "=r"(p));
    return *p;
}

} // namespace menhir
