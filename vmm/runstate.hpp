// A vCPU's runstate area: the vcpu_runstate_info a guest registers (VCPUOP_register_runstate_memory_area), kept current at each switch.
#pragma once
#include "vmm/vcpu.hpp"

namespace menhir::runstate {

// VCPUOP_register_runstate_memory_area from `caller` for `target`: `linear`
// is the area's address in the caller's address space (0 stops updates).
// The pages are pinned at registration (Xen translates the address again at
// every update, which fails while a KPTI guest runs on its user page tables).
[[nodiscard]] int64_t register_area(Vcpu& caller, Vcpu& target, uint64_t linear);
// VCPUOP_get_runstate_info: the record as it is now.
[[nodiscard]] xen::VcpuRunstateInfo snapshot(Vcpu& v);
// The scheduler's hooks, on the vCPU's own CPU.
void loaded(Vcpu& v, uint64_t now);
void unloaded(Vcpu& v, bool blocked, uint64_t now);
// Drops the pinned pages (domain teardown).
void release(Vcpu& v);

} // namespace menhir::runstate
