// memory_op: the guest's memory map, its reservation, and placing the
// shared_info page in its physical address space.
#include "kernel/mm/memory.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::hypercall {
namespace {

// The 32-bit (compat) layouts: guest handles and unsigned longs are 4 bytes.
struct MemoryMap32 { uint32_t nr_entries; uint32_t buffer; };
struct AddToPhysmap32 { uint16_t domid; uint16_t size; uint32_t space; uint32_t idx; uint32_t gpfn; };
static_assert(sizeof(MemoryMap32) == 8 && sizeof(AddToPhysmap32) == 16);

int64_t memory_map(Vcpu& v, Args& args)
{
    xen::MemoryMap map{};
    if (args.is64) {
        if (!guest::copy_from(v, args[1], &map, sizeof map)) return xen::err::efault;
    } else {
        MemoryMap32 m{};
        if (!guest::copy_from(v, args[1], &m, sizeof m)) return xen::err::efault;
        map = xen::MemoryMap{m.nr_entries, 0, m.buffer};
    }
    // The same map as hvm_start_info's: all of the domain's RAM from 0.
    const xen::E820Entry ram{0, v.domain->memory_bytes, 1};
    if (map.nr_entries < 1) return xen::err::einval;
    if (!guest::copy_to(v, map.buffer, &ram, sizeof ram)) return xen::err::efault;
    const uint32_t entries = 1;
    return guest::copy_to(v, args[1], &entries, sizeof entries) ? 0 : xen::err::efault;
}

int64_t reservation(Vcpu& v, Args& args)
{
    uint16_t domid = 0;
    if (!guest::copy_from(v, args[1], &domid, sizeof domid)) return xen::err::efault;
    int64_t err = 0;
    Domain* d = target_domain(v, domid, err);
    return d ? static_cast<int64_t>(d->memory_bytes / page_size) : err;
}

int64_t add_to_physmap(Vcpu& v, Args& args)
{
    xen::AddToPhysmap a{};
    if (args.is64) {
        if (!guest::copy_from(v, args[1], &a, sizeof a)) return xen::err::efault;
    } else {
        AddToPhysmap32 c{};
        if (!guest::copy_from(v, args[1], &c, sizeof c)) return xen::err::efault;
        a = xen::AddToPhysmap{c.domid, c.size, c.space, c.idx, c.gpfn};
    }
    int64_t err = 0;
    Domain* d = target_domain(v, a.domid, err);
    if (!d) return err;
    switch (a.space) {
    case xen::xenmapspace_shared_info: {
        if (a.idx != 0) return xen::err::einval;
        return d->map_foreign_page(a.gpfn, d->shared_info, true) ? 0 : xen::err::einval;
    }
    default:
        return xen::err::einval;
    }
}

} // namespace

int64_t memory_op(Vcpu& v, Args& args)
{
    switch (args[0] & xen::memop_cmd_mask) {
    case xen::xenmem_memory_map: return memory_map(v, args);
    case xen::xenmem_current_reservation:
    case xen::xenmem_maximum_reservation: return reservation(v, args);
    case xen::xenmem_maximum_ram_page: return static_cast<int64_t>(memory::stats().total_frames);
    case xen::xenmem_add_to_physmap: return add_to_physmap(v, args);
    default: return xen::err::enosys;
    }
}

} // namespace menhir::hypercall
