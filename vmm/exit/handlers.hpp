// One handler per VM-exit reason; vmm/exit/dispatch.cpp maps reasons to them.
#pragma once
#include "vmm/vcpu.hpp"

namespace menhir::exit {
void cpuid(Vcpu& v);
void vmcall(Vcpu& v);
void io(Vcpu& v);
void rdmsr(Vcpu& v);
void wrmsr(Vcpu& v);
void cr_access(Vcpu& v);
void task_switch(Vcpu& v);         // emulated, vmm/exit/task_switch.cpp
void xsetbv(Vcpu& v);
void hlt(Vcpu& v);
void ept_violation(Vcpu& v);
// A data access to a gpa with nothing mapped, or one the CPU left to Menhir
// on the APIC-access page: decoded and run (vmm/exit/mmio_unbacked.cpp).
void unbacked_access(Vcpu& v, uint64_t gpa, bool write);
void ept_misconfig(Vcpu& v);
void apic_access(Vcpu& v);          // the CPU's xAPIC virtualisation, vmm/exit/apic.cpp
void apic_write(Vcpu& v);
void triple_fault(Vcpu& v);
void external_interrupt(Vcpu& v);
void exception_or_nmi(Vcpu& v);
void preemption_timer(Vcpu& v);
void interrupt_window(Vcpu& v);
void skip(Vcpu& v);                 // INVD, WBINVD: nothing to do but move on
void undefined_opcode(Vcpu& v);     // VMX instructions, MONITOR/MWAIT: #UD, as on a CPU without them
void ignore(Vcpu& v);               // INIT while in VMX non-root
void entry_failure(Vcpu& v);        // VM entry checked the guest state and refused it (SDM Vol 3C 27.8)
void unhandled(Vcpu& v);            // anything else crashes the domain
} // namespace menhir::exit
