// One of Xen's HVM special pages (console ring, xenstore ring) that the hypervisor gives a boot-time domU.
#pragma once
#include <cstdint>

#include "kernel/lib/types.hpp"

namespace menhir {
struct Domain;

namespace special_page {

// Maps a zeroed frame at `gfn` as the domain's own RAM (freed with it) and
// allocates an unbound port in it for dom0, whose back end binds it later.
// False (nothing mapped) if there is no frame or the map fails; true with
// port 0 if no port was free (the page then stays ordinary RAM).
[[nodiscard]] bool give(Domain& d, uint64_t gfn, HostPhys& frame, uint32_t& port);

} // namespace special_page
} // namespace menhir
