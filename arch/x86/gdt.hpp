// Per-CPU GDT and TSS. The TSS carries the interrupt stacks (IST) that let
// #DF, NMI and #MC run on known-good stacks whatever state the kernel
// stack is in (SDM Vol 3A 6.14.5).
#pragma once
#include <cstdint>

namespace menhir {

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104, "64-bit TSS (SDM Vol 3A 7.7)");

namespace gdt {
inline constexpr uint16_t kernel_code = 0x08;
inline constexpr uint16_t kernel_data = 0x10;
inline constexpr uint16_t tss = 0x18;
inline constexpr int entries = 5;   // null, code, data, TSS (two slots)

// IST slot numbers (1-based, as the IDT gate wants them).
inline constexpr uint8_t ist_double_fault = 1;
inline constexpr uint8_t ist_nmi = 2;
inline constexpr uint8_t ist_machine_check = 3;

// Fills `table` for a TSS at `tss`, loads GDTR, reloads the segment
// registers and loads TR.
void load(uint64_t* table, Tss* tss_block);
} // namespace gdt
} // namespace menhir
