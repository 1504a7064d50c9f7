// A vCPU's virtual local APIC, the effectful half: MSR exits, CR8, its timer, IPIs between vCPUs (INIT/SIPI included) and what the next VM entry injects (the registers are vmm/vlapic_state.hpp).
#pragma once
#include "vmm/vcpu.hpp"
#include <cstdint>

namespace menhir::vlapic {

void init(Vcpu& v);                                         // power-on state, APIC ID = vCPU index
void describe();                                            // the boot line saying how the vLAPIC works
// v's VMCS current, after setup(): the CPU's APIC virtualisation on if the
// CPU has it for the mode v's APIC is in (vmx::apic_virtualisation()).
void configure(Vcpu& v);

// MSR exits: IA32_APIC_BASE and the x2APIC range. False: the model says #GP.
[[nodiscard]] constexpr bool owns_msr(uint32_t msr) { return msr == msr_apic_base || (msr >= msr_base && msr <= msr_base + 0xff); }
[[nodiscard]] bool read_msr(Vcpu& v, uint32_t msr, uint64_t& value);
[[nodiscard]] bool write_msr(Vcpu& v, uint32_t msr, uint64_t value);

// The xAPIC page (SDM Vol 3A 11.4.1): the guest-physical page at the APIC
// base while the APIC is enabled in xAPIC mode (in x2APIC mode or disabled,
// nothing is there). Without the CPU's virtualisation its accesses come
// from the EPT violation path (vmm/exit/mmio_unbacked.cpp); with it, the
// ones the CPU does not take itself come as APIC-access exits (decoded
// the same way) and its virtualised writes as APIC-write exits. Registers
// are 4 bytes at 16-byte offsets; narrower reads get their bytes of the
// register and 1- or 2-byte writes are merged into it (as Xen's); other
// writes do nothing.
[[nodiscard]] bool owns_page(Vcpu& v, uint64_t gpa);
[[nodiscard]] uint32_t read_page(Vcpu& v, uint32_t offset, uint32_t size);
void write_page(Vcpu& v, uint32_t offset, uint32_t size, uint32_t value);
// An APIC-write exit: the CPU left a guest write at byte `offset` of the
// page in the virtual-APIC page (SDM Vol 3C 30.4.3.3).
void page_written(Vcpu& v, uint32_t offset);
// The gpa of v's xAPIC page (its APIC base).
[[nodiscard]] uint64_t page_gpa(Vcpu& v);

// CR8 is TPR[7:4] (SDM Vol 3A 10.8.6.1): one register.
[[nodiscard]] uint64_t read_cr8(Vcpu& v);
void write_cr8(Vcpu& v, uint64_t value);

// Whether an interrupt (or an NMI) waits to be injected: HLT and blocking
// must not put the vCPU to sleep over it.
[[nodiscard]] bool pending(Vcpu& v);

// At VM entry (v's VMCS current): injects an NMI sent by IPI if one waits
// and can be taken, else the highest deliverable vector when `can_take`
// (IRR -> ISR); under the CPU's virtualisation, it only brings RVI up to
// IRR and leaves delivery to the CPU. Returns whether it injected; `left` says a vector still
// waits (worth an interrupt window); a blocked NMI leaves v.kick set instead.
bool inject(Vcpu& v, bool can_take, bool& left);

// The LVT timer's deadline has passed (vcpu_timer::fire_due).
void timer_expired(Vcpu& v, uint64_t now_ns);
// The domain is going away: the timer stops and no expiry in flight re-arms it.
void stop_timer(Vcpu& v);

} // namespace menhir::vlapic
