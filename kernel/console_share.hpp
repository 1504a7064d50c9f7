// Who holds the serial console's transmit ring: bytes each rate-limited
// domain has queued and not yet sent, and the fair-share rule that keeps one
// domain's flood from taking the room its neighbours' lines need. Pure.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir {

namespace console_share {
// The guest part of the 64 KiB transmit ring (the rest is kept for the
// hypervisor's and dom0's lines), the fill level above which a domU line goes
// in only if its domain holds less than fair_share bytes, and that share.
// (guest_limit - high_water) / fair_share = 2 quiet domains always find room
// however many others flood. The mark leaves one domain room for a burst of
// 24 KiB of lines (a test guest's report, a kernel's boot messages) when no
// one competes: the UART may drain slowly (about 2 KiB/s of emulated time
// under Bochs), and a lower mark dropped such a burst with nobody to protect.
// A quiet line waits behind at most high_water + the quiet domains' bytes.
inline constexpr size_t guest_limit = 32 * 1024;
inline constexpr size_t high_water = 24 * 1024;
inline constexpr size_t fair_share = 4 * 1024;

enum class Verdict {
    queue,       // it goes in
    ring_full,   // the guest part of the ring has no room for it
    over_share,  // above the high-water mark, and its domain holds its share already
    untracked,   // no record left to account for it (see ShareTracker::records)
};

// The rule alone: may a line of `cost` bytes from a domain holding `held`
// bytes go into a ring that holds `used` bytes?
[[nodiscard]] Verdict admit(size_t used, size_t held, size_t cost);
} // namespace console_share

// Bytes per domain id still in the ring. The caller records each line it
// queued with the ring position just past it (bytes ever queued) and, before
// asking, retires what the consumer has sent (bytes ever sent). Consecutive
// lines of one domain share a record, which then counts all of them until
// its last byte is sent (an over-estimate only when hypervisor lines fall
// between them).
class ShareTracker final {
public:
    static constexpr size_t domains = 128;   // Menhir's domain ids (vmm/domain.hpp max_domains)
    static constexpr size_t records = 1024;  // runs of one domain's lines in the ring

    void retire(uint64_t sent);
    [[nodiscard]] size_t held(uint16_t domid) const { return held_[domid % domains]; }
    // A record is free for this domain's next line (or it extends the last).
    [[nodiscard]] bool can_record(uint16_t domid) const;
    // The line's `cost` bytes end at ring position `end`; false if no record was free.
    [[nodiscard]] bool record(uint16_t domid, size_t cost, uint64_t end);

private:
    struct Run {
        uint64_t end;
        uint32_t cost;
        uint16_t domid;
    };
    Run runs_[records]{};
    size_t first_{0}, count_{0};
    uint32_t held_[domains]{};
};

} // namespace menhir
