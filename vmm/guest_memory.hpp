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
// The same for an access the guest's own instruction makes (a string I/O
// instruction the hypervisor carries out for it): a grant mapping in its
// EPT is used as the CPU would use it, within its read/write rights.
[[nodiscard]] bool copy_from_as_guest(Vcpu& v, uint64_t linear, void* dst, size_t len);
[[nodiscard]] bool copy_to_as_guest(Vcpu& v, uint64_t linear, const void* src, size_t len);
} // namespace menhir::guest
