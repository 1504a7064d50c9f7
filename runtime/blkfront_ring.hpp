// The arithmetic of blkfront's ring and requests (the response overflow check, a buffer cut into page segments; the notify rule is blkif::needs_notify): pure, shared by runtime/blkfront.cpp and the host unit tests.
#pragma once

#include <stdint.h>

#include "blkif.hpp"

namespace blkfront_ring {

// RING_RESPONSE_PROD_OVERFLOW: more responses than the ring has slots.
constexpr bool responses_overflow(uint32_t rsp_prod, uint32_t rsp_cons, uint32_t slots) {
    return static_cast<uint32_t>(rsp_prod - rsp_cons) > slots;
}

// The pages `count` sectors from `addr` touch: one segment each.
constexpr unsigned segments_for(uint64_t addr, uint32_t count) {
    const uint64_t end = addr + static_cast<uint64_t>(count) * blkif::sector_bytes;
    return static_cast<unsigned>(((end + blkif::page_bytes - 1) / blkif::page_bytes) - addr / blkif::page_bytes);
}

// How many of `left` sectors from `addr` fit in `max_seg` segments.
constexpr uint32_t sectors_fitting(uint64_t addr, uint32_t left, unsigned max_seg) {
    if (segments_for(addr, left) <= max_seg) return left;
    const uint64_t limit = (addr / blkif::page_bytes + max_seg) * blkif::page_bytes;
    return static_cast<uint32_t>((limit - addr) / blkif::sector_bytes);
}

// The segment for the page holding `addr` (512-byte aligned), with up to
// `left` sectors: its first and last sector in the page, and how many.
struct SegmentSpan {
    uint8_t first_sect;
    uint8_t last_sect;
    uint32_t sectors;
};
constexpr SegmentSpan segment_at(uint64_t addr, uint32_t left) {
    const uint32_t first = static_cast<uint32_t>((addr % blkif::page_bytes) / blkif::sector_bytes);
    const uint32_t room = blkif::sectors_per_page - first;
    const uint32_t n = left < room ? left : room;
    return SegmentSpan{static_cast<uint8_t>(first), static_cast<uint8_t>(first + n - 1), n};
}

}  // namespace blkfront_ring
