// dom0's block back end (effectful): serves each domU's virtual disks over Xen's blkif protocol, as Linux's xen-blkback does.
//
// add() does what libxl does for a disk (writes the backend directory
// /local/domain/0/backend/vbd/DOMID/DEVID and the frontend's
// /local/domain/DOMID/device/vbd/DEVID) and what blkback does from then
// on: the xenbus handshake through xenstore (InitWait, then Connected
// once the frontend is Initialised; Closing/Closed and a reconnect when
// the frontend goes round again), the ring (one page or 2^order pages),
// and READ, WRITE, FLUSH_DISKCACHE and INDIRECT requests against the
// disk extent given. A frontend that breaks the protocol loses its
// connection, with a line naming the domain; nothing it does reaches
// another disk or dom0.
//
// Single-threaded: call everything from dom0's main loop.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "dom0/block/disks.hpp"

namespace dom0::blkback {

inline constexpr unsigned MAX_VBDS = 16;

// One virtual disk of one domain, as `xl block-list` shows it.
struct VbdInfo {
    uint16_t domid{0};
    uint32_t devid{0};            // Xen's virtual device number (xvda = 51712)
    uint32_t backend_state{0};    // blkif::XenbusState numbers
    uint32_t frontend_state{0};
    uint32_t evtchn{0};           // the frontend's port (0: not connected)
    uint32_t ring_ref{0};         // the frontend's first ring grant
    bool writable{false};
    block::Extent extent{};
    char vdev[16]{};              // "xvda"
    char target[64]{};            // "/dev/hdb1"
    char be_path[64]{};           // /local/domain/0/backend/vbd/DOMID/DEVID
};

// Gives domain `domid` disk `vdev` (devid `devid`) backed by `extent`.
// 0, or a negative errno with the reason in `why`: -EBUSY (devid already
// used by this domain), -ENOSPC (MAX_VBDS), -EIO (xenstore refused).
[[nodiscard]] long add(uint16_t domid, uint32_t devid, const char* vdev, const char* target, const block::Extent& extent,
                       bool writable, char* why, size_t why_size);

// The domain is gone (or going): its rings are unmapped, its ports
// closed, its grants unmapped and its xenstore directories removed.
void remove_domain(uint16_t domid);

// Another user of an extent overlapping `e` that writes, or (when
// `writable`) any user of it: its domain in `domid`. Xen's block
// hotplug script refuses a disk shared that way.
[[nodiscard]] bool conflicts(const block::Extent& e, bool writable, uint16_t& domid);

// The disks of `domid` (every domain when domid is 0xffff); how many went into `out`.
unsigned list(uint16_t domid, VbdInfo* out, unsigned max);

// Something for poll() to do (an event came in).
[[nodiscard]] bool work_pending();
// Follows frontend state changes and serves the rings (a bounded number
// of requests per ring per call, so one busy disk cannot starve another).
void poll();

}  // namespace dom0::blkback
