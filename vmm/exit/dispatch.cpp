// The C++ half of every VM exit: a table lookup by exit reason. The guest's
// registers are already saved (arch/x86/vmx/world_switch.S); after the
// handler, the scheduler runs only if something asked for it.
#include "arch/x86/percpu.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "kernel/console.hpp"
#include "kernel/sched/guest_entry.hpp"
#include "kernel/sched/scheduler.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/handlers.hpp"

namespace menhir {
namespace {

using Handler = void (*)(Vcpu&);
using vmx::ExitReason;

constexpr uint32_t table_size = 128;
constexpr uint64_t console_poll_every = 64;   // a power of two
static_assert((console_poll_every & (console_poll_every - 1)) == 0);
static_assert(vmx::exit_reason_count <= table_size);

constexpr auto make_table()
{
    struct Table { Handler h[table_size]; } t{};
    for (auto& h : t.h) h = exit::unhandled;
    auto set = [&t](ExitReason r, Handler h) { t.h[static_cast<uint16_t>(r)] = h; };
    set(ExitReason::exception_or_nmi, exit::exception_or_nmi);
    set(ExitReason::external_interrupt, exit::external_interrupt);
    set(ExitReason::triple_fault, exit::triple_fault);
    set(ExitReason::init_signal, exit::ignore);
    set(ExitReason::sipi, exit::ignore);
    set(ExitReason::interrupt_window, exit::interrupt_window);
    set(ExitReason::cpuid, exit::cpuid);
    set(ExitReason::hlt, exit::hlt);
    set(ExitReason::invd, exit::skip);
    set(ExitReason::wbinvd, exit::skip);
    set(ExitReason::vmcall, exit::vmcall);
    for (auto r : {ExitReason::vmclear, ExitReason::vmlaunch, ExitReason::vmptrld, ExitReason::vmptrst,
                   ExitReason::vmread, ExitReason::vmresume, ExitReason::vmwrite, ExitReason::vmxoff,
                   ExitReason::vmxon, ExitReason::invept, ExitReason::invvpid, ExitReason::vmfunc,
                   ExitReason::getsec, ExitReason::monitor, ExitReason::mwait})
        set(r, exit::undefined_opcode);
    set(ExitReason::cr_access, exit::cr_access);
    set(ExitReason::task_switch, exit::task_switch);
    set(ExitReason::io_instruction, exit::io);
    set(ExitReason::rdmsr, exit::rdmsr);
    set(ExitReason::wrmsr, exit::wrmsr);
    set(ExitReason::ept_violation, exit::ept_violation);
    set(ExitReason::ept_misconfig, exit::ept_misconfig);
    set(ExitReason::apic_access, exit::apic_access);
    set(ExitReason::apic_write, exit::apic_write);
    set(ExitReason::preemption_timer, exit::preemption_timer);
    set(ExitReason::xsetbv, exit::xsetbv);
    set(ExitReason::invalid_guest_state, exit::entry_failure);
    set(ExitReason::msr_loading, exit::entry_failure);
    set(ExitReason::machine_check, exit::entry_failure);
    return t;
}
constexpr auto handlers = make_table();

} // namespace

extern "C" void vmexit_dispatch()
{
    PerCpu& c = this_cpu();
    __atomic_store_n(&c.in_guest, false, __ATOMIC_SEQ_CST);
    __atomic_store_n(&c.exits, c.exits + 1, __ATOMIC_SEQ_CST);
    Vcpu& v = *c.current;
    // Basic exit reasons are below 128 (SDM Vol 3C Appendix C); the table
    // covers all 128, so a mask replaces a bounds check on the hot path.
    const auto reason = static_cast<uint32_t>(vmx::read(vmx::Field::exit_reason)) & (table_size - 1);
    // Every 64th exit the UART gets a look (console::poll, which only acts
    // on the CPU its IRQ goes to): a guest spinning with IF=0 keeps that
    // interrupt from being taken but cannot keep the console deaf.
    if ((++v.exits & (console_poll_every - 1)) == 0) console::poll();
    handlers.h[reason](v);
    if (c.resched)
        scheduler::schedule();
    else
        scheduler::before_entry(c);
}

// VMLAUNCH/VMRESUME themselves failed (VMfailValid, SDM Vol 3C 31.4).
extern "C" void vmentry_failed()
{
    PerCpu& c = this_cpu();
    // Never got into the guest: not in guest mode for flush_ept_elsewhere.
    __atomic_store_n(&c.in_guest, false, __ATOMIC_SEQ_CST);
    __atomic_store_n(&c.exits, c.exits + 1, __ATOMIC_SEQ_CST);
    Vcpu& v = *c.current;
    domains::crash(*v.domain, "VM entry failed: VM-instruction error %lu (launched %lu, VMCS %s, last exit %lu)",
                   vmx::read(vmx::Field::instruction_error), v.ctx.launched,
                   vmx::current_vmcs() == v.vmcs.value() ? "current" : "not current", vmx::read(vmx::Field::exit_reason));
    scheduler::schedule();
}

} // namespace menhir
