#include "arch/x86/vmx/ept.hpp"
#include <catch2/catch.hpp>
#include <map>
#include <vector>

using namespace menhir;

namespace {
struct FakeMemory {
    std::map<uint64_t, std::vector<uint64_t>> tables;
    uint64_t next = 0x100000;
    Optional<HostPhys> alloc_table()
    {
        tables[next] = std::vector<uint64_t>(512, 0);
        HostPhys p{next};
        next += 0x1000;
        return p;
    }
    uint64_t* table(HostPhys p) { return tables.at(p.value()).data(); }
};
} // namespace

TEST_CASE("EPT leaves carry R/W/X, write-back type, large bit and the owned marker", "[ept]")
{
    FakeMemory mem;
    auto t = ept::Table<FakeMemory>::create(mem);
    REQUIRE(t);
    REQUIRE(t->map(GuestPhys{0}, HostPhys{0x40000000}, 2ull << 20, ept::ram, true, false) == paging::MapError::none);
    REQUIRE(t->map(GuestPhys{2ull << 20}, HostPhys{0x5000}, 0x1000, ept::Flags{true, false, false, false}, false,
                   false) == paging::MapError::none);
    const auto big = t->entry(GuestPhys{0}, 1);
    REQUIRE(big);
    CHECK((*big & 7) == 7);
    CHECK(((*big >> 3) & 7) == 6);     // WB
    CHECK((*big & (1u << 7)) != 0);    // 2 MiB page
    CHECK((*big & (1ull << 52)) != 0); // owned
    CHECK((*big & 0xffffffffff000ull) == 0x40000000);
    const auto small = t->entry(GuestPhys{2ull << 20}, 0);
    REQUIRE(small);
    CHECK((*small & 7) == 1);          // read only
    CHECK((*small & (1ull << 52)) == 0);
    // Non-leaf entries grant everything.
    const auto pml4e = t->entry(GuestPhys{0}, 3);
    REQUIRE(pml4e);
    CHECK((*pml4e & 7) == 7);

    const auto tr = t->translate(GuestPhys{0x123456});
    REQUIRE(tr);
    CHECK(tr->phys.value() == 0x40123456);
    CHECK(tr->flags.owned);
    const auto ro = t->translate(GuestPhys{(2ull << 20) + 0x10});
    REQUIRE(ro);
    CHECK(ro->flags.read);
    CHECK_FALSE(ro->flags.write);
    CHECK_FALSE(t->translate(GuestPhys{4ull << 20}));
    CHECK(t->map(GuestPhys{1ull << 48}, HostPhys{0}, 0x1000, ept::ram) == paging::MapError::non_canonical);
}

TEST_CASE("EPT grant mappings carry their own software bit, through the walk", "[ept]")
{
    FakeMemory mem;
    auto t = ept::Table<FakeMemory>::create(mem);
    REQUIRE(t);
    const ept::Flags grant{true, true, false, false, true};
    REQUIRE(t->map(GuestPhys{0x7000}, HostPhys{0x9000}, 0x1000, grant, false, false) == paging::MapError::none);
    REQUIRE(t->map(GuestPhys{0x8000}, HostPhys{0xa000}, 0x1000, ept::Flags{true, true, false, false}, false,
                   false) == paging::MapError::none);
    const auto e = t->entry(GuestPhys{0x7000}, 0);
    REQUIRE(e);
    CHECK((*e & (1ull << 53)) != 0);
    CHECK((*e & (1ull << 52)) == 0);
    const auto tr = t->translate(GuestPhys{0x7010});
    REQUIRE(tr);
    CHECK(tr->flags.grant);
    CHECK_FALSE(tr->flags.owned);
    const auto other = t->translate(GuestPhys{0x8000});
    REQUIRE(other);
    CHECK_FALSE(other->flags.grant);   // a foreign or special page is not a grant
    CHECK(ept::Format::leaf_flags(ept::Format::leaf_entry(HostPhys{0x9000}, grant, 0)) == grant);
}

TEST_CASE("EPT pointer: WB, 4-level walk", "[ept]")
{
    CHECK(ept::eptp(HostPhys{0x123000}) == (0x123000 | (3 << 3) | 6));
}

TEST_CASE("destroy visits every leaf and every table once", "[ept]")
{
    FakeMemory mem;
    auto t = ept::Table<FakeMemory>::create(mem);
    REQUIRE(t);
    REQUIRE(t->map(GuestPhys{0}, HostPhys{0x40000000}, 4ull << 20, ept::ram, true, false) == paging::MapError::none);
    REQUIRE(t->map(GuestPhys{4ull << 20}, HostPhys{0x9000}, 0x3000, ept::ram, false, false) == paging::MapError::none);
    uint64_t leaf_bytes = 0, tables = 0;
    ept::destroy(mem, t->root(), paging::levels - 1,
                 [&](HostPhys, uint64_t bytes, const ept::Flags& f) {
                     CHECK(f.owned);
                     leaf_bytes += bytes;
                 },
                 [&](HostPhys) { ++tables; });
    CHECK(leaf_bytes == (4ull << 20) + 0x3000);
    CHECK(tables == mem.tables.size());
}
