// The 8254 PIT, used only as a known clock to calibrate the TSC and the
// local APIC timer (its input clock is 1.193182 MHz on every PC).
#pragma once
#include <cstdint>

namespace menhir::pit {
void wait_ms(uint32_t ms);                 // busy-waits on channel 2, ms <= 50
[[nodiscard]] uint64_t calibrate_tsc_khz();
} // namespace menhir::pit

namespace menhir::tsc {
void set_khz(uint64_t khz);
[[nodiscard]] uint64_t khz();
void delay_us(uint64_t us);
} // namespace menhir::tsc
