// x86-64 4-level page-table builder (SDM Vol 3A 4.5), header-only and
// templated over:
//  - Memory: where table frames come from and how they are reached, so the
//    host tests can run it over a fake memory;
//  - Format: how an entry is encoded, so EPT (SDM Vol 3C 29.3, a different
//    encoding of the same 4-level radix tree) can reuse the walker.
//
// Not thread safe and not safe against a concurrent hardware walker for
// anything but adding mappings: entries are written as whole 64-bit stores
// and a new table is fully zeroed before the entry that links it is
// written, so a walk racing with map() sees either nothing or a complete
// path.
#pragma once
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.hpp"
#include "kernel/lib/types.hpp"

namespace menhir::paging {

struct Flags {
    bool writable{false};
    bool executable{false};
    bool user{false};
    bool global{false};
    bool write_through{false};
    bool cache_disable{false};
    constexpr bool operator==(const Flags&) const = default;
};

enum class MapError { none, misaligned, already_mapped, out_of_memory, non_canonical };

[[nodiscard]] constexpr const char* to_string(MapError e)
{
    switch (e) {
    case MapError::none: return "none";
    case MapError::misaligned: return "misaligned";
    case MapError::already_mapped: return "already mapped";
    case MapError::out_of_memory: return "out of memory";
    case MapError::non_canonical: return "non-canonical address";
    }
    return "?";
}

template <typename F>
struct BasicTranslation {
    HostPhys phys;
    uint64_t page_size;
    F flags;
};
using Translation = BasicTranslation<Flags>;

// What PageTable needs from its memory back end.
template <typename M>
concept TableMemory = requires(M& m, HostPhys p) {
    { m.alloc_table() } -> std::same_as<Optional<HostPhys>>;   // a zeroed 4 KiB frame
    { m.table(p) } -> std::same_as<uint64_t*>;                 // its 512 entries
};

inline constexpr int levels = 4;               // PML4, PDPT, PD, PT: level 3 down to 0
inline constexpr uint64_t entries_per_table = 512;

// Bytes mapped by one entry at `level` (0 = PT entry, 4 KiB).
[[nodiscard]] constexpr uint64_t entry_span(int level) { return page_size << (9 * level); }

[[nodiscard]] constexpr uint64_t table_index(uint64_t va, int level)
{
    return (va >> (12 + 9 * level)) & (entries_per_table - 1);
}

// Ordinary IA-32e paging entries, SDM Vol 3A 4.5, Tables 4-14 to 4-20.
//
// A Format gives the walker: Input (the address type translated) and Flags;
// max_phys; leaf_allowed(level); valid_input(addr) and valid_range(first,
// last); is_present(e) and is_leaf(e, level); table_address(e) and
// leaf_address(e, level); table_entry(table, leaf_flags),
// widen_table(e, leaf_flags) and leaf_entry(pa, flags, level); leaf_flags(e)
// and restrict_by(flags, upper_entry). An EPT format (SDM Vol 3C 29.3)
// would use GuestPhys as Input, R/W/X bits 2:0 for presence and rights,
// the memory type in bits 5:3, ignore-PAT in bit 6 and bit 7 for large pages.
struct X86Format {
    using Input = HostVirt;
    using Flags = paging::Flags;

    static constexpr uint64_t present = 1ull << 0;
    static constexpr uint64_t writable = 1ull << 1;
    static constexpr uint64_t user = 1ull << 2;
    static constexpr uint64_t write_through = 1ull << 3;   // PWT
    static constexpr uint64_t cache_disable = 1ull << 4;   // PCD
    static constexpr uint64_t accessed = 1ull << 5;
    static constexpr uint64_t dirty = 1ull << 6;
    static constexpr uint64_t large = 1ull << 7;           // PS: maps a 1 GiB / 2 MiB page
    static constexpr uint64_t global = 1ull << 8;
    static constexpr uint64_t no_execute = 1ull << 63;     // XD, needs IA32_EFER.NXE
    static constexpr uint64_t address_mask = 0x000f'ffff'ffff'f000ull;   // bits 51:12
    static constexpr uint64_t max_phys = 1ull << 52;       // architectural MAXPHYADDR limit (SDM 4.1.4)

    // 1 GiB leaves live in the PDPT (level 2), 2 MiB in the PD (level 1).
    [[nodiscard]] static constexpr bool leaf_allowed(int level) { return level <= 2; }

    // 48-bit linear addresses: bits 63:47 all equal (SDM Vol 1 3.3.7.1).
    [[nodiscard]] static constexpr bool valid_input(uint64_t va)
    {
        const uint64_t top = va >> 47;
        return top == 0 || top == (1ull << 17) - 1;
    }
    // The span [first, last] must not cross the non-canonical hole.
    [[nodiscard]] static constexpr bool valid_range(uint64_t first, uint64_t last)
    {
        return valid_input(first) && valid_input(last) && (first >> 47) == (last >> 47);
    }

    [[nodiscard]] static constexpr bool is_present(uint64_t e) { return (e & present) != 0; }
    [[nodiscard]] static constexpr bool is_leaf(uint64_t e, int level)
    {
        return level == 0 || (level <= 2 && (e & large) != 0);
    }

    [[nodiscard]] static constexpr uint64_t table_address(uint64_t e) { return e & address_mask; }
    // Bit 12 of a large leaf is PAT, not address (Tables 4-15, 4-17).
    [[nodiscard]] static constexpr uint64_t leaf_address(uint64_t e, int level)
    {
        return e & address_mask & ~(entry_span(level) - 1);
    }

    // Intermediate entries never restrict: permissions live in the leaf.
    [[nodiscard]] static constexpr uint64_t table_entry(HostPhys table, const Flags& leaf)
    {
        return (table.value() & address_mask) | present | writable | (leaf.user ? user : 0);
    }
    // An existing intermediate entry widened so the new leaf's permissions
    // are not cut down by it.
    [[nodiscard]] static constexpr uint64_t widen_table(uint64_t e, const Flags& leaf)
    {
        return e | writable | (leaf.user ? user : 0);
    }

    [[nodiscard]] static constexpr uint64_t leaf_entry(HostPhys pa, const Flags& f, int level)
    {
        uint64_t e = (pa.value() & address_mask) | present;
        if (level > 0)
            e |= large;
        if (f.writable)
            e |= writable;
        if (f.user)
            e |= user;
        if (f.write_through)
            e |= write_through;
        if (f.cache_disable)
            e |= cache_disable;
        if (f.global)
            e |= global;
        if (!f.executable)
            e |= no_execute;
        return e;
    }

    [[nodiscard]] static constexpr Flags leaf_flags(uint64_t e)
    {
        Flags f;
        f.writable = (e & writable) != 0;
        f.executable = (e & no_execute) == 0;
        f.user = (e & user) != 0;
        f.global = (e & global) != 0;
        f.write_through = (e & write_through) != 0;
        f.cache_disable = (e & cache_disable) != 0;
        return f;
    }

    // Access rights are the intersection over the whole walk (SDM Vol 3A
    // 4.6.1): a read-only, supervisor or NX upper entry wins over the leaf.
    [[nodiscard]] static constexpr Flags restrict_by(Flags f, uint64_t upper)
    {
        f.writable = f.writable && (upper & writable) != 0;
        f.user = f.user && (upper & user) != 0;
        f.executable = f.executable && (upper & no_execute) == 0;
        return f;
    }
};

template <typename Memory, typename Format = X86Format>
    requires TableMemory<Memory>
class PageTable final {
public:
    using Input = typename Format::Input;
    using Flags = typename Format::Flags;
    using Translation = BasicTranslation<Flags>;

    PageTable(Memory& memory, HostPhys root) : memory_{&memory}, root_{root} {}

    [[nodiscard]] static Optional<PageTable> create(Memory& memory)
    {
        const Optional<HostPhys> root = memory.alloc_table();
        if (!root)
            return {};
        return PageTable{memory, *root};
    }

    [[nodiscard]] HostPhys root() const { return root_; }

    // Maps [va, va+size) to [pa, pa+size). The range is split into the
    // largest pages that va, pa and the remaining size allow (1 GiB only
    // with allow_1g, 2 MiB only with allow_2m).
    //
    // All-or-nothing for leaves: the whole range is checked before anything
    // is written, so misaligned, non_canonical and already_mapped leave the
    // tables untouched. out_of_memory can only happen while intermediate
    // tables are being added, which happens before any leaf is written: on
    // that error no new translation exists, but tables allocated before the
    // failure stay linked in (empty). Retrying the same map() reuses them;
    // a later map() wanting a large page exactly there would see them as
    // already_mapped.
    //
    // size 0 maps nothing and succeeds.
    [[nodiscard]] MapError map(Input va, HostPhys pa, uint64_t size, Flags flags, bool allow_2m = true,
                               bool allow_1g = false)
    {
        if (size == 0)
            return MapError::none;
        if (!va.aligned(page_size) || !pa.aligned(page_size) || size % page_size != 0)
            return MapError::misaligned;
        if (size - 1 > ~0ull - va.value() || !Format::valid_range(va.value(), va.value() + (size - 1)))
            return MapError::non_canonical;
        if (size > Format::max_phys || pa.value() > Format::max_phys - size)
            return MapError::non_canonical;   // no such physical address

        const Plan plan{va.value(), pa.value(), size, allow_2m, allow_1g};
        if (!walk(plan, Pass::check, flags))
            return MapError::already_mapped;
        if (!walk(plan, Pass::build, flags))
            return MapError::out_of_memory;
        walk(plan, Pass::write, flags);
        return MapError::none;
    }

    // The translation of va, with the access rights of the whole walk (an
    // upper entry can only take rights away) and the caching bits of the
    // leaf.
    [[nodiscard]] Optional<Translation> translate(Input va) const
    {
        const uint64_t v = va.value();
        if (!Format::valid_input(v))
            return {};
        uint64_t upper[levels]{};
        int depth = 0;
        HostPhys table = root_;
        for (int level = levels - 1; level >= 0; --level) {
            const uint64_t e = memory_->table(table)[table_index(v, level)];
            if (!Format::is_present(e))
                return {};
            if (Format::is_leaf(e, level)) {
                Flags f = Format::leaf_flags(e);
                for (int i = 0; i < depth; ++i)
                    f = Format::restrict_by(f, upper[i]);
                const uint64_t span = entry_span(level);
                return Translation{HostPhys{Format::leaf_address(e, level) | (v & (span - 1))}, span, f};
            }
            upper[depth++] = e;
            table = HostPhys{Format::table_address(e)};
        }
        return {};   // unreachable: level 0 entries are always leaves
    }

    // Raw entry at `level` on the walk to va, if the walk reaches that level
    // (for tests and debug dumps).
    [[nodiscard]] Optional<uint64_t> entry(Input va, int level) const
    {
        HostPhys table = root_;
        for (int l = levels - 1; l >= level; --l) {
            const uint64_t e = memory_->table(table)[table_index(va.value(), l)];
            if (l == level)
                return e;
            if (!Format::is_present(e) || Format::is_leaf(e, l))
                return {};
            table = HostPhys{Format::table_address(e)};
        }
        return {};
    }

private:
    struct Plan {
        uint64_t va;
        uint64_t pa;
        uint64_t size;
        bool allow_2m;
        bool allow_1g;
    };
    enum class Pass { check, build, write };

    // Level of the leaf for the chunk at (va, pa) with `left` bytes to go.
    [[nodiscard]] static int leaf_level(const Plan& p, uint64_t va, uint64_t pa, uint64_t left)
    {
        for (int level = 2; level > 0; --level) {
            if (!Format::leaf_allowed(level))
                continue;
            if ((level == 2 && !p.allow_1g) || (level == 1 && !p.allow_2m))
                continue;
            const uint64_t span = entry_span(level);
            if (va % span == 0 && pa % span == 0 && left >= span)
                return level;
        }
        return 0;
    }

    // One pass over the range, chunk by chunk.
    //  check: false if any chunk would land on a present leaf or table;
    //  build: creates missing tables above each leaf, false when out of memory;
    //  write: writes the leaves (cannot fail after the other two).
    bool walk(const Plan& p, Pass pass, const Flags& flags)
    {
        uint64_t done = 0;
        while (done < p.size) {
            const uint64_t va = p.va + done;
            const uint64_t pa = p.pa + done;
            const int target = leaf_level(p, va, pa, p.size - done);
            uint64_t step = entry_span(target);

            HostPhys table = root_;
            for (int level = levels - 1;; --level) {
                uint64_t* entries = memory_->table(table);
                uint64_t& e = entries[table_index(va, level)];
                if (level == target) {
                    if (pass == Pass::check && Format::is_present(e))
                        return false;
                    if (pass == Pass::write)
                        e = Format::leaf_entry(HostPhys{pa}, flags, level);
                    break;
                }
                if (!Format::is_present(e)) {
                    if (pass == Pass::check) {
                        // Nothing below: the rest of this entry's span is
                        // free too, so skip to its end (or the range's end).
                        const uint64_t span = entry_span(level);
                        const uint64_t to_end = span - (va & (span - 1));
                        step = to_end < p.size - done ? to_end : p.size - done;
                        break;
                    }
                    // Only build creates tables; write runs after build
                    // succeeded, so every table is there by then.
                    const Optional<HostPhys> fresh = memory_->alloc_table();
                    if (!fresh)
                        return false;
                    e = Format::table_entry(*fresh, flags);
                } else if (Format::is_leaf(e, level)) {
                    return false;   // only reachable in check: a larger page covers this chunk
                } else if (pass == Pass::build) {
                    e = Format::widen_table(e, flags);
                }
                table = HostPhys{Format::table_address(e)};
            }
            done += step;
        }
        return true;
    }

    Memory* memory_;
    HostPhys root_;
};

} // namespace menhir::paging
