// I/O APICs: route a global system interrupt to a vector on one CPU.
// The 8259 PICs are remapped out of the exception range and masked.
#pragma once
#include "arch/x86/acpi/acpi.hpp"
#include <cstdint>

namespace menhir::ioapic {
void init(const acpi::Platform& platform);          // masks every entry; disables the 8259s
// ISA IRQ (overrides applied) -> `vector` on the CPU with `apic_id`.
[[nodiscard]] bool route_isa_irq(uint8_t irq, uint8_t vector, uint32_t apic_id);
} // namespace menhir::ioapic
