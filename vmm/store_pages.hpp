// The xenstore ring page and event channel of a boot-time domU, as Xen's
// toolstack gives every domain: a zeroed page at Xen's PVH special page
// SPECIALPAGE_XENSTORE (gfn 0xfeffc) and a port allocated unbound for dom0,
// in HVM_PARAM_STORE_PFN / HVM_PARAM_STORE_EVTCHN. The hypervisor never
// serves the ring: dom0's xenstored learns both with domctl store_info,
// maps the page and binds the port.
//
// Effectful. The page is mapped as the domain's own RAM and freed with it.
#pragma once
#include <cstdint>

namespace menhir {
struct Domain;
}

namespace menhir::store_pages {

// Gives a new domain (its RAM populated, not yet running) its store page and
// port. False (nothing but an unused RAM page left behind) when memory or a
// port is missing, or its RAM reaches into the special pages.
[[nodiscard]] bool attach(Domain& d);

// domctl store_info: the store page's frame and port; -ENOENT if the
// domain has none (HVM_PARAM_STORE_PFN is 0).
[[nodiscard]] int64_t info(const Domain& d, uint64_t& gfn, uint32_t& port);

} // namespace menhir::store_pages
