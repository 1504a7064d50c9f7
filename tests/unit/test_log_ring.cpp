#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernel/log_ring.hpp"

using menhir::LogRing;

namespace {

std::string contents(const LogRing& ring)
{
    std::string s(ring.size(), '\0');
    size_t n = ring.read(0, s.data(), s.size());
    REQUIRE(n == ring.size());
    return s;
}

void put(LogRing& ring, const std::string& s) { ring.write(s.data(), s.size()); }

} // namespace

TEST_CASE("LogRing: starts empty", "[log_ring]")
{
    char buf[8];
    LogRing ring{buf, sizeof buf};
    CHECK(ring.size() == 0);
    CHECK(ring.total_written() == 0);
    CHECK(ring.capacity() == 8);
    CHECK(ring.oldest() == 0);
    char out[4] = {'x', 'x', 'x', 'x'};
    CHECK(ring.read(0, out, sizeof out) == 0);
    CHECK(out[0] == 'x');
}

TEST_CASE("LogRing: fills, then overwrites the oldest bytes", "[log_ring]")
{
    char buf[8];
    LogRing ring{buf, sizeof buf};
    put(ring, "abc");
    CHECK(contents(ring) == "abc");
    put(ring, "defgh");
    CHECK(contents(ring) == "abcdefgh");   // exactly full
    CHECK(ring.size() == 8);
    put(ring, "ij");
    CHECK(contents(ring) == "cdefghij");
    CHECK(ring.total_written() == 10);
    CHECK(ring.oldest() == 2);
    put(ring, "klmnop");
    CHECK(contents(ring) == "ijklmnop");
    put(ring, "q");
    CHECK(contents(ring) == "jklmnopq");
    CHECK(ring.total_written() == 17);
}

TEST_CASE("LogRing: writes of capacity or more keep only their tail", "[log_ring]")
{
    char buf[8];
    LogRing ring{buf, sizeof buf};
    put(ring, "xyz");
    put(ring, "01234567");   // exactly capacity
    CHECK(contents(ring) == "01234567");
    put(ring, "abcdefghijklmnopqrstuvwxyz");
    CHECK(contents(ring) == "stuvwxyz");
    CHECK(ring.total_written() == 3 + 8 + 26);
    put(ring, "A");   // and wrapping continues normally afterwards
    CHECK(contents(ring) == "tuvwxyzA");
}

TEST_CASE("LogRing: read with an offset and a short output", "[log_ring]")
{
    char buf[8];
    LogRing ring{buf, sizeof buf};
    put(ring, "abcdefghijk");   // a long write keeps its tail, defghijk, from index 0
    put(ring, "lm");            // so this one wraps: fghijklm, oldest at index 2
    REQUIRE(contents(ring) == "fghijklm");
    char out[16];
    for (size_t off = 0; off <= 9; ++off) {
        for (size_t n = 0; n <= 10; ++n) {
            std::memset(out, '#', sizeof out);
            size_t got = ring.read(off, out, n);
            std::string want = off < 8 ? std::string("fghijklm").substr(off, n) : "";
            INFO("offset " << off << " n " << n);
            CHECK(got == want.size());
            CHECK(std::string(out, got) == want);
            CHECK(out[got] == '#');   // nothing written past what was returned
        }
    }
    CHECK(ring.read(0, nullptr, 4) == 0);
    CHECK(ring.read(SIZE_MAX, out, 4) == 0);
}

TEST_CASE("LogRing: zero-length and null writes", "[log_ring]")
{
    char buf[4];
    LogRing ring{buf, sizeof buf};
    ring.write("abc", 0);
    CHECK(ring.size() == 0);
    CHECK(ring.total_written() == 0);
    ring.write(nullptr, 5);
    CHECK(ring.size() == 0);
    CHECK(ring.total_written() == 0);
}

TEST_CASE("LogRing: capacity one", "[log_ring]")
{
    char buf[1];
    LogRing ring{buf, 1};
    put(ring, "a");
    CHECK(contents(ring) == "a");
    put(ring, "bc");
    CHECK(contents(ring) == "c");
    put(ring, "d");
    CHECK(contents(ring) == "d");
    CHECK(ring.total_written() == 4);
}

TEST_CASE("LogRing: no storage still counts", "[log_ring]")
{
    LogRing zero{nullptr, 16};
    put(zero, "hello");
    CHECK(zero.size() == 0);
    CHECK(zero.total_written() == 5);
    CHECK(zero.capacity() == 0);
    char out[4];
    CHECK(zero.read(0, out, 4) == 0);

    char buf[4];
    LogRing empty{buf, 0};
    put(empty, "hello");
    CHECK(empty.size() == 0);
    CHECK(empty.read(0, out, 4) == 0);
}

TEST_CASE("LogRing: clear forgets the held bytes but not the count", "[log_ring]")
{
    char buf[6];
    LogRing ring{buf, sizeof buf};
    put(ring, "abcdefgh");
    ring.clear();
    CHECK(ring.size() == 0);
    CHECK(ring.total_written() == 8);
    CHECK(ring.oldest() == 8);
    put(ring, "xyz");
    CHECK(contents(ring) == "xyz");
    put(ring, "1234");
    CHECK(contents(ring) == "yz1234");
}

TEST_CASE("LogRing: a reader can follow the log with oldest()", "[log_ring]")
{
    char buf[10];
    LogRing ring{buf, sizeof buf};
    uint64_t mark = 0;   // what the reader has consumed, in bytes ever written
    std::string seen;
    auto drain = [&] {
        uint64_t missed = ring.oldest() > mark ? ring.oldest() - mark : 0;
        mark += missed;
        char out[4];
        for (;;) {
            size_t got = ring.read(static_cast<size_t>(mark - ring.oldest()), out, sizeof out);
            if (got == 0) {
                break;
            }
            seen.append(out, got);
            mark += got;
        }
        return missed;
    };
    put(ring, "hello ");
    CHECK(drain() == 0);
    put(ring, "world");
    CHECK(drain() == 0);
    CHECK(seen == "hello world");
    put(ring, "0123456789ABC");   // overruns the reader by 3 bytes
    CHECK(drain() == 3);
    CHECK(seen == "hello world3456789ABC");
}

TEST_CASE("LogRing: matches a simple model under random writes", "[log_ring]")
{
    std::mt19937 rng{2024};
    for (size_t capacity : {1u, 2u, 3u, 7u, 8u, 64u, 100u, 4096u}) {
        std::vector<char> storage(capacity);
        LogRing ring{storage.data(), capacity};
        std::string model;   // everything ever written
        for (int step = 0; step < 500; ++step) {
            size_t len = rng() % (capacity * 2 + 3);
            std::string text(len, '\0');
            for (char& c : text) {
                c = static_cast<char>('a' + rng() % 26);
            }
            put(ring, text);
            model += text;
            std::string tail = model.size() > capacity ? model.substr(model.size() - capacity) : model;
            INFO("capacity " << capacity << " step " << step);
            REQUIRE(ring.total_written() == model.size());
            REQUIRE(ring.size() == tail.size());
            REQUIRE(ring.oldest() == model.size() - tail.size());
            REQUIRE(contents(ring) == tail);
            size_t off = rng() % (capacity + 2);
            size_t n = rng() % (capacity + 2);
            std::vector<char> out(n + 1, '#');
            size_t got = ring.read(off, out.data(), n);
            std::string want = off < tail.size() ? tail.substr(off, n) : "";
            REQUIRE(std::string(out.data(), got) == want);
            REQUIRE(out[got] == '#');
        }
    }
}
