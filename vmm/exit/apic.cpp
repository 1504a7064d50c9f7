// The two exits of the CPU's xAPIC virtualisation: APIC-access (an access to the page the CPU does not take itself) and APIC-write (a write it took but Menhir must apply).
#include "arch/x86/vmx/vmcs.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/handlers.hpp"
#include "vmm/vlapic.hpp"

namespace menhir::exit {

// Exit qualification (SDM Vol 3C Table 28-6): bits 11:0 the page offset,
// bits 15:12 how it was accessed. Fault-like: the instruction has not run,
// so it is decoded and run against the vLAPIC as the EPT-violation path
// does (reads of PPR or the current count, accesses the CPU does not
// virtualise: misaligned, wider than 4 bytes, reserved offsets).
void apic_access(Vcpu& v)
{
    const uint64_t q = vmx::read(vmx::Field::exit_qualification);
    const uint32_t offset = q & 0xfff, type = (q >> 12) & 0xf;
    constexpr uint32_t linear_read = 0, linear_write = 1;
    if (type != linear_read && type != linear_write) {
        // An instruction fetch, an event delivery's access (its IDT or
        // stack on the page) or a page walk through it: nothing a guest
        // does with a local APIC.
        domains::crash(*v.domain, "APIC-access exit of type %u at offset 0x%x (rip 0x%lx)", type, offset,
                       vmx::read(vmx::Field::guest_rip));
        return;
    }
    unbacked_access(v, vlapic::page_gpa(v) + offset, type == linear_write);
}

// Trap-like (SDM Vol 3C 30.4.3.3): the write is done and RIP is past it;
// the qualification's bits 11:0 say where it went.
void apic_write(Vcpu& v)
{
    vlapic::page_written(v, static_cast<uint32_t>(vmx::read(vmx::Field::exit_qualification) & 0xfff));
}

} // namespace menhir::exit
