// What the firmware told us about the machine (ACPI), read once at boot.
#pragma once
#include "arch/x86/acpi/acpi.hpp"
#include "boot/multiboot2.hpp"

namespace menhir::platform {
void init(const mb2::BootInfo& boot);   // panics only if no usable MADT exists
[[nodiscard]] const acpi::Platform& acpi();
} // namespace menhir::platform
