#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "kernel/mm/heap.hpp"

using menhir::Heap;

namespace {

constexpr size_t page = 4096;

// Page source backed by aligned host memory; records what is outstanding so
// tests can check that release gets exactly what grow handed out.
struct Pages {
    std::map<void*, size_t> outstanding;
    size_t grows{0};
    size_t releases{0};
    size_t limit{~size_t{0}};   // pages grow may still hand out
    bool misalign{false};

    static void* grow(void* ctx, size_t pages)
    {
        auto* self = static_cast<Pages*>(ctx);
        if (pages > self->limit)
            return nullptr;
        void* p = std::aligned_alloc(page, pages * page + (self->misalign ? page : 0));
        if (p == nullptr)
            return nullptr;
        std::memset(p, 0, pages * page);
        if (self->misalign) {
            // Remember the real block under the offset pointer so release can free it.
            void* off = static_cast<char*>(p) + 16;
            self->real[off] = p;
            p = off;
        }
        self->limit -= pages;
        self->outstanding[p] = pages;
        ++self->grows;
        return p;
    }

    static void release(void* ctx, void* p, size_t pages)
    {
        auto* self = static_cast<Pages*>(ctx);
        auto it = self->outstanding.find(p);
        REQUIRE(it != self->outstanding.end());
        REQUIRE(it->second == pages);
        self->outstanding.erase(it);
        self->limit += pages;
        ++self->releases;
        auto r = self->real.find(p);
        if (r != self->real.end()) {
            std::free(r->second);
            self->real.erase(r);
        } else {
            std::free(p);
        }
    }

    size_t pages_outstanding() const
    {
        size_t n = 0;
        for (const auto& [p, count] : outstanding)
            n += count;
        return n;
    }

    ~Pages()
    {
        for (const auto& [p, count] : outstanding) {
            auto r = real.find(p);
            std::free(r != real.end() ? r->second : p);
        }
    }

    std::map<void*, void*> real;
};

struct Fixture {
    Fixture() { heap.init(&Pages::grow, &Pages::release, &pages); }
    Pages pages;
    Heap heap;
};

uintptr_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

} // namespace

TEST_CASE("heap: rejects size 0 and bad alignments", "[heap]")
{
    Fixture f;
    CHECK(f.heap.alloc(0) == nullptr);
    CHECK(f.heap.alloc(16, 0) == nullptr);
    CHECK(f.heap.alloc(16, 24) == nullptr);
    CHECK(f.heap.alloc(16, 8192) == nullptr);
    CHECK(f.pages.grows == 0);
    f.heap.free(nullptr);
    CHECK(f.heap.bad_frees() == 0);
}

TEST_CASE("heap: an uninitialised heap allocates nothing", "[heap]")
{
    Heap h;
    CHECK(h.alloc(32) == nullptr);
    CHECK(h.pages_held() == 0);
}

TEST_CASE("heap: small allocations share a page and are distinct", "[heap]")
{
    Fixture f;
    std::vector<void*> ptrs;
    for (int i = 0; i < 100; ++i) {
        void* p = f.heap.alloc(24);
        REQUIRE(p != nullptr);
        CHECK(addr(p) % 32 == 0);   // 24 rounds up to the 32-byte class
        std::memset(p, i, 24);
        ptrs.push_back(p);
    }
    CHECK(f.heap.bytes_in_use() == 100 * 32);
    CHECK(f.heap.pages_held() == 1);   // 100 * 32 bytes fit in one page with its header
    for (int i = 0; i < 100; ++i) {
        unsigned char expect[24];
        std::memset(expect, i, sizeof(expect));
        REQUIRE(std::memcmp(ptrs[i], expect, sizeof(expect)) == 0);
    }
    for (void* p : ptrs)
        f.heap.free(p);
    CHECK(f.heap.bytes_in_use() == 0);
    CHECK(f.heap.bad_frees() == 0);
}

TEST_CASE("heap: every size class and alignment", "[heap]")
{
    Fixture f;
    for (size_t align = 1; align <= 4096; align <<= 1) {
        for (size_t size : {1ul, 15ul, 16ul, 17ul, 100ul, 1000ul, 2048ul, 2049ul, 4000ul, 4096ul, 10000ul}) {
            void* p = f.heap.alloc(size, align);
            REQUIRE(p != nullptr);
            CHECK(addr(p) % align == 0);
            CHECK(addr(p) % 16 == 0);   // never less than the default alignment
            CHECK(f.heap.usable_size(p) >= size);
            std::memset(p, 0xab, size);   // ASan checks the block lies in memory we own
            f.heap.free(p);
        }
    }
    CHECK(f.heap.bytes_in_use() == 0);
    CHECK(f.heap.bad_frees() == 0);
}

TEST_CASE("heap: size classes are powers of two from 16 to 2048", "[heap]")
{
    Fixture f;
    CHECK(f.heap.usable_size(f.heap.alloc(1)) == 16);
    CHECK(f.heap.usable_size(f.heap.alloc(16)) == 16);
    CHECK(f.heap.usable_size(f.heap.alloc(17)) == 32);
    CHECK(f.heap.usable_size(f.heap.alloc(33)) == 64);
    CHECK(f.heap.usable_size(f.heap.alloc(513)) == 1024);
    CHECK(f.heap.usable_size(f.heap.alloc(2048)) == 2048);
    CHECK(f.heap.usable_size(f.heap.alloc(8, 256)) == 256);   // alignment picks the class too
    CHECK(f.heap.bytes_in_use() == 16 + 16 + 32 + 64 + 1024 + 2048 + 256);
}

TEST_CASE("heap: large blocks get whole pages and give them back on free", "[heap]")
{
    Fixture f;
    void* p = f.heap.alloc(3 * page);   // 3 pages of data + 16-byte header -> 4 pages
    REQUIRE(p != nullptr);
    CHECK(addr(p) % 16 == 0);
    CHECK(f.heap.pages_held() == 4);
    CHECK(f.pages.pages_outstanding() == 4);
    CHECK(f.heap.bytes_in_use() == 4 * page);
    std::memset(p, 1, 3 * page);

    void* q = f.heap.alloc(page, 4096);   // page-aligned data: a whole header page in front
    REQUIRE(q != nullptr);
    CHECK(addr(q) % page == 0);
    CHECK(f.heap.pages_held() == 6);
    std::memset(q, 2, page);

    f.heap.free(p);
    CHECK(f.heap.pages_held() == 2);
    CHECK(f.pages.pages_outstanding() == 2);
    f.heap.free(q);
    CHECK(f.heap.pages_held() == 0);
    CHECK(f.pages.outstanding.empty());
    CHECK(f.pages.releases == 2);
    CHECK(f.heap.bytes_in_use() == 0);
}

TEST_CASE("heap: empty small pages are released, one per class is kept", "[heap]")
{
    Fixture f;
    std::vector<void*> ptrs;
    for (int i = 0; i < 20; ++i)   // one 2048 block per page: 20 pages
        ptrs.push_back(f.heap.alloc(2048));
    CHECK(f.heap.pages_held() == 20);
    for (void* p : ptrs)
        f.heap.free(p);
    CHECK(f.heap.pages_held() == 1);
    CHECK(f.pages.pages_outstanding() == 1);

    // A loop around a page boundary does not thrash grow/release.
    const size_t grows = f.pages.grows;
    for (int i = 0; i < 1000; ++i)
        f.heap.free(f.heap.alloc(2048));
    CHECK(f.pages.grows == grows);
}

TEST_CASE("heap: out of memory is reported and recoverable", "[heap]")
{
    Fixture f;
    f.pages.limit = 2;
    void* big = f.heap.alloc(10 * page);
    CHECK(big == nullptr);
    void* a = f.heap.alloc(2048);
    void* b = f.heap.alloc(2048);
    void* c = f.heap.alloc(2048);
    CHECK(a != nullptr);
    CHECK(b != nullptr);
    CHECK(c == nullptr);
    CHECK(f.heap.pages_held() == 2);
    f.heap.free(a);
    c = f.heap.alloc(2048);
    CHECK(c != nullptr);
    CHECK(f.heap.alloc(~size_t{0}) == nullptr);
    CHECK(f.heap.alloc(~size_t{0} - 5000, 4096) == nullptr);
}

TEST_CASE("heap: a grow callback returning misaligned memory is refused", "[heap]")
{
    Fixture f;
    f.pages.misalign = true;
    CHECK(f.heap.alloc(64) == nullptr);
    CHECK(f.heap.alloc(3 * page) == nullptr);
    CHECK(f.heap.pages_held() == 0);
    CHECK(f.pages.outstanding.empty());
}

TEST_CASE("heap: double and wild frees are caught, not followed", "[heap]")
{
    Fixture f;
    void* a = f.heap.alloc(64);
    void* b = f.heap.alloc(64);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    f.heap.free(a);
    f.heap.free(a);
    CHECK(f.heap.bad_frees() == 1);
    f.heap.free(static_cast<char*>(b) + 8);   // inside a block, not its start
    CHECK(f.heap.bad_frees() == 2);
    CHECK(f.heap.bytes_in_use() == 64);

    void* big = f.heap.alloc(5000);
    f.heap.free(static_cast<char*>(big) + 16);
    CHECK(f.heap.bad_frees() == 3);
    f.heap.free(big);
    CHECK(f.heap.bad_frees() == 3);

    alignas(4096) static unsigned char foreign[2 * page]{};
    f.heap.free(foreign + page + 32);   // a page without our header
    CHECK(f.heap.bad_frees() == 4);

    // The page's free list still works after the refused frees.
    void* c = f.heap.alloc(64);
    void* d = f.heap.alloc(64);
    CHECK(c != d);
    CHECK((c == a || d == a));
}

TEST_CASE("heap: many random alloc/free cycles", "[heap]")
{
    Fixture f;
    std::mt19937 rng{42};
    struct Live {
        unsigned char* p;
        size_t size;
        unsigned char tag;
    };
    std::vector<Live> live;
    size_t peak_pages = 0;
    for (int step = 0; step < 20000; ++step) {
        if (live.size() < 500 && (live.empty() || rng() % 2 == 0)) {
            size_t size = 0;
            switch (rng() % 4) {
            case 0: size = 1 + rng() % 64; break;
            case 1: size = 1 + rng() % 512; break;
            case 2: size = 1 + rng() % 2048; break;
            default: size = 1 + rng() % 20000; break;
            }
            const size_t align = size_t{1} << (rng() % 13);
            auto* p = static_cast<unsigned char*>(f.heap.alloc(size, align));
            REQUIRE(p != nullptr);
            REQUIRE(addr(p) % align == 0);
            const auto tag = static_cast<unsigned char>(rng());
            std::memset(p, tag, size);
            live.push_back({p, size, tag});
        } else {
            const size_t k = rng() % live.size();
            const Live l = live[k];
            size_t intact = 0;
            while (intact < l.size && l.p[intact] == l.tag)
                ++intact;
            REQUIRE(intact == l.size);   // nobody else wrote into this block
            f.heap.free(l.p);
            live[k] = live.back();
            live.pop_back();
        }
        peak_pages = std::max(peak_pages, f.heap.pages_held());
        REQUIRE(f.heap.pages_held() == f.pages.pages_outstanding());
    }
    for (const Live& l : live)
        f.heap.free(l.p);
    CHECK(f.heap.bytes_in_use() == 0);
    CHECK(f.heap.bad_frees() == 0);
    // Only the one cached empty page per class remains.
    CHECK(f.heap.pages_held() <= Heap::class_count);
    CHECK(peak_pages > f.heap.pages_held());
}
