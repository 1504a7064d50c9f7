// What granter and mapper agree on (there is no xenstore to publish it):
// the grant references, the layout of the shared ring page, the messages and
// the content of the read-only page.
//
// The ring page holds two single-producer single-consumer rings of 64-byte
// messages, one per direction. Each side only writes its own producer index
// and the consumer index of the other direction; indexes run freely and are
// taken modulo SLOTS. A message carries its sequence number, a length and a
// checksum over both and the payload; the payload is a function of the
// sender and the sequence number, so the receiver can check every byte.
#pragma once

#include <stdint.h>

#include "runtime/events.hpp"

namespace ring {

inline constexpr uint32_t REF_RING = 8;    // the ring page, writable, granted to the mapper
inline constexpr uint32_t REF_RO = 9;      // a pattern page, read-only, granted to the mapper
inline constexpr uint32_t REF_OTHER = 10;  // the pattern page granted to another domain id
inline constexpr uint32_t REF_UNUSED = 100;  // never granted
inline constexpr uint16_t OTHER_DOMID = 0x7000;  // who REF_OTHER is for: not the mapper

inline constexpr uint32_t MAGIC = 0x676e6972;  // "ring"
inline constexpr unsigned SLOTS = 16;
inline constexpr unsigned DATA_MAX = 48;
inline constexpr uint32_t FROM_GRANTER = 0x47;  // 'G'
inline constexpr uint32_t FROM_MAPPER = 0x4d;   // 'M'

struct Msg {
    uint32_t seq;
    uint32_t len;
    uint32_t sum;
    uint32_t from;
    uint8_t data[DATA_MAX];
};
static_assert(sizeof(Msg) == 64);

struct Half {
    volatile uint32_t prod;
    uint32_t pad0[15];
    volatile uint32_t cons;
    uint32_t pad1[15];
    Msg slot[SLOTS];
};

struct Ring {
    volatile uint32_t magic;
    volatile uint32_t mapper_done;  // set by the mapper just before it unmaps
    uint32_t pad[14];
    Half to_mapper;
    Half to_granter;
};
static_assert(sizeof(Ring) <= 4096);

inline uint8_t payload_byte(uint32_t from, uint32_t seq, uint32_t i) {
    return static_cast<uint8_t>((seq * 131u + i * 7u + from) ^ (seq >> 3));
}

inline uint32_t payload_len(uint32_t seq) { return 1 + (seq * 17u) % DATA_MAX; }

inline uint32_t checksum(const Msg& m) {
    // Fletcher-32 style over seq, len, from and the payload.
    uint32_t a = 0xffff, b = 0xffff;
    auto add = [&](uint32_t v) {
        a = (a + (v & 0xffff)) % 65535;
        b = (b + a) % 65535;
        a = (a + (v >> 16)) % 65535;
        b = (b + a) % 65535;
    };
    add(m.seq);
    add(m.len);
    add(m.from);
    for (uint32_t i = 0; i < m.len && i < DATA_MAX; ++i) add(m.data[i]);
    return (b << 16) | a;
}

inline void fill(Msg& m, uint32_t from, uint32_t seq) {
    m.seq = seq;
    m.from = from;
    m.len = payload_len(seq);
    for (uint32_t i = 0; i < DATA_MAX; ++i) m.data[i] = i < m.len ? payload_byte(from, seq, i) : 0;
    m.sum = checksum(m);
}

inline bool verify(const Msg& m, uint32_t from, uint32_t seq) {
    if (m.seq != seq || m.from != from || m.len != payload_len(seq) || m.sum != checksum(m)) return false;
    for (uint32_t i = 0; i < m.len; ++i)
        if (m.data[i] != payload_byte(from, seq, i)) return false;
    return true;
}

// Copies a message into the ring if there is room.
inline bool try_send(Half& h, uint32_t from, uint32_t seq) {
    if (h.prod - h.cons >= SLOTS) return false;
    fill(h.slot[h.prod % SLOTS], from, seq);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    h.prod = h.prod + 1;
    return true;
}

// Takes the next message if there is one; *good tells whether it was the
// expected one, intact.
inline bool try_receive(Half& h, uint32_t from, uint32_t seq, bool* good) {
    if (h.cons == h.prod) return false;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    Msg copy = h.slot[h.cons % SLOTS];
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    *good = verify(copy, from, seq);
    h.cons = h.cons + 1;
    return true;
}

inline bool can_send(const Half& h) { return h.prod - h.cons < SLOTS; }
inline bool can_receive(const Half& h) { return h.cons != h.prod; }

// Both sides: send `count` messages on `out` and receive `count` on `in`,
// notifying the peer on `port` after every pass that moved anything, and
// sleeping until the peer does when nothing can move. Gives up after
// stall_ns without progress. Interrupts must be enabled (the peer's events
// wake the sleep; their handler need do nothing).
struct Exchange {
    uint32_t sent = 0;
    uint32_t received = 0;
    uint32_t bad = 0;       // received out of order or corrupted
    uint32_t notify_errors = 0;
    bool stalled = false;
};

inline Exchange exchange(Half& out, Half& in, uint32_t me, uint32_t peer, uint32_t count, uint32_t port,
                         uint64_t stall_ns) {
    Exchange x;
    while (x.sent < count || x.received < count) {
        bool moved = false;
        while (x.sent < count && try_send(out, me, x.sent)) {
            ++x.sent;
            moved = true;
        }
        bool good = true;
        while (x.received < count && try_receive(in, peer, x.received, &good)) {
            ++x.received;
            if (!good) ++x.bad;
            moved = true;
        }
        if (moved) {
            if (guest::ev::send(port) != 0) ++x.notify_errors;
            continue;
        }
        const bool woke = guest::ev::wait_until(
            [&] { return (x.sent < count && can_send(out)) || (x.received < count && can_receive(in)); }, stall_ns);
        if (!woke) {
            x.stalled = true;
            break;
        }
    }
    return x;
}

// The read-only page's content.
inline uint8_t ro_byte(uint32_t i) { return static_cast<uint8_t>(i * 29u + 3u + (i >> 8)); }

}  // namespace ring
