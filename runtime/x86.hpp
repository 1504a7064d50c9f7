// Single x86 instructions the guests need, as inline functions. Works in
// 32-bit protected mode and in 64-bit mode.
#pragma once

#include <stdint.h>

namespace guest {

struct CpuidRegs {
    uint32_t eax, ebx, ecx, edx;
};

inline CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf = 0) {
    CpuidRegs r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

inline uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

// Keeps RDTSC from being reordered with the work being timed.
inline void lfence() { asm volatile("lfence" ::: "memory"); }

inline void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }

inline uint8_t inb(uint16_t port) {
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

inline void wrmsr(uint32_t msr, uint64_t value) {
    asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<uint32_t>(value)), "d"(static_cast<uint32_t>(value >> 32))
                 : "memory");
}

inline uintptr_t read_cr2() {
    uintptr_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

inline void invlpg(const volatile void* p) { asm volatile("invlpg (%0)" : : "r"(p) : "memory"); }

inline void pause() { asm volatile("pause"); }

// Interrupt flag. irq_save() returns the flags and disables interrupts;
// irq_restore() puts IF back as it was.
inline void irq_enable() { asm volatile("sti" ::: "memory"); }
inline void irq_disable() { asm volatile("cli" ::: "memory"); }
inline unsigned long irq_save() {
    unsigned long flags;
    asm volatile("pushf; pop %0; cli" : "=r"(flags) : : "memory");
    return flags;
}
inline void irq_restore(unsigned long flags) {
    if (flags & (1u << 9)) irq_enable();
}
inline bool irq_enabled() {
    unsigned long flags;
    asm volatile("pushf; pop %0" : "=r"(flags));
    return (flags & (1u << 9)) != 0;
}
// Enables interrupts and halts in one step (STI's one-instruction shadow
// covers the HLT), so an interrupt already pending wakes it; returns with
// interrupts disabled again. Call with interrupts disabled, after checking
// the condition being waited for.
inline void halt_then_disable() { asm volatile("sti; hlt; cli" ::: "memory"); }

inline uintptr_t read_cr0() {
    uintptr_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
inline uintptr_t read_cr3() {
    uintptr_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
inline uintptr_t read_cr4() {
    uintptr_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
inline constexpr uint32_t MSR_EFER = 0xc0000080;
inline constexpr uint32_t MSR_GS_BASE = 0xc0000101;

[[noreturn]] inline void halt_forever() {
    for (;;) asm volatile("cli; hlt");
}

}  // namespace guest
