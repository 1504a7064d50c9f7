// vm_assist: the one assist Xen lets an HVM guest enable, the runstate area's update flag.
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::hypercall {

// As Xen: a type outside the domain's valid mask is -EINVAL, a command other
// than enable or disable -ENOSYS.
int64_t vm_assist(Vcpu& v, Args& args)
{
    const uint64_t cmd = args[0];
    if (args[1] != xen::vmasst_type_runstate_update_flag) return xen::err::einval;
    if (cmd != xen::vmasst_cmd_enable && cmd != xen::vmasst_cmd_disable) return xen::err::enosys;
    __atomic_store_n(&v.domain->runstate_update_flag, cmd == xen::vmasst_cmd_enable, __ATOMIC_RELAXED);
    return 0;
}

} // namespace menhir::hypercall
