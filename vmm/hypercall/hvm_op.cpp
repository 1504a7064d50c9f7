// hvm_op: HVM parameters. A boot-time domU finds its console ring in the
// console parameters (vmm/console_rings), its xenstore ring in the store
// parameters (vmm/store_pages); dom0 may set any parameter; a guest may set only its own callback
// (how its event upcalls arrive: only the vector type is offered).
#include "kernel/sched/scheduler.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/events.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::hypercall {
namespace {

int64_t set_callback(Domain& d, uint64_t value)
{
    const uint64_t type = xen::callback_type(value);
    const uint64_t vector = value & 0xff;
    if (value == 0) {
        d.callback_vector = 0;
    } else if (type == xen::hvm_param_callback_type_vector && vector >= 0x20) {
        d.callback_vector = static_cast<uint8_t>(vector);
    } else {
        return xen::err::einval;   // GSI, PCI INTx and PPI callbacks need an emulated interrupt controller
    }
    d.hvm_params[xen::hvm_param_callback_irq] = value;
    // Events that were already pending get their upcall now.
    for (uint32_t i = 0; i < d.vcpu_count; ++i)
        if (events::upcall_pending(*d.vcpus[i])) scheduler::kick(*d.vcpus[i]);
    return 0;
}

} // namespace

int64_t hvm_op(Vcpu& v, Args& args)
{
    const uint64_t op = args[0];
    if (op != xen::hvmop_get_param && op != xen::hvmop_set_param) return xen::err::enosys;
    xen::HvmParam p{};
    if (!guest::copy_from(v, args[1], &p, sizeof p)) return xen::err::efault;
    int64_t err = 0;
    Domain* d = target_domain(v, p.domid, err);
    if (!d) return err;
    if (p.index >= xen::hvm_nr_params) return xen::err::einval;
    if (op == xen::hvmop_get_param) {
        p.value = d->hvm_params[p.index];
        return guest::copy_to(v, args[1], &p, sizeof p) ? 0 : xen::err::efault;
    }
    if (p.index == xen::hvm_param_callback_irq) return set_callback(*d, p.value);
    if (!v.domain->privileged) return xen::err::eperm;
    d->hvm_params[p.index] = p.value;
    return 0;
}

} // namespace menhir::hypercall
