#include "vmm/events.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "kernel/sched/scheduler.hpp"
#include "vmm/vlapic.hpp"

namespace menhir::events {
namespace {

Spinlock event_lock;

constexpr uint64_t rflags_if = 1u << 9;
constexpr uint64_t blocking_sti_movss = 3;   // interruptibility state bits 0-1 (SDM Vol 3C 25.4.2)
constexpr uint32_t injection_valid = 1u << 31;

} // namespace

Spinlock& lock() { return event_lock; }

evtchn::Table* table_of(void*, uint16_t domid)
{
    Domain* d = domains::get(domid);
    return d ? &d->events : nullptr;
}

void notify(Domain& d, uint32_t port)
{
    if (port >= evtchn::max_ports) return;
    const uint32_t vcpu = d.events.ports[port].vcpu;
    if (vcpu >= d.vcpu_count) return;
    Vcpu& v = *d.vcpus[vcpu];
    if (evtchn::set_pending(*d.shared(), *v.info, port)) scheduler::kick(v);
    // SCHEDOP_poll waits for ports even while they are masked.
    for (uint32_t i = 0; i < d.vcpu_count; ++i)
        if (d.vcpus[i]->polling) scheduler::kick(*d.vcpus[i]);
}

void raise_virq(Domain& d, uint32_t virq, uint32_t vcpu)
{
    SpinGuard g{event_lock};
    const uint32_t port = evtchn::virq_port(d.events, virq, vcpu);
    if (port) notify(d, port);
}

void domain_exception()
{
    if (Domain* dom0 = domains::get(0)) raise_virq(*dom0, xen::virq_dom_exc);
}

bool upcall_pending(const Vcpu& v) { return __atomic_load_n(&v.info->evtchn_upcall_pending, __ATOMIC_SEQ_CST); }

bool work_pending(Vcpu& v) { return (upcall_pending(v) && v.domain->callback_vector) || vlapic::pending(v); }

void deliver(Vcpu& v)
{
    // Clear the kick before looking: a notify() racing with us then sets it
    // again (and pokes this CPU), instead of being lost.
    v.kick = false;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    const uint8_t vector = v.domain->callback_vector;
    const bool callback = vector && upcall_pending(v);
    if (!callback && !vlapic::pending(v)) return;
    const bool can_take = (vmx::read(vmx::Field::guest_rflags) & rflags_if) &&
                          !(vmx::read(vmx::Field::guest_interruptibility) & blocking_sti_movss) &&
                          !(vmx::read(vmx::Field::entry_interruption_info) & injection_valid);
    bool left = false;
    if (callback && can_take) {
        // The callback vector first, beside the LAPIC (no IRR/ISR/EOI, as
        // Xen's HVMIRQ_callback_vector): an external interrupt (type 0, SDM Vol 3C 26.6).
        vmx::write(vmx::Field::entry_interruption_info, vector | injection_valid);
        (void)vlapic::inject(v, false, left);   // only says whether a vector waits for the window
    } else {
        (void)vlapic::inject(v, can_take, left);
        left = left || callback;
    }
    if (!left) return;
    // Come back as soon as it can (the interrupt-window exit kicks again).
    v.kick = true;
    vmx::write(vmx::Field::proc_controls, vmx::read(vmx::Field::proc_controls) | vmx::proc_interrupt_window);
}

} // namespace menhir::events
