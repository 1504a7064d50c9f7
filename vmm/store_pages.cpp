// See store_pages.hpp. The parameters themselves are the record: a guest may
// set only its callback parameter (hvm_op), so they stay what we put there
// unless dom0 changes them.
#include "vmm/store_pages.hpp"
#include "kernel/console.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/abi/xen_console.hpp"
#include "vmm/domain.hpp"
#include "vmm/events.hpp"

namespace menhir::store_pages {

bool attach(Domain& d)
{
    if (d.id == 0 || d.id >= max_domains) return false;
    if (d.memory_bytes > xen::special_first_gfn * page_size) return false;
    auto frame = memory::alloc_frames(1);
    if (!frame) return false;
    __builtin_memset(phys_to_virt(*frame), 0, page_size);
    const uint64_t gfn = xen::special_xenstore_gfn;
    if (d.ept().map(GuestPhys{gfn * page_size}, *frame, page_size, ept::ram, false, false) !=
        paging::MapError::none) {
        (void)memory::free_frames(*frame, 1);
        return false;
    }
    d.flush_ept();
    uint32_t port = 0;
    {
        SpinGuard g{events::lock()};
        // Unbound, for dom0: its xenstored binds it.
        if (evtchn::alloc_unbound(d.events, 0, port) != 0) return false;
    }
    d.hvm_params[xen::hvm_param_store_pfn] = gfn;
    d.hvm_params[xen::hvm_param_store_evtchn] = port;
    return true;
}

int64_t info(const Domain& d, uint64_t& gfn, uint32_t& port)
{
    gfn = d.hvm_params[xen::hvm_param_store_pfn];
    port = static_cast<uint32_t>(d.hvm_params[xen::hvm_param_store_evtchn]);
    return gfn ? 0 : xen::err::enoent;
}

} // namespace menhir::store_pages
