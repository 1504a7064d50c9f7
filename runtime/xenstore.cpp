// The guest side of the xenstore protocol: see xenstore.hpp. One request at
// a time (the caller waits for each reply); watch events that arrive in
// between are queued for next_event().
#include "xenstore.hpp"

#include "events.hpp"
#include "hypercall.hpp"
#include "print.hpp"
#include "runtime.hpp"
#include "xs_wire.hpp"

namespace guest::xs {
namespace {

constexpr uint64_t PAGE = 4096;
using xenstore::Header;
using xenstore::MsgType;
using xenstore::RingInterface;
constexpr uint32_t RING = xenstore::ring_size;

volatile RingInterface* g_ring = nullptr;
uint32_t g_port = 0;
uint32_t g_req_id = 0;
char g_error[16] = "";

// A reply: the header and up to a payload.
struct Message {
    Header h;
    char body[xenstore::payload_max + 1];
};
Message g_reply;

// Watch events waiting for next_event(): "PATH\0TOKEN\0".
constexpr unsigned MAX_EVENTS = 8;
struct Event {
    char path[256];
    char token[64];
};
Event g_events[MAX_EVENTS];
unsigned g_event_head = 0, g_event_count = 0;

void on_event(uint32_t, void*) {}   // waking wait_until() is all it is for

uint32_t load(const volatile uint32_t& v) { return __atomic_load_n(&v, __ATOMIC_ACQUIRE); }

void set_error(const char* e) {
    size_t i = 0;
    for (; e[i] && i + 1 < sizeof g_error; ++i) g_error[i] = e[i];
    g_error[i] = '\0';
}

bool put(const void* data, uint32_t n) {
    const char* p = static_cast<const char*>(data);
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t prod = g_ring->req_prod;
        if (prod - load(g_ring->req_cons) >= RING) {
            ev::send(g_port);
            if (!ev::wait_until([&] { return prod - load(g_ring->req_cons) < RING; }, 10000 * ev::MS)) return false;
        }
        g_ring->req[prod & (RING - 1)] = p[i];
        __atomic_store_n(&g_ring->req_prod, prod + 1, __ATOMIC_RELEASE);
    }
    return true;
}

bool get(void* data, uint32_t n) {
    char* p = static_cast<char*>(data);
    for (uint32_t i = 0; i < n; ++i) {
        if (load(g_ring->rsp_prod) == g_ring->rsp_cons) {
            ev::send(g_port);
            if (!ev::wait_until([] { return load(g_ring->rsp_prod) != g_ring->rsp_cons; }, 10000 * ev::MS))
                return false;
        }
        const uint32_t cons = g_ring->rsp_cons;
        p[i] = g_ring->rsp[cons & (RING - 1)];
        __atomic_store_n(&g_ring->rsp_cons, cons + 1, __ATOMIC_RELEASE);
    }
    ev::send(g_port);   // room for xenstored
    return true;
}

void queue_event(const Message& m) {
    if (g_event_count == MAX_EVENTS) return;   // dropped: the caller re-reads what it watches
    Event& e = g_events[(g_event_head + g_event_count) % MAX_EVENTS];
    const uint32_t len = m.h.len;
    uint32_t i = 0, k = 0;
    for (; i < len && m.body[i]; ++i)
        if (k + 1 < sizeof e.path) e.path[k++] = m.body[i];
    e.path[k] = '\0';
    ++i;
    k = 0;
    for (; i < len && m.body[i]; ++i)
        if (k + 1 < sizeof e.token) e.token[k++] = m.body[i];
    e.token[k] = '\0';
    ++g_event_count;
}

// Reads one message; false on a timeout or an impossible length.
bool receive(Message& m) {
    if (!get(&m.h, sizeof m.h)) return false;
    if (m.h.len > xenstore::payload_max) return false;
    if (!get(m.body, m.h.len)) return false;
    m.body[m.h.len] = '\0';
    return true;
}

// Sends type with the payload parts (each NUL-terminated string part
// included with its NUL when `nul` says so) and waits for the reply to it.
long request(MsgType type, uint32_t tx, const char* const* parts, const bool* nul, unsigned nparts) {
    if (!g_ring) {
        set_error("ENODEV");
        return -1;
    }
    Header h{static_cast<uint32_t>(type), ++g_req_id, tx, 0};
    for (unsigned i = 0; i < nparts; ++i) h.len += static_cast<uint32_t>(str_len(parts[i]) + (nul[i] ? 1 : 0));
    if (h.len > xenstore::payload_max) {
        set_error("E2BIG");
        return -1;
    }
    bool ok = put(&h, sizeof h);
    for (unsigned i = 0; ok && i < nparts; ++i)
        ok = put(parts[i], static_cast<uint32_t>(str_len(parts[i]) + (nul[i] ? 1 : 0)));
    ev::send(g_port);
    while (ok) {
        if (!receive(g_reply)) break;
        if (g_reply.h.type == static_cast<uint32_t>(MsgType::watch_event)) {
            queue_event(g_reply);
            continue;
        }
        if (g_reply.h.req_id != h.req_id) continue;   // a stale reply
        if (g_reply.h.type == static_cast<uint32_t>(MsgType::error)) {
            set_error(g_reply.body);
            return -1;
        }
        set_error("");
        return g_reply.h.len;
    }
    set_error("ETIMEDOUT");
    return -1;
}

long simple(MsgType type, const char* path, uint32_t tx) {
    const char* parts[] = {path};
    const bool nul[] = {true};
    return request(type, tx, parts, nul, 1);
}

long copy_out(long n, char* out, size_t size) {
    if (n < 0) return n;
    const size_t k = static_cast<size_t>(n) < size ? static_cast<size_t>(n) : size - 1;
    __builtin_memcpy(out, g_reply.body, k);
    out[k] = '\0';
    return static_cast<long>(k);
}

}  // namespace

bool open() {
    uint64_t gfn = 0, port = 0;
    if (hvm_get_param(xen::HVM_PARAM_STORE_PFN, &gfn) != 0 || hvm_get_param(xen::HVM_PARAM_STORE_EVTCHN, &port) != 0 ||
        gfn == 0 || port == 0 || gfn * PAGE >= IDENTITY_MAP_END)
        return false;
    g_ring = reinterpret_cast<volatile RingInterface*>(gfn * PAGE);
    g_port = static_cast<uint32_t>(port);
    ev::set_handler(g_port, on_event);
    return true;
}

long read(const char* path, char* out, size_t size, uint32_t tx) {
    return copy_out(simple(MsgType::read, path, tx), out, size);
}

long write(const char* path, const char* value, uint32_t tx) {
    const char* parts[] = {path, value};
    const bool nul[] = {true, false};   // the value is the rest of the payload
    return request(MsgType::write, tx, parts, nul, 2);
}

long mkdir(const char* path, uint32_t tx) { return simple(MsgType::mkdir, path, tx); }
long rm(const char* path, uint32_t tx) { return simple(MsgType::rm, path, tx); }

long directory(const char* path, char* out, size_t size, uint32_t tx) {
    return copy_out(simple(MsgType::directory, path, tx), out, size);
}

long watch(const char* path, const char* token) {
    const char* parts[] = {path, token};
    const bool nul[] = {true, true};
    return request(MsgType::watch, 0, parts, nul, 2);
}

long unwatch(const char* path, const char* token) {
    const char* parts[] = {path, token};
    const bool nul[] = {true, true};
    return request(MsgType::unwatch, 0, parts, nul, 2);
}

long transaction_start(uint32_t* tx) {
    const long n = simple(MsgType::transaction_start, "", 0);
    if (n < 0) return n;
    uint32_t v = 0;
    for (long i = 0; i < n && g_reply.body[i] >= '0' && g_reply.body[i] <= '9'; ++i)
        v = v * 10 + static_cast<uint32_t>(g_reply.body[i] - '0');
    *tx = v;
    return 0;
}

long transaction_end(uint32_t tx, bool commit) { return simple(MsgType::transaction_end, commit ? "T" : "F", tx); }

long get_domain_path(uint16_t domid, char* out, size_t size) {
    char id[8];
    format(id, sizeof id, "%u", domid);
    return copy_out(simple(MsgType::get_domain_path, id, 0), out, size);
}

const char* last_error() { return g_error; }

bool event_pending() {
    if (g_event_count != 0) return true;
    return g_ring && load(g_ring->rsp_prod) != g_ring->rsp_cons;
}

namespace {
// Moves watch events that came alone from the ring to the queue.
void drain_ring() {
    while (g_ring && load(g_ring->rsp_prod) != g_ring->rsp_cons && g_event_count < MAX_EVENTS) {
        if (!receive(g_reply)) return;
        if (g_reply.h.type == static_cast<uint32_t>(MsgType::watch_event)) queue_event(g_reply);
    }
}
}  // namespace

bool event_pending(const char* token) {
    if (g_ring && load(g_ring->rsp_prod) != g_ring->rsp_cons && g_event_count < MAX_EVENTS) return true;
    for (unsigned i = 0; i < g_event_count; ++i)
        if (str_eq(g_events[(g_event_head + i) % MAX_EVENTS].token, token)) return true;
    return false;
}

bool take_event(const char* token) {
    drain_ring();
    for (unsigned i = 0; i < g_event_count; ++i) {
        if (!str_eq(g_events[(g_event_head + i) % MAX_EVENTS].token, token)) continue;
        // Close the gap: the later events move up one place.
        for (unsigned j = i; j + 1 < g_event_count; ++j)
            g_events[(g_event_head + j) % MAX_EVENTS] = g_events[(g_event_head + j + 1) % MAX_EVENTS];
        --g_event_count;
        return true;
    }
    return false;
}

bool next_event(char* path, size_t path_size, char* token, size_t token_size) {
    // An event that came alone (no request waiting for a reply) is still in the ring.
    while (g_event_count == 0 && g_ring && load(g_ring->rsp_prod) != g_ring->rsp_cons) {
        if (!receive(g_reply)) return false;
        if (g_reply.h.type == static_cast<uint32_t>(MsgType::watch_event)) queue_event(g_reply);
    }
    if (g_event_count == 0) return false;
    const Event& e = g_events[g_event_head];
    format(path, path_size, "%s", e.path);
    format(token, token_size, "%s", e.token);
    g_event_head = (g_event_head + 1) % MAX_EVENTS;
    --g_event_count;
    return true;
}

}  // namespace guest::xs
