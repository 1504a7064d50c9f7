// Xen's console ring page (public io/console.h, struct xencons_interface)
// and where a PVH domain finds it (the toolstack's HVM special pages).
// Menhir's own rendering of the layout; shared by the hypervisor, dom0 and
// the test guests. Host-testable.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::xen {

using XenconsRingIdx = uint32_t;   // XENCONS_RING_IDX

// One page shared by the guest (front end) and its console back end. The
// guest produces out[] and consumes in[]; indices run freely and are masked
// with the ring size (MASK_XENCONS_IDX); the back end owns in_prod and
// out_cons, the guest in_cons and out_prod.
struct XenconsInterface {
    char in[1024];
    char out[2048];
    XenconsRingIdx in_cons, in_prod;
    XenconsRingIdx out_cons, out_prod;
};
static_assert(__builtin_offsetof(XenconsInterface, in) == 0);
static_assert(__builtin_offsetof(XenconsInterface, out) == 1024);
static_assert(__builtin_offsetof(XenconsInterface, in_cons) == 3072);
static_assert(__builtin_offsetof(XenconsInterface, in_prod) == 3076);
static_assert(__builtin_offsetof(XenconsInterface, out_cons) == 3080);
static_assert(__builtin_offsetof(XenconsInterface, out_prod) == 3084);
static_assert(sizeof(XenconsInterface) == 3088 && sizeof(XenconsInterface) <= 4096);
inline constexpr uint32_t xencons_in_size = sizeof(XenconsInterface{}.in);
inline constexpr uint32_t xencons_out_size = sizeof(XenconsInterface{}.out);
static_assert((xencons_in_size & (xencons_in_size - 1)) == 0 && (xencons_out_size & (xencons_out_size - 1)) == 0,
              "ring sizes are powers of two: indices are masked");

// Xen's PVH toolstack (libxl/libxc, X86_HVM_END_SPECIAL_REGION and
// X86_HVM_NR_SPECIAL_PAGES) puts eight special pages just below 0xff000000,
// outside RAM and e820-reserved: frame special_first_gfn + 7
// (SPECIALPAGE_CONSOLE) is the console ring, + 4 (SPECIALPAGE_XENSTORE) the
// xenstore ring.
inline constexpr uint64_t special_end_gfn = 0xff000;
inline constexpr uint64_t special_pages = 8;
inline constexpr uint64_t special_first_gfn = special_end_gfn - special_pages;
inline constexpr uint64_t special_console_gfn = special_first_gfn + 7;   // 0xfefff
inline constexpr uint64_t special_xenstore_gfn = special_first_gfn + 4;  // 0xfeffc

} // namespace menhir::xen
