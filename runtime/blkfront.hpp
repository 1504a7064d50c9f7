// A blkif front end for the 64-bit guests (Xen's io/blkif.h), negotiating and driving a virtual disk as Linux 6.1's xen-blkfront does.
//
// The handshake (connect()), through xenstore:
//   - device/vbd/DEVID in the domain's home names `backend` and
//     `backend-id`; we watch the backend's `state`;
//   - backend InitWait (2): `max-ring-page-order` says how big the ring
//     may be; the ring (1 page, or 2^order pages) is granted to the back
//     end, an unbound port allocated for it, and in one transaction
//     (retried on EAGAIN) we write `ring-ref` (or `ring-page-order` and
//     `ring-ref0..N-1`), `event-channel`, `protocol` = x86_64-abi and
//     `feature-persistent` = 0; then our `state` goes to Initialised (3),
//     read and written in a transaction as xenbus_switch_state does;
//   - backend Connected (4): `sectors`, `info` and `sector-size` must be
//     there; `physical-sector-size`, `feature-flush-cache` and
//     `feature-max-indirect-segments` are optional; our state -> Connected.
// disconnect() goes Closing (5), waits for the back end to close, goes
// Closed (6), waits for the back end's Closed, then takes the ring grants
// back; a later connect() starts from Initialising (1) again, which a
// Linux-like back end answers with InitWait.
//
// I/O: read()/write() of `count` 512-byte sectors (blkif sectors are 512
// bytes whatever `sector-size` says) at `sector`. The buffer must be
// 512-byte aligned, in RAM below 4 GiB: its pages are granted to the back
// end for the request (read-only for writes) and the grants ended when the
// response comes, as blkfront does without persistent grants (no copy; the
// rest of a partly used page is visible to the back end). Requests carry
// up to 11 segments (a page each), or up to max_indirect_segments through
// one indirect page when the back end offers feature-max-indirect-segments;
// up to MAX_INFLIGHT of them are on the ring at once. Notifications follow
// the ring's rules: we notify only when req_event says the back end sleeps
// (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY), and re-arm rsp_event before
// waiting (RING_FINAL_CHECK_FOR_RESPONSES).
//
// A back end that breaks the protocol (too many responses, an unknown id
// or operation, a grant still mapped after its response) puts the device
// in the `broken` state, as blkfront's BLKIF_STATE_ERROR: every later call
// fails with -EPROTO until disconnect().
//
// The raw_* calls let a test guest put hand-made requests (and indices)
// on the ring to see how the back end copes.
//
// One device at a time; single vCPU; interrupts may be on or off (waits
// use ev::wait_until, whose timeouts need ev::heartbeat_start()). Needs
// ev::init(), xs::open() and room for MAX_REFS grant entries.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "blkif.hpp"

#if !defined(__x86_64__)
#error "blkfront is for the 64-bit guests (the x86_64-abi request layout)"
#endif

namespace guest::blkfront {

// Results: 0, or one of these negated.
inline constexpr long EIO = 5;          // the back end answered BLKIF_RSP_ERROR
inline constexpr long EBUSY = 16;       // a grant is still in use by the back end
inline constexpr long ENODEV = 19;      // no such vbd, or not connected
inline constexpr long EINVAL = 22;      // bad arguments (alignment, count, beyond the disk)
inline constexpr long EPROTO = 71;      // the back end broke the protocol (see `broken`)
inline constexpr long EOPNOTSUPP = 95;  // BLKIF_RSP_EOPNOTSUPP, or a feature not offered
inline constexpr long ETIMEDOUT = 110;  // no answer (xenstore state or a response) in time

inline constexpr unsigned MAX_INFLIGHT = 8;             // requests on the ring at once
inline constexpr unsigned MAX_INDIRECT_SEGMENTS = 64;   // per request (256 KiB), one indirect page
inline constexpr unsigned MAX_RING_PAGES = 1u << blkif::max_ring_page_order;
// Grant refs used, from gnt::FIRST_FREE_REF: the ring pages, then each
// in-flight request's data pages and indirect page.
inline constexpr unsigned MAX_REFS = MAX_RING_PAGES + MAX_INFLIGHT * (MAX_INDIRECT_SEGMENTS + 1);

struct Options {
    unsigned max_ring_page_order = blkif::max_ring_page_order;   // also capped by the back end's
    unsigned max_indirect_segments = 32;   // Linux's default; <= 11 (or 0): no indirect requests
    uint64_t timeout_ns = 30000000000ull;  // each wait (a state, a response)
};

// What the two ends agreed on.
struct Disk {
    uint32_t devid{0};
    uint16_t backend_id{0};
    char frontend[64]{};   // /local/domain/N/device/vbd/DEVID
    char backend[96]{};    // as its `backend` key says
    uint64_t sectors{0};   // 512-byte sectors
    uint32_t sector_size{0};
    uint32_t physical_sector_size{0};
    uint32_t info{0};      // VDISK_* bits
    bool flush{false};     // feature-flush-cache
    unsigned ring_pages{0};
    unsigned ring_slots{0};
    unsigned indirect_segments{0};   // 0: direct requests only
    unsigned backend_indirect_segments{0};   // what the back end offered (before our cap)
    uint32_t port{0};
    uint32_t ring_ref0{0};
};

enum class State { closed, connected, broken };

// Finds device/vbd/DEVID (devid 0: the first one listed) and reads its
// backend and backend-id. 0 or -ENODEV (message in last_error()).
[[nodiscard]] long open(uint32_t devid = 0);
// The handshake above. 0, -ENODEV, -ETIMEDOUT (the back end's state did
// not come), -EPROTO (its keys are missing or bad), -EIO (xenstore).
[[nodiscard]] long connect(const Options& opts = Options{});
// Closing -> Closed, then the ring grants and the port are given back.
// 0, -ETIMEDOUT (the back end did not follow: we close anyway), -EBUSY
// (it still maps the ring: those pages are never reused).
[[nodiscard]] long disconnect();

const Disk& disk();
State state();
const char* last_error();
// The status of the last response that failed (BLKIF_RSP_*).
int16_t last_status();
// The back end's xenbus state now (0 if unreadable).
uint32_t backend_state();

[[nodiscard]] long read(uint64_t sector, uint32_t count, void* buf);
[[nodiscard]] long write(uint64_t sector, uint32_t count, const void* buf);
// BLKIF_OP_FLUSH_DISKCACHE with no segments. -EOPNOTSUPP when the back end
// did not offer feature-flush-cache (or answered EOPNOTSUPP: then no longer offered).
[[nodiscard]] long flush();

// Counts since connect().
struct Stats {
    uint64_t requests, indirect_requests, notifications, responses, errors;
};
Stats stats();

// --- raw access for hostile tests -------------------------------------
// The shared ring (header), the slot req_prod_pvt points at, and pushing
// it: req_prod_pvt + 1, req_prod published, a notification if req_event
// asks for one (or always, with `force`).
volatile blkif::SringHeader* raw_sring();
blkif::Entry* raw_next_slot();
void raw_push(bool force = false);
void raw_notify();
// Grants `page` (4 KiB aligned, ours) to the back end with a spare ref,
// and takes it back (false while the back end still maps it).
uint32_t raw_grant(const void* page, bool readonly);
bool raw_end_grant(uint32_t ref);
// Waits for the next response and consumes it without checking it
// against our requests. False on a timeout.
[[nodiscard]] bool raw_response(blkif::Response& out, uint64_t timeout_ns);

}  // namespace guest::blkfront
