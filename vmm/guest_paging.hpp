// Translating a guest-linear address the way the guest's own MMU would
// (Intel SDM Vol 3A chapter 4), so hypercall arguments given as guest
// pointers can be copied. Header-only and templated over how guest-physical
// memory is read, so host tests can run it over a fake memory.
//
// What it checks: present bits at every level, and for writes R/W at every
// level when CR0.WP is set (SDM 4.6.1: supervisor writes to read-only pages
// are allowed only with WP clear). U/S is ignored: the hypervisor acts for
// the guest kernel. NX, protection keys, SMAP/SMEP and reserved bits are
// not checked (a bad entry only lets the guest name its own memory, and
// the resulting address is still checked against guest RAM by whoever
// reads it). Accessed and dirty bits are not set.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::guest {

// long5 is 5-level paging (CR4.LA57); translate() refuses it.
enum class PagingMode { none, legacy32, pae, long4, long5 };

inline constexpr uint64_t cr0_wp = 1ull << 16;
inline constexpr uint64_t cr0_pg = 1ull << 31;
inline constexpr uint64_t cr4_pse = 1ull << 4;
inline constexpr uint64_t cr4_pae = 1ull << 5;
inline constexpr uint64_t cr4_la57 = 1ull << 12;
inline constexpr uint64_t efer_lma = 1ull << 10;

// SDM 4.1.1, Table 4-1: the paging mode follows from CR0.PG, CR4.PAE,
// IA32_EFER.LMA and CR4.LA57.
[[nodiscard]] constexpr PagingMode paging_mode(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    if ((cr0 & cr0_pg) == 0) {
        return PagingMode::none;
    }
    if ((efer & efer_lma) != 0) {
        return (cr4 & cr4_la57) != 0 ? PagingMode::long5 : PagingMode::long4;
    }
    return (cr4 & cr4_pae) != 0 ? PagingMode::pae : PagingMode::legacy32;
}

enum class Access { read, write };

struct Translation {
    bool ok;
    uint64_t gpa;
    uint64_t page_bytes_left;   // bytes from gpa to the end of its page, whatever the page size
};

namespace detail {

inline constexpr uint64_t pte_present = 1ull << 0;
inline constexpr uint64_t pte_writable = 1ull << 1;
inline constexpr uint64_t pte_large = 1ull << 7;   // PS
// Bits 51:12 (SDM 4.5.4): the most MAXPHYADDR allows; bit 63 (XD) and the
// protection-key bits 62:59 are not address bits.
inline constexpr uint64_t address_mask = 0x000f'ffff'ffff'f000ull;

inline constexpr Translation fail{false, 0, 0};

[[nodiscard]] constexpr Translation leaf(uint64_t frame, uint64_t linear, uint64_t page_bytes)
{
    const uint64_t offset = linear & (page_bytes - 1);
    return Translation{true, frame + offset, page_bytes - offset};
}

// Reads one paging-structure entry; false if the memory is not backed or
// the entry is not present.
template <typename ReadPhys>
[[nodiscard]] bool read_entry(const ReadPhys& read, uint64_t gpa, size_t bytes, uint64_t& entry)
{
    uint64_t value = 0;
    if (!read(gpa, value, bytes)) {
        return false;
    }
    entry = bytes == 4 ? (value & 0xffff'ffffull) : value;
    return (entry & pte_present) != 0;
}

// A write is refused by any read-only entry on the path when CR0.WP is set.
[[nodiscard]] constexpr bool write_denied(uint64_t entry, Access access, uint64_t cr0)
{
    return access == Access::write && (cr0 & cr0_wp) != 0 && (entry & pte_writable) == 0;
}

// SDM 4.3, 32-bit paging: a page directory of 1024 4-byte entries at
// CR3[31:12]; with CR4.PSE a PDE with PS set maps 4 MiB (Table 4-4, bits
// 20:13 give physical address bits 39:32, "PSE-36"); otherwise a page table
// of 1024 4-byte PTEs maps 4 KiB.
template <typename ReadPhys>
[[nodiscard]] Translation walk_legacy32(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint32_t la, Access access,
                                        const ReadPhys& read)
{
    uint64_t pde = 0;
    const uint64_t pd = cr3 & 0xffff'f000ull;
    if (!read_entry(read, pd + ((la >> 22) & 0x3ff) * 4, 4, pde) || write_denied(pde, access, cr0)) {
        return fail;
    }
    if ((pde & pte_large) != 0 && (cr4 & cr4_pse) != 0) {
        const uint64_t frame = (pde & 0xffc0'0000ull) | (((pde >> 13) & 0xff) << 32);
        return leaf(frame, la, 4ull << 20);
    }
    uint64_t pte = 0;
    const uint64_t pt = pde & 0xffff'f000ull;
    if (!read_entry(read, pt + ((la >> 12) & 0x3ff) * 4, 4, pte) || write_denied(pte, access, cr0)) {
        return fail;
    }
    return leaf(pte & 0xffff'f000ull, la, 4096);
}

// SDM 4.4, PAE paging: four 8-byte PDPTEs at CR3[31:5] (read here from
// memory; the CPU caches them at MOV to CR3). PDPTEs have no R/W bit
// (Table 4-8). A PDE with PS set maps 2 MiB whatever CR4.PSE says.
template <typename ReadPhys>
[[nodiscard]] Translation walk_pae(uint64_t cr0, uint64_t cr3, uint32_t la, Access access, const ReadPhys& read)
{
    uint64_t pdpte = 0;
    const uint64_t pdpt = cr3 & 0xffff'ffe0ull;
    if (!read_entry(read, pdpt + ((la >> 30) & 0x3) * 8, 8, pdpte)) {
        return fail;
    }
    uint64_t pde = 0;
    if (!read_entry(read, (pdpte & address_mask) + ((la >> 21) & 0x1ff) * 8, 8, pde) ||
        write_denied(pde, access, cr0)) {
        return fail;
    }
    if ((pde & pte_large) != 0) {
        return leaf(pde & address_mask & ~((2ull << 20) - 1), la, 2ull << 20);
    }
    uint64_t pte = 0;
    if (!read_entry(read, (pde & address_mask) + ((la >> 12) & 0x1ff) * 8, 8, pte) ||
        write_denied(pte, access, cr0)) {
        return fail;
    }
    return leaf(pte & address_mask, la, 4096);
}

// SDM 4.5, 4-level paging: PML4 at CR3[51:12] (the low 12 bits may be a
// PCID), then PDPT (PS: 1 GiB), PD (PS: 2 MiB), PT. The address must be
// canonical (bits 63:47 equal) or the access would fault.
template <typename ReadPhys>
[[nodiscard]] Translation walk_long4(uint64_t cr0, uint64_t cr3, uint64_t la, Access access, const ReadPhys& read)
{
    const uint64_t top = la >> 47;
    if (top != 0 && top != (1ull << 17) - 1) {
        return fail;
    }
    uint64_t table = cr3 & address_mask;
    for (int level = 3; level >= 0; --level) {
        const int shift = 12 + 9 * level;
        uint64_t entry = 0;
        if (!read_entry(read, table + ((la >> shift) & 0x1ff) * 8, 8, entry) || write_denied(entry, access, cr0)) {
            return fail;
        }
        // PS is a page-size bit only in the PDPT (1 GiB) and PD (2 MiB).
        const uint64_t span = 1ull << shift;
        if (level == 0 || ((level == 1 || level == 2) && (entry & pte_large) != 0)) {
            return leaf(entry & address_mask & ~(span - 1), la, span);
        }
        table = entry & address_mask;
    }
    return fail;   // not reached: level 0 always returns
}

} // namespace detail

// Translates `linear` for an access of kind `access`. ReadPhys is callable
// as bool read(uint64_t gpa, uint64_t& value, size_t bytes) const and
// returns false if gpa is not backed; bytes is 4 or 8. Without paging the
// guest-physical address is the linear one, cut to 32 bits (the guest
// cannot be in long mode then), and page_bytes_left counts to the end of
// the 4 KiB page.
template <typename ReadPhys>
[[nodiscard]] Translation translate(PagingMode mode, uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t linear,
                                    Access access, const ReadPhys& read)
{
    const auto la32 = static_cast<uint32_t>(linear);   // outside long mode linear addresses are 32-bit
    switch (mode) {
    case PagingMode::none:
        return detail::leaf(la32 & ~uint64_t{0xfff}, la32, 4096);
    case PagingMode::legacy32:
        return detail::walk_legacy32(cr0, cr3, cr4, la32, access, read);
    case PagingMode::pae:
        return detail::walk_pae(cr0, cr3, la32, access, read);
    case PagingMode::long4:
        return detail::walk_long4(cr0, cr3, linear, access, read);
    case PagingMode::long5:
        return detail::fail;
    }
    return detail::fail;
}

} // namespace menhir::guest
