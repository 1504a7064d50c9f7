// PAE paging's four PDPTEs (SDM Vol 3A 4.4.1): when the CPU loads them and
// which of their bits are reserved. Pure: the CR and task-switch exit
// handlers follow it, host unit tests check it.
#pragma once
#include <cstdint>

namespace menhir::pae {

inline constexpr uint64_t cr0_pg = 1ull << 31, cr0_cd = 1ull << 30, cr0_nw = 1ull << 29;
inline constexpr uint64_t cr4_pse = 1ull << 4, cr4_pae = 1ull << 5, cr4_pge = 1ull << 7, cr4_smep = 1ull << 20;
inline constexpr uint64_t efer_lme = 1ull << 8;

// PAE paging: CR0.PG, CR4.PAE and EFER.LME clear (SDM Vol 3A 4.4).
[[nodiscard]] constexpr bool paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    return (cr0 & cr0_pg) && (cr4 & cr4_pae) && !(efer & efer_lme);
}

// SDM Vol 3A 4.4.1: a MOV to CR0 or CR4 after which PAE paging is in use
// loads the PDPTEs if it changes CD, NW, PG, PAE, PGE, PSE or SMEP; a MOV
// to CR3 (and a task switch that loads CR3) loads them whenever PAE paging
// is in use.
[[nodiscard]] constexpr bool cr_write_loads(uint64_t old_cr0, uint64_t old_cr4, uint64_t cr0, uint64_t cr4,
                                            uint64_t efer)
{
    if (!paging(cr0, cr4, efer)) return false;
    return ((old_cr0 ^ cr0) & (cr0_cd | cr0_nw | cr0_pg)) || ((old_cr4 ^ cr4) & (cr4_pae | cr4_pge | cr4_pse | cr4_smep));
}

// The page-directory-pointer table: CR3 bits 31:5 (SDM Vol 3A Table 4-7).
[[nodiscard]] constexpr uint64_t table_address(uint64_t cr3) { return cr3 & 0xffffffe0u; }

// Reserved bits of a present PDPTE (SDM Vol 3A Table 4-8): 2:1, 8:5 and
// MAXPHYADDR..63 (bit 63 too: PDPTEs have no XD bit).
[[nodiscard]] constexpr uint64_t reserved_bits(uint32_t maxphyaddr)
{
    const uint64_t above = maxphyaddr >= 64 ? 0 : ~0ull << maxphyaddr;
    return above | 0x6u | 0x1e0u;
}

// A PDPTE the CPU would load; not-present ones may hold anything.
[[nodiscard]] constexpr bool valid(uint64_t pdpte, uint32_t maxphyaddr)
{
    return !(pdpte & 1) || !(pdpte & reserved_bits(maxphyaddr));
}

} // namespace menhir::pae
