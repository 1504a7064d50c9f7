// Xen's PVH start-of-day data (arch-x86/hvm/start_info.h): the structure a
// PVH guest finds through %ebx at its XEN_ELFNOTE_PHYS32_ENTRY, and where
// Menhir puts it and the things it points to in guest memory.
//
// All addresses in it are guest-physical. The ABI reads an address of 0 as
// "not present", so nothing is ever placed at guest-physical 0.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::pvh {

inline constexpr uint32_t start_info_magic = 0x336ec578;   // XEN_HVM_START_MAGIC_VALUE
// Version 1 added memmap_paddr and memmap_entries; version 0 ends at rsdp_paddr.
inline constexpr uint32_t start_info_version = 1;

// struct hvm_start_info.
struct StartInfo {
    uint32_t magic;            // start_info_magic
    uint32_t version;          // start_info_version
    uint32_t flags;            // SIF_* flags (none set yet)
    uint32_t nr_modules;
    uint64_t modlist_paddr;    // array of nr_modules ModlistEntry
    uint64_t cmdline_paddr;    // NUL-terminated ASCII
    uint64_t rsdp_paddr;       // ACPI RSDP, 0 when the guest has none
    uint64_t memmap_paddr;     // array of memmap_entries MemmapEntry
    uint32_t memmap_entries;
    uint32_t reserved;         // must be zero
};

// struct hvm_modlist_entry.
struct ModlistEntry {
    uint64_t paddr;
    uint64_t size;             // bytes
    uint64_t cmdline_paddr;    // NUL-terminated ASCII, 0 if none
    uint64_t reserved;
};

// struct hvm_memmap_table_entry; type values follow the e820 convention.
struct MemmapEntry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

static_assert(sizeof(StartInfo) == 56);
static_assert(__builtin_offsetof(StartInfo, nr_modules) == 12);
static_assert(__builtin_offsetof(StartInfo, modlist_paddr) == 16);
static_assert(__builtin_offsetof(StartInfo, cmdline_paddr) == 24);
static_assert(__builtin_offsetof(StartInfo, rsdp_paddr) == 32);
static_assert(__builtin_offsetof(StartInfo, memmap_paddr) == 40);
static_assert(__builtin_offsetof(StartInfo, memmap_entries) == 48);
static_assert(__builtin_offsetof(StartInfo, reserved) == 52);
static_assert(sizeof(ModlistEntry) == 32);
static_assert(__builtin_offsetof(ModlistEntry, size) == 8);
static_assert(__builtin_offsetof(ModlistEntry, cmdline_paddr) == 16);
static_assert(sizeof(MemmapEntry) == 24);
static_assert(__builtin_offsetof(MemmapEntry, size) == 8);
static_assert(__builtin_offsetof(MemmapEntry, type) == 16);

inline constexpr uint32_t e820_ram = 1;        // XEN_HVM_MEMMAP_TYPE_RAM
inline constexpr uint32_t e820_reserved = 2;   // XEN_HVM_MEMMAP_TYPE_RESERVED
inline constexpr uint32_t e820_acpi = 3;       // XEN_HVM_MEMMAP_TYPE_ACPI (ACPI reclaimable)

inline constexpr size_t max_modules = 8;
inline constexpr size_t max_memmap = 8;
// write() builds the ACPI tables on its stack: for at most this many vCPUs.
inline constexpr uint32_t max_acpi_vcpus = 64;
// A command line is copied up to this many bytes including its NUL; a
// longer one is cut short (and still NUL-terminated).
inline constexpr size_t max_cmdline = 4096;

struct ModuleInput {
    const uint8_t* data;
    uint64_t size;
    const char* cmdline;   // may be nullptr
};

struct BootInput {
    uint64_t memory_bytes;         // guest RAM is [0, memory_bytes); page multiple
    uint64_t reserved_top_bytes;   // top pages kept for special pages (rings); e820-reserved; page multiple
    // A range past RAM for the hypervisor's special pages (Xen's HVM special
    // pages: console ring, xenstore); e820-reserved; size 0 = none.
    uint64_t special_base;
    uint64_t special_bytes;
    uint64_t kernel_end;           // one past the kernel image's last byte (elf::Image::highest)
    // ACPI tables (vmm/acpi_tables) for this many vCPUs, 0 = none; with a
    // MADT when acpi_madt.
    uint32_t acpi_vcpus;
    bool acpi_madt;
    const char* cmdline;           // may be nullptr
    size_t module_count;
    ModuleInput modules[max_modules];
};

// Guest-physical addresses; 0 means "not present" (the ABI's convention).
struct Layout {
    uint64_t start_info;
    uint64_t modlist;                       // 0 when there are no modules
    uint64_t memmap;
    uint32_t memmap_entries;                // 1, +1 with a reserved top, +1 with special pages, +1 or 2 with ACPI
    uint64_t cmdline;                       // 0 when BootInput::cmdline is nullptr
    uint64_t module_cmdline[max_modules];   // 0 when that module has none
    uint64_t module_base[max_modules];      // page-aligned
    uint64_t end;                           // one past the last byte used
    // ACPI tables: [acpi_base, + acpi_tables::region_bytes), the RSDP at
    // rsdp (hvm_start_info.rsdp_paddr); both 0 without them.
    uint64_t acpi_base;
    uint64_t rsdp;
};

enum class Error { none, too_many_modules, does_not_fit, bad_memory_size, kernel_outside_ram };
const char* to_string(Error);

// Plans, from the first page boundary at or after kernel_end (and never
// page 0): start_info, the module list, the memory map, the command lines,
// then each module on its own page boundary. Everything must end below
// both memory_bytes - reserved_top_bytes and 4 GiB (the guest is entered
// with paging off and the start_info address in the 32-bit %ebx; Xen
// keeps all of it below 4 GiB too), else does_not_fit.
//
// With ACPI tables (acpi_vcpus != 0) their page is the last page of RAM
// below 4 GiB, taken out of RAM: the memory map marks it ACPI (type 3), and
// the boot data ends below it.
//
// The memory map is RAM [0, memory_bytes - reserved_top_bytes) (less the
// ACPI page, which splits it in two when RAM goes past 4 GiB), plus
// reserved [memory_bytes - reserved_top_bytes, memory_bytes) when that is
// not empty, plus reserved [special_base, + special_bytes) when that is not
// empty. bad_memory_size: memory_bytes is 0 or not a page multiple, or
// reserved_top_bytes is not a page multiple or leaves no RAM, or the special
// range is not page-aligned, starts below memory_bytes or ends above 4 GiB.
// acpi_vcpus above max_acpi_vcpus is bad_memory_size too.
// On error `out` is zeroed.
[[nodiscard]] Error plan(const BootInput& in, Layout& out);

// The memory map plan() describes, sorted by address: returns the number of
// entries written to out[0, max_memmap), 0 if `in` does not plan. The
// hypervisor answers XENMEM_memory_map with it.
[[nodiscard]] uint32_t memory_map(const BootInput& in, MemmapEntry (&out)[max_memmap]);

// Same signature as elf::WriteFn: src == nullptr means zero-fill.
using WriteFn = bool (*)(void* ctx, uint64_t gpa, const void* src, size_t len);

// Writes the start_info, module list, memory map, command lines, module
// contents and ACPI tables where `layout` (from plan(in)) says. Returns false if a write
// fails or `in` does not match `layout`.
[[nodiscard]] bool write(const BootInput& in, const Layout& layout, WriteFn write_fn, void* ctx);

} // namespace menhir::pvh
