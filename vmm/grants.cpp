#include "vmm/grants.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/mm/frame_refs.hpp"
#include "kernel/mm/memory.hpp"

namespace menhir::grants {
namespace {

Spinlock grant_lock;

// The host frame behind a granter's guest frame, which must be its own RAM
// (the EPT software bit): a grant or foreign mapping, or one of its special
// pages, would let the grant outlive whatever keeps that frame mapped. As
// Xen answers: a hole (or a read-only frame asked for writing) is
// GNTST_bad_page (get_paged_frame), a frame the granter does not own is
// GNTST_general_error (map_grant_ref's "Could not pin grant frame").
// On success the caller holds a frame reference (frame_refs::put it), taken
// under the granter's p2m_lock: the granter removing the page meanwhile
// cannot free it under a copy or before the mapping takes its own.
int16_t get_granted_frame(Domain& granter, uint64_t gfn, bool write, HostPhys& frame)
{
    if (gfn >= ept::Format::max_phys / page_size) return xen::gntst_bad_page;
    SpinGuard g{granter.p2m_lock};
    auto t = granter.ept().translate(GuestPhys{gfn * page_size});
    if (!t || !t->flags.read || (write && !t->flags.write)) return xen::gntst_bad_page;
    if (!t->flags.owned) return xen::gntst_general_error;
    frame = t->phys.align_down(page_size);
    return frame_refs::get(frame) ? xen::gntst_okay : xen::gntst_general_error;
}

} // namespace

bool ensure_frames(Domain& d, uint32_t frames)
{
    if (frames > grant::max_frames) return false;
    if (!d.grant_frames.value()) {
        auto f = memory::alloc_frames(grant::max_frames);
        if (!f) return false;
        __builtin_memset(phys_to_virt(*f), 0, grant::max_frames * page_size);
        d.grant_frames = *f;
    }
    if (d.granter.nr_frames < frames) d.granter.nr_frames = frames;
    return true;
}

xen::GrantEntryV1* entries(Domain& d)
{
    return d.grant_frames.value() ? phys_to_virt<xen::GrantEntryV1>(d.grant_frames) : nullptr;
}

int16_t map(Domain& mapper, xen::GnttabMapGrantRef& op)
{
    // Xen's answers: neither kind of mapping asked for is a bad ref; a device
    // mapping (or a PTE-based one) makes no sense for a PVH mapper.
    if (!(op.flags & (xen::gntmap_host_map | xen::gntmap_device_map))) return xen::gntst_bad_gntref;
    if (op.flags & (xen::gntmap_device_map | xen::gntmap_contains_pte | xen::gntmap_application_map))
        return xen::gntst_general_error;
    if (op.host_addr & (page_size - 1)) return xen::gntst_bad_virt_addr;
    const bool readonly = op.flags & xen::gntmap_readonly;
    SpinGuard g{grant_lock};
    Domain* granter = domains::get(op.dom);   // a real id: DOMID_SELF names no granter here
    if (!granter || granter->state == DomainState::dying || !entries(*granter)) return xen::gntst_bad_domain;
    if (mapper.maptrack.mapped_at(op.host_addr)) return xen::gntst_bad_virt_addr;
    uint32_t gfn = 0;
    const int16_t st = grant::pin(granter->granter, entries(*granter), op.ref, mapper.id, readonly, gfn);
    if (st != xen::gntst_okay) return st;
    HostPhys frame{0};
    const int16_t frame_st = get_granted_frame(*granter, gfn, !readonly, frame);
    int64_t handle = -1;
    if (frame_st == xen::gntst_okay)
        handle = mapper.maptrack.add(
            grant::Mapping{true, granter->id, op.ref, op.host_addr, readonly, frame.value(), granter->generation});
    const MapStatus mapped = frame_st == xen::gntst_okay && handle >= 0
                                 ? mapper.map_foreign_page(op.host_addr / page_size, frame, !readonly, Mapped::grant)
                                 : MapStatus::ok;
    if (frame_st == xen::gntst_okay) frame_refs::put(frame);   // the mapping holds its own now, if made
    if (frame_st != xen::gntst_okay || handle < 0 || mapped != MapStatus::ok) {
        if (handle >= 0) {
            grant::Mapping dropped{};
            (void)mapper.maptrack.remove(static_cast<uint32_t>(handle), op.host_addr, dropped);
        }
        (void)grant::unpin(granter->granter, entries(*granter), op.ref, readonly);
        // Xen's create_grant_p2m_mapping answers any failure to change the
        // physical map with GNTST_general_error.
        return frame_st != xen::gntst_okay ? frame_st : handle < 0 ? xen::gntst_no_device_space : xen::gntst_general_error;
    }
    op.handle = static_cast<xen::GrantHandle>(handle);
    op.dev_bus_addr = 0;
    return xen::gntst_okay;
}

namespace {

// Drops the pin a mapping holds on its granter's entry, if the granter is
// still there: the same domain, not a newer one with its id, and not being
// torn down (the frame itself is kept by the mapping's frame reference).
void release_pin(const grant::Mapping& m)
{
    Domain* granter = domains::get(m.granter);
    if (granter && granter->generation == m.granter_generation && granter->state != DomainState::dying &&
        entries(*granter))
        (void)grant::unpin(granter->granter, entries(*granter), m.ref, m.readonly);
}

} // namespace

int16_t unmap(Domain& mapper, xen::GnttabUnmapGrantRef& op)
{
    SpinGuard g{grant_lock};
    grant::Mapping m{};
    const int16_t st = mapper.maptrack.remove(op.handle, op.host_addr, m);
    if (st != xen::gntst_okay) return st;
    (void)mapper.unmap_page(m.gpa / page_size);
    release_pin(m);
    return xen::gntst_okay;
}

void retire(Domain& mapper)
{
    SpinGuard g{grant_lock};
    mapper.state = DomainState::dying;
    for (uint32_t h = 0; h < grant::max_maptrack; ++h) {
        const grant::Mapping* found = mapper.maptrack.find(h);
        if (!found) continue;
        grant::Mapping m{};
        // The EPT entries go with the mapper's EPT (each puts its frame reference).
        if (mapper.maptrack.remove(h, found->gpa, m) == xen::gntst_okay) release_pin(m);
    }
}

int16_t copy(Domain& caller, const xen::GnttabCopy& op)
{
    if (const int16_t st = grant::check_copy(op); st != xen::gntst_okay) return st;
    SpinGuard g{grant_lock};
    // Each side is a grant ref of another domain or a frame of the caller's own.
    struct Side { Domain* d; uint32_t ref; bool is_ref; bool pinned; bool referenced; HostPhys frame; };
    Side sides[2]{};
    const xen::GnttabCopyPtr* ptrs[2] = {&op.source, &op.dest};
    const bool is_ref[2] = {(op.flags & xen::gntcopy_source_gref) != 0, (op.flags & xen::gntcopy_dest_gref) != 0};
    int16_t status = xen::gntst_okay;
    for (int i = 0; i < 2 && status == xen::gntst_okay; ++i) {
        const bool write = i == 1;
        Side& s = sides[i];
        s.is_ref = is_ref[i];
        if (s.is_ref) {
            s.d = domains::get(ptrs[i]->domid == xen::domid_self ? caller.id : ptrs[i]->domid);
            if (!s.d || s.d->state == DomainState::dying || !entries(*s.d)) { status = xen::gntst_bad_domain; break; }
            s.ref = static_cast<uint32_t>(ptrs[i]->ref_or_gmfn);
            uint32_t gfn = 0;
            status = grant::pin(s.d->granter, entries(*s.d), s.ref, caller.id, !write, gfn);
            if (status != xen::gntst_okay) break;
            s.pinned = true;
            status = get_granted_frame(*s.d, gfn, write, s.frame);
        } else {
            // The caller's own RAM only, under the same rule as a grant.
            s.d = &caller;
            status = get_granted_frame(caller, ptrs[i]->ref_or_gmfn, write, s.frame);
        }
        s.referenced = status == xen::gntst_okay;
    }
    // Each frame is held by a reference of ours, so a remove_from_physmap on
    // another vCPU cannot free it during the copy.
    if (status == xen::gntst_okay)
        __builtin_memcpy(phys_to_virt<uint8_t>(sides[1].frame) + op.dest.offset,
                         phys_to_virt<uint8_t>(sides[0].frame) + op.source.offset, op.len);
    for (int i = 0; i < 2; ++i) {
        if (sides[i].referenced) frame_refs::put(sides[i].frame);
        if (sides[i].pinned) (void)grant::unpin(sides[i].d->granter, entries(*sides[i].d), sides[i].ref, i == 0);
    }
    return status;
}

} // namespace menhir::grants
