// See special_page.hpp.
#include "vmm/special_page.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/domain.hpp"
#include "vmm/events.hpp"

namespace menhir::special_page {

bool give(Domain& d, uint64_t gfn, HostPhys& frame, uint32_t& port)
{
    auto f = memory::alloc_frames(1);
    if (!f) return false;
    __builtin_memset(phys_to_virt(*f), 0, page_size);
    if (d.ept().map(GuestPhys{gfn * page_size}, *f, page_size, ept::ram, false, false) != paging::MapError::none) {
        (void)memory::free_frames(*f, 1);
        return false;
    }
    d.flush_ept();
    frame = *f;
    port = 0;
    SpinGuard g{events::lock()};
    if (evtchn::alloc_unbound(d.events, 0, port) != 0) port = 0;
    return true;
}

} // namespace menhir::special_page
