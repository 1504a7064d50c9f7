// The local APIC, in x2APIC mode (MSRs) when the CPU has it and the command
// line does not say x2apic=0, else in xAPIC mode (MMIO). SDM Vol 3A ch. 11.
#pragma once
#include "kernel/lib/types.hpp"
#include <cstdint>

namespace menhir::lapic {
enum class Mode { xapic, x2apic };

void init_bsp(int x2apic_option, HostPhys mmio_base);   // option: -1 auto, 0 off, 1 on
void init_this_cpu();                                   // every CPU, the BSP included
[[nodiscard]] bool ready();
[[nodiscard]] Mode mode();
[[nodiscard]] uint32_t id();
void eoi();
void send_init(uint32_t apic_id);
void send_startup(uint32_t apic_id, uint8_t page);
void send_fixed(uint32_t apic_id, uint8_t vector);
void send_fixed_all_but_self(uint8_t vector);
void send_nmi_all_but_self();
// Timer ticks per millisecond with divide-by-1, measured against the PIT.
[[nodiscard]] uint32_t calibrate_timer();
} // namespace menhir::lapic

namespace menhir::lapic {
// One-shot timer interrupt on vector::timer after `ticks` timer ticks (divide-by-1).
void arm_oneshot(uint32_t ticks);
} // namespace menhir::lapic
