// The CMOS real-time clock, read once at boot for the guests' wallclock.
#pragma once
#include <cstdint>

namespace menhir::rtc {
void read_at_boot();                       // remembers the date and time (and the TSC then)
[[nodiscard]] uint64_t boot_seconds();     // Unix time of system time 0 (TSC 0); needs the TSC calibrated first
} // namespace menhir::rtc
