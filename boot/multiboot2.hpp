// Reading the Multiboot2 boot information structure (Multiboot2
// Specification version 2.0, section 3.6 "Boot information format").
// The structure comes from the boot loader and is trusted no further than
// its bounds: every tag is checked against total_size and `available`
// before a byte of it is read.
#pragma once
#include <cstddef>
#include <cstdint>
// types.hpp defaults operator<=> but does not include <compare> itself.
#include <compare>

#include "kernel/lib/types.hpp"

namespace menhir::mb2 {

// Spec chapter 3, "I386 machine state": EAX holds this when the image is entered.
inline constexpr uint32_t bootloader_magic = 0x36d76289;
inline constexpr size_t max_modules = 64;
inline constexpr size_t max_regions = 128;

// Spec 3.6, "Memory map": type values of an mmap entry. Anything else must
// be treated as reserved.
enum class MemType : uint32_t { available = 1, reserved = 2, acpi_reclaimable = 3, nvs = 4, bad = 5 };
const char* to_string(MemType);   // "available", "reserved", "ACPI data", "ACPI NVS", "bad RAM"; unknown -> "reserved"

struct MemRegion {
    uint64_t base;
    uint64_t length;   // clamped so base + length never wraps past 2^64
    MemType type;      // the raw value; may be none of the enumerators
};

// Spec 3.6, "Modules": mod_end is one past the module's last byte, as GRUB
// fills it in (end == start is an empty module).
struct Module {
    HostPhys start;
    HostPhys end;
    const char* cmdline;   // points into the info structure
};

struct BootInfo {
    size_t total_size{0};
    const char* cmdline{nullptr};   // nullptr if no tag; a later tag wins
    const char* bootloader_name{nullptr};
    size_t module_count{0};
    Module modules[max_modules]{};
    size_t region_count{0};
    MemRegion regions[max_regions]{};
    bool has_basic_meminfo{false};
    uint32_t mem_lower_kib{0};
    uint32_t mem_upper_kib{0};
    const uint8_t* rsdp_old{nullptr};   // ACPI old RSDP tag (type 14) payload
    size_t rsdp_old_len{0};
    const uint8_t* rsdp_new{nullptr};   // ACPI new RSDP tag (type 15) payload
    size_t rsdp_new_len{0};
};

// reserved_not_zero is never returned: spec 3.6, "Basic tags structure",
// says the reserved field "must be ignored by OS image". It stays in the
// enum so the names line up.
enum class ParseError {
    none, null_info, misaligned, too_small, total_size_exceeds_available, reserved_not_zero, tag_too_small,
    tag_overflows, missing_end_tag, string_not_terminated, bad_module_range, too_many_modules,
    bad_mmap_entry_size, too_many_regions, bad_meminfo_size
};

// info: the structure (must be 8-byte aligned); available: bytes the caller
// can read at most. Unknown tags are skipped; bytes after the end tag are
// ignored. On any error `out` is reset to an empty BootInfo, so nothing
// half-read is ever used. Pointers in `out` point into `info`.
[[nodiscard]] ParseError parse(const uint8_t* info, size_t available, BootInfo& out);
const char* to_string(ParseError);

} // namespace menhir::mb2
