// Switching the x87/SSE/AVX state between vCPUs with XSAVE (or FXSAVE).
#include "arch/x86/fpu.hpp"
#include "arch/x86/cpu.hpp"
#include "kernel/lib/types.hpp"

namespace menhir::fpu {
namespace {

constexpr uint32_t ecx1_xsave = 1u << 26;   // CPUID.1:ECX
constexpr uint16_t fcw_default = 0x37f;      // FNINIT's control word (SDM Vol 1 8.1.5)
constexpr uint32_t mxcsr_default = 0x1f80;   // all exceptions masked, round to nearest (Vol 1 10.2.3)
constexpr size_t fcw_offset = 0, mxcsr_offset = 24;   // FXSAVE layout (Vol 1 Table 10-2)
constexpr size_t legacy_bytes = 512 + 64;             // FXSAVE region and XSAVE header

// Written by every CPU at activation with the same values (CPUID is uniform).
bool has_xsave = false;
uint64_t full_xcr0 = 0;
size_t frames = 1;

void xsetbv(uint64_t value)
{
    asm volatile("xsetbv" :: "c"(0), "a"(static_cast<uint32_t>(value)), "d"(static_cast<uint32_t>(value >> 32)));
}

} // namespace

void init_this_cpu()
{
    has_xsave = (cpu::cpuid(1).ecx & ecx1_xsave) != 0;
    if (!has_xsave) return;
    // CPUID.(EAX=0Dh,ECX=0): EDX:EAX the XCR0 bits the CPU supports, EBX the
    // XSAVE size for the XCR0 now loaded (Vol 1 13.2).
    const auto leaf = cpu::cpuid(0xd, 0);
    full_xcr0 = (static_cast<uint64_t>(leaf.edx) << 32) | leaf.eax;
    xsetbv(full_xcr0);
    const size_t bytes = cpu::cpuid(0xd, 0).ebx;
    frames = (bytes + page_size - 1) / page_size;
}

uint64_t host_xcr0() { return full_xcr0; }

size_t area_frames() { return frames; }

void init_area(void* area)
{
    auto* p = static_cast<uint8_t*>(area);
    __builtin_memset(p, 0, frames * page_size);
    static_assert(legacy_bytes <= page_size);
    __builtin_memcpy(p + fcw_offset, &fcw_default, sizeof fcw_default);
    __builtin_memcpy(p + mxcsr_offset, &mxcsr_default, sizeof mxcsr_default);
}

void save(void* area, uint64_t guest_xcr0)
{
    if (!has_xsave) {
        asm volatile("fxsave64 (%0)" :: "r"(area) : "memory");
        return;
    }
    // The guest's XCR0 is still loaded (VM exits keep it): with XCR0 = 1 an
    // XSAVE would leave SSE and AVX in the registers for the next vCPU.
    if (guest_xcr0 != full_xcr0) xsetbv(full_xcr0);
    asm volatile("xsave64 (%0)" :: "r"(area), "a"(static_cast<uint32_t>(full_xcr0)),
                 "d"(static_cast<uint32_t>(full_xcr0 >> 32)) : "memory");
}

void restore(const void* area, uint64_t guest_xcr0)
{
    if (!has_xsave) {
        asm volatile("fxrstor64 (%0)" :: "r"(area) : "memory");
        return;
    }
    // XCR0 is full here: no vCPU is loaded, so init_this_cpu() or the last save() set it.
    asm volatile("xrstor64 (%0)" :: "r"(area), "a"(static_cast<uint32_t>(full_xcr0)),
                 "d"(static_cast<uint32_t>(full_xcr0 >> 32)) : "memory");
    if (guest_xcr0 != full_xcr0) xsetbv(guest_xcr0);
}

} // namespace menhir::fpu
