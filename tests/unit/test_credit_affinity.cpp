// The credit scheduler's vCPU affinity (xl vcpu-pin): hard masks are never
// broken, soft masks are preferred among idle CPUs.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>

#include "kernel/sched/credit.hpp"

using namespace menhir::sched;

namespace {
constexpr uint64_t ms = 1'000'000;
}

TEST_CASE("affinity: a pinned unit wakes only on a CPU of its hard mask", "[credit][affinity]")
{
    Credit s;
    s.init(2, 0);
    Account acc;
    Unit u;
    s.add(u, acc, 0);
    int poke = 0;
    REQUIRE(s.set_affinity(u, 1u << 1, all_cpus, poke));
    CHECK(poke == -1);   // blocked: nothing to move
    CHECK(u.cpu == 1);
    CHECK(u.hard_affinity() == 0b10);
    CHECK(s.wake(u, 0) == 1);   // both idle: CPU 1 only
    uint64_t slice = 0;
    CHECK(s.pick_next(0, 0, nullptr, slice) == nullptr);   // CPU 0 must not steal it
    REQUIRE(s.pick_next(1, 0, nullptr, slice) == &u);
    CHECK(s.check() == nullptr);
}

TEST_CASE("affinity: an idle CPU does not steal a unit pinned elsewhere", "[credit][affinity]")
{
    Credit s;
    s.init(2, 0);
    Account acc;
    Unit busy, pinned, free_unit;
    s.add(busy, acc, 0);
    s.add(pinned, acc, 0);
    s.add(free_unit, acc, 0);
    int poke = 0;
    REQUIRE(s.set_affinity(pinned, 1u << 0, all_cpus, poke));
    uint64_t slice = 0;
    CHECK(s.wake(busy, 0) == 0);
    REQUIRE(s.pick_next(0, 0, nullptr, slice) == &busy);
    s.wake(pinned, 0);
    CHECK(pinned.cpu == 0);   // CPU 1 is idle but not allowed
    CHECK(s.runnable_count(0) == 1);
    CHECK(s.pick_next(1, 1 * ms, nullptr, slice) == nullptr);
    CHECK(s.runnable_count(0) == 1);
    // An unpinned unit queued behind it is still stolen.
    s.block(busy, 2 * ms);
    REQUIRE(s.pick_next(0, 2 * ms, &busy, slice) == &pinned);
    CHECK(s.wake(free_unit, 3 * ms) == 1);
    REQUIRE(s.pick_next(1, 3 * ms, nullptr, slice) == &free_unit);
    CHECK(s.check() == nullptr);
}

TEST_CASE("affinity: pinning a running unit away moves it at its CPU's next pick", "[credit][affinity]")
{
    Credit s;
    s.init(2, 0);
    Account acc;
    Unit u;
    s.add(u, acc, 0);
    uint64_t slice = 0;
    CHECK(s.wake(u, 0) == 0);
    REQUIRE(s.pick_next(0, 0, nullptr, slice) == &u);
    int poke = -1;
    REQUIRE(s.set_affinity(u, 1u << 1, all_cpus, poke));
    CHECK(poke == 0);                 // where it runs now, no longer allowed
    CHECK(s.should_preempt(0));
    CHECK(s.check() == nullptr);
    CHECK(s.pick_next(0, 1 * ms, &u, slice) == nullptr);   // requeued on CPU 1
    CHECK(u.cpu == 1);
    CHECK(s.runnable_count(1) == 1);
    REQUIRE(s.pick_next(1, 1 * ms, nullptr, slice) == &u);
    CHECK(u.cpu == 1);
    CHECK(s.check() == nullptr);
}

TEST_CASE("affinity: a queued unit pinned away moves to an allowed idle CPU", "[credit][affinity]")
{
    Credit s;
    s.init(2, 0);
    Account acc;
    Unit a, b;
    s.add(a, acc, 0);
    s.add(b, acc, 0);
    uint64_t slice = 0;
    s.wake(a, 0);
    REQUIRE(s.pick_next(0, 0, nullptr, slice) == &a);
    CHECK(s.wake(b, 0) == 1);   // CPU 1 idle: poked for b
    REQUIRE(s.pick_next(1, 0, nullptr, slice) == &b);
    s.block(b, 1 * ms);
    REQUIRE(s.pick_next(1, 1 * ms, &b, slice) == nullptr);
    // b waits on CPU 0's queue (pinned there), then is pinned to CPU 1.
    int poke = 0;
    REQUIRE(s.set_affinity(b, 1u << 0, all_cpus, poke));
    s.wake(b, 2 * ms);
    CHECK(b.cpu == 0);
    CHECK(b.queued());
    REQUIRE(s.set_affinity(b, 1u << 1, all_cpus, poke));
    CHECK(poke == 1);
    CHECK(b.cpu == 1);
    CHECK(s.runnable_count(0) == 0);
    CHECK(s.runnable_count(1) == 1);
    REQUIRE(s.pick_next(1, 3 * ms, nullptr, slice) == &b);
    CHECK(s.check() == nullptr);
}

TEST_CASE("affinity: a mask without an existing CPU is refused and changes nothing", "[credit][affinity]")
{
    Credit s;
    s.init(2, 0);
    Account acc;
    Unit u;
    s.add(u, acc, 1);
    int poke = 7;
    CHECK_FALSE(s.set_affinity(u, 0, all_cpus, poke));
    CHECK_FALSE(s.set_affinity(u, 1u << 5, all_cpus, poke));
    CHECK(u.hard_affinity() == all_cpus);
    CHECK(u.cpu == 1);
    // Masks are limited to the CPUs that exist; an empty soft one means none preferred.
    REQUIRE(s.set_affinity(u, 0b111, 1u << 9, poke));
    CHECK(u.hard_affinity() == 0b11);
    CHECK(u.soft_affinity() == 0b11);
}

TEST_CASE("affinity: among idle CPUs a wake prefers the soft mask", "[credit][affinity]")
{
    Credit s;
    s.init(4, 0);
    Account acc;
    Unit u;
    s.add(u, acc, 0);
    int poke = 0;
    REQUIRE(s.set_affinity(u, 0b1111, 0b1000, poke));
    CHECK(s.wake(u, 0) == 3);
    CHECK(u.cpu == 3);
    CHECK(s.check() == nullptr);
}

TEST_CASE("affinity: random pinning never runs a unit outside its hard mask", "[credit][affinity]")
{
    std::mt19937_64 rng{777};
    for (int round = 0; round < 20; round++) {
        Credit s;
        const uint32_t cpus = 1 + static_cast<uint32_t>(rng() % 4);
        s.init(cpus, 0);
        Account accounts[2];
        accounts[1].cap = 40;
        Unit units[8];
        for (size_t i = 0; i < 8; i++)
            s.add(units[i], accounts[i % 2], static_cast<uint32_t>(rng() % cpus));
        uint64_t t = 0;
        for (int step = 0; step < 3000; step++) {
            t += rng() % (3 * ms);
            Unit& u = units[rng() % 8];
            switch (rng() % 6) {
            case 0:
            case 1:
                s.wake(u, t);
                break;
            case 2:
                s.block(u, t);
                break;
            case 3: {
                int poke = 0;
                const uint64_t mask = rng() % 16;
                const bool ok = s.set_affinity(u, mask, rng() % 16, poke);
                REQUIRE(ok == ((mask & s.cpu_mask()) != 0));
                REQUIRE(poke < static_cast<int>(cpus));
                break;
            }
            default: {
                const auto c = static_cast<uint32_t>(rng() % cpus);
                uint64_t slice = 0;
                Unit* next = s.pick_next(c, t, nullptr, slice);
                if (next != nullptr) {
                    REQUIRE(next->cpu == c);
                    REQUIRE(((next->hard_affinity() >> c) & 1) == 1);
                }
                break;
            }
            }
            const char* err = s.check();
            INFO("round " << round << " step " << step << ": " << (err != nullptr ? err : ""));
            REQUIRE(err == nullptr);
        }
    }
}
