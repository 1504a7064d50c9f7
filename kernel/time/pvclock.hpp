// Xen's pvclock (vcpu_time_info): how a guest turns its TSC into system time,
// and how the hypervisor publishes the values it needs.
//
// A guest reads version, the fields, then version again, and retries if the
// two differ or are odd; it then computes
//   ns = system_time + scale(rdtsc() - tsc_timestamp, {tsc_to_system_mul, tsc_shift})
// where scale shifts the TSC delta left by tsc_shift (right by -tsc_shift when
// negative) and keeps bits 32..95 of its product with the 32-bit multiplier.
#pragma once
#include <cstdint>

#include "vmm/abi/xen.hpp"

namespace menhir::pvclock {

struct Scale {
    uint32_t mul;   // tsc_to_system_mul
    int8_t shift;   // tsc_shift
};

// The scale for a TSC of `tsc_khz`, chosen as Xen chooses it: the shift that
// brings the tick rate into (1e9, 2e9] per second, and the multiplier
// 1e9 * 2^32 / that rate, truncated, so mul lies in [2^31, 2^32). {0, 0} for 0 kHz.
[[nodiscard]] Scale scale_for(uint64_t tsc_khz);

// Nanoseconds for `delta` TSC ticks, exactly as a guest computes them.
[[nodiscard]] uint64_t scale(uint64_t delta, Scale s);

// Writes the time `system_ns` taken at TSC `tsc`, the scale and the flags
// (xen_pvclock_tsc_stable_bit...). Version is left alone: call it between
// begin_update and end_update so a guest never uses a half-written record.
void fill(xen::VcpuTimeInfo& t, uint64_t tsc, uint64_t system_ns, Scale s, uint8_t flags);
// Makes the version odd (the record is being changed), then orders the
// stores that follow after it.
void begin_update(xen::VcpuTimeInfo& t);
// Orders the stores before it, then makes the version even again, higher
// than before the update.
void end_update(xen::VcpuTimeInfo& t);

} // namespace menhir::pvclock
