#include "kernel/mm/frame_allocator.hpp"

namespace menhir {
namespace {

constexpr uint64_t bits_per_word = 64;

// Portable popcount: std::popcount may become a libgcc call when the
// freestanding build has no POPCNT instruction to use.
[[nodiscard]] constexpr uint64_t count_bits(uint64_t v)
{
    v = v - ((v >> 1) & 0x5555555555555555ull);
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (v * 0x0101010101010101ull) >> 56;
}

// Bits [lo, hi] of a word (inclusive, both < 64).
[[nodiscard]] constexpr uint64_t bit_range(uint64_t lo, uint64_t hi)
{
    return (~0ull >> (63 - hi)) & (~0ull << lo);
}

[[nodiscard]] constexpr uint64_t saturating_end(uint64_t base, uint64_t length)
{
    return length > ~0ull - base ? ~0ull : base + length;
}

[[nodiscard]] constexpr uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

} // namespace

size_t FrameAllocator::bitmap_bytes(HostPhys max_phys)
{
    const uint64_t v = max_phys.value();
    const uint64_t frames = v / page_size + (v % page_size != 0 ? 1 : 0);
    const uint64_t words = frames / bits_per_word + (frames % bits_per_word != 0 ? 1 : 0);
    return static_cast<size_t>(2 * words * sizeof(uint64_t));
}

void FrameAllocator::init(uint64_t* bitmap, HostPhys max_phys)
{
    const uint64_t v = max_phys.value();
    frames_ = v / page_size + (v % page_size != 0 ? 1 : 0);
    words_ = frames_ / bits_per_word + (frames_ % bits_per_word != 0 ? 1 : 0);
    used_ = bitmap;
    usable_ = bitmap + words_;
    // All ones in the used map, including the tail bits past frames_ in the
    // last word, so a search never needs to special-case them.
    __builtin_memset(used_, 0xff, words_ * sizeof(uint64_t));
    __builtin_memset(usable_, 0, words_ * sizeof(uint64_t));
    total_ = free_ = hint_ = 0;
}

void FrameAllocator::apply(uint64_t first, uint64_t end, RangeOp op)
{
    if (first >= end)
        return;
    const uint64_t first_word = first / bits_per_word;
    const uint64_t last_word = (end - 1) / bits_per_word;
    for (uint64_t w = first_word; w <= last_word; ++w) {
        const uint64_t lo = w == first_word ? first % bits_per_word : 0;
        const uint64_t hi = w == last_word ? (end - 1) % bits_per_word : 63;
        const uint64_t mask = bit_range(lo, hi);
        switch (op) {
        case RangeOp::add_usable: {
            const uint64_t fresh = mask & ~usable_[w];
            usable_[w] |= fresh;
            used_[w] &= ~fresh;
            total_ += count_bits(fresh);
            free_ += count_bits(fresh);
            break;
        }
        case RangeOp::reserve: {
            const uint64_t taken = mask & usable_[w] & ~used_[w];
            used_[w] |= taken;
            free_ -= count_bits(taken);
            break;
        }
        case RangeOp::mark_free: {
            const uint64_t released = mask & usable_[w] & used_[w];
            used_[w] &= ~released;
            free_ += count_bits(released);
            break;
        }
        }
    }
}

void FrameAllocator::add_usable(HostPhys base, uint64_t length)
{
    // Only whole frames: a partial frame at either end may share its page
    // with firmware data.
    if (base.value() > ~0ull - (page_size - 1))   // no whole frame starts here
        return;
    const uint64_t first = align_up(base.value(), page_size) / page_size;
    const uint64_t end = min_u64(align_down(saturating_end(base.value(), length), page_size) / page_size,
                                 frames_);
    apply(first, end, RangeOp::add_usable);
}

void FrameAllocator::reserve(HostPhys base, uint64_t length)
{
    if (length == 0)
        return;
    const uint64_t first = base.value() / page_size;
    const uint64_t last_byte = saturating_end(base.value(), length - 1);
    const uint64_t end = min_u64(last_byte / page_size + 1, frames_);
    apply(first, end, RangeOp::reserve);
}

bool FrameAllocator::test(const uint64_t* map, uint64_t frame) const
{
    return (map[frame / bits_per_word] >> (frame % bits_per_word)) & 1;
}

bool FrameAllocator::is_free(HostPhys frame) const
{
    const uint64_t f = frame.value() / page_size;
    return f < frames_ && !test(used_, f);
}

bool FrameAllocator::is_usable(HostPhys frame) const
{
    const uint64_t f = frame.value() / page_size;
    return f < frames_ && test(usable_, f);
}

uint64_t FrameAllocator::next_clear(uint64_t from, uint64_t limit) const
{
    while (from < limit) {
        const uint64_t w = from / bits_per_word;
        const uint64_t clear = ~used_[w] & (~0ull << (from % bits_per_word));
        if (clear != 0) {
            const uint64_t f = w * bits_per_word + static_cast<uint64_t>(__builtin_ctzll(clear));
            return f < limit ? f : limit;
        }
        from = (w + 1) * bits_per_word;
    }
    return limit;
}

bool FrameAllocator::run_is_free(uint64_t first, uint64_t count, uint64_t& busy) const
{
    const uint64_t end = first + count;
    const uint64_t first_word = first / bits_per_word;
    const uint64_t last_word = (end - 1) / bits_per_word;
    // From the top down, so a conflict reports the highest busy frame and the
    // next candidate can start past it.
    for (uint64_t w = last_word + 1; w-- > first_word;) {
        const uint64_t lo = w == first_word ? first % bits_per_word : 0;
        const uint64_t hi = w == last_word ? (end - 1) % bits_per_word : 63;
        const uint64_t hit = used_[w] & bit_range(lo, hi);
        if (hit != 0) {
            busy = w * bits_per_word + 63 - static_cast<uint64_t>(__builtin_clzll(hit));
            return false;
        }
    }
    return true;
}

Optional<uint64_t> FrameAllocator::find(uint64_t start, uint64_t start_limit, uint64_t end_limit,
                                        uint64_t count, uint64_t align) const
{
    uint64_t c = start;
    for (;;) {
        c = next_clear(c, end_limit);
        const uint64_t rem = c % align;
        if (rem != 0) {
            if (align - rem > end_limit - c)
                return {};
            c += align - rem;
        }
        if (c >= start_limit || c > end_limit - count)
            return {};
        uint64_t busy = 0;
        if (run_is_free(c, count, busy))
            return c;
        c = busy + 1;   // strictly increases, so the loop ends
    }
}

Optional<HostPhys> FrameAllocator::alloc(size_t count, size_t align_frames, HostPhys below)
{
    if (count == 0 || align_frames == 0)
        return {};
    const uint64_t end_limit = min_u64(frames_, below.value() / page_size);
    if (count > end_limit)
        return {};
    const uint64_t start = hint_ < end_limit ? hint_ : 0;
    Optional<uint64_t> got = find(start, end_limit, end_limit, count, align_frames);
    if (!got && start != 0)
        got = find(0, start, end_limit, count, align_frames);
    if (!got)
        return {};
    apply(*got, *got + count, RangeOp::reserve);
    hint_ = *got + count;
    return HostPhys{*got * page_size};
}

bool FrameAllocator::free(HostPhys base, size_t count)
{
    if (count == 0 || !base.aligned(page_size))
        return false;
    const uint64_t first = base.value() / page_size;
    if (first >= frames_ || count > frames_ - first)
        return false;
    const uint64_t end = first + count;
    const uint64_t first_word = first / bits_per_word;
    const uint64_t last_word = (end - 1) / bits_per_word;
    for (uint64_t w = first_word; w <= last_word; ++w) {
        const uint64_t lo = w == first_word ? first % bits_per_word : 0;
        const uint64_t hi = w == last_word ? (end - 1) % bits_per_word : 63;
        const uint64_t mask = bit_range(lo, hi);
        if ((mask & usable_[w] & used_[w]) != mask)
            return false;
    }
    apply(first, end, RangeOp::mark_free);
    return true;
}

} // namespace menhir
