// A vCPU's runstate area: registration, the copy written at each switch, and its release.
#include "vmm/runstate.hpp"
#include "vmm/domain.hpp"
#include "vmm/guest_area.hpp"

namespace menhir::runstate {
namespace {

constexpr size_t area_bytes = sizeof(xen::VcpuRunstateInfo);

// Under runstate_lock. With the update flag, the guest sees
// XEN_RUNSTATE_UPDATE in state_entry_time while the rest changes, as Xen
// writes it: the flag first, then the record, then the entry time alone.
void publish(Vcpu& v)
{
    const GuestArea& a = v.runstate_area;
    if (!a.registered()) return;
    xen::VcpuRunstateInfo r = v.runstate.info;
    constexpr size_t entry_at = __builtin_offsetof(xen::VcpuRunstateInfo, state_entry_time);
    if (v.domain->runstate_update_flag) {
        const uint64_t flagged = r.state_entry_time | xen::runstate_update;
        guest_area::write(a, entry_at, &flagged, sizeof flagged);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        r.state_entry_time = flagged;
        guest_area::write(a, 0, &r, area_bytes);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        guest_area::write(a, entry_at, &v.runstate.info.state_entry_time, sizeof(uint64_t));
    } else {
        guest_area::write(a, 0, &r, area_bytes);
    }
}

} // namespace

int64_t register_area(Vcpu& caller, Vcpu& target, uint64_t linear)
{
    GuestArea area;
    if (const int64_t rc = guest_area::pin(caller, linear, area_bytes, area)) return rc;
    SpinGuard g{target.runstate_lock};
    guest_area::release(target.runstate_area);
    target.runstate_area = area;
    publish(target);   // as Xen: the area is current once registered
    return 0;
}

xen::VcpuRunstateInfo snapshot(Vcpu& v)
{
    SpinGuard g{v.runstate_lock};
    return v.runstate.info;
}

void loaded(Vcpu& v, uint64_t now)
{
    SpinGuard g{v.runstate_lock};
    runstate::loaded(v.runstate, now);
    publish(v);
}

void unloaded(Vcpu& v, bool blocked, uint64_t now)
{
    SpinGuard g{v.runstate_lock};
    runstate::unloaded(v.runstate, blocked, v.up, now);
    publish(v);
}

void release(Vcpu& v)
{
    SpinGuard g{v.runstate_lock};
    guest_area::release(v.runstate_area);
}

} // namespace menhir::runstate
