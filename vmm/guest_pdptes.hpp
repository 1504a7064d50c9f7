// Loading a guest's PDPTEs into the VMCS when the hypervisor emulates what
// would have loaded them (SDM Vol 3C 26.3.2.4: with EPT, VM entry in PAE
// paging mode takes PDPTE0-3 from the guest-state area, not from memory).
#pragma once
#include "vmm/vcpu.hpp"

namespace menhir::guest {
// Reads the four PDPTEs at `cr3` through the domain's EPT and writes them to
// GUEST_PDPTE0-3 of the loaded VMCS. False, with nothing written, if a
// present one has a reserved bit set or the table is not in the guest's RAM
// (which the CPU would read as all-ones, reserved bits included): the
// instruction then takes #GP, as MOV to CR does (SDM Vol 3A 4.4.1).
[[nodiscard]] bool load_pdptes(Vcpu& v, uint64_t cr3);
} // namespace menhir::guest
