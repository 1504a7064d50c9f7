#include "kernel/time/pvclock.hpp"

namespace menhir::pvclock {

Scale scale_for(uint64_t tsc_khz)
{
    if (tsc_khz == 0)
        return {0, 0};
    constexpr uint64_t ns_per_sec = 1'000'000'000;
    // Ticks per second after the shift: halved while above 2e9 and doubled
    // while at most 1e9, which leaves it in (1e9, 2e9].
    uint64_t rate = tsc_khz * 1000;
    int shift = 0;
    while (rate > 2 * ns_per_sec) {
        rate >>= 1;
        --shift;
    }
    while (rate <= ns_per_sec) {
        rate <<= 1;
        ++shift;
    }
    // ns per shifted tick as a 0.32 fixed-point fraction; below 1 because
    // rate > 1e9, and at least 1/2 because rate <= 2e9. 1e9 * 2^32 < 2^62.
    const uint64_t mul = (ns_per_sec << 32) / rate;
    return {static_cast<uint32_t>(mul), static_cast<int8_t>(shift)};
}

uint64_t scale(uint64_t delta, Scale s)
{
    if (s.shift < 0)
        delta >>= -s.shift;
    else
        delta <<= s.shift;
    const unsigned __int128 product = static_cast<unsigned __int128>(delta) * s.mul;
    return static_cast<uint64_t>(product >> 32);
}

void fill(xen::VcpuTimeInfo& t, uint64_t tsc, uint64_t system_ns, Scale s, uint8_t flags)
{
    t.tsc_timestamp = tsc;
    t.system_time = system_ns;
    t.tsc_to_system_mul = s.mul;
    t.tsc_shift = s.shift;
    t.flags = flags;
}

// x86 keeps stores in program order, so only the compiler has to be kept from
// moving them across the version updates. Whatever the version was, begin
// leaves it odd and end leaves it even and past it, as Xen does.
void begin_update(xen::VcpuTimeInfo& t)
{
    const uint32_t v = __atomic_load_n(&t.version, __ATOMIC_RELAXED);
    __atomic_store_n(&t.version, (v + 1) | 1u, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void end_update(xen::VcpuTimeInfo& t)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    const uint32_t v = __atomic_load_n(&t.version, __ATOMIC_RELAXED);
    __atomic_store_n(&t.version, (v + 1) & ~1u, __ATOMIC_RELAXED);
}

} // namespace menhir::pvclock
