#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "arch/x86/paging/page_table.hpp"

using menhir::HostPhys;
using menhir::HostVirt;
using menhir::Optional;
using menhir::paging::Flags;
using menhir::paging::MapError;
using menhir::paging::PageTable;
using menhir::paging::X86Format;

namespace {

constexpr uint64_t KiB4 = 4096;
constexpr uint64_t MiB2 = 2ull << 20;
constexpr uint64_t GiB1 = 1ull << 30;
constexpr uint64_t P = 1, RW = 2, US = 4, PWT = 8, PCD = 16, PS = 128, G = 256, NX = 1ull << 63;

// Table frames live at fake physical addresses 0x10000000 + n * 4 KiB.
struct FakeMemory {
    static constexpr uint64_t base = 0x10000000;
    std::deque<std::array<uint64_t, 512>> tables;
    size_t limit{~size_t{0}};

    Optional<HostPhys> alloc_table()
    {
        if (tables.size() >= limit)
            return {};
        tables.emplace_back();
        tables.back().fill(0);
        return HostPhys{base + (tables.size() - 1) * KiB4};
    }
    uint64_t* table(HostPhys p)
    {
        const uint64_t off = p.value() - base;
        REQUIRE(p.value() >= base);
        REQUIRE(off % KiB4 == 0);
        REQUIRE(off / KiB4 < tables.size());
        return tables[off / KiB4].data();
    }
    // A snapshot of every entry, to show a failed map() changed nothing.
    std::vector<uint64_t> snapshot() const
    {
        std::vector<uint64_t> all;
        for (const auto& t : tables)
            all.insert(all.end(), t.begin(), t.end());
        return all;
    }
};

static_assert(menhir::paging::TableMemory<FakeMemory>);
static_assert(std::is_trivially_destructible_v<PageTable<FakeMemory>>);

Flags rw() { Flags f; f.writable = true; return f; }
Flags rx() { Flags f; f.executable = true; return f; }

HostVirt va(uint64_t v) { return HostVirt{v}; }
HostPhys pa(uint64_t v) { return HostPhys{v}; }

} // namespace

TEST_CASE("page table: create allocates a zeroed root", "[paging]")
{
    FakeMemory mem;
    auto pt = PageTable<FakeMemory>::create(mem);
    REQUIRE(pt);
    CHECK(pt->root() == HostPhys{FakeMemory::base});
    CHECK(mem.tables.size() == 1);
    CHECK_FALSE(pt->translate(va(0)));

    FakeMemory none;
    none.limit = 0;
    CHECK_FALSE(PageTable<FakeMemory>::create(none));
}

TEST_CASE("page table: one 4 KiB page, exact entries at every level", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);
    // va 0xffff800000201000: PML4 256, PDPT 0, PD 1, PT 1.
    const uint64_t v = 0xffff800000201000ull;
    REQUIRE(pt.map(va(v), pa(0x5000), KiB4, rw()) == MapError::none);
    REQUIRE(mem.tables.size() == 4);

    const uint64_t pdpt = FakeMemory::base + KiB4, pd = pdpt + KiB4, ptab = pd + KiB4;
    CHECK(mem.tables[0][256] == (pdpt | P | RW));
    CHECK(mem.tables[1][0] == (pd | P | RW));
    CHECK(mem.tables[2][1] == (ptab | P | RW));
    CHECK(mem.tables[3][1] == (0x5000 | P | RW | NX));
    // Nothing else was written.
    size_t nonzero = 0;
    for (const auto& t : mem.tables)
        for (uint64_t e : t)
            nonzero += e != 0;
    CHECK(nonzero == 4);

    auto t = pt.translate(va(v + 0x123));
    REQUIRE(t);
    CHECK(t->phys == HostPhys{0x5123});
    CHECK(t->page_size == KiB4);
    CHECK(t->flags.writable);
    CHECK_FALSE(t->flags.executable);
    CHECK_FALSE(t->flags.user);
    CHECK_FALSE(pt.translate(va(v + KiB4)));
    CHECK_FALSE(pt.translate(va(v - KiB4)));

    CHECK(pt.entry(va(v), 3).value_or(0) == (pdpt | P | RW));
    CHECK(pt.entry(va(v), 0).value_or(0) == (0x5000 | P | RW | NX));
}

TEST_CASE("page table: leaf flag bits", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);

    Flags all;
    all.writable = all.executable = all.user = all.global = all.write_through = all.cache_disable = true;
    REQUIRE(pt.map(va(0x1000), pa(0x7000), KiB4, all) == MapError::none);
    CHECK(pt.entry(va(0x1000), 0).value_or(0) == (0x7000 | P | RW | US | PWT | PCD | G));
    // The user bit propagates to the intermediate entries, never NX.
    CHECK(pt.entry(va(0x1000), 3).value_or(0) == ((FakeMemory::base + KiB4) | P | RW | US));
    CHECK(pt.entry(va(0x1000), 1).value_or(0) == ((FakeMemory::base + 3 * KiB4) | P | RW | US));
    auto t = pt.translate(va(0x1000));
    REQUIRE(t);
    CHECK(t->flags == all);

    Flags ro;   // everything off: read-only, NX, supervisor
    REQUIRE(pt.map(va(0x2000), pa(0x8000), KiB4, ro) == MapError::none);
    CHECK(pt.entry(va(0x2000), 0).value_or(0) == (0x8000 | P | NX));
    auto u = pt.translate(va(0x2000));
    REQUIRE(u);
    CHECK(u->flags == ro);

    REQUIRE(pt.map(va(0x3000), pa(0x9000), KiB4, rx()) == MapError::none);
    CHECK(pt.entry(va(0x3000), 0).value_or(0) == (0x9000 | P));
}

TEST_CASE("page table: 2 MiB pages where alignment allows", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);
    // 4 KiB + 2 MiB + 4 KiB starting just below a 2 MiB boundary.
    const uint64_t v = MiB2 - KiB4, p = 0x40000000 + MiB2 - KiB4;
    REQUIRE(pt.map(va(v), pa(p), MiB2 + 2 * KiB4, rw()) == MapError::none);

    auto t1 = pt.translate(va(v));
    REQUIRE(t1);
    CHECK(t1->page_size == KiB4);
    CHECK(t1->phys == HostPhys{p});

    auto t2 = pt.translate(va(MiB2 + 0x12345));
    REQUIRE(t2);
    CHECK(t2->page_size == MiB2);
    CHECK(t2->phys == HostPhys{0x40000000 + MiB2 + 0x12345});
    CHECK(pt.entry(va(MiB2), 1).value_or(0) == ((0x40000000 + MiB2) | P | RW | PS | NX));

    auto t3 = pt.translate(va(2 * MiB2));
    REQUIRE(t3);
    CHECK(t3->page_size == KiB4);
    CHECK(t3->phys == HostPhys{0x40000000 + 2 * MiB2});
    CHECK_FALSE(pt.translate(va(2 * MiB2 + KiB4)));

    // PML4, PDPT, PD, and one PT for each side.
    CHECK(mem.tables.size() == 5);
}

TEST_CASE("page table: 2 MiB pages need va and pa both aligned, and allow_2m", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);
    REQUIRE(pt.map(va(MiB2), pa(MiB2 + KiB4), MiB2, rw()) == MapError::none);   // pa misaligned for 2M
    auto t = pt.translate(va(MiB2));
    REQUIRE(t);
    CHECK(t->page_size == KiB4);

    REQUIRE(pt.map(va(4 * MiB2), pa(4 * MiB2), MiB2, rw(), false) == MapError::none);
    auto u = pt.translate(va(4 * MiB2 + KiB4));
    REQUIRE(u);
    CHECK(u->page_size == KiB4);
    CHECK(u->phys == HostPhys{4 * MiB2 + KiB4});
}

TEST_CASE("page table: 1 GiB pages only with allow_1g", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);
    Flags f = rw();
    f.global = true;
    REQUIRE(pt.map(va(GiB1), pa(3 * GiB1), GiB1 + MiB2, f, true, true) == MapError::none);
    CHECK(pt.entry(va(GiB1), 2).value_or(0) == (3 * GiB1 | P | RW | PS | G | NX));
    auto t = pt.translate(va(GiB1 + 0x3456789));
    REQUIRE(t);
    CHECK(t->page_size == GiB1);
    CHECK(t->phys == HostPhys{3 * GiB1 + 0x3456789});
    CHECK(t->flags.global);
    auto u = pt.translate(va(2 * GiB1 + 0x1000));
    REQUIRE(u);
    CHECK(u->page_size == MiB2);
    CHECK(mem.tables.size() == 3);   // PML4, PDPT, and the PD for the 2 MiB tail

    FakeMemory mem2;
    auto pt2 = *PageTable<FakeMemory>::create(mem2);
    REQUIRE(pt2.map(va(GiB1), pa(GiB1), GiB1, rw()) == MapError::none);   // allow_1g false
    auto w = pt2.translate(va(GiB1));
    REQUIRE(w);
    CHECK(w->page_size == MiB2);
}

TEST_CASE("page table: large leaf address ignores the PAT bit", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);
    REQUIRE(pt.map(va(0), pa(0), MiB2, rw()) == MapError::none);
    // Set the PAT bit (12) of the 2 MiB leaf by hand: the address must not change.
    mem.tables[2][0] |= 1ull << 12;
    auto t = pt.translate(va(0x1000));
    REQUIRE(t);
    CHECK(t->phys == HostPhys{0x1000});
}

TEST_CASE("page table: translate applies the rights of every level", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);
    Flags f = rw();
    f.user = true;
    f.executable = true;
    REQUIRE(pt.map(va(0x1000), pa(0x1000), KiB4, f) == MapError::none);
    mem.tables[1][0] &= ~RW;   // PDPT entry made read-only by someone else
    mem.tables[2][0] |= NX;    // PD entry made NX
    auto t = pt.translate(va(0x1000));
    REQUIRE(t);
    CHECK_FALSE(t->flags.writable);
    CHECK_FALSE(t->flags.executable);
    CHECK(t->flags.user);
    mem.tables[0][0] &= ~US;
    CHECK_FALSE(pt.translate(va(0x1000))->flags.user);
}

TEST_CASE("page table: existing tables are reused and widened", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);
    REQUIRE(pt.map(va(0x1000), pa(0x1000), KiB4, Flags{}) == MapError::none);
    const size_t tables = mem.tables.size();
    Flags user;
    user.user = true;
    REQUIRE(pt.map(va(0x2000), pa(0x2000), KiB4, user) == MapError::none);
    CHECK(mem.tables.size() == tables);
    CHECK((mem.tables[0][0] & US) != 0);
    CHECK((mem.tables[2][0] & US) != 0);
    CHECK(pt.translate(va(0x2000))->flags.user);
    CHECK_FALSE(pt.translate(va(0x1000))->flags.user);   // the old leaf keeps its own bit
}

TEST_CASE("page table: already_mapped leaves everything untouched", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);
    REQUIRE(pt.map(va(0x200000), pa(0x200000), MiB2, rw()) == MapError::none);     // 2 MiB leaf
    REQUIRE(pt.map(va(0x600000), pa(0x600000), KiB4, rw()) == MapError::none);     // a PT under PD[3]
    const auto before = mem.snapshot();

    SECTION("4 KiB inside a 2 MiB leaf")
    {
        CHECK(pt.map(va(0x201000), pa(0x1000), KiB4, rw()) == MapError::already_mapped);
    }
    SECTION("2 MiB over a page table")
    {
        CHECK(pt.map(va(0x600000), pa(0x600000), MiB2, rw()) == MapError::already_mapped);
    }
    SECTION("same 4 KiB page")
    {
        CHECK(pt.map(va(0x600000), pa(0x9000), KiB4, rw()) == MapError::already_mapped);
    }
    SECTION("a range whose tail overlaps: its free head is not mapped either")
    {
        CHECK(pt.map(va(0x100000), pa(0x100000), 0x101000, rw()) == MapError::already_mapped);
        CHECK_FALSE(pt.translate(va(0x100000)));
    }
    SECTION("a long range running into the 4 KiB page")
    {
        CHECK(pt.map(va(0x400000), pa(0x400000), 0x201000, rw()) == MapError::already_mapped);
    }
    SECTION("1 GiB over a populated PDPT entry")
    {
        CHECK(pt.map(va(0), pa(0), GiB1, rw(), true, true) == MapError::already_mapped);
    }
    CHECK(mem.snapshot() == before);
}

TEST_CASE("page table: misaligned and non-canonical requests", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);
    CHECK(pt.map(va(0x1001), pa(0x1000), KiB4, rw()) == MapError::misaligned);
    CHECK(pt.map(va(0x1000), pa(0x1800), KiB4, rw()) == MapError::misaligned);
    CHECK(pt.map(va(0x1000), pa(0x1000), 100, rw()) == MapError::misaligned);
    CHECK(pt.map(va(0x0000800000000000ull), pa(0), KiB4, rw()) == MapError::non_canonical);
    CHECK(pt.map(va(0xffff7ffffffff000ull), pa(0), KiB4, rw()) == MapError::non_canonical);
    // Canonical start, but the range runs into the hole.
    CHECK(pt.map(va(0x00007ffffffff000ull), pa(0), 2 * KiB4, rw()) == MapError::non_canonical);
    // Wraps around the top of the address space.
    CHECK(pt.map(va(0xfffffffffffff000ull), pa(0), 2 * KiB4, rw()) == MapError::non_canonical);
    // Physical address beyond 52 bits.
    CHECK(pt.map(va(0x1000), pa(1ull << 52), KiB4, rw()) == MapError::non_canonical);
    CHECK(mem.tables.size() == 1);
    CHECK(pt.map(va(0x1000), pa(0x1000), 0, rw()) == MapError::none);   // nothing to do
    CHECK(mem.tables.size() == 1);

    // The very top and bottom canonical pages work.
    CHECK(pt.map(va(0x00007ffffffff000ull), pa(0x1000), KiB4, rw()) == MapError::none);
    CHECK(pt.map(va(0xfffffffffffff000ull), pa(0x2000), KiB4, rw()) == MapError::none);
    CHECK(pt.translate(va(0xffffffffffffffffull))->phys == HostPhys{0x2fff});
    CHECK(mem.tables[0][511] != 0);
    CHECK(mem.tables[0][255] != 0);

    CHECK_FALSE(pt.translate(va(0x0000800000000000ull)));
}

TEST_CASE("page table: out of memory after N tables writes no leaf, and a retry completes", "[paging]")
{
    for (size_t limit = 1; limit <= 5; ++limit) {
        FakeMemory mem;
        auto pt = *PageTable<FakeMemory>::create(mem);
        mem.limit = limit;   // root already took one
        // Needs PDPT, PD, and two PTs (the range straddles a 2 MiB boundary in 4 KiB pages).
        const uint64_t v = MiB2 - 2 * KiB4;
        const MapError e = pt.map(va(v), pa(0x1000), 4 * KiB4, rw());
        if (limit < 5) {
            CHECK(e == MapError::out_of_memory);
            for (uint64_t off = 0; off < 4 * KiB4; off += KiB4)
                CHECK_FALSE(pt.translate(va(v + off)));
            mem.limit = 100;
            REQUIRE(pt.map(va(v), pa(0x1000), 4 * KiB4, rw()) == MapError::none);
        } else {
            CHECK(e == MapError::none);
        }
        CHECK(mem.tables.size() == 5);   // no table was allocated twice
        for (uint64_t off = 0; off < 4 * KiB4; off += KiB4)
            CHECK(pt.translate(va(v + off))->phys == HostPhys{0x1000 + off});
    }
}

TEST_CASE("page table: identity map of 4 GiB with 2 MiB pages", "[paging]")
{
    FakeMemory mem;
    auto pt = *PageTable<FakeMemory>::create(mem);
    REQUIRE(pt.map(va(0), pa(0), 4 * GiB1, rw()) == MapError::none);
    CHECK(mem.tables.size() == 1 + 1 + 4);
    for (uint64_t a = 0; a < 4 * GiB1; a += 0x1234567) {
        auto t = pt.translate(va(a));
        REQUIRE(t);
        CHECK(t->phys == HostPhys{a});
        CHECK(t->page_size == MiB2);
    }
    CHECK_FALSE(pt.translate(va(4 * GiB1)));
}

TEST_CASE("page table: X86Format helpers", "[paging]")
{
    CHECK(X86Format::valid_input(0));
    CHECK(X86Format::valid_input(0x00007fffffffffffull));
    CHECK_FALSE(X86Format::valid_input(0x0000800000000000ull));
    CHECK(X86Format::valid_input(0xffff800000000000ull));
    CHECK_FALSE(X86Format::valid_input(0xfff0800000000000ull));
    CHECK(X86Format::is_leaf(0, 0));
    CHECK(X86Format::is_leaf(PS, 1));
    CHECK(X86Format::is_leaf(PS, 2));
    CHECK_FALSE(X86Format::is_leaf(PS, 3));   // PS is reserved in a PML4E
    CHECK_FALSE(X86Format::is_leaf(0, 1));
    CHECK(menhir::paging::entry_span(0) == KiB4);
    CHECK(menhir::paging::entry_span(1) == MiB2);
    CHECK(menhir::paging::entry_span(2) == GiB1);
    CHECK(std::string(menhir::paging::to_string(MapError::already_mapped)) == "already mapped");
}
