// The transmit ring's per-domain accounting and fair-share rule (see console_share.hpp).
#include "kernel/console_share.hpp"

namespace menhir {

namespace console_share {

Verdict admit(size_t used, size_t held, size_t cost)
{
    if (cost > guest_limit || used > guest_limit - cost) return Verdict::ring_full;
    if (used + cost <= high_water) return Verdict::queue;
    if (cost > fair_share || held > fair_share - cost) return Verdict::over_share;
    return Verdict::queue;
}

} // namespace console_share

void ShareTracker::retire(uint64_t sent)
{
    while (count_ && runs_[first_].end <= sent) {
        const Run& r = runs_[first_];
        uint32_t& h = held_[r.domid % domains];
        h = h > r.cost ? h - r.cost : 0;
        first_ = (first_ + 1) % records;
        --count_;
    }
}

bool ShareTracker::can_record(uint16_t domid) const
{
    if (count_ < records) return true;
    return runs_[(first_ + count_ - 1) % records].domid == domid;
}

bool ShareTracker::record(uint16_t domid, size_t cost, uint64_t end)
{
    if (count_) {
        Run& last = runs_[(first_ + count_ - 1) % records];
        if (last.domid == domid) {
            last.end = end;
            last.cost += static_cast<uint32_t>(cost);
            held_[domid % domains] += static_cast<uint32_t>(cost);
            return true;
        }
    }
    if (count_ == records) return false;
    runs_[(first_ + count_) % records] = Run{end, static_cast<uint32_t>(cost), domid};
    ++count_;
    held_[domid % domains] += static_cast<uint32_t>(cost);
    return true;
}

} // namespace menhir
