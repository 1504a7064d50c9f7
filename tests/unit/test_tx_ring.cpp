#include <catch2/catch.hpp>

#include <string>

#include "kernel/console_rate.hpp"
#include "kernel/tx_ring.hpp"

using menhir::CharBucket;
using menhir::TxRing;

namespace {

std::string drain(TxRing& ring, size_t max = 1000)
{
    std::string s(max, '\0');
    s.resize(ring.pop(s.data(), max));
    return s;
}

bool push(TxRing& ring, const std::string& s, size_t limit = SIZE_MAX)
{
    return ring.push(s.data(), s.size(), limit);
}

} // namespace

TEST_CASE("TxRing: bytes come out in order, across the wrap", "[tx_ring]")
{
    char buf[8];
    TxRing ring{buf, sizeof buf};
    CHECK(ring.empty());
    CHECK(push(ring, "abcde"));
    CHECK(drain(ring, 3) == "abc");
    CHECK(push(ring, "fghij"));   // wraps
    CHECK(ring.used() == 7);
    CHECK(drain(ring) == "defghij");
    CHECK(ring.empty());
    CHECK(ring.dropped() == 0);
    CHECK(ring.queued() == 10);
}

TEST_CASE("TxRing: a line that does not fit is dropped whole and counted", "[tx_ring]")
{
    char buf[8];
    TxRing ring{buf, sizeof buf};
    CHECK(push(ring, "12345"));
    CHECK_FALSE(push(ring, "6789"));   // 9 > 8
    CHECK(ring.dropped() == 4);
    CHECK(push(ring, "678"));          // exactly full
    CHECK(ring.used() == 8);
    CHECK_FALSE(push(ring, "x"));
    CHECK(ring.dropped() == 5);
    CHECK(drain(ring) == "12345678");
    CHECK_FALSE(push(ring, "123456789"));   // longer than the ring
    CHECK(ring.dropped() == 14);
    CHECK(push(ring, ""));
}

TEST_CASE("TxRing: a limit keeps room for others", "[tx_ring]")
{
    char buf[16];
    TxRing ring{buf, sizeof buf};
    CHECK(push(ring, "abcdef", 8));
    CHECK_FALSE(push(ring, "ghi", 8));   // would hold 9 > 8
    CHECK(push(ring, "ghi"));            // no limit: up to the capacity
    CHECK(ring.used() == 9);
    CHECK(ring.dropped() == 3);
}

TEST_CASE("TxRing: a capacity that is not a power of two holds nothing", "[tx_ring]")
{
    char buf[12];
    TxRing ring{buf, sizeof buf};
    CHECK(ring.capacity() == 0);
    CHECK_FALSE(push(ring, "a"));
    CHECK(ring.dropped() == 1);
    TxRing none{nullptr, 16};
    CHECK_FALSE(push(none, "a"));
}

TEST_CASE("TxRing: many rounds through a small ring lose nothing they accepted", "[tx_ring]")
{
    char buf[32];
    TxRing ring{buf, sizeof buf};
    std::string in, out;
    uint64_t refused = 0;
    for (int i = 0; i < 1000; ++i) {
        std::string line = std::to_string(i) + "\r\n";
        if (push(ring, line)) in += line;
        else refused += line.size();
        if (i % 3 == 0) out += drain(ring, 7);
    }
    out += drain(ring);
    CHECK(out == in);
    CHECK(ring.dropped() == refused);
    CHECK(refused > 0);
}

TEST_CASE("CharBucket: starts full, then refills at the rate", "[console_rate]")
{
    CharBucket b;
    // A full burst at once, from zero-initialised state.
    CHECK(b.take(1000, 100, 1000, 100));
    CHECK(b.take(1000, 900, 1000, 100));
    CHECK_FALSE(b.take(1000, 1, 1000, 100));
    // 100 characters a second: after 0.5 s, 50 back.
    CHECK(b.take(1500, 50, 1000, 100));
    CHECK_FALSE(b.take(1500, 1, 1000, 100));
    // Small steps add up (5 ms = half a character each is not lost forever).
    int got = 0;
    for (uint64_t t = 1505; t <= 2500; t += 5)
        if (b.take(t, 1, 1000, 100)) ++got;
    CHECK(got >= 90);
    CHECK(got <= 101);
    // A long quiet time refills to the burst, never beyond.
    CHECK(b.take(1000000, 1000, 1000, 100));
    CHECK_FALSE(b.take(1000000, 1, 1000, 100));
    // A line longer than the burst never passes.
    CharBucket c;
    CHECK_FALSE(c.take(0, 1001, 1000, 100));
    CHECK(c.take(0, 1000, 1000, 100));
}

TEST_CASE("CharBucket: a clock that goes back does not refill", "[console_rate]")
{
    CharBucket b;
    CHECK(b.take(5000, 1000, 1000, 100));
    CHECK_FALSE(b.take(4000, 1, 1000, 100));
    CHECK(b.take(4100, 10, 1000, 100));
}

TEST_CASE("CharBucket: Menhir's defaults", "[console_rate]")
{
    CharBucket b;
    CHECK(b.take(0, menhir::console_rate::burst_chars));
    CHECK_FALSE(b.take(0, 1));
    CHECK(b.take(1000, menhir::console_rate::chars_per_second));
    CHECK_FALSE(b.take(1000, 1));
}
