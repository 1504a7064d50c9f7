// The transmit ring's fair share: the admission rule and the per-domain accounting.
#include <catch2/catch.hpp>

#include <memory>

#include "kernel/console_share.hpp"

using menhir::ShareTracker;
using namespace menhir::console_share;

TEST_CASE("console_share: below the high-water mark every line goes in", "[console_share]")
{
    CHECK(admit(0, 0, 100) == Verdict::queue);
    CHECK(admit(high_water - 100, guest_limit, 100) == Verdict::queue);   // even a domain holding a lot
}

TEST_CASE("console_share: above it, only a domain under its share", "[console_share]")
{
    CHECK(admit(high_water, fair_share, 1) == Verdict::over_share);
    CHECK(admit(high_water, fair_share - 100, 100) == Verdict::queue);
    CHECK(admit(high_water, fair_share - 99, 100) == Verdict::over_share);
    CHECK(admit(guest_limit - 10, 0, 11) == Verdict::ring_full);
    CHECK(admit(guest_limit - 10, 0, 10) == Verdict::queue);
    CHECK(admit(0, 0, guest_limit + 1) == Verdict::ring_full);
    // The headroom above the mark holds seven quiet domains' shares.
    CHECK((guest_limit - high_water) / fair_share >= 2);
}

TEST_CASE("console_share: held bytes drop as the consumer sends them", "[console_share]")
{
    auto t = std::make_unique<ShareTracker>();
    REQUIRE(t->record(1, 100, 100));
    REQUIRE(t->record(2, 50, 150));
    REQUIRE(t->record(1, 30, 200));   // a hypervisor line of 20 bytes came between
    CHECK(t->held(1) == 130);
    CHECK(t->held(2) == 50);
    t->retire(99);
    CHECK(t->held(1) == 130);
    t->retire(100);
    CHECK(t->held(1) == 30);
    t->retire(200);
    CHECK(t->held(1) == 0);
    CHECK(t->held(2) == 0);
}

TEST_CASE("console_share: one domain's consecutive lines share a record", "[console_share]")
{
    auto t = std::make_unique<ShareTracker>();
    for (uint64_t i = 1; i <= 10 * ShareTracker::records; ++i) REQUIRE(t->record(3, 10, i * 10));
    CHECK(t->held(3) == 10 * 10 * ShareTracker::records);
    t->retire(10 * 10 * ShareTracker::records);
    CHECK(t->held(3) == 0);
}

TEST_CASE("console_share: with every record taken, only the last run's domain goes on", "[console_share]")
{
    auto t = std::make_unique<ShareTracker>();
    uint64_t end = 0;
    for (size_t i = 0; i < ShareTracker::records; ++i) REQUIRE(t->record(static_cast<uint16_t>(i % 2), 8, end += 8));
    const uint16_t last = static_cast<uint16_t>((ShareTracker::records - 1) % 2);
    CHECK(t->can_record(last));
    CHECK_FALSE(t->can_record(static_cast<uint16_t>(last ^ 1)));
    CHECK_FALSE(t->record(static_cast<uint16_t>(last ^ 1), 8, end + 8));
    t->retire(8);   // the oldest run is sent: a record is free again
    CHECK(t->can_record(static_cast<uint16_t>(last ^ 1)));
}
