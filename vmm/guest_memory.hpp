// Copies between the hypervisor and a guest's linear addresses, as Xen does
// for hypercall arguments: through the guest's own page tables (whatever
// mode it is in), then through its EPT. Call with the vCPU's VMCS loaded.
#pragma once
#include "vmm/vcpu.hpp"
#include <cstddef>
#include <cstdint>

namespace menhir::guest {
[[nodiscard]] bool copy_from(Vcpu& v, uint64_t linear, void* dst, size_t len);
[[nodiscard]] bool copy_to(Vcpu& v, uint64_t linear, const void* src, size_t len);
// The memory access of a guest instruction the hypervisor carries out for
// it (string I/O): as the CPU would, through any mapping the guest has,
// grant mappings included, with the EPT's permissions.
[[nodiscard]] bool emulated_read(Vcpu& v, uint64_t linear, void* dst, size_t len);
[[nodiscard]] bool emulated_write(Vcpu& v, uint64_t linear, const void* src, size_t len);
// The guest-physical address `linear` maps to, writable, in the guest's own
// page tables now (for areas the hypervisor keeps writing: it pins their
// frames itself).
[[nodiscard]] bool writable_gpa(Vcpu& v, uint64_t linear, uint64_t& gpa);
} // namespace menhir::guest
