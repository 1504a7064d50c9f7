// Frames of dom0's physical space to map other domains' pages at, taken back and handed out again.
#pragma once

#include <stdint.h>

namespace dom0::gfn_pool {

// A frame with nothing behind it (runtime's alloc_unused_gfn never gives
// one twice, so dom0's back ends reuse theirs through this pool); 0 when
// there is none left. The caller unmaps what it mapped before give().
uint64_t take();
void give(uint64_t gfn);

// A back end's ring page: frame `gfn` of domain `domid` mapped at a frame
// of the pool, which goes in `local`. 0, or Xen's -errno (-ENOMEM: the pool
// is empty) with nothing left mapped or taken.
[[nodiscard]] long map_ring(uint16_t domid, uint64_t gfn, uint64_t& local);
// Unmaps it and gives its frame back.
void unmap_ring(uint64_t local);

}  // namespace dom0::gfn_pool
