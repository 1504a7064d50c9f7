// blkif requests as dom0's back end checks them (pure, host-tested): decoding a request copied off the ring, segment and range checks, the ring's index rule.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "runtime/blkif.hpp"

namespace dom0::block {

// What dom0's blkback offers in feature-max-indirect-segments (1 MiB per
// request, as Linux's blkback offers).
inline constexpr uint32_t max_indirect_segments = 256;
static_assert(max_indirect_segments <= blkif::max_indirect_pages_per_request * blkif::segments_per_indirect_page);

enum class RequestError : uint8_t {
    none,
    unsupported,      // an operation not offered (discard, barrier, ...): BLKIF_RSP_EOPNOTSUPP
    bad_segments,     // no segments for a read/write, or more than negotiated
    bad_segment,      // first_sect > last_sect, or last_sect beyond the page
    beyond_disk,      // sector_number + sectors past the end of the virtual disk
    read_only,        // a write to a read-only disk
};
[[nodiscard]] const char* to_string(RequestError e);

enum class Op : uint8_t { read, write, flush };

struct Seg {
    uint32_t gref{0};
    uint8_t first{0};
    uint8_t last{0};
};

// A request as read off the ring, before its segments (for INDIRECT: the
// pages holding them) are looked at.
struct Decoded {
    uint8_t operation{0};    // as the frontend sent it (echoed in the response)
    Op op{Op::read};
    bool flush_after{false}; // FLUSH_DISKCACHE with data: write, then flush
    uint64_t id{0};
    uint64_t sector{0};
    uint32_t nr_segments{0};
    bool indirect{false};
    uint32_t nr_indirect_pages{0};
    uint32_t indirect_grefs[blkif::max_indirect_pages_per_request]{};
    blkif::Segment direct[blkif::max_segments_per_request]{};   // a direct request's segments as sent (check_segment() them)
};

// Decodes a request slot the caller copied off the shared ring (never the
// shared page itself: the frontend may change it meanwhile). The id and
// operation are filled in even on error, for the response.
[[nodiscard]] RequestError decode(const blkif::Entry& slot, bool writable, Decoded& out);

// The operation a response carries: an INDIRECT request's is its
// indirect_op (as Linux's blkback answers and blkfront checks).
[[nodiscard]] uint8_t response_operation(const blkif::Entry& slot);

// One segment's check (Linux's blkback: last_sect < 8 and first <= last).
[[nodiscard]] RequestError check_segment(const blkif::Segment& s, Seg& out);
// The data of `sectors` sectors from `sector` fits a disk of `disk_sectors`.
[[nodiscard]] RequestError check_range(uint64_t sector, uint64_t sectors, uint64_t disk_sectors);

// How many requests the frontend has put on the ring past req_cons, or -1
// if req_prod claims more than the ring holds (RING_REQUEST_PROD_OVERFLOW:
// a frontend that lies about its index loses the ring).
[[nodiscard]] long unconsumed_requests(uint32_t req_prod, uint32_t req_cons, uint32_t rsp_prod_pvt, uint32_t ring_size);

// Segments mapped at consecutive pages of a window, coalesced into the runs
// one disk command can cover: segment i+1 continues segment i when i ends
// at the page's last sector and i+1 starts at the page's first.
struct Run {
    uint32_t first_seg{0};
    uint32_t byte_offset{0};   // into the window
    uint32_t sectors{0};
};
// Returns the number of runs written to `runs` (at most `max`; segments
// beyond stay unrun and the return value is then `max`).
unsigned coalesce(const Seg* segs, uint32_t n, Run* runs, unsigned max);

}  // namespace dom0::block
