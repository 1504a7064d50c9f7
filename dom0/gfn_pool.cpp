// dom0's pool of frames for foreign and grant mappings: see gfn_pool.hpp.
#include "gfn_pool.hpp"

#include "runtime/runtime.hpp"

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

}  // namespace dom0::gfn_pool
