#include "vmm/pirq.hpp"
#include "arch/x86/idt.hpp"
#include "arch/x86/ioapic.hpp"
#include "arch/x86/percpu.hpp"
#include "kernel/console.hpp"
#include "vmm/events.hpp"

namespace menhir::pirq {
namespace {

constexpr uint32_t isa_irqs = 16;
uint16_t owner[isa_irqs];   // domain id + 1, 0 = nobody

void interrupt(InterruptFrame& f)
{
    const uint32_t irq = static_cast<uint32_t>(f.vector) - vector::ioapic_base;
    if (irq >= isa_irqs || !owner[irq]) return;
    Domain* d = domains::get(owner[irq] - 1u);
    if (!d || d->state != DomainState::running) return;
    SpinGuard g{events::lock()};
    const uint32_t port = evtchn::pirq_port(d->events, irq);
    if (port) events::notify(*d, port);
}

} // namespace

int64_t permit(Domain& d, uint32_t irq, bool allow)
{
    // The UART's IRQ is the hypervisor's own.
    if (irq >= isa_irqs || irq == console::irq() || irq == 0 || irq == 2) return xen::err::einval;
    if (!allow) {
        d.irq_mask = static_cast<uint16_t>(d.irq_mask & ~(1u << irq));
        if (owner[irq] == d.id + 1u) owner[irq] = 0;
        return 0;
    }
    if (owner[irq] && owner[irq] != d.id + 1u) return xen::err::ebusy;
    const auto vec = static_cast<uint8_t>(vector::ioapic_base + irq);
    idt::set_handler(vec, interrupt);
    if (!ioapic::route_isa_irq(static_cast<uint8_t>(irq), vec, percpu::get(0)->apic_id)) return xen::err::enodev;
    d.irq_mask = static_cast<uint16_t>(d.irq_mask | (1u << irq));
    owner[irq] = static_cast<uint16_t>(d.id + 1u);
    info("IRQ %u delegated to domain %u (%s)", irq, d.id, d.name);
    return 0;
}

void release_all(Domain& d)
{
    for (uint32_t irq = 0; irq < isa_irqs; ++irq)
        if (owner[irq] == d.id + 1u) owner[irq] = 0;   // the line stays routed; its interrupts are ignored
    d.irq_mask = 0;
}

} // namespace menhir::pirq
