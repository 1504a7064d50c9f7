// The per-domain console rate limit (see console_rate.hpp).
#include "kernel/console_rate.hpp"

namespace menhir {

bool CharBucket::take(uint64_t now_ms, uint64_t chars, uint64_t burst, uint64_t per_second)
{
    if (now_ms < last_ms) last_ms = now_ms;   // a clock that went back: refill from here
    const uint64_t elapsed = now_ms - last_ms;
    // Past the time a full refill takes, the bucket is full (and the product
    // below cannot overflow).
    const uint64_t refill_all_ms = per_second ? burst * 1000 / per_second + 1 : UINT64_MAX;
    const uint64_t refill = elapsed >= refill_all_ms ? burst : elapsed * per_second / 1000;
    if (refill) {   // less than one character's worth of time waits for the next call
        debt = debt > refill ? debt - refill : 0;
        last_ms = now_ms;
    }
    if (chars > burst || debt > burst - chars) return false;
    debt += chars;
    return true;
}

} // namespace menhir
