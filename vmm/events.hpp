// Event delivery, the mechanism around the port tables of vmm/event_channel:
// marking ports pending in shared_info, the upcall through the callback
// vector a domain registered (HVM_PARAM_CALLBACK_IRQ), waking vCPUs that
// block or poll, and VIRQs.
#pragma once
#include "kernel/lib/spinlock.hpp"
#include "vmm/domain.hpp"

namespace menhir::events {

// One lock for every domain's port table: bindings span two domains.
[[nodiscard]] Spinlock& lock();

// Port `port` of `d` becomes pending (caller holds lock()).
void notify(Domain& d, uint32_t port);
// The VIRQ, if the domain bound it on that vCPU (takes the lock).
void raise_virq(Domain& d, uint32_t virq, uint32_t vcpu = 0);
// dom0's VIRQ_DOM_EXC: a domain shut down or crashed.
void domain_exception();

// Whether the vCPU has an upcall to take (evtchn_upcall_pending).
[[nodiscard]] bool upcall_pending(const Vcpu& v);
// Whether blocking would sleep over work: an upcall with a callback vector
// to take it, or a LAPIC interrupt (or NMI) that can be delivered.
[[nodiscard]] bool work_pending(Vcpu& v);
// Called before a VM entry of the loaded vCPU whose `kick` is set: inject
// the callback vector when the guest can take an interrupt, else ask for an
// interrupt-window exit.
void deliver(Vcpu& v);

// The table lookup the port-table code needs (domain id -> its table).
evtchn::Table* table_of(void* ctx, uint16_t domid);

} // namespace menhir::events
