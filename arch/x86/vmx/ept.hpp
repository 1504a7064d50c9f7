// Extended page tables (SDM Vol 3C 29.3): the same 4-level radix tree as
// ordinary paging, with another entry format, walked by paging::PageTable.
// Host-testable: no hardware access here.
#pragma once
#include "arch/x86/paging/page_table.hpp"

namespace menhir::ept {

struct Flags {
    bool read{false};
    bool write{false};
    bool execute{false};
    bool owned{false};   // the frame is the domain's own RAM, freed with it (software bit)
    bool grant{false};   // a grant mapping of another domain's page (software bit)
    constexpr bool operator==(const Flags&) const = default;
};

inline constexpr Flags ram{true, true, true, true};

struct Format {
    using Input = GuestPhys;
    using Flags = ept::Flags;

    static constexpr uint64_t read = 1ull << 0;
    static constexpr uint64_t write = 1ull << 1;
    static constexpr uint64_t execute = 1ull << 2;
    static constexpr uint64_t memtype_wb = 6ull << 3;      // leaf memory type, bits 5:3 (29.3.7)
    static constexpr uint64_t large = 1ull << 7;
    static constexpr uint64_t owned = 1ull << 52;           // bits 62:52 are ignored by the CPU (29.3.2)
    static constexpr uint64_t grant = 1ull << 53;
    static constexpr uint64_t address_mask = 0x000f'ffff'ffff'f000ull;
    static constexpr uint64_t max_phys = 1ull << 48;       // 4-level EPT: 48-bit guest-physical space

    [[nodiscard]] static constexpr bool leaf_allowed(int level) { return level <= 2; }
    [[nodiscard]] static constexpr bool valid_input(uint64_t gpa) { return gpa < max_phys; }
    [[nodiscard]] static constexpr bool valid_range(uint64_t first, uint64_t last)
    {
        return valid_input(first) && valid_input(last);
    }
    // An entry with none of R/W/X is not present (29.3.2).
    [[nodiscard]] static constexpr bool is_present(uint64_t e) { return (e & (read | write | execute)) != 0; }
    [[nodiscard]] static constexpr bool is_leaf(uint64_t e, int level)
    {
        return level == 0 || (level <= 2 && (e & large) != 0);
    }
    [[nodiscard]] static constexpr uint64_t table_address(uint64_t e) { return e & address_mask; }
    [[nodiscard]] static constexpr uint64_t leaf_address(uint64_t e, int level)
    {
        return e & address_mask & ~(paging::entry_span(level) - 1);
    }
    // Non-leaf entries grant everything; the leaf decides.
    [[nodiscard]] static constexpr uint64_t table_entry(HostPhys table, const Flags&)
    {
        return (table.value() & address_mask) | read | write | execute;
    }
    [[nodiscard]] static constexpr uint64_t widen_table(uint64_t e, const Flags&) { return e; }
    [[nodiscard]] static constexpr uint64_t leaf_entry(HostPhys pa, const Flags& f, int level)
    {
        uint64_t e = (pa.value() & address_mask) | memtype_wb;
        if (level > 0) e |= large;
        if (f.read) e |= read;
        if (f.write) e |= write;
        if (f.execute) e |= execute;
        if (f.owned) e |= owned;
        if (f.grant) e |= grant;
        return e;
    }
    [[nodiscard]] static constexpr Flags leaf_flags(uint64_t e)
    {
        return Flags{(e & read) != 0, (e & write) != 0, (e & execute) != 0, (e & owned) != 0, (e & grant) != 0};
    }
    [[nodiscard]] static constexpr Flags restrict_by(Flags f, uint64_t upper)
    {
        return Flags{f.read && (upper & read), f.write && (upper & write), f.execute && (upper & execute), f.owned,
                     f.grant};
    }
};

template <typename Memory>
using Table = paging::PageTable<Memory, Format>;

// EPTP: write-back walks, 4 levels, no A/D flags (29.6 / 25.6.11).
[[nodiscard]] constexpr uint64_t eptp(HostPhys root) { return root.value() | (3u << 3) | 6u; }

// Tears a hierarchy down: leaf(frame, bytes, flags) for every leaf, then
// table(frame) for every table frame, the root last.
template <typename Memory, typename LeafFn, typename TableFn>
void destroy(Memory& memory, HostPhys table, int level, LeafFn&& leaf, TableFn&& table_fn)
{
    const uint64_t* entries = memory.table(table);
    for (uint64_t i = 0; i < paging::entries_per_table; ++i) {
        const uint64_t e = entries[i];
        if (!Format::is_present(e)) continue;
        if (Format::is_leaf(e, level))
            leaf(HostPhys{Format::leaf_address(e, level)}, paging::entry_span(level), Format::leaf_flags(e));
        else
            destroy(memory, HostPhys{Format::table_address(e)}, level - 1, leaf, table_fn);
    }
    table_fn(table);
}

} // namespace menhir::ept
