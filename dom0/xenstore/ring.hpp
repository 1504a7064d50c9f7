// The xenstore ring transport, pure: collecting complete requests from a
// domain's req[] and queueing replies and watch events for its rsp[]
// (struct xenstore_domain_interface, runtime/xs_wire.hpp). The server keeps its own
// copies of the indices it owns (req_cons, rsp_prod) and never trusts the
// page for them; a ring whose client indices lie, or a message longer than
// XENSTORE_PAYLOAD_MAX, is reported hostile so the caller drops it.
#pragma once
#include <cstdint>
#include "runtime/xs_wire.hpp"

namespace xenstore {

// A request being collected: a message may be larger than the ring, so it
// arrives in pieces across several notifications.
struct Inbox {
    uint32_t cons;   // our req_cons
    uint32_t have;   // bytes of header + payload collected
    Header hdr;
    char payload[payload_max];
};

enum class Pull : uint8_t { idle, message, hostile };
struct PullResult {
    Pull status;
    const char* why;   // for hostile
};

// Takes bytes from req[] until one message is complete (status message:
// in.hdr and in.payload hold it; call done() after handling it) or the ring
// is empty (idle).
[[nodiscard]] PullResult pull(volatile RingInterface& r, Inbox& in);
inline void done(Inbox& in) { in.have = 0; }

// Replies and events waiting for room in rsp[]: a ring buffer of its own.
struct Outbox {
    static constexpr uint32_t capacity = 16384;
    uint32_t prod;   // our rsp_prod
    uint32_t head, len;
    uint32_t dropped_events;
    char buf[capacity];
};

// Room for a reply of the largest size: the server reads a new request only
// then, so at most one request per connection is ever outstanding.
[[nodiscard]] inline bool room_for_reply(const Outbox& o)
{
    return Outbox::capacity - o.len >= sizeof(Header) + payload_max;
}

// Queues one message (header, then the parts); false if it does not fit.
[[nodiscard]] bool push(Outbox& o, const Header& h, const char* a, uint32_t an, const char* b = nullptr,
                        uint32_t bn = 0);

enum class Flush : uint8_t { ok, hostile };
// Moves what fits into rsp[]; *moved says whether anything did (the client
// then needs a notification).
[[nodiscard]] Flush flush(volatile RingInterface& r, Outbox& o, bool& moved);

} // namespace xenstore
