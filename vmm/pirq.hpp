// Physical interrupts delegated to a domain (dom0's device drivers): an ISA
// IRQ line is routed to the hypervisor, and each interrupt becomes an event
// on the port the domain bound to that pirq (EVTCHNOP_bind_pirq).
#pragma once
#include "vmm/domain.hpp"

namespace menhir::pirq {
// domctl irq_permission: give (or take back) ISA IRQ `irq` to d. Xen errno.
[[nodiscard]] int64_t permit(Domain& d, uint32_t irq, bool allow);
// A dying domain gives back every IRQ it had.
void release_all(Domain& d);
} // namespace menhir::pirq
