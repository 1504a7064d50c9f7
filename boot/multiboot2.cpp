#include "boot/multiboot2.hpp"
#include "kernel/lib/bytes.hpp"

#include <limits>

namespace menhir::mb2 {
namespace {

using bytes::load32;
using bytes::load64;


// Tag type numbers, spec 3.6 (one subsection per tag).
enum TagType : uint32_t {
    tag_end = 0,
    tag_cmdline = 1,
    tag_bootloader_name = 2,
    tag_module = 3,
    tag_basic_meminfo = 4,
    tag_mmap = 6,
    tag_acpi_old = 14,
    tag_acpi_new = 15,
};

constexpr size_t header_size = 8;      // total_size u32, reserved u32 ("Basic tags structure")
constexpr size_t tag_header_size = 8;  // type u32, size u32
constexpr size_t tag_align = 8;        // "Tags are padded in order for each tag to start at 8-bytes aligned address"
constexpr size_t mmap_entry_min = 24;  // base u64, length u64, type u32, reserved u32 ("Memory map")



// A string field must end with its NUL inside the tag; strlen could run
// off the end of the structure otherwise.
const char* bounded_string(const uint8_t* p, size_t len)
{
    for (size_t i = 0; i < len; ++i) {
        if (p[i] == 0) {
            return reinterpret_cast<const char*>(p);
        }
    }
    return nullptr;
}

void reset(BootInfo& out)
{
    // Field by field: a BootInfo is about 4 KiB, too big for a temporary on
    // an early boot stack.
    out.total_size = 0;
    out.cmdline = nullptr;
    out.bootloader_name = nullptr;
    out.module_count = 0;
    out.region_count = 0;
    out.has_basic_meminfo = false;
    out.mem_lower_kib = 0;
    out.mem_upper_kib = 0;
    out.rsdp_old = nullptr;
    out.rsdp_old_len = 0;
    out.rsdp_new = nullptr;
    out.rsdp_new_len = 0;
}

ParseError read_module(const uint8_t* payload, size_t len, BootInfo& out)
{
    // mod_start u32, mod_end u32, then the NUL-terminated string ("Modules").
    if (len < 8) {
        return ParseError::tag_too_small;
    }
    uint32_t start = load32(payload);
    uint32_t end = load32(payload + 4);
    if (end < start) {
        return ParseError::bad_module_range;
    }
    const char* cmdline = bounded_string(payload + 8, len - 8);
    if (cmdline == nullptr) {
        return ParseError::string_not_terminated;
    }
    if (out.module_count == max_modules) {
        return ParseError::too_many_modules;
    }
    out.modules[out.module_count++] = Module{HostPhys{start}, HostPhys{end}, cmdline};
    return ParseError::none;
}

ParseError read_mmap(const uint8_t* payload, size_t len, BootInfo& out)
{
    // entry_size u32, entry_version u32, then the entries ("Memory map"). Later
    // entry versions may only append fields, so entry_version is not checked
    // and bytes past the first 24 of an entry are skipped.
    if (len < 8) {
        return ParseError::tag_too_small;
    }
    uint32_t entry_size = load32(payload);
    // The spec guarantees a multiple of 8; anything else means the list
    // is not what we think it is.
    if (entry_size < mmap_entry_min || entry_size % 8 != 0 || (len - 8) % entry_size != 0) {
        return ParseError::bad_mmap_entry_size;
    }
    for (size_t off = 8; off < len; off += entry_size) {
        if (out.region_count == max_regions) {
            return ParseError::too_many_regions;
        }
        const uint8_t* e = payload + off;
        uint64_t base = load64(e);
        uint64_t length = load64(e + 8);
        // Keep base + length representable so consumers need no overflow
        // checks of their own; the lost byte at 2^64 - 1 is never RAM.
        uint64_t room = std::numeric_limits<uint64_t>::max() - base;
        if (length > room) {
            length = room;
        }
        out.regions[out.region_count++] = MemRegion{base, length, static_cast<MemType>(load32(e + 16))};
    }
    return ParseError::none;
}

ParseError read_tag(uint32_t type, const uint8_t* payload, size_t len, BootInfo& out)
{
    switch (type) {
    case tag_cmdline:
        out.cmdline = bounded_string(payload, len);
        return out.cmdline != nullptr ? ParseError::none : ParseError::string_not_terminated;
    case tag_bootloader_name:
        out.bootloader_name = bounded_string(payload, len);
        return out.bootloader_name != nullptr ? ParseError::none : ParseError::string_not_terminated;
    case tag_module:
        return read_module(payload, len, out);
    case tag_basic_meminfo:
        // mem_lower u32, mem_upper u32, in KiB ("Basic memory information").
        if (len < 8) {
            return ParseError::bad_meminfo_size;
        }
        out.has_basic_meminfo = true;
        out.mem_lower_kib = load32(payload);
        out.mem_upper_kib = load32(payload + 4);
        return ParseError::none;
    case tag_mmap:
        return read_mmap(payload, len, out);
    case tag_acpi_old:
        // A copy of the RSDP ("ACPI old RSDP", "ACPI new RSDP"); acpi.cpp checks its contents.
        out.rsdp_old = payload;
        out.rsdp_old_len = len;
        return ParseError::none;
    case tag_acpi_new:
        out.rsdp_new = payload;
        out.rsdp_new_len = len;
        return ParseError::none;
    default:
        return ParseError::none;   // unknown or unused tags are skipped
    }
}

ParseError parse_tags(const uint8_t* info, size_t available, BootInfo& out)
{
    if (info == nullptr) {
        return ParseError::null_info;
    }
    if (reinterpret_cast<uintptr_t>(info) % tag_align != 0) {
        return ParseError::misaligned;   // "Basic tags structure": the structure is 8-byte aligned
    }
    if (available < header_size) {
        return ParseError::too_small;
    }
    size_t total = load32(info);
    if (total < header_size + tag_header_size) {
        return ParseError::too_small;   // not even room for the end tag
    }
    if (total > available) {
        return ParseError::total_size_exceeds_available;
    }

    size_t off = header_size;
    for (;;) {
        // Invariant: off <= total, so total - off cannot wrap.
        if (total - off < tag_header_size) {
            return ParseError::missing_end_tag;
        }
        uint32_t type = load32(info + off);
        size_t size = load32(info + off + 4);
        if (size < tag_header_size) {
            return ParseError::tag_too_small;
        }
        if (size > total - off) {
            return ParseError::tag_overflows;
        }
        if (type == tag_end) {
            out.total_size = total;
            return ParseError::none;
        }
        if (ParseError e = read_tag(type, info + off + tag_header_size, size - tag_header_size, out);
            e != ParseError::none) {
            return e;
        }
        // The padding after a tag may be cut off by total_size; then there
        // is no room left for an end tag either.
        size_t step = align_up(size, tag_align);
        if (step > total - off) {
            return ParseError::missing_end_tag;
        }
        off += step;
    }
}

} // namespace

ParseError parse(const uint8_t* info, size_t available, BootInfo& out)
{
    reset(out);
    ParseError e = parse_tags(info, available, out);
    if (e != ParseError::none) {
        reset(out);
    }
    return e;
}

const char* to_string(MemType t)
{
    switch (t) {
    case MemType::available: return "available";
    case MemType::reserved: return "reserved";
    case MemType::acpi_reclaimable: return "ACPI data";
    case MemType::nvs: return "ACPI NVS";
    case MemType::bad: return "bad RAM";
    }
    return "reserved";   // "Memory map": other values indicate reserved areas
}

const char* to_string(ParseError e)
{
    switch (e) {
    case ParseError::none: return "no error";
    case ParseError::null_info: return "no boot information";
    case ParseError::misaligned: return "boot information not 8-byte aligned";
    case ParseError::too_small: return "boot information too small";
    case ParseError::total_size_exceeds_available: return "total_size larger than the readable area";
    case ParseError::reserved_not_zero: return "reserved field not zero";
    case ParseError::tag_too_small: return "tag smaller than its fixed fields";
    case ParseError::tag_overflows: return "tag runs past total_size";
    case ParseError::missing_end_tag: return "no end tag";
    case ParseError::string_not_terminated: return "string not NUL-terminated within its tag";
    case ParseError::bad_module_range: return "module ends before it starts";
    case ParseError::too_many_modules: return "too many modules";
    case ParseError::bad_mmap_entry_size: return "bad memory map entry size";
    case ParseError::too_many_regions: return "too many memory map entries";
    case ParseError::bad_meminfo_size: return "basic meminfo tag too small";
    }
    return "unknown error";
}

} // namespace menhir::mb2
