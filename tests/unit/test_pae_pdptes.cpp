// PAE PDPTE loading rules and reserved bits (vmm/pae_pdptes.hpp).
#include "vmm/pae_pdptes.hpp"

#include <catch2/catch.hpp>

using namespace menhir::pae;

TEST_CASE("PAE paging is PG and PAE without LME", "[pae]")
{
    CHECK(paging(cr0_pg, cr4_pae, 0));
    CHECK_FALSE(paging(cr0_pg, cr4_pae, efer_lme));
    CHECK_FALSE(paging(cr0_pg, 0, 0));
    CHECK_FALSE(paging(0, cr4_pae, 0));
}

TEST_CASE("MOV to CR0/CR4 loads PDPTEs only into PAE paging and only for the listed bits", "[pae]")
{
    CHECK(cr_write_loads(0, cr4_pae, cr0_pg, cr4_pae, 0));                    // paging turned on
    CHECK(cr_write_loads(cr0_pg, 0, cr0_pg, cr4_pae, 0));                     // 32-bit paging -> PAE
    CHECK(cr_write_loads(cr0_pg, cr4_pae, cr0_pg | cr0_cd, cr4_pae, 0));      // CD changed
    CHECK(cr_write_loads(cr0_pg, cr4_pae, cr0_pg, cr4_pae | cr4_pge, 0));     // PGE changed
    CHECK(cr_write_loads(cr0_pg, cr4_pae, cr0_pg, cr4_pae | cr4_smep, 0));    // SMEP changed
    CHECK_FALSE(cr_write_loads(cr0_pg, cr4_pae, cr0_pg | (1u << 16), cr4_pae, 0));   // WP only
    CHECK_FALSE(cr_write_loads(cr0_pg, cr4_pae, 0, cr4_pae, 0));             // paging turned off
    CHECK_FALSE(cr_write_loads(0, cr4_pae, cr0_pg, cr4_pae, efer_lme));       // long mode: no PDPTE registers
}

TEST_CASE("PDPT address is CR3 bits 31:5", "[pae]")
{
    CHECK(table_address(0x12345fffu) == 0x12345fe0u);
    CHECK(table_address(0xffffffff00001000ull) == 0x1000u);
}

TEST_CASE("present PDPTEs with reserved bits are refused", "[pae]")
{
    CHECK(valid(0x1000 | 1, 36));
    CHECK(valid(0x1000 | 1 | (1u << 3) | (1u << 4) | (7u << 9), 36));   // PWT, PCD, ignored bits
    CHECK_FALSE(valid(0x1000 | 1 | 2, 36));                            // R/W is reserved here
    CHECK_FALSE(valid(0x1000 | 1 | (1u << 7), 36));                    // so is PS
    CHECK_FALSE(valid(0x1000 | 1 | (1ull << 63), 52));                 // no XD in a PDPTE
    CHECK_FALSE(valid((1ull << 36) | 1, 36));                          // beyond MAXPHYADDR
    CHECK(valid((1ull << 36) | 1, 39));
    CHECK(valid(~0ull & ~1ull, 36));                                   // not present: anything goes
}
