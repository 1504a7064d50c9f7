#include "arch/x86/idt.hpp"
#include "arch/x86/gdt.hpp"
#include "arch/x86/lapic.hpp"
#include "kernel/panic.hpp"

extern "C" char isr_stubs[];

namespace menhir {
namespace {

struct [[gnu::packed]] Gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
static_assert(sizeof(Gate) == 16, "64-bit IDT gate (SDM Vol 3A 6.14.1)");

constexpr uint8_t interrupt_gate = 0x8e;   // present, DPL 0, 64-bit interrupt gate
constexpr int stub_size = 16;

alignas(16) Gate table[256];
idt::Handler handlers[256];

void unexpected(InterruptFrame& f)
{
    if (f.vector < 32) panic_exception(f);
    // Spurious or stray vectors: nothing to do.
}

uint8_t ist_for(int v)
{
    switch (v) {
    case vector::double_fault: return gdt::ist_double_fault;
    case vector::nmi: return gdt::ist_nmi;
    case vector::machine_check: return gdt::ist_machine_check;
    default: return 0;
    }
}

} // namespace

extern "C" void interrupt_dispatch(InterruptFrame* frame)
{
    const auto v = static_cast<uint8_t>(frame->vector);
    handlers[v](*frame);
    // Interrupts from the local APIC or the I/O APIC need an EOI; exceptions,
    // the spurious vector and the masked 8259's strays do not.
    if (v >= vector::ioapic_base && v != vector::spurious) lapic::eoi();
}

namespace idt {

void init()
{
    for (int v = 0; v < 256; ++v) {
        const auto addr = reinterpret_cast<uint64_t>(isr_stubs + v * stub_size);
        table[v] = Gate{static_cast<uint16_t>(addr), gdt::kernel_code, ist_for(v), interrupt_gate,
                        static_cast<uint16_t>(addr >> 16), static_cast<uint32_t>(addr >> 32), 0};
        handlers[v] = unexpected;
    }
}

void load()
{
    struct [[gnu::packed]] { uint16_t limit; uint64_t base; } idtr{sizeof table - 1, reinterpret_cast<uint64_t>(table)};
    asm volatile("lidt %0" :: "m"(idtr));
}

void set_handler(uint8_t vector, Handler handler) { handlers[vector] = handler; }

} // namespace idt
} // namespace menhir
