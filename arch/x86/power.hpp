// Power-off (ACPI S5) and reset (FADT reset register, then port 0xCF9, then
// the keyboard controller). Both leave VMX operation on every CPU first.
#pragma once

namespace menhir::power {
[[noreturn]] void poweroff();
[[noreturn]] void reset();
} // namespace menhir::power
