// What a guest sees from CPUID: the host's leaves with what Menhir does
// not virtualise taken out and the hypervisor bit set, plus Xen's leaves at
// 0x40000000 (arch-x86/cpuid.h). Pure: unit-tested on the host.
#pragma once
#include <cstdint>

namespace menhir::cpuid_policy {

struct Regs { uint32_t eax, ebx, ecx, edx; };
struct Context {
    uint32_t vcpu_id;
    uint16_t domid;
    uint64_t guest_cr4;       // for the OS-enabled bits (OSXSAVE, OSPKE); read only for leaves 1 and 7
    bool rdtscp, invpcid, xsaves;   // whether the VMX controls let the guest use them
    uint64_t xcr0 = 1;        // the guest's XCR0, for the XSAVE area size of leaf 0xD sub-leaf 1
    // The host's CPUID, for the XSAVE component sizes (leaf 0xD sub-leaves 2..62).
    Regs (*host)(uint32_t leaf, uint32_t subleaf) = nullptr;
    // The CPU virtualises the vCPU's APIC in xAPIC / x2APIC mode (leaf
    // 0x40000004 says so, as Xen's does).
    bool xapic_virt = false, x2apic_virt = false;
};

// Size of a compacted XSAVE area (XSAVEC/XSAVES) holding the components in
// `mask` (SDM Vol 1 13.4.3): the 512-byte legacy area and 64-byte header,
// then each component from 2 up, 64-byte aligned if CPUID.(0Dh,i):ECX[1].
[[nodiscard]] uint32_t compacted_xsave_size(uint64_t mask, Regs (*host)(uint32_t, uint32_t));

// Leaves whose answer depends on the guest's CR4.
[[nodiscard]] constexpr bool needs_cr4(uint32_t leaf) { return leaf == 1 || leaf == 7; }


// True when the leaf is answered without asking the CPU (Xen's leaves and
// the rest of the hypervisor range).
[[nodiscard]] constexpr bool synthetic(uint32_t leaf) { return (leaf & 0xffff0000u) == 0x40000000u; }

// Leaves filter() changes; every other host leaf goes to the guest as the
// CPU answered it, so the exit handler need not call filter() for them.
[[nodiscard]] constexpr bool filtered(uint32_t leaf)
{
    switch (leaf) {
    case 1: case 5: case 6: case 7: case 0xa: case 0xb: case 0xd: case 0x1f: case 0x80000001: return true;
    default: return synthetic(leaf);
    }
}

// `regs` holds what the CPU answered for (leaf, subleaf) (nothing for
// synthetic leaves) and is turned into what the guest sees.
void filter(uint32_t leaf, uint32_t subleaf, Regs& regs, const Context& ctx);

} // namespace menhir::cpuid_policy
