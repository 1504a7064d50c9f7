// runtime/blkfront_ring.hpp: the ring's notify rules and a buffer cut into blkif segments.
#include <catch2/catch.hpp>

#include "runtime/blkfront_ring.hpp"

using namespace blkfront_ring;

TEST_CASE("blkfront: a push notifies only when it passes the back end's req_event", "[blkfront]") {
    // The back end sleeps waiting for request 1 (SHARED_RING_INIT's req_event).
    CHECK(blkif::needs_notify(0, 1, 1));
    CHECK(blkif::needs_notify(0, 4, 1));
    // It asked for 5 and we only got to 4: it is still working, no notification.
    CHECK_FALSE(blkif::needs_notify(2, 4, 5));
    CHECK(blkif::needs_notify(4, 5, 5));
    // req_event already passed before this push: the back end saw those, no call.
    CHECK_FALSE(blkif::needs_notify(6, 8, 3));
    // Across the 32-bit wrap.
    CHECK(blkif::needs_notify(0xfffffffeu, 2, 0xffffffffu));
    CHECK(blkif::needs_notify(0xfffffffeu, 2, 1));
    CHECK_FALSE(blkif::needs_notify(0xfffffffeu, 2, 3));
    // Nothing pushed: nothing to say.
    CHECK_FALSE(blkif::needs_notify(7, 7, 7));
}

TEST_CASE("blkfront: more responses than slots is an overflow, wrap included", "[blkfront]") {
    CHECK_FALSE(responses_overflow(32, 0, 32));
    CHECK(responses_overflow(33, 0, 32));
    CHECK_FALSE(responses_overflow(5, 0xfffffff0u, 32));   // 21 across the wrap
    CHECK(responses_overflow(0xfffffff0u, 5, 32));        // "behind" rsp_cons: huge
}

TEST_CASE("blkfront: a buffer's segments are the pages it touches", "[blkfront]") {
    CHECK(segments_for(0x10000, 8) == 1);
    CHECK(segments_for(0x10000, 9) == 2);
    CHECK(segments_for(0x10000 + 7 * 512, 2) == 2);   // the last sector of one page, the first of the next
    CHECK(segments_for(0x10000 + 512, 7) == 1);
    CHECK(segments_for(0x10000, 128) == 16);          // 64 KiB
    CHECK(segments_for(0x10200, 128) == 17);          // 64 KiB, not page aligned
}

TEST_CASE("blkfront: segment_at gives first_sect/last_sect within the page", "[blkfront]") {
    auto a = segment_at(0x20000, 100);
    CHECK(a.first_sect == 0);
    CHECK(a.last_sect == 7);
    CHECK(a.sectors == 8);
    auto b = segment_at(0x20000 + 3 * 512, 2);
    CHECK(b.first_sect == 3);
    CHECK(b.last_sect == 4);
    CHECK(b.sectors == 2);
    auto c = segment_at(0x20000 + 6 * 512, 100);
    CHECK(c.first_sect == 6);
    CHECK(c.last_sect == 7);
    CHECK(c.sectors == 2);
}

TEST_CASE("blkfront: a request takes what max_seg pages hold, and all segments cover the sectors", "[blkfront]") {
    // Direct: 11 pages = 88 sectors from an aligned buffer.
    CHECK(sectors_fitting(0x30000, 300, blkif::max_segments_per_request) == 88);
    CHECK(sectors_fitting(0x30000, 50, blkif::max_segments_per_request) == 50);
    // Unaligned by 1 sector: the first page holds 7.
    CHECK(sectors_fitting(0x30200, 300, blkif::max_segments_per_request) == 87);
    // Indirect, 32 segments: 64 KiB aligned fits in one request.
    CHECK(sectors_fitting(0x40000, 128, 32) == 128);
    // Cutting 300 sectors from an odd start into requests: every sector once,
    // never more than max_seg segments, each segment inside its page.
    for (uint64_t start : {0x50000ull, 0x50200ull, 0x50e00ull}) {
        for (unsigned max_seg : {11u, 16u, 32u}) {
            uint64_t addr = start;
            uint32_t left = 300, covered = 0;
            while (left > 0) {
                const uint32_t n = sectors_fitting(addr, left, max_seg);
                REQUIRE(n > 0);
                REQUIRE(segments_for(addr, n) <= max_seg);
                uint64_t a = addr;
                uint32_t l = n;
                while (l > 0) {
                    auto s = segment_at(a, l);
                    REQUIRE(s.first_sect <= s.last_sect);
                    REQUIRE(s.last_sect < blkif::sectors_per_page);
                    a += s.sectors * blkif::sector_bytes;
                    l -= s.sectors;
                    covered += s.sectors;
                }
                addr += static_cast<uint64_t>(n) * blkif::sector_bytes;
                left -= n;
            }
            CHECK(covered == 300);
            CHECK(addr == start + 300 * 512);
        }
    }
}
