// VMREAD/VMWRITE/VMPTRLD/VMCLEAR, and the VMCS of a vCPU: host state, the
// execution controls Menhir wants (adjusted to what the CPU allows) and the
// initial guest state of a PVH vCPU.
#pragma once
#include "arch/x86/vmx/vmcs_fields.hpp"
#include "kernel/lib/types.hpp"
#include <cstdint>

namespace menhir::vmx {

inline uint64_t read(Field f)
{
    uint64_t v;
    asm volatile("vmread %1, %0" : "=r"(v) : "r"(static_cast<uint64_t>(f)) : "cc");
    return v;
}

inline void write(Field f, uint64_t v)
{
    asm volatile("vmwrite %1, %0" :: "r"(static_cast<uint64_t>(f)), "rm"(v) : "cc", "memory");
}

// True on success (CF and ZF clear, SDM Vol 3C 31.2).
[[nodiscard]] inline bool vmptrld(HostPhys vmcs)
{
    uint64_t p = vmcs.value();
    bool failed;
    asm volatile("vmptrld %1; setbe %0" : "=q"(failed) : "m"(p) : "cc", "memory");
    return !failed;
}

// The current-VMCS pointer, all ones when there is none (VMPTRST, SDM Vol 3C 31.3).
[[nodiscard]] inline uint64_t current_vmcs()
{
    uint64_t p = ~0ull;
    asm volatile("vmptrst %0" : "=m"(p) :: "memory");
    return p;
}

[[nodiscard]] inline bool vmclear(HostPhys vmcs)
{
    uint64_t p = vmcs.value();
    bool failed;
    asm volatile("vmclear %1; setbe %0" : "=q"(failed) : "m"(p) : "cc", "memory");
    return !failed;
}

// A segment as the VMCS holds it (access rights in the VMCS format, SDM Vol 3C 25.4.1).
struct Segment { uint16_t selector; uint64_t base; uint32_t limit; uint32_t access; };

// The state a vCPU starts in. CR0 and CR4 are what the guest asked for; the
// bits VMX needs are added underneath its read shadows.
struct GuestStart {
    uint64_t rip, rsp, rflags;
    uint64_t cr0, cr3, cr4, efer;
    Segment cs, ds, tr;          // ES, SS, FS, GS as DS
    uint64_t eptp;
    uint16_t vpid;
    uint64_t host_rsp;           // where the exit stub saves the guest registers
};

// Xen's PVH entry state: 32-bit protected mode, paging off, flat 4 GiB
// segments, starting at the 32-bit physical `entry`.
[[nodiscard]] GuestStart pvh_start(uint32_t entry);

// Computes and checks the controls once (BSP, after VMX is on); `apicv`
// false (apicv=0) leaves the CPU's APIC virtualisation unused.
[[nodiscard]] bool init_controls(bool apicv);
// Fills the current VMCS (after VMCLEAR + VMPTRLD) for a fresh vCPU.
void setup(const GuestStart& start);
// Host state that differs per CPU (TR, GDTR, GS...): after a vCPU moves.
void write_host_state();

// The CR0 bits whose guest writes exit (see setup()).
[[nodiscard]] uint64_t guest_cr0_mask();
// The secondary controls in use (which optional features guests may have).
[[nodiscard]] uint32_t secondary_controls();

// The CPU's APIC virtualisation (SDM Vol 3C chapter 30), for a vCPU whose
// local APIC is in one of the two modes: "use TPR shadow", "APIC-register
// virtualization" and "virtual-interrupt delivery" with "virtualize x2APIC
// mode" (x2APIC) or "virtualize APIC accesses" (xAPIC), each set used only
// whole. apic_virtualisation(mode) says whether the CPU has that set.
enum class ApicMode : uint8_t { none, xapic, x2apic };
[[nodiscard]] bool apic_virtualisation(ApicMode mode);
// In the current VMCS, for a vCPU whose APIC is in `mode`: if the CPU
// virtualises that mode, it takes CR8, TPR/EOI (and x2APIC SELF_IPI)
// writes and most register reads from the virtual-APIC page `page`, in
// xAPIC mode through the APIC-access page `access` (the frame behind the
// guest's 0xfee00000), and delivers what its RVI says (`status`: SVI << 8
// | RVI); otherwise (and in setup()), all of them exit. Returns whether
// the CPU virtualises it now.
bool set_apic_virtualisation(ApicMode mode, HostPhys page, HostPhys access, uint16_t status);

} // namespace menhir::vmx
