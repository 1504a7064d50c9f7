// The guest page walker over a fake guest-physical memory, in every paging
// mode: each page size, not-present entries at each level, unbacked tables,
// read-only entries with CR0.WP set and clear.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <map>

#include "vmm/guest_paging.hpp"

namespace guest = menhir::guest;
using guest::Access;
using guest::PagingMode;

namespace {

constexpr uint64_t P = 1, RW = 2, US = 4, PS = 128, NX = 1ull << 63;
constexpr uint64_t KiB4 = 4096, MiB2 = 2ull << 20, MiB4 = 4ull << 20, GiB1 = 1ull << 30;
constexpr uint64_t WP = guest::cr0_wp;
constexpr uint64_t PSE = guest::cr4_pse;

// Sparse guest-physical memory of 4 KiB pages; reads from pages never
// written fail, as unbacked guest memory would.
struct FakeMemory {
    std::map<uint64_t, std::array<uint8_t, 4096>> pages;
    mutable int reads = 0;

    void back(uint64_t gpa)
    {
        auto [it, added] = pages.try_emplace(gpa / KiB4);
        if (added)
            it->second.fill(0);
    }
    void set(uint64_t gpa, uint64_t value, size_t bytes)
    {
        back(gpa);
        REQUIRE(gpa % KiB4 + bytes <= KiB4);
        std::memcpy(pages[gpa / KiB4].data() + gpa % KiB4, &value, bytes);
    }
    void set32(uint64_t gpa, uint32_t v) { set(gpa, v, 4); }
    void set64(uint64_t gpa, uint64_t v) { set(gpa, v, 8); }

    bool operator()(uint64_t gpa, uint64_t& value, size_t bytes) const
    {
        ++reads;
        REQUIRE((bytes == 4 || bytes == 8));
        REQUIRE(gpa % bytes == 0);   // entries are naturally aligned
        const auto it = pages.find(gpa / KiB4);
        if (it == pages.end())
            return false;
        value = 0xdeadbeefdeadbeefull;   // the walker must not rely on the upper half for 4-byte reads
        std::memcpy(&value, it->second.data() + gpa % KiB4, bytes);
        return true;
    }
};

guest::Translation walk(PagingMode mode, uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t la, Access a,
                        const FakeMemory& m)
{
    return guest::translate(mode, cr0, cr3, cr4, la, a, m);
}

void check_ok(const guest::Translation& t, uint64_t gpa, uint64_t left)
{
    CHECK(t.ok);
    CHECK(t.gpa == gpa);
    CHECK(t.page_bytes_left == left);
}

// 4-level: linear address from table indexes.
constexpr uint64_t la4(uint64_t pml4, uint64_t pdpt, uint64_t pd, uint64_t pt, uint64_t off)
{
    uint64_t la = (pml4 << 39) | (pdpt << 30) | (pd << 21) | (pt << 12) | off;
    if ((la >> 47) & 1)
        la |= 0xffff'0000'0000'0000ull;   // sign-extend to canonical form
    return la;
}

} // namespace

TEST_CASE("guest paging: mode from CR0, CR4 and EFER", "[guest_paging]")
{
    constexpr uint64_t PG = guest::cr0_pg, PAE = guest::cr4_pae, LA57 = guest::cr4_la57, LMA = guest::efer_lma;
    STATIC_REQUIRE(guest::paging_mode(0, 0, 0) == PagingMode::none);
    STATIC_REQUIRE(guest::paging_mode(1, PAE | PSE, 0) == PagingMode::none);   // PE only
    STATIC_REQUIRE(guest::paging_mode(PG | 1, 0, 0) == PagingMode::legacy32);
    STATIC_REQUIRE(guest::paging_mode(PG | 1, PSE, 0) == PagingMode::legacy32);
    STATIC_REQUIRE(guest::paging_mode(PG | 1, PAE, 0) == PagingMode::pae);
    STATIC_REQUIRE(guest::paging_mode(PG | 1, PAE, 1ull << 8) == PagingMode::pae);   // LME without LMA yet
    STATIC_REQUIRE(guest::paging_mode(PG | 1, PAE, LMA | (1ull << 8)) == PagingMode::long4);
    STATIC_REQUIRE(guest::paging_mode(PG | 1, PAE | LA57, LMA) == PagingMode::long5);
}

TEST_CASE("guest paging: no paging", "[guest_paging]")
{
    FakeMemory m;
    check_ok(walk(PagingMode::none, 0, 0, 0, 0x12345, Access::write, m), 0x12345, KiB4 - 0x345);
    check_ok(walk(PagingMode::none, 0, 0, 0, 0x7'0000'1000, Access::read, m), 0x1000, KiB4);
    check_ok(walk(PagingMode::none, 0, 0, 0, 0xffff'ffff, Access::read, m), 0xffff'ffff, 1);
    CHECK(m.reads == 0);
}

TEST_CASE("guest paging: 5-level paging is refused", "[guest_paging]")
{
    FakeMemory m;
    m.set64(0x1000, 0x2000 | P | RW);
    CHECK_FALSE(walk(PagingMode::long5, WP, 0x1000, 0, 0, Access::read, m).ok);
}

TEST_CASE("guest paging: 32-bit paging", "[guest_paging]")
{
    // PD at 0x1000, PT at 0x2000.
    FakeMemory m;
    const uint64_t cr3 = 0x1000;
    m.set32(0x1000 + 1 * 4, 0x2000 | P | RW | US);
    m.set32(0x2000 + 2 * 4, 0x00abc000 | P | RW);
    const uint64_t la = (1u << 22) | (2u << 12) | 0x345;

    SECTION("4 KiB page")
    {
        check_ok(walk(PagingMode::legacy32, WP, cr3, 0, la, Access::read, m), 0xabc345, KiB4 - 0x345);
        check_ok(walk(PagingMode::legacy32, WP, cr3, 0, la, Access::write, m), 0xabc345, KiB4 - 0x345);
        // Bits above 31 of the linear address do not exist outside long mode.
        check_ok(walk(PagingMode::legacy32, WP, cr3, 0, la | (5ull << 32), Access::read, m), 0xabc345,
                 KiB4 - 0x345);
        // CR3 low bits (PWT/PCD) are not address bits.
        check_ok(walk(PagingMode::legacy32, WP, cr3 | 0x18, 0, la, Access::read, m), 0xabc345, KiB4 - 0x345);
    }
    SECTION("4 MiB page with CR4.PSE, including PSE-36 high bits")
    {
        m.set32(0x1000 + 3 * 4, 0x00c00000 | P | RW | PS);
        check_ok(walk(PagingMode::legacy32, WP, cr3, PSE, (3u << 22) | 0x12345, Access::write, m), 0xc12345,
                 MiB4 - 0x12345);
        m.set32(0x1000 + 4 * 4, 0x01000000 | (0x5u << 13) | P | PS);
        check_ok(walk(PagingMode::legacy32, WP, cr3, PSE, (4u << 22) | 0x3fffff, Access::read, m),
                 0x5'013f'ffffull, 1);
    }
    SECTION("PS is ignored without CR4.PSE")
    {
        m.set32(0x1000 + 3 * 4, 0x00c00000 | P | RW | PS);
        CHECK_FALSE(walk(PagingMode::legacy32, WP, cr3, 0, (3u << 22) | 0x12345, Access::read, m).ok);
        m.set32(0x00c00000 + 0x12 * 4, 0x00777000 | P);   // the PDE now names a page table
        check_ok(walk(PagingMode::legacy32, WP, cr3, 0, (3u << 22) | 0x12345, Access::read, m), 0x777345,
                 KiB4 - 0x345);
    }
    SECTION("not present at each level, unbacked tables")
    {
        CHECK_FALSE(walk(PagingMode::legacy32, WP, cr3, 0, (9u << 22), Access::read, m).ok);      // PDE
        CHECK_FALSE(walk(PagingMode::legacy32, WP, cr3, 0, (1u << 22) | (7u << 12), Access::read, m).ok);   // PTE
        m.set32(0x2000 + 2 * 4, 0x00abc000 | RW);
        CHECK_FALSE(walk(PagingMode::legacy32, WP, cr3, 0, la, Access::read, m).ok);
        m.set32(0x1000 + 5 * 4, 0x00900000 | P | RW);   // page table not backed
        CHECK_FALSE(walk(PagingMode::legacy32, WP, cr3, 0, (5u << 22), Access::read, m).ok);
        CHECK_FALSE(walk(PagingMode::legacy32, WP, 0x50000, 0, la, Access::read, m).ok);   // PD not backed
    }
    SECTION("read-only PDE or PTE: writes fail only with CR0.WP")
    {
        for (int level = 0; level < 2; ++level) {
            FakeMemory r = m;
            if (level == 1)
                r.set32(0x1000 + 1 * 4, 0x2000 | P);
            else
                r.set32(0x2000 + 2 * 4, 0x00abc000 | P);
            CHECK(walk(PagingMode::legacy32, WP, cr3, 0, la, Access::read, r).ok);
            CHECK_FALSE(walk(PagingMode::legacy32, WP, cr3, 0, la, Access::write, r).ok);
            check_ok(walk(PagingMode::legacy32, 0, cr3, 0, la, Access::write, r), 0xabc345, KiB4 - 0x345);
        }
        FakeMemory r = m;
        r.set32(0x1000 + 3 * 4, 0x00c00000 | P | PS);   // read-only 4 MiB page
        CHECK_FALSE(walk(PagingMode::legacy32, WP, cr3, PSE, 3u << 22, Access::write, r).ok);
        CHECK(walk(PagingMode::legacy32, 0, cr3, PSE, 3u << 22, Access::write, r).ok);
    }
}

TEST_CASE("guest paging: PAE paging", "[guest_paging]")
{
    // PDPT at 0x1020 (32-byte aligned, sharing a page), PD at 0x2000, PT at 0x3000.
    FakeMemory m;
    const uint64_t cr3 = 0x1020;
    m.set64(0x1020 + 1 * 8, 0x2000 | P);
    m.set64(0x2000 + 3 * 8, 0x3000 | P | RW);
    m.set64(0x3000 + 4 * 8, 0x1'2345'6000ull | P | RW | NX);
    const uint64_t la = (1u << 30) | (3u << 21) | (4u << 12) | 0x789;

    SECTION("4 KiB page above 4 GiB physical")
    {
        check_ok(walk(PagingMode::pae, WP, cr3, 0, la, Access::write, m), 0x1'2345'6789ull, KiB4 - 0x789);
        check_ok(walk(PagingMode::pae, WP, cr3 | 0x18, 0, la | (1ull << 40), Access::read, m), 0x1'2345'6789ull,
                 KiB4 - 0x789);
    }
    SECTION("2 MiB page, whatever CR4.PSE says")
    {
        m.set64(0x2000 + 5 * 8, 0x2'0000'0000ull | (1u << 12) | P | RW | PS);   // bit 12 is PAT
        const uint64_t la2 = (1u << 30) | (5u << 21) | 0x1abcd;
        check_ok(walk(PagingMode::pae, WP, cr3, 0, la2, Access::write, m), 0x2'0001'abcdull, MiB2 - 0x1abcd);
        check_ok(walk(PagingMode::pae, WP, cr3, PSE, la2, Access::read, m), 0x2'0001'abcdull, MiB2 - 0x1abcd);
    }
    SECTION("not present at each level, unbacked tables")
    {
        CHECK_FALSE(walk(PagingMode::pae, WP, cr3, 0, 2u << 30, Access::read, m).ok);                 // PDPTE
        CHECK_FALSE(walk(PagingMode::pae, WP, cr3, 0, (1u << 30) | (9u << 21), Access::read, m).ok);  // PDE
        CHECK_FALSE(walk(PagingMode::pae, WP, cr3, 0, (1u << 30) | (3u << 21) | (8u << 12), Access::read, m).ok);
        m.set64(0x1020 + 3 * 8, 0x70000 | P);   // PD not backed
        CHECK_FALSE(walk(PagingMode::pae, WP, cr3, 0, 3u << 30, Access::read, m).ok);
        CHECK_FALSE(walk(PagingMode::pae, WP, 0x80000, 0, la, Access::read, m).ok);   // PDPT not backed
    }
    SECTION("PDPTEs have no R/W bit; read-only PDE or PTE refuse writes with CR0.WP")
    {
        // The PDPTE above has no RW set and writes still pass.
        CHECK(walk(PagingMode::pae, WP, cr3, 0, la, Access::write, m).ok);
        for (int level = 0; level < 2; ++level) {
            FakeMemory r = m;
            if (level == 1)
                r.set64(0x2000 + 3 * 8, 0x3000 | P);
            else
                r.set64(0x3000 + 4 * 8, 0x1'2345'6000ull | P);
            CHECK(walk(PagingMode::pae, WP, cr3, 0, la, Access::read, r).ok);
            CHECK_FALSE(walk(PagingMode::pae, WP, cr3, 0, la, Access::write, r).ok);
            CHECK(walk(PagingMode::pae, 0, cr3, 0, la, Access::write, r).ok);
        }
    }
}

TEST_CASE("guest paging: 4-level paging", "[guest_paging]")
{
    // PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000, PT at 0x4000; a second
    // PDPT at 0x5000 for the upper half.
    FakeMemory m;
    const uint64_t cr3 = 0x1000;
    m.set64(0x1000 + 1 * 8, 0x2000 | P | RW);
    m.set64(0x2000 + 2 * 8, 0x3000 | P | RW);
    m.set64(0x3000 + 3 * 8, 0x4000 | P | RW);
    m.set64(0x4000 + 4 * 8, 0xabcd000 | P | RW | PS);   // bit 7 of a PTE is PAT, not a size
    const uint64_t la = la4(1, 2, 3, 4, 0x123);

    SECTION("4 KiB page")
    {
        check_ok(walk(PagingMode::long4, WP, cr3, 0, la, Access::write, m), 0xabcd123, KiB4 - 0x123);
        // PCID in CR3[11:0] and the no-flush bit 63 are not address bits.
        check_ok(walk(PagingMode::long4, WP, cr3 | 0x5 | (1ull << 63), 0, la, Access::read, m), 0xabcd123,
                 KiB4 - 0x123);
        // XD and protection-key bits of the leaf are not address bits.
        m.set64(0x4000 + 5 * 8, 0xabce000 | P | NX | (0xfull << 59));
        check_ok(walk(PagingMode::long4, WP, cr3, 0, la4(1, 2, 3, 5, 0xfff), Access::read, m), 0xabcefff, 1);
    }
    SECTION("2 MiB and 1 GiB pages")
    {
        m.set64(0x3000 + 5 * 8, 0x4000'0000ull | (1u << 12) | P | RW | PS);
        check_ok(walk(PagingMode::long4, WP, cr3, 0, la4(1, 2, 5, 0, 0x12345), Access::write, m), 0x4001'2345ull,
                 MiB2 - 0x12345);
        m.set64(0x2000 + 6 * 8, 0x8'8000'0000ull | P | RW | PS);
        check_ok(walk(PagingMode::long4, WP, cr3, 0, la4(1, 6, 0, 0, 0x1234567), Access::write, m),
                 0x8'8123'4567ull, GiB1 - 0x1234567);
        check_ok(walk(PagingMode::long4, WP, cr3, 0, la4(1, 6, 511, 511, 0xfff), Access::read, m),
                 0x8'8000'0000ull + GiB1 - 1, 1);
    }
    SECTION("upper-half canonical addresses; non-canonical ones fail")
    {
        m.set64(0x1000 + 511 * 8, 0x5000 | P | RW);
        m.set64(0x5000 + 510 * 8, 0x0 | P | RW | PS);   // 1 GiB page at 0
        const uint64_t kernel = 0xffff'ffff'8000'0000ull;
        REQUIRE(kernel == la4(511, 510, 0, 0, 0));
        check_ok(walk(PagingMode::long4, WP, cr3, 0, kernel + 0x1000, Access::read, m), 0x1000, GiB1 - 0x1000);
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, 0x0000'8000'0000'0000ull, Access::read, m).ok);
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, 0x7fff'ffff'8000'0000ull, Access::read, m).ok);
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, kernel & ~(1ull << 63), Access::read, m).ok);
    }
    SECTION("not present at each level, unbacked tables")
    {
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, la4(0, 2, 3, 4, 0), Access::read, m).ok);   // PML4E
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, la4(1, 0, 3, 4, 0), Access::read, m).ok);   // PDPTE
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, la4(1, 2, 0, 4, 0), Access::read, m).ok);   // PDE
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, la4(1, 2, 3, 0, 0), Access::read, m).ok);   // PTE
        // Present bit clear with an otherwise valid address.
        m.set64(0x4000 + 4 * 8, 0xabcd000 | RW);
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, la, Access::read, m).ok);
        // Tables pointing at memory that is not backed.
        m.set64(0x1000 + 7 * 8, 0x99'9000 | P | RW);
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, la4(7, 0, 0, 0, 0), Access::read, m).ok);
        CHECK_FALSE(walk(PagingMode::long4, WP, 0x123000, 0, la, Access::read, m).ok);
    }
    SECTION("read-only at each level: writes fail only with CR0.WP")
    {
        const uint64_t entries[4][2] = {
            {0x4000 + 4 * 8, 0xabcd000 | P},   // PTE
            {0x3000 + 3 * 8, 0x4000 | P},      // PDE
            {0x2000 + 2 * 8, 0x3000 | P},      // PDPTE
            {0x1000 + 1 * 8, 0x2000 | P},      // PML4E
        };
        for (const auto& e : entries) {
            FakeMemory r = m;
            r.set64(e[0], e[1]);
            INFO("entry at " << e[0]);
            check_ok(walk(PagingMode::long4, WP, cr3, 0, la, Access::read, r), 0xabcd123, KiB4 - 0x123);
            CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, la, Access::write, r).ok);
            check_ok(walk(PagingMode::long4, 0, cr3, 0, la, Access::write, r), 0xabcd123, KiB4 - 0x123);
        }
        // Read-only large pages too.
        FakeMemory r = m;
        r.set64(0x2000 + 6 * 8, 0x4000'0000ull | P | PS);
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, la4(1, 6, 0, 0, 0), Access::write, r).ok);
        CHECK(walk(PagingMode::long4, 0, cr3, 0, la4(1, 6, 0, 0, 0), Access::write, r).ok);
        r.set64(0x3000 + 6 * 8, 0x4000'0000ull | P | PS);
        CHECK_FALSE(walk(PagingMode::long4, WP, cr3, 0, la4(1, 2, 6, 0, 0), Access::write, r).ok);
        CHECK(walk(PagingMode::long4, WP, cr3, 0, la4(1, 2, 6, 0, 0), Access::read, r).ok);
    }
    SECTION("U/S is ignored")
    {
        // None of the entries above set U/S, yet the walk succeeds: the
        // hypervisor reads on behalf of the guest kernel.
        check_ok(walk(PagingMode::long4, WP, cr3, 0, la, Access::write, m), 0xabcd123, KiB4 - 0x123);
    }
}
