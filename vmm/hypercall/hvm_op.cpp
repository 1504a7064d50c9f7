// hvm_op: HVM parameters. The store and console parameters read 0 until
// dom0 provides them; a guest may set only its own callback vector.
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::hypercall {
int64_t hvm_op(Vcpu& v, Args& args)
{
    const uint64_t op = args[0];
    if (op != xen::hvmop_get_param && op != xen::hvmop_set_param) return xen::err::enosys;
    xen::HvmParam p{};
    if (!guest::copy_from(v, args[1], &p, sizeof p)) return xen::err::efault;
    if (p.index >= xen::hvm_nr_params) return xen::err::einval;
    int64_t err = 0;
    Domain* d = target_domain(v, p.domid, err);
    if (!d) return err;
    if (op == xen::hvmop_get_param) {
        p.value = d->hvm_params[p.index];
        return guest::copy_to(v, args[1], &p, sizeof p) ? 0 : xen::err::efault;
    }
    if (!v.domain->privileged && p.index != xen::hvm_param_callback_irq) return xen::err::eperm;
    d->hvm_params[p.index] = p.value;
    return 0;
}

} // namespace menhir::hypercall
