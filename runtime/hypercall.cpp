#include "hypercall.hpp"

#include "runtime.hpp"
#include "x86.hpp"

namespace guest {

uint8_t* hypercall_page_in_use = nullptr;

namespace {
// Filled by the hypervisor; executed in place (our page tables have no NX).
alignas(4096) uint8_t hypercall_page_storage[4096];
}  // namespace

bool hypercall_page_install() {
    uint32_t base = xen_cpuid_base();
    if (base == 0) return false;
    CpuidRegs r = cpuid(base + 2);
    if (r.eax == 0) return false;  // no hypercall pages offered
    // Value: guest-physical page address; low 12 bits pick the page (0).
    wrmsr(r.ebx, reinterpret_cast<uintptr_t>(hypercall_page_storage));
    hypercall_page_in_use = hypercall_page_storage;
    return true;
}

long hvm_get_param(uint32_t index, uint64_t* value) {
    xen::xen_hvm_param p{xen::DOMID_SELF, 0, index, 0};
    long rc = hvm_op(xen::HVMOP_get_param, &p);
    if (rc == 0) *value = p.value;
    return rc;
}

long hvm_set_param(uint32_t index, uint64_t value) {
    xen::xen_hvm_param p{xen::DOMID_SELF, 0, index, value};
    return hvm_op(xen::HVMOP_set_param, &p);
}

}  // namespace guest
