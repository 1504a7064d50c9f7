// The xenstore wire protocol over a Store, pure: one request (header and
// payload, as Xen's xs_wire.h has them) in, its reply queued on the
// requester's Outbox; an XS_WATCH's first event follows its reply.
// INTRODUCE and RELEASE (dom0 only) call the server's hooks, which map or
// unmap the domain's ring.
#pragma once
#include <cstdint>
#include "ring.hpp"
#include "store.hpp"

namespace xenstore {

struct Hooks {
    // domid, the ring's frame (in the domain), its event channel.
    Err (*introduce)(void* ctx, uint16_t domid, uint64_t gfn, uint32_t port);
    Err (*release)(void* ctx, uint16_t domid);
    void* ctx;
};

// Handles the request; false if the reply did not fit in `out` (callers
// check room_for_reply before pulling a request, so it always does).
[[nodiscard]] bool handle(Store& s, uint16_t dom, const Header& h, const char* payload, Outbox& out,
                          const Hooks* hooks);

// Queues a WATCH_EVENT (path\0token\0) on `out`; false if it does not fit.
[[nodiscard]] bool push_event(Outbox& out, Str path, Str token);

// "n0", "r1", "w2", "b3": a permission entry as the wire spells it.
[[nodiscard]] bool parse_perm(Str s, Perm& p);
[[nodiscard]] uint32_t format_perm(const Perm& p, char* out);   // with the NUL

} // namespace xenstore
