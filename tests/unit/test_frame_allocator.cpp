#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <random>
#include <set>
#include <vector>

#include "kernel/mm/frame_allocator.hpp"

using menhir::FrameAllocator;
using menhir::HostPhys;
using menhir::page_size;

namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

// An allocator with its bitmap storage.
struct Fixture {
    explicit Fixture(uint64_t max_phys)
        : storage(FrameAllocator::bitmap_bytes(HostPhys{max_phys}) / sizeof(uint64_t), 0xa5a5a5a5a5a5a5a5ull)
    {
        fa.init(storage.data(), HostPhys{max_phys});
    }
    std::vector<uint64_t> storage;
    FrameAllocator fa;
};

HostPhys frame(uint64_t n) { return HostPhys{n * page_size}; }

} // namespace

TEST_CASE("frame allocator: bitmap size covers every frame, both maps, in whole words", "[frame_allocator]")
{
    CHECK(FrameAllocator::bitmap_bytes(HostPhys{0}) == 0);
    CHECK(FrameAllocator::bitmap_bytes(HostPhys{1}) == 16);                 // one frame: one word per map
    CHECK(FrameAllocator::bitmap_bytes(HostPhys{64 * page_size}) == 16);
    CHECK(FrameAllocator::bitmap_bytes(HostPhys{64 * page_size + 1}) == 32);
    CHECK(FrameAllocator::bitmap_bytes(HostPhys{4 * GiB}) == 2 * (4 * GiB / page_size / 8));
    for (uint64_t m : std::initializer_list<uint64_t>{1, 4095, 4096, 12345678, 3 * GiB + 5})
        CHECK(FrameAllocator::bitmap_bytes(HostPhys{m}) % 8 == 0);
}

TEST_CASE("frame allocator: starts empty, nothing is free or usable", "[frame_allocator]")
{
    Fixture f{16 * MiB};
    CHECK(f.fa.total_frames() == 0);
    CHECK(f.fa.free_frames() == 0);
    CHECK(f.fa.used_frames() == 0);
    CHECK_FALSE(f.fa.alloc());
    CHECK_FALSE(f.fa.is_free(frame(0)));
    CHECK_FALSE(f.fa.is_free(frame(100)));
    CHECK_FALSE(f.fa.free(frame(1)));
}

TEST_CASE("frame allocator: add_usable takes whole frames only and clips to max_phys", "[frame_allocator]")
{
    Fixture f{1 * MiB};   // 256 frames

    // [0x1800, 0x5800): frame 1 is partial, frames 2..4 whole, frame 5 partial.
    f.fa.add_usable(HostPhys{0x1800}, 0x4000);
    CHECK(f.fa.total_frames() == 3);
    CHECK(f.fa.free_frames() == 3);
    CHECK_FALSE(f.fa.is_free(frame(1)));
    CHECK(f.fa.is_free(frame(2)));
    CHECK(f.fa.is_free(frame(4)));
    CHECK_FALSE(f.fa.is_free(frame(5)));

    // Less than a frame: nothing.
    f.fa.add_usable(HostPhys{0x10000}, 0xfff);
    CHECK(f.fa.total_frames() == 3);

    // Past the end is clipped.
    f.fa.add_usable(HostPhys{1 * MiB - 2 * page_size}, 1 * GiB);
    CHECK(f.fa.total_frames() == 5);
    CHECK(f.fa.is_free(frame(255)));
    CHECK_FALSE(f.fa.is_free(frame(256)));

    // Wholly beyond max_phys and a length that would wrap: ignored / clipped, no crash.
    f.fa.add_usable(HostPhys{4 * GiB}, 1 * GiB);
    f.fa.add_usable(HostPhys{~0ull - 100}, 1000);
    f.fa.add_usable(HostPhys{0x200000}, ~0ull);
    CHECK(f.fa.total_frames() == 5);
}

TEST_CASE("frame allocator: overlapping usable ranges count once", "[frame_allocator]")
{
    Fixture f{1 * MiB};
    f.fa.add_usable(frame(10), 20 * page_size);   // 10..29
    f.fa.add_usable(frame(20), 20 * page_size);   // 20..39
    f.fa.add_usable(frame(10), 30 * page_size);   // all again
    CHECK(f.fa.total_frames() == 30);
    CHECK(f.fa.free_frames() == 30);
}

TEST_CASE("frame allocator: re-adding RAM does not free what was reserved or allocated", "[frame_allocator]")
{
    Fixture f{1 * MiB};
    f.fa.add_usable(frame(0), 64 * page_size);
    f.fa.reserve(frame(0), 4 * page_size);
    auto a = f.fa.alloc();
    REQUIRE(a);
    f.fa.add_usable(frame(0), 64 * page_size);
    CHECK(f.fa.total_frames() == 64);
    CHECK(f.fa.free_frames() == 59);
    CHECK_FALSE(f.fa.is_free(frame(0)));
    CHECK_FALSE(f.fa.is_free(*a));
}

TEST_CASE("frame allocator: reserve covers every frame the range touches, usable ones only", "[frame_allocator]")
{
    Fixture f{1 * MiB};
    f.fa.add_usable(frame(0), 16 * page_size);   // 0..15
    // [0x1fff, 0x3001): touches frames 1, 2, 3.
    f.fa.reserve(HostPhys{0x1fff}, 0x1002);
    CHECK(f.fa.total_frames() == 16);
    CHECK(f.fa.free_frames() == 13);
    CHECK(f.fa.used_frames() == 3);
    CHECK(f.fa.is_free(frame(0)));
    CHECK_FALSE(f.fa.is_free(frame(1)));
    CHECK_FALSE(f.fa.is_free(frame(3)));
    CHECK(f.fa.is_free(frame(4)));

    // Reserving again, reserving non-RAM, reserving nothing, and past the end: no change in counts.
    f.fa.reserve(frame(1), 3 * page_size);
    f.fa.reserve(frame(100), 10 * page_size);
    f.fa.reserve(frame(5), 0);
    f.fa.reserve(HostPhys{~0ull - 10}, 100);
    CHECK(f.fa.free_frames() == 13);
    CHECK(f.fa.total_frames() == 16);

    // reserve() only marks frames that are usable at the time: RAM added
    // afterwards over the same range is free.
    f.fa.add_usable(frame(100), 10 * page_size);
    CHECK(f.fa.is_free(frame(100)));
}

TEST_CASE("frame allocator: single frame alloc and free", "[frame_allocator]")
{
    Fixture f{1 * MiB};
    f.fa.add_usable(frame(8), 4 * page_size);   // 8..11
    std::set<uint64_t> got;
    for (int i = 0; i < 4; ++i) {
        auto a = f.fa.alloc();
        REQUIRE(a);
        CHECK(a->aligned(page_size));
        CHECK(a->value() >= 8 * page_size);
        CHECK(a->value() < 12 * page_size);
        CHECK_FALSE(f.fa.is_free(*a));
        got.insert(a->value());
    }
    CHECK(got.size() == 4);
    CHECK(f.fa.free_frames() == 0);
    CHECK(f.fa.used_frames() == 4);
    CHECK_FALSE(f.fa.alloc());

    REQUIRE(f.fa.free(frame(9)));
    CHECK(f.fa.is_free(frame(9)));
    CHECK(f.fa.free_frames() == 1);
    auto again = f.fa.alloc();
    REQUIRE(again);
    CHECK(again->value() == 9 * page_size);
}

TEST_CASE("frame allocator: free refuses bad requests and changes nothing", "[frame_allocator]")
{
    Fixture f{1 * MiB};
    f.fa.add_usable(frame(0), 32 * page_size);
    auto run = f.fa.alloc(4);
    REQUIRE(run);
    const uint64_t base = run->value() / page_size;
    const uint64_t free_before = f.fa.free_frames();

    CHECK_FALSE(f.fa.free(HostPhys{run->value() + 1}, 4));          // not aligned
    CHECK_FALSE(f.fa.free(*run, 0));                                 // nothing
    CHECK_FALSE(f.fa.free(*run, 5));                                 // last frame not allocated
    CHECK_FALSE(f.fa.free(frame(base + 4)));                         // free frame
    CHECK_FALSE(f.fa.free(frame(100)));                              // not RAM
    CHECK_FALSE(f.fa.free(frame(300)));                              // beyond max_phys
    CHECK_FALSE(f.fa.free(frame(255), 2));                           // runs off the end
    CHECK_FALSE(f.fa.free(*run, ~size_t{0}));                        // absurd count
    CHECK(f.fa.free_frames() == free_before);
    for (uint64_t i = 0; i < 4; ++i)
        CHECK_FALSE(f.fa.is_free(frame(base + i)));

    REQUIRE(f.fa.free(*run, 4));
    CHECK(f.fa.free_frames() == free_before + 4);
    CHECK_FALSE(f.fa.free(*run, 4));   // double free
    CHECK(f.fa.free_frames() == free_before + 4);
}

TEST_CASE("frame allocator: contiguous runs skip holes", "[frame_allocator]")
{
    Fixture f{1 * MiB};
    f.fa.add_usable(frame(0), 10 * page_size);    // 0..9
    f.fa.add_usable(frame(12), 3 * page_size);    // 12..14
    f.fa.add_usable(frame(20), 40 * page_size);   // 20..59
    f.fa.reserve(frame(25), page_size);

    auto a = f.fa.alloc(12);   // does not fit in 0..9, 12..14, 20..24; fits at 26
    REQUIRE(a);
    CHECK(a->value() == 26 * page_size);
    for (uint64_t i = 26; i < 38; ++i)
        CHECK_FALSE(f.fa.is_free(frame(i)));
    CHECK(f.fa.free_frames() == 10 + 3 + 39 - 12);

    CHECK_FALSE(f.fa.alloc(23));   // the largest free run is 38..59 = 22 frames
    auto b = f.fa.alloc(22);
    REQUIRE(b);
    CHECK(b->value() == 38 * page_size);
}

TEST_CASE("frame allocator: runs cross 64-frame word boundaries", "[frame_allocator]")
{
    Fixture f{4 * MiB};   // 1024 frames
    f.fa.add_usable(frame(0), 1024 * page_size);
    f.fa.reserve(frame(0), 60 * page_size);
    auto a = f.fa.alloc(200);
    REQUIRE(a);
    CHECK(a->value() == 60 * page_size);
    CHECK(f.fa.free_frames() == 1024 - 60 - 200);
    REQUIRE(f.fa.free(*a, 200));
    CHECK(f.fa.free_frames() == 1024 - 60);
}

TEST_CASE("frame allocator: alignment", "[frame_allocator]")
{
    Fixture f{16 * MiB};
    f.fa.add_usable(frame(1), 4095 * page_size);   // 1..4095
    auto a = f.fa.alloc(1, 512);                    // 2 MiB aligned
    REQUIRE(a);
    CHECK(a->value() % (2 * MiB) == 0);
    CHECK(a->value() != 0);

    auto b = f.fa.alloc(512, 512);
    REQUIRE(b);
    CHECK(b->value() % (2 * MiB) == 0);
    CHECK(b->value() != a->value());

    auto c = f.fa.alloc(3, 3);   // not a power of two: still a multiple
    REQUIRE(c);
    CHECK((c->value() / page_size) % 3 == 0);

    CHECK_FALSE(f.fa.alloc(1, 0));
    CHECK_FALSE(f.fa.alloc(0));
    CHECK_FALSE(f.fa.alloc(1, size_t{1} << 40));   // only frame 0 is that aligned, and it is not RAM
}

TEST_CASE("frame allocator: below limits the whole run", "[frame_allocator]")
{
    Fixture f{64 * MiB};
    f.fa.add_usable(frame(0), 64 * MiB);
    f.fa.reserve(frame(0), 1 * MiB);   // firmware

    auto a = f.fa.alloc(1, 1, HostPhys{1 * MiB});
    CHECK_FALSE(a);   // nothing free below 1 MiB

    auto b = f.fa.alloc(16, 1, HostPhys{1 * MiB + 16 * page_size});
    REQUIRE(b);
    CHECK(b->value() == 1 * MiB);

    auto c = f.fa.alloc(1, 1, HostPhys{1 * MiB + 16 * page_size});
    CHECK_FALSE(c);   // the only room below the limit is taken

    // The run must end at or below `below`, not just start below it.
    auto d = f.fa.alloc(4, 1, HostPhys{1 * MiB + 19 * page_size});
    CHECK_FALSE(d);
    auto e = f.fa.alloc(4, 1, HostPhys{1 * MiB + 20 * page_size});
    REQUIRE(e);
    CHECK(e->value() == 1 * MiB + 16 * page_size);

    // Unaligned `below`: the partial frame under it is not usable.
    auto g = f.fa.alloc(1, 1, HostPhys{1 * MiB + 21 * page_size - 1});
    CHECK_FALSE(g);
}

TEST_CASE("frame allocator: the rotating hint wraps around to find freed frames", "[frame_allocator]")
{
    Fixture f{1 * MiB};
    f.fa.add_usable(frame(0), 100 * page_size);
    std::vector<HostPhys> all;
    while (auto a = f.fa.alloc())
        all.push_back(*a);
    CHECK(all.size() == 100);
    // The hint is now at the end; freeing near the start must still be found.
    REQUIRE(f.fa.free(all[3]));
    auto again = f.fa.alloc();
    REQUIRE(again);
    CHECK(*again == all[3]);
    // Sequential allocations move forward rather than reusing the lowest frame.
    REQUIRE(f.fa.free(all[10]));
    REQUIRE(f.fa.free(all[50]));
    auto x = f.fa.alloc();
    REQUIRE(x);
    CHECK((*x == all[10] || *x == all[50]));
}

TEST_CASE("frame allocator: randomized alloc/free keeps counters and bitmap consistent", "[frame_allocator]")
{
    Fixture f{8 * MiB};   // 2048 frames
    f.fa.add_usable(frame(0), 1000 * page_size);
    f.fa.add_usable(frame(1100), 948 * page_size);
    f.fa.reserve(frame(500), 10 * page_size);
    const uint64_t total = f.fa.total_frames();
    REQUIRE(total == 1948);

    std::mt19937_64 rng{12345};
    std::vector<std::pair<uint64_t, size_t>> live;   // first frame, count
    std::vector<int> owner(2048, 0);                 // model: 1 if allocated by us
    for (int step = 0; step < 5000; ++step) {
        if (live.empty() || rng() % 3 != 0) {
            const size_t count = 1 + rng() % 9;
            const size_t align = size_t{1} << (rng() % 4);
            auto a = f.fa.alloc(count, align);
            if (!a)
                continue;
            const uint64_t first = a->value() / page_size;
            CHECK(first % align == 0);
            for (uint64_t i = first; i < first + count; ++i) {
                REQUIRE(owner[i] == 0);   // never handed out twice
                REQUIRE(((i < 1000 && (i < 500 || i >= 510)) || (i >= 1100 && i < 2048)));
                owner[i] = 1;
            }
            live.emplace_back(first, count);
        } else {
            const size_t k = rng() % live.size();
            const auto [first, count] = live[k];
            REQUIRE(f.fa.free(frame(first), count));
            for (uint64_t i = first; i < first + count; ++i)
                owner[i] = 0;
            live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
        }
        uint64_t in_use = 0;
        for (const auto& r : live)
            in_use += r.second;
        REQUIRE(f.fa.used_frames() == in_use + 10);
        REQUIRE(f.fa.total_frames() == total);
    }
    for (const auto& r : live)
        REQUIRE(f.fa.free(frame(r.first), r.second));
    CHECK(f.fa.free_frames() == total - 10);
}

TEST_CASE("frame allocator: frames past max_phys never exist", "[frame_allocator]")
{
    // 70 frames: the last bitmap word is partly beyond the end.
    Fixture f{70 * page_size};
    f.fa.add_usable(frame(0), 1 * MiB);
    CHECK(f.fa.total_frames() == 70);
    CHECK_FALSE(f.fa.is_free(frame(70)));
    CHECK_FALSE(f.fa.is_free(frame(127)));
    int n = 0;
    while (auto a = f.fa.alloc()) {
        CHECK(a->value() < 70 * page_size);
        ++n;
    }
    CHECK(n == 70);
    CHECK_FALSE(f.fa.alloc(1, 1));
}
