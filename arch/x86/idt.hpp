// The interrupt descriptor table and the table that maps vectors to handlers.
#pragma once
#include <cstdint>

namespace menhir {

// Layout pushed by arch/x86/isr.S (lowest address first).
struct InterruptFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;   // pushed by the CPU
};

// Vectors Menhir uses. Exceptions are 0-31 (SDM Vol 3A 6.3.1).
namespace vector {
inline constexpr uint8_t nmi = 2;
inline constexpr uint8_t double_fault = 8;
inline constexpr uint8_t machine_check = 18;
inline constexpr uint8_t legacy_pic_base = 0x20;   // the 8259s are remapped here and masked
inline constexpr uint8_t ioapic_base = 0x30;        // ISA IRQ n arrives as 0x30 + n
inline constexpr uint8_t timer = 0xe0;              // local APIC timer (idle CPUs look for work)
inline constexpr uint8_t stop_cpu = 0xf0;           // IPI: leave VMX and halt (power-off, reset)
inline constexpr uint8_t reschedule = 0xf1;         // IPI: pick the next vCPU again
inline constexpr uint8_t spurious = 0xff;
} // namespace vector

namespace idt {
using Handler = void (*)(InterruptFrame& frame);
void init();                     // builds the shared IDT (once, on the BSP)
void load();                     // LIDT on this CPU
void set_handler(uint8_t vector, Handler handler);
} // namespace idt
} // namespace menhir
