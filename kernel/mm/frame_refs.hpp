// Extra references to physical frames: a frame that one domain owns may be
// mapped into others (grants, dom0's foreign mappings) or into its owner at
// a second place (shared_info, grant frames, a registered vcpu_info). The
// owner's release of a frame that is still referenced only marks it; the
// last put() frees it. So no mapping ever outlives its frame.
//
// Counts are 31 bits. Every reference belongs to a mapping or a vcpu_info
// that a per-domain limit bounds (docs/abi.md, "Per-domain limits"), so the
// sum over all domains stays far below that; get() still refuses rather
// than wrap if it were ever reached.
#pragma once
#include "kernel/lib/types.hpp"

namespace menhir::frame_refs {
inline constexpr uint32_t max_count = 0x7fff'ffff;
void init(uint64_t frames);          // frames = highest frame number + 1 (boot)
// One more reference; false (and nothing taken) at max_count.
[[nodiscard]] bool get(HostPhys frame);
void put(HostPhys frame);            // frees a released frame when its last reference goes
void release(HostPhys frame);        // the owner is done with it: free now, or at the last put()
[[nodiscard]] uint32_t count(HostPhys frame);
} // namespace menhir::frame_refs
