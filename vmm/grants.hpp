// Grant tables v1, the mechanism around vmm/grant_table's checks: the
// granter's table frames, mapping granted frames into the mapper's EPT,
// and copies. A granted frame stays alive while mapped (kernel/mm/frame_refs).
#pragma once
#include "vmm/domain.hpp"

namespace menhir::grants {

// Makes at least `frames` grant-table frames exist for d; false if out of
// memory or more than grant::max_frames.
[[nodiscard]] bool ensure_frames(Domain& d, uint32_t frames);
[[nodiscard]] xen::GrantEntryV1* entries(Domain& d);

// GNTTABOP_map_grant_ref / unmap_grant_ref / copy for one operation each;
// return a GNTST_* status.
[[nodiscard]] int16_t map(Domain& mapper, xen::GnttabMapGrantRef& op);
[[nodiscard]] int16_t unmap(Domain& mapper, xen::GnttabUnmapGrantRef& op);
[[nodiscard]] int16_t copy(Domain& caller, const xen::GnttabCopy& op);

// A domain whose teardown starts: marks it dying under the grant lock (no
// map or copy of its grants starts after; one in progress has finished) and
// unmaps everything it still has mapped of others.
void retire(Domain& d);

} // namespace menhir::grants
