#include <catch2/catch.hpp>

#include <cstdint>

#include "kernel/time/pvclock.hpp"

using namespace menhir;
using namespace menhir::pvclock;

namespace {

// delta ticks at tsc_khz, in ns, truncated.
uint64_t exact_ns(uint64_t delta, uint64_t tsc_khz)
{
    return static_cast<uint64_t>(static_cast<unsigned __int128>(delta) * 1'000'000 / tsc_khz);
}

// What a guest does with a published record.
uint64_t guest_time(const xen::VcpuTimeInfo& t, uint64_t tsc)
{
    return t.system_time + scale(tsc - t.tsc_timestamp, {t.tsc_to_system_mul, t.tsc_shift});
}

} // namespace

TEST_CASE("pvclock: scale matches the exact time", "[pvclock]")
{
    const uint64_t khz = GENERATE(as<uint64_t>{}, 1'000, 50'000, 1'000'000, 2'200'000, 3'500'000, 5'000'000,
                                  1, 999'999, 1'000'001, 2'000'000, 2'000'001, 2'893'412, 4'000'000'000);
    const Scale s = scale_for(khz);
    INFO("tsc_khz " << khz << " mul " << s.mul << " shift " << int{s.shift});
    CHECK(s.mul >= (1u << 31));

    const uint64_t ticks_per_hour = khz * 1000 * 3600;
    auto check = [&](uint64_t delta) {
        const uint64_t want = exact_ns(delta, khz);
        const uint64_t got = scale(delta, s);
        // Never fast; slow by at most 1 ns per second of delta (a truncated
        // multiplier) plus the bits truncated by the shifts (under 2 ns).
        REQUIRE(got <= want);
        REQUIRE(want - got <= want / 1'000'000'000 + 2);
    };
    for (uint64_t d = 0; d < 5000; ++d)
        check(d);
    for (uint64_t d = 1; d <= ticks_per_hour; d = d * 3 + 1)
        check(d);
    for (uint64_t d = ticks_per_hour; d > ticks_per_hour - 5000; --d)
        check(d);
    const uint64_t step = ticks_per_hour / 9973 + 1;
    for (uint64_t d = 7; d <= ticks_per_hour; d += step)
        check(d);
    check(ticks_per_hour);
}

TEST_CASE("pvclock: scale_for as Xen computes it", "[pvclock]")
{
    // The rate after the shift is in (1e9, 2e9] ticks per second.
    CHECK(scale_for(1'000).shift == 10);      // 1 MHz * 2^10 = 1.024e9
    CHECK(scale_for(50'000).shift == 5);      // 1.6e9
    CHECK(scale_for(1'000'000).shift == 1);   // exactly 1e9 is doubled
    CHECK(scale_for(1'000'000).mul == (1u << 31));
    CHECK(scale_for(2'000'000).shift == 0);   // exactly 2e9 stays
    CHECK(scale_for(2'000'000).mul == (1u << 31));
    CHECK(scale_for(2'200'000).shift == -1);
    CHECK(scale_for(3'500'000).shift == -1);
    CHECK(scale_for(5'000'000).shift == -2);  // 1.25e9
    CHECK(scale_for(5'000'000).mul == 3'435'973'836u);   // floor(2^32 / 1.25)
    CHECK(scale_for(1'000).mul == 4'194'304'000u);       // 2^32 / 1.024
    CHECK(scale_for(0).mul == 0);
    for (uint64_t khz = 1; khz < 100'000'000; khz = khz * 7 / 5 + 1) {
        const Scale s = scale_for(khz);
        INFO(khz);
        CHECK(s.mul >= (1u << 31));
        // Shifted rate: khz * 1000 * 2^shift, in (1e9, 2e9].
        const double rate = static_cast<double>(khz) * 1000.0 *
                            (s.shift >= 0 ? double(uint64_t{1} << s.shift) : 1.0 / double(uint64_t{1} << -s.shift));
        CHECK(rate > 0.999e9);
        CHECK(rate <= 2.0e9);
    }
}

TEST_CASE("pvclock: scale is the guest's arithmetic", "[pvclock]")
{
    // 64x32 product, bits 32..95 kept: no overflow for large deltas.
    CHECK(scale(uint64_t{1} << 40, {0x80000000u, 0}) == (uint64_t{1} << 39));
    CHECK(scale(~uint64_t{0}, {0xffffffffu, 0}) == 0xfffffffeffffffffull);
    CHECK(scale(7, {0x80000000u, -1}) == 1);     // 7 >> 1 = 3, * 1/2 = 1
    CHECK(scale(3, {0x80000000u, 2}) == 6);      // 3 << 2 = 12, * 1/2 = 6
    CHECK(scale(0, scale_for(3'000'000)) == 0);
}

TEST_CASE("pvclock: publishing a record", "[pvclock]")
{
    xen::VcpuTimeInfo t{};
    const Scale s = scale_for(2'200'000);

    begin_update(t);
    CHECK(t.version == 1);
    fill(t, 1'000'000, 5'000'000'000, s, xen::xen_pvclock_tsc_stable_bit);
    end_update(t);
    CHECK(t.version == 2);
    CHECK(t.tsc_timestamp == 1'000'000);
    CHECK(t.system_time == 5'000'000'000);
    CHECK(t.tsc_to_system_mul == s.mul);
    CHECK(t.tsc_shift == s.shift);
    CHECK(t.flags == xen::xen_pvclock_tsc_stable_bit);
    CHECK(guest_time(t, 1'000'000) == 5'000'000'000);
    CHECK(guest_time(t, 1'000'000 + 2'200'000'000) == 5'999'999'999);   // one second minus truncation

    for (int i = 0; i < 5; ++i) {
        const uint32_t before = t.version;
        begin_update(t);
        CHECK(t.version % 2 == 1);
        CHECK(t.version > before);
        end_update(t);
        CHECK(t.version % 2 == 0);
        CHECK(t.version == before + 2);
    }

    // Whatever state a record was left in, begin makes it odd and end even.
    t.version = 7;
    begin_update(t);
    CHECK(t.version % 2 == 1);
    CHECK(t.version != 7);
    end_update(t);
    CHECK(t.version % 2 == 0);
    CHECK(t.version > 7);
    t.version = 0xffffffffu;
    begin_update(t);
    CHECK(t.version % 2 == 1);
    end_update(t);
    CHECK(t.version % 2 == 0);
}
