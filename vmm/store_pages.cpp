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
#include "vmm/special_page.hpp"

namespace menhir::store_pages {

bool attach(Domain& d)
{
    if (d.id == 0 || d.id >= max_domains) return false;
    if (d.memory_bytes > xen::special_first_gfn * page_size) return false;
    const uint64_t gfn = xen::special_xenstore_gfn;
    HostPhys frame;
    uint32_t port = 0;
    // Unbound, for dom0: its xenstored binds it.
    if (!special_page::give(d, gfn, frame, port) || !port) return false;
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
