// vcpu_op: what a guest may ask about its own vCPUs.
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::hypercall {

int64_t vcpu_op(Vcpu& v, Args& args)
{
    const uint64_t cmd = args[0];
    const uint64_t id = args[1];
    Domain& d = *v.domain;
    if (id >= d.vcpu_count) return xen::err::enoent;
    switch (cmd) {
    case xen::vcpuop_is_up:
        return d.vcpus[id]->up ? 1 : 0;
    default:
        return xen::err::enosys;
    }
}

} // namespace menhir::hypercall
