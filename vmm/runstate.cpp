// A vCPU's runstate area: registration, the copy written at each switch, and its release.
#include "vmm/runstate.hpp"
#include "kernel/mm/frame_refs.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/domain.hpp"
#include "vmm/guest_memory.hpp"

namespace menhir::runstate {
namespace {

constexpr size_t area_bytes = sizeof(xen::VcpuRunstateInfo);

void put_frames(Vcpu& v)
{
    for (HostPhys& f : v.runstate_frames) {
        if (f.value()) frame_refs::put(f);
        f = HostPhys{};
    }
}

// Bytes [from, from + n) of the record into the guest's area.
void write_part(Vcpu& v, const void* src, size_t from, size_t n)
{
    const size_t first = page_size - v.runstate_offset;   // bytes of the area in frame 0
    const auto* bytes = static_cast<const uint8_t*>(src);
    for (size_t i = 0; i < n; ++i) {
        const size_t at = from + i;
        uint8_t* dst = at < first ? phys_to_virt<uint8_t>(v.runstate_frames[0]) + v.runstate_offset + at
                                  : phys_to_virt<uint8_t>(v.runstate_frames[1]) + (at - first);
        *reinterpret_cast<volatile uint8_t*>(dst) = bytes[i];
    }
}

// Under runstate_lock. With the update flag, the guest sees
// XEN_RUNSTATE_UPDATE in state_entry_time while the rest changes, as Xen
// writes it: the flag first, then the record, then the entry time alone.
void publish(Vcpu& v)
{
    if (!v.runstate_frames[0].value()) return;
    xen::VcpuRunstateInfo r = v.runstate.info;
    constexpr size_t entry_at = __builtin_offsetof(xen::VcpuRunstateInfo, state_entry_time);
    if (v.domain->runstate_update_flag) {
        const uint64_t flagged = r.state_entry_time | xen::runstate_update;
        write_part(v, &flagged, entry_at, sizeof flagged);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        r.state_entry_time = flagged;
        write_part(v, &r, 0, area_bytes);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        write_part(v, &v.runstate.info.state_entry_time, entry_at, sizeof(uint64_t));
    } else {
        write_part(v, &r, 0, area_bytes);
    }
}

} // namespace

int64_t register_area(Vcpu& caller, Vcpu& target, uint64_t linear)
{
    HostPhys frames[2]{};
    uint16_t offset = 0;
    if (linear) {
        // An 8-byte aligned record, as the guest's own struct is: the
        // update protocol writes state_entry_time as one quadword.
        if (linear & 7) return xen::err::einval;
        offset = static_cast<uint16_t>(linear & (page_size - 1));
        const uint32_t pages = offset + area_bytes > page_size ? 2 : 1;
        for (uint32_t i = 0; i < pages; ++i) {
            uint64_t gpa = 0;
            Optional<HostPhys> f;
            if (guest::writable_gpa(caller, (linear & ~(page_size - 1)) + i * page_size, gpa))
                f = caller.domain->get_own_frame(gpa / page_size, true);
            if (!f) {
                if (i) frame_refs::put(frames[0]);
                return xen::err::efault;
            }
            frames[i] = *f;
        }
    }
    SpinGuard g{target.runstate_lock};
    put_frames(target);
    target.runstate_frames[0] = frames[0];
    target.runstate_frames[1] = frames[1];
    target.runstate_offset = offset;
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
    put_frames(v);
}

} // namespace menhir::runstate
