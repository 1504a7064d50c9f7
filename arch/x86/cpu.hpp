// Thin wrappers over x86 instructions the hypervisor needs. Freestanding only.
#pragma once
#include <cstdint>

namespace menhir::cpu {

struct CpuidResult { uint32_t eax, ebx, ecx, edx; };

inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0)
{
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

// MAXPHYADDR (CPUID 0x80000008 EAX[7:0], 36 without the leaf: SDM Vol 3A
// 4.1.4). Guests see the host's width (the leaf passes through).
inline uint32_t phys_addr_bits()
{
    const auto max = cpuid(0x80000000, 0).eax;
    return max >= 0x80000008 ? (cpuid(0x80000008, 0).eax & 0xff) : 36;
}

inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

inline void wrmsr(uint32_t msr, uint64_t value)
{
    asm volatile("wrmsr" :: "c"(msr), "a"(static_cast<uint32_t>(value)),
                 "d"(static_cast<uint32_t>(value >> 32)) : "memory");
}

inline uint64_t rdtsc()
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

#define MENHIR_CR_ACCESSORS(n)                                                       \
    inline uint64_t read_cr##n() { uint64_t v; asm volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
    inline void write_cr##n(uint64_t v) { asm volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
MENHIR_CR_ACCESSORS(0)
MENHIR_CR_ACCESSORS(2)
MENHIR_CR_ACCESSORS(3)
MENHIR_CR_ACCESSORS(4)
#undef MENHIR_CR_ACCESSORS

inline uint64_t read_rflags() { uint64_t f; asm volatile("pushfq; popq %0" : "=r"(f)); return f; }
inline uint64_t read_rbp() { uint64_t v; asm volatile("mov %%rbp, %0" : "=r"(v)); return v; }

inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
inline uint8_t inb(uint16_t port) { uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
inline uint16_t inw(uint16_t port) { uint16_t v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
inline uint32_t inl(uint16_t port) { uint32_t v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

inline void pause() { asm volatile("pause" ::: "memory"); }
inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void hlt() { asm volatile("hlt" ::: "memory"); }
// STI's one-instruction interrupt shadow makes "sti; hlt" race-free.
inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }
inline bool interrupts_enabled() { return (read_rflags() & (1u << 9)) != 0; }
inline void invlpg(const void* p) { asm volatile("invlpg (%0)" :: "r"(p) : "memory"); }
inline void wbinvd() { asm volatile("wbinvd" ::: "memory"); }

[[noreturn]] inline void halt_forever()
{
    for (;;) asm volatile("cli; hlt" ::: "memory");
}

// Model-specific registers the hypervisor touches (SDM Vol 4, chapter 2).
namespace msr {
inline constexpr uint32_t apic_base        = 0x1b;
inline constexpr uint32_t feature_control  = 0x3a;
inline constexpr uint32_t efer             = 0xc0000080;
inline constexpr uint32_t fs_base          = 0xc0000100;
inline constexpr uint32_t gs_base          = 0xc0000101;
inline constexpr uint32_t kernel_gs_base   = 0xc0000102;
} // namespace msr

// IA32_FEATURE_CONTROL bits (SDM Vol 3C 24.7).
namespace feature_control {
inline constexpr uint64_t lock             = 1u << 0;
inline constexpr uint64_t vmx_inside_smx   = 1u << 1;
inline constexpr uint64_t vmx_outside_smx  = 1u << 2;
} // namespace feature_control

inline constexpr uint64_t cr4_vmxe = 1u << 13;

} // namespace menhir::cpu
