#include "vmm/pvh_start_info.hpp"

#include "kernel/lib/types.hpp"
#include "vmm/acpi_tables.hpp"

namespace menhir::pvh {
namespace {

// The guest enters in 32-bit protected mode with paging off and finds
// start_info through %ebx, so the boot data must sit below 4 GiB.
constexpr uint64_t four_gib = 1ull << 32;

// Bytes copied for a command line, NUL included: stops at the string's
// own NUL, so it never reads past a shorter string, and at max_cmdline.
uint64_t cmdline_bytes(const char* s)
{
    size_t n = 0;
    while (n < max_cmdline - 1 && s[n] != '\0') {
        ++n;
    }
    return n + 1;
}

// Enough for the tables of max_acpi_vcpus vCPUs with a MADT (the unit
// tests check it); build() refuses a smaller buffer, never overruns it.
constexpr size_t acpi_buffer_bytes = 1024;

// The memory map for `in` with the ACPI page at acpi_base (0: none).
uint32_t fill_map(const BootInput& in, uint64_t acpi_base, MemmapEntry (&map)[max_memmap])
{
    const uint64_t usable = in.memory_bytes - in.reserved_top_bytes;
    uint32_t n = 0;
    if (acpi_base != 0) {
        const uint64_t acpi_end = acpi_base + acpi_tables::region_bytes;
        map[n++] = MemmapEntry{0, acpi_base, e820_ram, 0};
        map[n++] = MemmapEntry{acpi_base, acpi_tables::region_bytes, e820_acpi, 0};
        if (usable > acpi_end) map[n++] = MemmapEntry{acpi_end, usable - acpi_end, e820_ram, 0};
    } else {
        map[n++] = MemmapEntry{0, usable, e820_ram, 0};
    }
    if (in.reserved_top_bytes != 0) map[n++] = MemmapEntry{usable, in.reserved_top_bytes, e820_reserved, 0};
    if (in.special_bytes != 0) map[n++] = MemmapEntry{in.special_base, in.special_bytes, e820_reserved, 0};
    return n;
}

acpi_tables::Input acpi_input(const BootInput& in, uint64_t base)
{
    return acpi_tables::Input{base, in.acpi_vcpus, in.acpi_madt};
}

// Hands out guest-physical ranges upwards from `next`, never past `limit`.
// Invariant: next <= limit <= 4 GiB, so aligning `next` cannot wrap.
class Allocator final {
public:
    Allocator(uint64_t start, uint64_t limit) : next_{start}, limit_{limit} {}

    // Returns false if [aligned next, + size) does not end by `limit`.
    [[nodiscard]] bool take(uint64_t size, uint64_t align, uint64_t& at)
    {
        const uint64_t base = align_up(next_, align);
        if (base > limit_ || size > limit_ - base) {
            return false;
        }
        at = base;
        next_ = base + size;
        return true;
    }
    [[nodiscard]] uint64_t next() const { return next_; }

private:
    uint64_t next_;
    uint64_t limit_;
};

Error plan_into(const BootInput& in, Layout& out)
{
    if (in.module_count > max_modules) {
        return Error::too_many_modules;
    }
    if (in.memory_bytes == 0 || in.memory_bytes % page_size != 0 || in.reserved_top_bytes % page_size != 0 ||
        in.reserved_top_bytes >= in.memory_bytes) {
        return Error::bad_memory_size;
    }
    if (in.special_bytes != 0 &&
        (in.special_base % page_size != 0 || in.special_bytes % page_size != 0 || in.special_base < in.memory_bytes ||
         in.special_base > four_gib || in.special_bytes > four_gib - in.special_base)) {
        return Error::bad_memory_size;
    }
    if (in.acpi_vcpus > max_acpi_vcpus) {
        return Error::bad_memory_size;
    }
    const uint64_t usable = in.memory_bytes - in.reserved_top_bytes;
    if (in.kernel_end > usable) {
        return Error::kernel_outside_ram;
    }
    uint64_t limit = usable < four_gib ? usable : four_gib;
    if (in.acpi_vcpus != 0) {
        // The last page of RAM below 4 GiB (never page 0); the boot data
        // stays below it.
        if (limit < page_size + acpi_tables::region_bytes) {
            return Error::does_not_fit;
        }
        out.acpi_base = limit - acpi_tables::region_bytes;
        acpi_tables::Layout tables{};
        if (acpi_tables::plan(acpi_input(in, out.acpi_base), tables) != acpi_tables::Error::none ||
            tables.bytes > acpi_tables::region_bytes) {
            return Error::does_not_fit;
        }
        out.rsdp = tables.rsdp;
        limit = out.acpi_base;
    }
    if (in.kernel_end > limit) {
        return Error::does_not_fit;
    }
    // kernel_end <= limit <= 4 GiB, so this cannot wrap. Page 0 is skipped
    // because the ABI reads address 0 as "not present".
    uint64_t start = align_up(in.kernel_end, page_size);
    if (start == 0) {
        start = page_size;
    }

    Allocator a{start, limit};
    if (!a.take(sizeof(StartInfo), alignof(StartInfo), out.start_info)) {
        return Error::does_not_fit;
    }
    if (in.module_count != 0 &&
        !a.take(in.module_count * sizeof(ModlistEntry), alignof(ModlistEntry), out.modlist)) {
        return Error::does_not_fit;
    }
    MemmapEntry map[max_memmap]{};
    out.memmap_entries = fill_map(in, out.acpi_base, map);
    if (!a.take(out.memmap_entries * sizeof(MemmapEntry), alignof(MemmapEntry), out.memmap)) {
        return Error::does_not_fit;
    }
    if (in.cmdline != nullptr && !a.take(cmdline_bytes(in.cmdline), 1, out.cmdline)) {
        return Error::does_not_fit;
    }
    for (size_t i = 0; i < in.module_count; ++i) {
        const char* s = in.modules[i].cmdline;
        if (s != nullptr && !a.take(cmdline_bytes(s), 1, out.module_cmdline[i])) {
            return Error::does_not_fit;
        }
    }
    for (size_t i = 0; i < in.module_count; ++i) {
        if (!a.take(in.modules[i].size, page_size, out.module_base[i])) {
            return Error::does_not_fit;
        }
    }
    out.end = a.next();
    return Error::none;
}

bool same(const Layout& a, const Layout& b)
{
    if (a.start_info != b.start_info || a.modlist != b.modlist || a.memmap != b.memmap ||
        a.memmap_entries != b.memmap_entries || a.cmdline != b.cmdline || a.end != b.end ||
        a.acpi_base != b.acpi_base || a.rsdp != b.rsdp) {
        return false;
    }
    for (size_t i = 0; i < max_modules; ++i) {
        if (a.module_cmdline[i] != b.module_cmdline[i] || a.module_base[i] != b.module_base[i]) {
            return false;
        }
    }
    return true;
}

bool write_cmdline(WriteFn write_fn, void* ctx, uint64_t gpa, const char* s)
{
    // Copy the characters, then a NUL of our own: a string cut at
    // max_cmdline has none at that point.
    const uint64_t chars = cmdline_bytes(s) - 1;
    return write_fn(ctx, gpa, s, chars) && write_fn(ctx, gpa + chars, nullptr, 1);
}

} // namespace

const char* to_string(Error e)
{
    switch (e) {
    case Error::none: return "no error";
    case Error::too_many_modules: return "too many boot modules";
    case Error::does_not_fit: return "boot data does not fit in guest RAM below 4 GiB";
    case Error::bad_memory_size: return "guest memory or reserved size is zero or not page-aligned";
    case Error::kernel_outside_ram: return "kernel image ends beyond guest RAM";
    }
    return "unknown PVH layout error";
}

Error plan(const BootInput& in, Layout& out)
{
    out = Layout{};
    const Error e = plan_into(in, out);
    if (e != Error::none) {
        out = Layout{};
    }
    return e;
}

bool write(const BootInput& in, const Layout& layout, WriteFn write_fn, void* ctx)
{
    // Re-plan rather than trust `layout`: every size below is then known to
    // fit the ranges it is written to.
    Layout check{};
    if (plan(in, check) != Error::none || !same(check, layout)) {
        return false;
    }

    StartInfo info{};
    info.magic = start_info_magic;
    info.version = start_info_version;
    info.nr_modules = static_cast<uint32_t>(in.module_count);
    info.modlist_paddr = layout.modlist;
    info.cmdline_paddr = layout.cmdline;
    info.memmap_paddr = layout.memmap;
    info.memmap_entries = layout.memmap_entries;
    info.rsdp_paddr = layout.rsdp;
    if (!write_fn(ctx, layout.start_info, &info, sizeof info)) {
        return false;
    }

    for (size_t i = 0; i < in.module_count; ++i) {
        ModlistEntry m{};
        m.paddr = layout.module_base[i];
        m.size = in.modules[i].size;
        m.cmdline_paddr = layout.module_cmdline[i];
        if (!write_fn(ctx, layout.modlist + i * sizeof m, &m, sizeof m)) {
            return false;
        }
    }

    MemmapEntry map[max_memmap]{};
    if (fill_map(in, layout.acpi_base, map) != layout.memmap_entries) {
        return false;
    }
    if (!write_fn(ctx, layout.memmap, map, layout.memmap_entries * sizeof(MemmapEntry))) {
        return false;
    }

    if (in.cmdline != nullptr && !write_cmdline(write_fn, ctx, layout.cmdline, in.cmdline)) {
        return false;
    }
    for (size_t i = 0; i < in.module_count; ++i) {
        const ModuleInput& m = in.modules[i];
        if (m.cmdline != nullptr && !write_cmdline(write_fn, ctx, layout.module_cmdline[i], m.cmdline)) {
            return false;
        }
        if (m.size != 0 && (m.data == nullptr || !write_fn(ctx, layout.module_base[i], m.data, m.size))) {
            return false;
        }
    }
    if (in.acpi_vcpus != 0) {
        uint8_t tables[acpi_buffer_bytes];
        acpi_tables::Layout t{};
        if (acpi_tables::build(acpi_input(in, layout.acpi_base), tables, sizeof tables, t) !=
                acpi_tables::Error::none ||
            t.rsdp != layout.rsdp) {
            return false;
        }
        // The rest of the page zeroed: the guest finds nothing stale there.
        if (!write_fn(ctx, layout.acpi_base, tables, t.bytes) ||
            !write_fn(ctx, layout.acpi_base + t.bytes, nullptr, acpi_tables::region_bytes - t.bytes)) {
            return false;
        }
    }
    return true;
}

uint32_t memory_map(const BootInput& in, MemmapEntry (&out)[max_memmap])
{
    Layout l{};
    if (plan(in, l) != Error::none) {
        return 0;
    }
    return fill_map(in, l.acpi_base, out);
}

} // namespace menhir::pvh
