// Frames of dom0's physical space to map other domains' pages at, taken back and handed out again.
#pragma once

#include <stdint.h>

namespace dom0::gfn_pool {

// A frame with nothing behind it (runtime's alloc_unused_gfn never gives
// one twice, so dom0's back ends reuse theirs through this pool); 0 when
// there is none left. The caller unmaps what it mapped before give().
uint64_t take();
void give(uint64_t gfn);

}  // namespace dom0::gfn_pool
