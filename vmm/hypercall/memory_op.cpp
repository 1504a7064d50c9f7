// memory_op: the guest's memory map, its reservation (and ballooning within
// it), and placing the shared_info page in its physical address space.
#include "kernel/mm/frame_refs.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/abi/xen_console.hpp"
#include "vmm/domain.hpp"
#include "vmm/grants.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"
#include "vmm/pvh_start_info.hpp"

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
    // The same map as hvm_start_info's (the planner makes both): the
    // domain's RAM from 0, its ACPI page when its builder gave it tables,
    // and the special pages reserved when it has its console ring there.
    // As Xen, a shorter buffer gets the first entries.
    const Domain& d = *v.domain;
    pvh::BootInput in{};
    in.memory_bytes = d.memory_bytes;
    if (d.hvm_params[xen::hvm_param_console_pfn] == xen::special_console_gfn) {
        in.special_base = xen::special_first_gfn * page_size;
        in.special_bytes = xen::special_pages * page_size;
    }
    in.acpi_vcpus = d.acpi_tables ? d.vcpu_count : 0;
    pvh::MemmapEntry planned[pvh::max_memmap]{};
    const uint32_t count = pvh::memory_map(in, planned);
    if (map.nr_entries < 1 || count == 0) return xen::err::einval;
    xen::E820Entry table[pvh::max_memmap]{};
    for (uint32_t i = 0; i < count; ++i) table[i] = xen::E820Entry{planned[i].addr, planned[i].size, planned[i].type};
    const uint32_t entries = map.nr_entries < count ? map.nr_entries : count;
    if (!guest::copy_to(v, map.buffer, table, entries * sizeof table[0])) return xen::err::efault;
    return guest::copy_to(v, args[1], &entries, sizeof entries) ? 0 : xen::err::efault;
}

int64_t reservation(Vcpu& v, Args& args, bool current)
{
    uint16_t domid = 0;
    if (!guest::copy_from(v, args[1], &domid, sizeof domid)) return xen::err::efault;
    int64_t err = 0;
    Domain* d = target_domain(v, domid, err);
    if (!d) return err;
    // Xen: tot_pages and max_pages. Ballooning moves the first only.
    return static_cast<int64_t>(current ? d->ram_pages() : d->memory_bytes / page_size);
}

struct MemoryReservation32 {
    uint32_t extent_start;
    uint32_t nr_extents;
    uint32_t extent_order;
    uint32_t mem_flags;
    uint16_t domid;
    uint16_t pad;
};
static_assert(sizeof(MemoryReservation32) == 20);

// XENMEM_decrease_reservation (out) and XENMEM_populate_physmap (in) on a
// domain's own RAM: extents of 2^extent_order pages at the gfns of the
// list. As in Xen (common/memory.c), the answer is the number of extents
// done; whatever stops the call (a bad argument, a page that is not its RAM,
// a gfn already in use, the reservation full) just ends the count there.
// A bounded number of pages per exit; the rest continues with the start
// extent in the command's upper bits (MEMOP_EXTENT_SHIFT), as Xen's does.
int64_t balloon(Vcpu& v, Args& args, bool out)
{
    const uint64_t cmd = args[0];
    const uint64_t start = cmd >> xen::memop_extent_shift;
    xen::MemoryReservation r{};
    if (args.is64) {
        if (!guest::copy_from(v, args[1], &r, sizeof r)) return static_cast<int64_t>(start);
    } else {
        MemoryReservation32 c{};
        if (!guest::copy_from(v, args[1], &c, sizeof c)) return static_cast<int64_t>(start);
        r = xen::MemoryReservation{c.extent_start, c.nr_extents, c.extent_order, c.mem_flags, c.domid, {}};
    }
    if (r.nr_extents > (0xffffffffull >> xen::memop_extent_shift) || start >= r.nr_extents)
        return static_cast<int64_t>(start);
    int64_t err = 0;
    Domain* d = target_domain(v, r.domid, err);
    if (!d || !d->populated || r.extent_order > xen::domu_max_order) return static_cast<int64_t>(start);
    const uint64_t extent_pages = 1ull << r.extent_order;
    const uint64_t pfn_bytes = args.is64 ? 8 : 4;   // xen_pfn_t is an unsigned long
    constexpr uint64_t pages_per_exit = 512;
    uint64_t pages = 0;
    uint64_t i = start;
    for (; i < r.nr_extents; ++i) {
        if (i != start && pages + extent_pages > pages_per_exit) {
            set_arg(args, 0, (cmd & xen::memop_cmd_mask) | (i << xen::memop_extent_shift));
            return preempted;
        }
        uint64_t gfn = 0;
        if (!guest::copy_from(v, r.extent_start + i * pfn_bytes, &gfn, pfn_bytes)) break;
        const uint64_t done = out ? d->balloon_out(gfn, extent_pages) : d->balloon_in(gfn, extent_pages);
        pages += done;
        if (done != extent_pages) break;
    }
    return static_cast<int64_t>(i);
}

// Xen's errno for a physical-map change that did not happen: a frame number
// it cannot map there is -EINVAL, running out of paging memory -ENOMEM.
int64_t errno_of(MapStatus st)
{
    switch (st) {
    case MapStatus::ok: return 0;
    case MapStatus::bad_gfn: return xen::err::einval;
    case MapStatus::not_mapped: return xen::err::enoent;
    case MapStatus::no_memory:
    case MapStatus::too_many: return xen::err::enomem;
    }
    return xen::err::einval;
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
        return errno_of(d->map_special_page(0, d->shared_info, a.gpfn));
    }
    case xen::xenmapspace_grant_table: {
        // Bit 31 asks for a v2 status frame: only v1 is offered.
        if (a.idx >= grant::max_frames) return xen::err::einval;
        if (!grants::ensure_frames(*d, static_cast<uint32_t>(a.idx) + 1)) return xen::err::enomem;
        const auto slot = static_cast<uint32_t>(1 + a.idx);
        return errno_of(d->map_special_page(slot, d->grant_frames + a.idx * page_size, a.gpfn));
    }
    default:
        return xen::err::einval;
    }
}

// dom0 maps frames of another domain into its own physical space (to load a
// kernel into it), as a PVH dom0 does on Xen. Each entry has its own error.
int64_t add_to_physmap_batch(Vcpu& v, Args& args)
{
    xen::AddToPhysmapBatch b{};
    if (!args.is64 || !guest::copy_from(v, args[1], &b, sizeof b)) return xen::err::efault;
    if (b.space != xen::xenmapspace_gmfn_foreign) return xen::err::eopnotsupp;
    if (!v.domain->privileged) return xen::err::eperm;
    Domain& self = *v.domain;
    if (b.domid != xen::domid_self && b.domid != self.id) return xen::err::einval;
    Domain* foreign = domains::get(b.foreign_domid);
    if (!foreign || foreign == &self || foreign->state == DomainState::dying) return xen::err::esrch;
    constexpr uint16_t batch_max = 256;
    const uint16_t n = b.size < batch_max ? b.size : batch_max;
    for (uint16_t i = 0; i < n; ++i) {
        uint64_t idx = 0, gpfn = 0;
        if (!guest::copy_from(v, b.idxs + i * 8ull, &idx, 8) || !guest::copy_from(v, b.gpfns + i * 8ull, &gpfn, 8))
            return xen::err::efault;
        // Only the other domain's own RAM (not what it maps of others): each
        // mapping holds a reference, so the frame outlives that domain if
        // dom0 keeps it mapped.
        auto frame = foreign->get_own_frame(idx, true);
        const int64_t rc = frame ? errno_of(self.map_foreign_page(gpfn, *frame, true)) : xen::err::einval;
        if (frame) frame_refs::put(*frame);   // the mapping holds its own, if made
        const auto err = static_cast<int32_t>(rc);
        if (!guest::copy_to(v, b.errs + i * 4ull, &err, 4)) return xen::err::efault;
    }
    if (n < b.size) {   // continue with the rest on re-execution
        b.idxs += n * 8ull;
        b.gpfns += n * 8ull;
        b.errs += n * 4ull;
        b.size = static_cast<uint16_t>(b.size - n);
        if (!guest::copy_to(v, args[1], &b, sizeof b)) return xen::err::efault;
        return preempted;
    }
    return 0;
}

int64_t remove_from_physmap(Vcpu& v, Args& args)
{
    xen::RemoveFromPhysmap r{};
    if (!guest::copy_from(v, args[1], &r, sizeof r)) return xen::err::efault;
    int64_t err = 0;
    Domain* d = target_domain(v, r.domid, err);
    if (!d) return err;
    return errno_of(d->unmap_page(r.gpfn));
}

} // namespace

int64_t memory_op(Vcpu& v, Args& args)
{
    switch (args[0] & xen::memop_cmd_mask) {
    case xen::xenmem_memory_map: return memory_map(v, args);
    case xen::xenmem_decrease_reservation: return balloon(v, args, true);
    case xen::xenmem_populate_physmap: return balloon(v, args, false);
    case xen::xenmem_current_reservation: return reservation(v, args, true);
    case xen::xenmem_maximum_reservation: return reservation(v, args, false);
    case xen::xenmem_maximum_ram_page: return static_cast<int64_t>(memory::stats().total_frames);
    case xen::xenmem_add_to_physmap: return add_to_physmap(v, args);
    case xen::xenmem_add_to_physmap_batch: return add_to_physmap_batch(v, args);
    case xen::xenmem_remove_from_physmap: return remove_from_physmap(v, args);
    default: return xen::err::enosys;
    }
}

} // namespace menhir::hypercall
