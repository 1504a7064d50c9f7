// dom0's pool of frames for foreign and grant mappings: see gfn_pool.hpp.
#include "gfn_pool.hpp"

#include "foreign_window.hpp"
#include "runtime/runtime.hpp"
#include "runtime/xen.hpp"

namespace dom0::gfn_pool {
namespace {

// One console and one xenstore page per domU, with room to spare.
constexpr unsigned CAPACITY = 256;
uint64_t g_free[CAPACITY];
unsigned g_nfree = 0;
unsigned g_made = 0;   // frames ever taken from the runtime

}  // namespace

uint64_t take() {
    if (g_nfree > 0) return g_free[--g_nfree];
    if (g_made == CAPACITY) return 0;
    const uint64_t gfn = guest::alloc_unused_gfn(1);
    if (gfn != 0) ++g_made;
    return gfn;
}

void give(uint64_t gfn) {
    if (gfn != 0 && g_nfree < CAPACITY) g_free[g_nfree++] = gfn;
}

long map_ring(uint16_t domid, uint64_t gfn, uint64_t& local) {
    local = take();
    if (local == 0) return -xen::XEN_ENOMEM;
    const long rc = map_foreign_frame(domid, gfn, local);
    if (rc != 0) {
        give(local);
        local = 0;
    }
    return rc;
}

void unmap_ring(uint64_t local) {
    (void)unmap_frame(local);
    give(local);
}

}  // namespace dom0::gfn_pool
