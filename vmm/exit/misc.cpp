// The short exit handlers: HLT, faults of the guest that end it, interrupts
// that arrive while a guest runs, and instructions a guest may not use.
#include "arch/x86/cpu.hpp"
#include "arch/x86/fpu.hpp"
#include "kernel/console.hpp"
#include "kernel/sched/scheduler.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "arch/x86/percpu.hpp"
#include "vmm/domain.hpp"
#include "vmm/events.hpp"
#include "vmm/exit/guest_state.hpp"
#include "vmm/exit/handlers.hpp"

namespace menhir::exit {

void hlt(Vcpu& v)
{
    // The vCPU sleeps until it has work (an upcall, a LAPIC interrupt). With interrupts off and
    // nothing pending that is forever, which is the guest's choice, not a crash.
    guest::skip_instruction();
    // HLT usually sits in the shadow of an STI ("sti; hlt"): the shadow ends
    // with it, or the upcall could not be taken before the next instruction.
    vmx::write(vmx::Field::guest_interruptibility, vmx::read(vmx::Field::guest_interruptibility) & ~3ull);
    if (events::work_pending(v)) {
        v.kick = true;
        this_cpu().resched = true;
        return;
    }
    scheduler::block_current();
}

void ept_violation(Vcpu& v)
{
    // Exit qualification (SDM Vol 3C Table 28-7): bits 0-2 the access was a
    // read, write or fetch; bit 7 a linear address goes with it, bit 8 it was
    // the access itself rather than the guest's page walk.
    const uint64_t q = vmx::read(vmx::Field::exit_qualification);
    const uint64_t gpa = vmx::read(vmx::Field::guest_physical_address);
    const bool fetch = q & 4;
    const bool the_access = (q & (1u << 7)) && (q & (1u << 8));
    const bool delivering = vmx::read(vmx::Field::idt_vectoring_info) & (1u << 31);   // an event's IDT/stack access
    // Nothing mapped at all (a page that is mapped read-only, or one of the
    // domain's special pages, keeps crashing it as before): Xen's answer for a
    // PVH domU, all ones and writes dropped.
    if (!fetch && the_access && !delivering && !v.domain->ept().translate(GuestPhys{gpa})) {
        unbacked_access(v, gpa, q & 2);
        return;
    }
    const char* kind = (q & 2) ? "write" : fetch ? "instruction fetch" : "read";
    domains::crash(*v.domain, "EPT violation at gpa 0x%lx %s (rip 0x%lx)", gpa, kind, vmx::read(vmx::Field::guest_rip));
}

void ept_misconfig(Vcpu& v)
{
    domains::crash(*v.domain, "EPT misconfiguration at gpa 0x%lx", vmx::read(vmx::Field::guest_physical_address));
}

void triple_fault(Vcpu& v)
{
    domains::crash(*v.domain, "triple fault (rip 0x%lx)", vmx::read(vmx::Field::guest_rip));
}

void external_interrupt(Vcpu&)
{
    // Not acknowledged on exit: open the interrupt window for one
    // instruction and let the IDT deliver it as usual.
    asm volatile("sti; nop; cli" ::: "memory");
}

void exception_or_nmi(Vcpu& v)
{
    // The exception bitmap is empty, so only NMIs (NMI exiting) arrive here:
    // hand them to the hypervisor's own NMI handler.
    const uint64_t info = vmx::read(vmx::Field::exit_interruption_info);
    if (((info >> 8) & 7) == 2) {
        asm volatile("int $2" ::: "memory");
        return;
    }
    domains::crash(*v.domain, "unexpected exception exit (vector %lu)", info & 0xff);
}

void preemption_timer(Vcpu&) { scheduler::preemption_timer_exit(); }

void interrupt_window(Vcpu& v)
{
    // The guest can take the pending upcall now (events::deliver asked for this exit).
    vmx::write(vmx::Field::proc_controls, vmx::read(vmx::Field::proc_controls) & ~vmx::proc_interrupt_window);
    v.kick = true;
    this_cpu().resched = true;
}

void skip(Vcpu&) { guest::skip_instruction(); }

void undefined_opcode(Vcpu&) { guest::inject_ud(); }

void ignore(Vcpu&) {}

void entry_failure(Vcpu& v)
{
    const auto reason = static_cast<uint32_t>(vmx::read(vmx::Field::exit_reason));
    domains::crash(*v.domain, "VM entry failed: %s (qualification 0x%lx)",
                   vmx::to_string(static_cast<vmx::ExitReason>(reason & 0xffff)),
                   vmx::read(vmx::Field::exit_qualification));
}

void unhandled(Vcpu& v)
{
    const auto reason = static_cast<uint32_t>(vmx::read(vmx::Field::exit_reason)) & 0xffff;
    domains::crash(*v.domain, "unhandled VM exit %u (%s) at rip 0x%lx", reason,
                   vmx::to_string(static_cast<vmx::ExitReason>(reason)), vmx::read(vmx::Field::guest_rip));
}

// XCR0 rules (SDM Vol 1 13.3): x87 always on; AVX needs SSE; MPX's two
// bits go together; AVX-512's three go together and need AVX; AMX's two go
// together; nothing the CPU lacks. A value the CPU would refuse must never
// reach XSETBV here, where its #GP would be the hypervisor's.
bool valid_xcr0(uint64_t value, uint64_t supported)
{
    const auto bit = [value](int b) { return (value >> b) & 1; };
    if (!bit(0) || (value & ~supported)) return false;
    if (bit(2) && !bit(1)) return false;
    if (bit(3) != bit(4)) return false;
    const uint64_t avx512 = (value >> 5) & 7;
    if (avx512 && (avx512 != 7 || !bit(2))) return false;
    if (bit(17) != bit(18)) return false;
    return true;
}

void xsetbv(Vcpu& v)
{
    GuestRegs& r = v.ctx.regs;
    const uint64_t value = (r.rdx << 32) | (r.rax & 0xffffffff);
    const uint64_t supported = fpu::host_xcr0();
    if ((r.rcx & 0xffffffff) != 0 || guest::cpl() != 0 || !valid_xcr0(value, supported)) {
        guest::inject_gp();
        return;
    }
    v.xcr0 = value;
    asm volatile("xsetbv" :: "c"(0), "a"(static_cast<uint32_t>(value)), "d"(static_cast<uint32_t>(value >> 32)));
    guest::skip_instruction();
}

} // namespace menhir::exit
