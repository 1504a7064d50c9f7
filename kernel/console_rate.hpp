// The per-domain console rate limit: a token bucket counted in characters,
// Menhir's form of Xen's printk rate limit on guest console output (Xen:
// printk_ratelimit_ms = 5000, printk_ratelimit_burst = 10 lines, shared by
// all guests; Menhir counts characters, one bucket per domain, so one
// domain's flood does not silence another).
#pragma once
#include <cstdint>

namespace menhir {

namespace console_rate {
inline constexpr uint64_t burst_chars = 16 * 1024;       // a full bucket: ~200 lines of 80 characters
inline constexpr uint64_t chars_per_second = 2 * 1024;   // refill: ~25 such lines a second
} // namespace console_rate

// Zero-initialised means a full bucket (a new domain may print its burst at once).
struct CharBucket {
    uint64_t debt{0};      // characters spent and not yet refilled (0 .. burst)
    uint64_t last_ms{0};   // when debt was last refilled

    // Charges `chars` at time now_ms if the bucket holds them; false (and
    // nothing charged) when it does not: the caller drops the line.
    [[nodiscard]] bool take(uint64_t now_ms, uint64_t chars, uint64_t burst = console_rate::burst_chars,
                            uint64_t per_second = console_rate::chars_per_second);
};

} // namespace menhir
