// Guest time: the singleshot timers of VCPUOP_set_singleshot_timer (they
// raise VIRQ_TIMER), SCHEDOP_poll timeouts, the local APICs' timers, and the pvclock each vCPU reads
// in its vcpu_info (and in the time area it may register). Times are scheduler::now_ns() (ns since boot).
#pragma once
#include "vmm/vcpu.hpp"
#include <cstdint>

namespace menhir::vcpu_timer {
void set(Vcpu& v, uint64_t deadline_ns);        // 0 stops it
void set_poll_timeout(Vcpu& v, uint64_t deadline_ns);
void set_lapic(Vcpu& v, uint64_t deadline_ns);  // the LVT timer's (v.lapic_lock held), 0 stops it
[[nodiscard]] uint64_t next_deadline();         // the earliest of all, 0 = none
void fire_due(uint64_t now_ns);                 // cheap when nothing is due
void update_time_info(Vcpu& v);                 // pvclock in v's vcpu_info (and its time area)
// VCPUOP_register_vcpu_time_memory_area from `caller` for `target`: a
// second copy of target's vcpu_time_info at `linear` in the caller's
// address space, written with the first from then on (0 stops it). 0, or
// Xen's errno (guest_area::pin).
[[nodiscard]] int64_t register_time_area(Vcpu& caller, Vcpu& target, uint64_t linear);
void release_time_area(Vcpu& v);                // domain teardown
void init_wallclock(Domain& d);                 // wallclock fields of shared_info
} // namespace menhir::vcpu_timer
