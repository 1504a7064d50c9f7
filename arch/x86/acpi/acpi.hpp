// ACPI table parsing from bytes: RSDP, RSDT/XSDT, FADT, MADT and the \_S5
// object of the DSDT (ACPI 6.5, chapter 5.2). Pure logic: physical memory
// is reached only through the caller's MapFn, so the host tests feed it a
// fake physical memory. Everything read from firmware is treated as
// hostile: lengths are checked against what was mapped, every loop is
// bounded, and a table with a bad checksum is not used.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.hpp"

namespace menhir::acpi {

// A readable pointer for [phys, phys+len), or nullptr. parse() uses each
// pointer only until its next call to map, so a single mapping window is
// enough.
using MapFn = const uint8_t* (*)(void* ctx, uint64_t phys, size_t len);

inline constexpr size_t max_cpus = 64, max_ioapics = 8, max_overrides = 16;
inline constexpr size_t max_skipped = 8;

// Generic Address Structure, ACPI 6.5 5.2.3.2.
struct Gas {
    uint8_t space_id{0};
    uint8_t bit_width{0};
    uint8_t bit_offset{0};
    uint8_t access_size{0};
    uint64_t address{0};
};
inline constexpr uint8_t gas_memory = 0;   // Table 5.1, Address Space ID
inline constexpr uint8_t gas_io = 1;

struct CpuEntry {
    uint32_t apic_id;
    uint32_t acpi_uid;
    bool enabled;
    bool online_capable;
    bool x2apic_entry;
};
struct IoApic {
    uint8_t id;
    uint32_t address;
    uint32_t gsi_base;
};
struct Override {
    uint8_t bus;
    uint8_t source_irq;
    uint32_t gsi;
    uint16_t flags;
};

// MPS INTI flags of an interrupt source override (ACPI 6.5 Table 5.26).
inline constexpr uint16_t inti_polarity_mask = 0x3;
inline constexpr uint16_t inti_polarity_high = 0x1;
inline constexpr uint16_t inti_polarity_low = 0x3;
inline constexpr uint16_t inti_trigger_mask = 0xc;
inline constexpr uint16_t inti_trigger_edge = 0x4;
inline constexpr uint16_t inti_trigger_level = 0xc;

struct Platform {
    uint8_t rsdp_revision{0};
    char oem_id[7]{};
    uint64_t lapic_address{0xfee00000};
    bool pcat_compat{false};

    // Usable processors only (enabled or online capable), each APIC ID once.
    size_t cpu_count{0};
    CpuEntry cpus[max_cpus]{};
    size_t cpus_ignored{0};   // usable entries that did not fit in cpus[]

    size_t ioapic_count{0};
    IoApic ioapics[max_ioapics]{};
    size_t override_count{0};
    Override overrides[max_overrides]{};

    bool has_fadt{false};
    uint32_t smi_cmd{0};
    uint8_t acpi_enable{0};
    uint32_t pm1a_cnt{0};   // I/O ports (from the X_ GAS when present and in I/O space, else legacy fields)
    uint32_t pm1b_cnt{0};
    uint32_t pm_tmr_blk{0};
    bool pm_tmr_32bit{false};   // FADT flags TMR_VAL_EXT
    bool reset_supported{false};
    Gas reset_reg{};
    uint8_t reset_value{0};
    uint64_t dsdt{0};

    bool has_s5{false};   // from DSDT \_S5
    uint8_t slp_typa{0};
    uint8_t slp_typb{0};

    // Tables that were found but not trusted (bad checksum), by signature.
    size_t skipped_count{0};
    char skipped[max_skipped][5]{};
};

enum class Error { none, bad_rsdp, bad_rsdp_checksum, unmappable, bad_root_table, bad_checksum, no_madt, bad_madt };

[[nodiscard]] const char* to_string(Error);

// rsdp: the RSDP bytes (from the multiboot2 ACPI tag, or a scan). Uses the
// XSDT when revision >= 2 and its address is non-zero, else the RSDT.
//   bad_rsdp           signature, or fewer bytes than the revision needs
//   bad_rsdp_checksum  either RSDP checksum is wrong
//   unmappable         the root table cannot be mapped
//   bad_root_table     the root table's signature or length is wrong
//   bad_checksum       the root table's checksum is wrong, or the only MADT's
//   no_madt            no MADT listed (or none mappable)
//   bad_madt           a MADT entry is malformed (shorter than 2 bytes, or
//                      shorter than its type requires, or past the table)
// A missing FADT, DSDT or \_S5 is not an error. Tables other than the
// root, MADT, FADT and DSDT are never mapped beyond their header. After
// bad_madt, `out` still holds the FADT data and the MADT entries before the
// bad one; after the other errors it holds what was read before them.
[[nodiscard]] Error parse(const uint8_t* rsdp, size_t rsdp_len, MapFn map, void* ctx, Platform& out);

// Finds the \_S5_ package in AML bytes: NameOp (0x08) '_S5_' (optionally
// '\' '_S5_') PackageOp (0x12) PkgLength NumElements, then the first two
// elements as BytePrefix (0x0A) v, WordPrefix, DWordPrefix, ZeroOp (0x00),
// OneOp (0x01) or OnesOp (ACPI 6.5 20.2.3 data objects, 20.2.4 PkgLength).
[[nodiscard]] bool find_s5(const uint8_t* aml, size_t len, uint8_t& typa, uint8_t& typb);

// Searches [phys, phys+len) on 16-byte boundaries for "RSD PTR " with a good
// checksum (ACPI 6.5 5.2.5.1: the BIOS area 0xE0000-0xFFFFF, or the first
// KiB of the EBDA).
[[nodiscard]] Optional<uint64_t> scan_rsdp(MapFn map, void* ctx, uint64_t phys, size_t len);

// ISA IRQ -> GSI and MPS INTI flags, applying interrupt source overrides
// (identity with flags 0, "conforms to the bus", when there is none).
uint32_t isa_irq_to_gsi(const Platform&, uint8_t irq, uint16_t* flags_out);

} // namespace menhir::acpi
