// A vCPU's runstate accounting (Xen's vcpu_runstate_info: the state it is in, since when, time in each): pure.
//
// The scheduler changes state only where the vCPU is loaded or unloaded on
// its CPU; a wake on another CPU only notes its time (woken_ns), and the
// next load accounts the blocked (or offline) time up to it and the
// runnable time after it. So one CPU alone ever writes the record.
#pragma once
#include "vmm/abi/xen.hpp"
#include <cstdint>

namespace menhir::runstate {

struct Account {
    xen::VcpuRunstateInfo info{};   // state offline from its creation (entry time 0 until reset())
    uint64_t woken_ns = 0;          // when a blocked or offline vCPU was made runnable, 0 = not since
};

// A new vCPU: offline since `now`.
constexpr void reset(Account& a, uint64_t now)
{
    a = Account{};
    a.info.state = xen::Runstate::offline;
    a.info.state_entry_time = now;
}

// The time since the last change goes to the state left. The clock is the
// hypervisor's system time, which never runs back; a `now` behind the entry
// time (a wake stamped on another CPU just before a change here) counts 0.
constexpr void enter(Account& a, xen::Runstate next, uint64_t now)
{
    const uint64_t entry = a.info.state_entry_time;
    const uint64_t at = now > entry ? now : entry;
    a.info.time[static_cast<int32_t>(a.info.state)] += at - entry;
    a.info.state = next;
    a.info.state_entry_time = at;
}

// Loaded on a CPU at `now`: runnable from the wake if it was waiting, then running.
constexpr void loaded(Account& a, uint64_t now)
{
    if (a.info.state != xen::Runstate::runnable && a.woken_ns) enter(a, xen::Runstate::runnable, a.woken_ns);
    a.woken_ns = 0;
    enter(a, xen::Runstate::running, now);
}

// Unloaded at `now`: blocked, offline (taken down) or still runnable (preempted).
constexpr void unloaded(Account& a, bool blocked, bool up, uint64_t now)
{
    enter(a, !up ? xen::Runstate::offline : blocked ? xen::Runstate::blocked : xen::Runstate::runnable, now);
    a.woken_ns = 0;
}

// A wake of a blocked or offline vCPU, at `now` (first wake counts).
constexpr void woken(Account& a, uint64_t now)
{
    if (!a.woken_ns) a.woken_ns = now ? now : 1;
}

} // namespace menhir::runstate
