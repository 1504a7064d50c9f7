// grant_table_op: grant tables v1 for PVH guests (host_addr and frame
// numbers are guest-physical). Operations come in arrays of `count`; each
// has its own status, and a bounded number is done per exit.
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/grants.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::hypercall {
namespace {

constexpr uint64_t batch_max = 64;   // operations per exit; the rest continue on re-execution

// Runs `one` on each element of a guest array of T, writing each back.
template <typename T, typename Fn>
int64_t each(Vcpu& v, Args& args, Fn&& one)
{
    const uint64_t ptr = args[1];
    const uint64_t count = args[2];
    const uint64_t n = count < batch_max ? count : batch_max;
    // A chunk of the array at a time: one walk of the guest's page tables in
    // and one out per chunk, not two per operation (dom0's blkback copies
    // or maps 16 segments a request).
    constexpr uint64_t chunk = 16;
    T ops[chunk];
    for (uint64_t i = 0; i < n; i += chunk) {
        const uint64_t k = n - i < chunk ? n - i : chunk;
        if (!guest::copy_from(v, ptr + i * sizeof(T), ops, k * sizeof(T))) return xen::err::efault;
        for (uint64_t j = 0; j < k; ++j) one(ops[j]);
        if (!guest::copy_to(v, ptr + i * sizeof(T), ops, k * sizeof(T))) return xen::err::efault;
    }
    if (n < count) {
        set_arg(args, 1, ptr + n * sizeof(T));
        set_arg(args, 2, count - n);
        return preempted;
    }
    return 0;
}

int64_t setup_table(Vcpu& v, Args& args)
{
    if (args[2] != 1) return xen::err::einval;   // one request, as Xen requires
    xen::GnttabSetupTable s{};
    if (!guest::copy_from(v, args[1], &s, sizeof s)) return xen::err::efault;
    int64_t err = 0;
    Domain* d = target_domain(v, s.dom, err);
    if (!d)
        s.status = err == xen::err::eperm ? xen::gntst_permission_denied : xen::gntst_bad_domain;
    else if (!grants::ensure_frames(*d, s.nr_frames))
        s.status = xen::gntst_general_error;
    else
        s.status = xen::gntst_okay;
    // PVH guests map the frames with XENMAPSPACE_grant_table; frame_list is left alone.
    return guest::copy_to(v, args[1], &s, sizeof s) ? 0 : xen::err::efault;
}

int64_t query_size(Vcpu& v, Args& args)
{
    if (args[2] != 1) return xen::err::einval;
    xen::GnttabQuerySize q{};
    if (!guest::copy_from(v, args[1], &q, sizeof q)) return xen::err::efault;
    int64_t err = 0;
    Domain* d = target_domain(v, q.dom, err);
    if (!d) {
        q.status = err == xen::err::eperm ? xen::gntst_permission_denied : xen::gntst_bad_domain;
    } else {
        q.nr_frames = d->granter.nr_frames;
        q.max_nr_frames = grant::max_frames;
        q.status = xen::gntst_okay;
    }
    return guest::copy_to(v, args[1], &q, sizeof q) ? 0 : xen::err::efault;
}

} // namespace

int64_t grant_table_op(Vcpu& v, Args& args)
{
    Domain& d = *v.domain;
    switch (args[0]) {
    case xen::gnttabop_map_grant_ref:
        return each<xen::GnttabMapGrantRef>(v, args, [&d](xen::GnttabMapGrantRef& op) { op.status = grants::map(d, op); });
    case xen::gnttabop_unmap_grant_ref:
        return each<xen::GnttabUnmapGrantRef>(v, args,
                                              [&d](xen::GnttabUnmapGrantRef& op) { op.status = grants::unmap(d, op); });
    case xen::gnttabop_copy:
        return each<xen::GnttabCopy>(v, args, [&d](xen::GnttabCopy& op) { op.status = grants::copy(d, op); });
    case xen::gnttabop_setup_table: return setup_table(v, args);
    case xen::gnttabop_query_size: return query_size(v, args);
    case xen::gnttabop_get_version: {
        // struct gnttab_get_version { domid_t dom; uint16_t pad; uint32_t version; }: only v1.
        struct { uint16_t dom; uint16_t pad; uint32_t version; } gv{};
        if (!guest::copy_from(v, args[1], &gv, sizeof gv)) return xen::err::efault;
        int64_t err = 0;
        if (!target_domain(v, gv.dom, err)) return err;
        gv.version = 1;
        return guest::copy_to(v, args[1], &gv, sizeof gv) ? 0 : xen::err::efault;
    }
    case xen::gnttabop_set_version: {
        // struct gnttab_set_version { uint32_t version; }, IN and OUT. Only v1
        // exists here, as in a Xen with gnttab max_ver=1 (common/grant_table.c
        // gnttab_set_version): 1 is 0; 2 is -ENOSYS; anything else -EINVAL;
        // and the current version (1) is written back in every case.
        uint32_t version = 0;
        if (!guest::copy_from(v, args[1], &version, sizeof version)) return xen::err::efault;
        const int64_t rc = version == 1 ? 0 : version == 2 ? xen::err::enosys : xen::err::einval;
        version = 1;
        return guest::copy_to(v, args[1], &version, sizeof version) ? rc : xen::err::efault;
    }
    default: return xen::err::enosys;
    }
}

} // namespace menhir::hypercall
