// One block per CPU, reached through GS (gs:0 holds its own address).
#pragma once
#include "arch/x86/gdt.hpp"
#include "kernel/lib/types.hpp"
#include <cstdint>

namespace menhir {

inline constexpr uint32_t max_cpus = 64;

struct Vcpu;
struct VcpuContext;

// The first three fields are read by assembly (world_switch.S) at fixed offsets.
struct PerCpu {
    PerCpu* self;                 // gs:0, this_cpu() reads it
    uint64_t stack_top;           // gs:8, the stack exit handling runs on
    VcpuContext* current_ctx;     // gs:16, the registers of the vCPU loaded here
    Vcpu* current;                // the vCPU loaded here, nullptr when idle
    volatile bool resched;        // pick again before resuming a guest
    uint32_t index;
    uint32_t apic_id;
    volatile bool online;
    volatile bool vmx_done;       // VMX bring-up finished (successfully or not)
    volatile bool vmx_on;
    volatile bool stopped;
    // Between the last check before a VM entry and the next VM exit: a CPU
    // that changes a domain's EPT waits for those running it to leave guest
    // mode (exits counts them) before the frames it unmapped can be freed.
    volatile bool in_guest;
    volatile uint64_t exits;
    // Counts the points where this CPU holds no domain pointer from a
    // hypercall or exit handler (each scheduler pass, each VM entry): a
    // reaped domain is freed once every other CPU has passed one.
    volatile uint64_t quiescent;
    HostPhys vmxon_region;
    uint64_t slice_rest;          // preemption-timer ticks of the slice not armed yet (scheduler)
    alignas(16) uint64_t gdt[gdt::entries];
    Tss tss;
};

static_assert(__builtin_offsetof(PerCpu, stack_top) == 8);
static_assert(__builtin_offsetof(PerCpu, current_ctx) == 16);

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
