// Power-off (ACPI S5) and reset (FADT reset register, then the keyboard
// controller, then port 0xCF9). Both leave VMX operation on every CPU first.
#pragma once

namespace menhir::power {
[[noreturn]] void poweroff();
[[noreturn]] void reset();
} // namespace menhir::power
