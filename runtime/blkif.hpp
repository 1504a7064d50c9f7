// Xen's block device protocol (public io/blkif.h, io/ring.h, io/xenbus.h): request and response layouts, operations, the shared ring and xenbus states. Menhir's own rendering, shared by dom0's blkback and the guests' blkfront. Host-testable.
#pragma once
#include <cstddef>
#include <cstdint>

namespace blkif {

// enum xenbus_state (io/xenbus.h): the numbers are the ABI.
enum class XenbusState : uint32_t {
    unknown = 0,
    initialising = 1,
    init_wait = 2,
    initialised = 3,
    connected = 4,
    closing = 5,
    closed = 6,
    reconfiguring = 7,
    reconfigured = 8,
};

// BLKIF_OP_*.
inline constexpr uint8_t op_read = 0;
inline constexpr uint8_t op_write = 1;
inline constexpr uint8_t op_write_barrier = 2;
inline constexpr uint8_t op_flush_diskcache = 3;
inline constexpr uint8_t op_discard = 5;
inline constexpr uint8_t op_indirect = 6;

// BLKIF_RSP_*.
inline constexpr int16_t rsp_eopnotsupp = -2;
inline constexpr int16_t rsp_error = -1;
inline constexpr int16_t rsp_okay = 0;

// The "info" key's VDISK_* bits.
inline constexpr uint32_t vdisk_cdrom = 1;
inline constexpr uint32_t vdisk_removable = 2;
inline constexpr uint32_t vdisk_readonly = 4;

inline constexpr uint32_t page_bytes = 4096;
inline constexpr uint32_t sector_bytes = 512;                 // blkif sectors are always 512 bytes
inline constexpr uint32_t sectors_per_page = page_bytes / sector_bytes;
inline constexpr unsigned max_segments_per_request = 11;      // BLKIF_MAX_SEGMENTS_PER_REQUEST
inline constexpr unsigned max_indirect_pages_per_request = 8; // BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST

// struct blkif_request_segment: a granted page and the sectors of it used.
struct Segment {
    uint32_t gref;
    uint8_t first_sect;
    uint8_t last_sect;   // inclusive, < sectors_per_page
    uint16_t pad;
};
static_assert(sizeof(Segment) == 8);
inline constexpr unsigned segments_per_indirect_page = page_bytes / sizeof(Segment);   // 512

// struct blkif_request for READ, WRITE, FLUSH_DISKCACHE (x86_64 ABI:
// id at offset 8).
struct Request {
    uint8_t operation;
    uint8_t nr_segments;
    uint16_t handle;
    uint32_t pad;
    uint64_t id;
    uint64_t sector_number;
    Segment seg[max_segments_per_request];
};
static_assert(sizeof(Request) == 112);
static_assert(offsetof(Request, id) == 8 && offsetof(Request, sector_number) == 16 && offsetof(Request, seg) == 24);

// struct blkif_request_indirect: the segments are in granted pages.
struct IndirectRequest {
    uint8_t operation;     // op_indirect
    uint8_t indirect_op;   // op_read or op_write
    uint16_t nr_segments;
    uint32_t pad1;
    uint64_t id;
    uint64_t sector_number;
    uint16_t handle;
    uint16_t pad2;
    uint32_t indirect_grefs[max_indirect_pages_per_request];
    uint32_t pad3;
};
static_assert(sizeof(IndirectRequest) == 64);
static_assert(offsetof(IndirectRequest, nr_segments) == 2 && offsetof(IndirectRequest, id) == 8 &&
              offsetof(IndirectRequest, sector_number) == 16 && offsetof(IndirectRequest, handle) == 24 &&
              offsetof(IndirectRequest, indirect_grefs) == 28);

// struct blkif_response.
struct Response {
    uint64_t id;
    uint8_t operation;
    uint8_t pad;
    int16_t status;
    uint32_t pad2;
};
static_assert(sizeof(Response) == 16 && offsetof(Response, status) == 10);

// One slot of the ring: a request or its response (union blkif_sring_entry).
union Entry {
    Request req;
    IndirectRequest ind;
    Response rsp;
};
static_assert(sizeof(Entry) == 112);

// The shared ring's header (DEFINE_RING_TYPES' sring), then the slots.
struct SringHeader {
    uint32_t req_prod;
    uint32_t req_event;
    uint32_t rsp_prod;
    uint32_t rsp_event;
    uint8_t pvt[4];
    uint8_t pad[44];
};
static_assert(sizeof(SringHeader) == 64);

// __CONST_RING_SIZE: the largest power of two of slots that fits in
// `pages` pages after the header.
constexpr uint32_t ring_size(uint32_t pages)
{
    const uint32_t fit = (pages * page_bytes - static_cast<uint32_t>(sizeof(SringHeader))) / static_cast<uint32_t>(sizeof(Entry));
    uint32_t n = 1;
    while (n * 2 <= fit) n *= 2;
    return n;
}
static_assert(ring_size(1) == 32 && ring_size(16) == 512);

// io/ring.h's notify rule, the same for both ends: having moved its
// producer index from old_prod to new_prod, a side sends an event only if
// the other asked to be woken (req_event / rsp_event) at an index it just
// passed (RING_PUSH_REQUESTS/RESPONSES_AND_CHECK_NOTIFY).
constexpr bool needs_notify(uint32_t old_prod, uint32_t new_prod, uint32_t event)
{
    return static_cast<uint32_t>(new_prod - event) < static_cast<uint32_t>(new_prod - old_prod);
}

inline constexpr unsigned max_ring_page_order = 4;   // what dom0's blkback offers (16 pages, as Linux's blkback)

// The xenbus "protocol" key's value for this layout.
inline constexpr const char protocol_x86_64[] = "x86_64-abi";

}  // namespace blkif
