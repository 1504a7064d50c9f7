// xsclient: a xenstore client on the ring Xen's toolstack gives every domain
// (HVM_PARAM_STORE_PFN / HVM_PARAM_STORE_EVTCHN, io/xs_wire.h), served by
// dom0's xenstored.
//
// Default mode: check lines (tests/guests/lib/check.hpp) for READ of its own
// name and domid, GET_DOMAIN_PATH, WRITE/READ/MKDIR/DIRECTORY/RM under its
// home's data/, a WATCH with its first event and an event after a write,
// a transaction that commits and one that conflicts (EAGAIN), EACCES on
// dom0's node and on its read-only home, E2BIG for a value over the 2048-byte
// quota. It watches @releaseDomain from the start; with `releases=N` it then
// waits for N releases (the hostile clients' domains going) and checks that
// it is still served (a WRITE and a READ), then prints the tally.
//
// `mode=indices|oversize|flood`: a hostile client. After one good READ (so
// that xenstored serves it), it sets req_prod a ring and more past req_cons
// (indices), sends a header whose len exceeds XENSTORE_PAYLOAD_MAX
// (oversize), or writes READ requests without ever reading a reply (flood);
// then it lingers 5 s and powers off.
//
// `mode=bench`: after one READ, times 1,000 READs of its name back to back
// (request, notification, dom0's reply, the reply read) between two RDTSC
// reads and prints `xsclient: bench: xenstore_read N ticks/op`.
#include "runtime/xs_wire.hpp"
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "../lib/check.hpp"

using namespace guest;
using xenstore::Header;
using xenstore::MsgType;

extern "C" const char guest_name[] = "xsclient";

namespace {

constexpr uint64_t SEC = 1000000000ull;
volatile xenstore::RingInterface* g_ring;
uint32_t g_port;
volatile uint64_t g_events;
uint32_t g_next_req = 1;
Checks g_c;

// The last reply and the watch events seen so far.
Header g_reply;
char g_body[xenstore::payload_max + 1];
uint32_t g_watch_events;
char g_event_path[256], g_event_token[64];
uint32_t g_releases;   // @releaseDomain events after the first

void on_event(uint32_t, void*) { g_events = g_events + 1; }

uint32_t load(const volatile uint32_t& v) { return __atomic_load_n(&v, __ATOMIC_ACQUIRE); }

bool wait_for(auto cond, uint64_t timeout = 120 * SEC)
{
    return ev::wait_until([&] { return cond(); }, timeout);
}

// Client side of req[]: as much as fits, then a notification, until all is in.
bool put(const char* p, uint32_t n)
{
    volatile xenstore::RingInterface& r = *g_ring;
    for (uint32_t done = 0; done < n;) {
        if (!wait_for([&] { return r.req_prod - load(r.req_cons) < xenstore::ring_size; })) return false;
        uint32_t prod = r.req_prod;
        while (done < n && prod - load(r.req_cons) < xenstore::ring_size) r.req[prod++ & (xenstore::ring_size - 1)] = p[done++];
        __atomic_store_n(&r.req_prod, prod, __ATOMIC_RELEASE);
        ev::send(g_port);
    }
    return true;
}

// n bytes of rsp[] into out.
bool take(char* out, uint32_t n)
{
    volatile xenstore::RingInterface& r = *g_ring;
    for (uint32_t got = 0; got < n;) {
        if (!wait_for([&] { return load(r.rsp_prod) != r.rsp_cons; })) return false;
        uint32_t cons = r.rsp_cons;
        const uint32_t prod = load(r.rsp_prod);
        while (got < n && cons != prod) out[got++] = r.rsp[cons++ & (xenstore::ring_size - 1)];
        __atomic_store_n(&r.rsp_cons, cons, __ATOMIC_RELEASE);
        ev::send(g_port);
    }
    return true;
}

void copy_str(char* dst, uint32_t cap, const char* src, uint32_t n)
{
    uint32_t k = n < cap - 1 ? n : cap - 1;
    __builtin_memcpy(dst, src, k);
    dst[k] = '\0';
}

// One message from rsp[]: a watch event is recorded, a reply kept.
bool receive_one()
{
    Header h{};
    if (!take(reinterpret_cast<char*>(&h), sizeof h) || h.len > xenstore::payload_max) return false;
    if (!take(g_body, h.len)) return false;
    g_body[h.len] = '\0';
    if (h.type == static_cast<uint32_t>(MsgType::watch_event)) {
        const uint32_t plen = static_cast<uint32_t>(str_len(g_body));
        copy_str(g_event_path, sizeof g_event_path, g_body, plen);
        copy_str(g_event_token, sizeof g_event_token, g_body + plen + 1, h.len > plen + 1 ? static_cast<uint32_t>(str_len(g_body + plen + 1)) : 0);
        ++g_watch_events;
        if (str_eq(g_event_token, "rel") && str_eq(g_event_path, "@releaseDomain")) ++g_releases;
        return true;
    }
    g_reply = h;
    return true;
}

// Sends a request and waits for its reply: the body (NUL-terminated here),
// or "ERR NAME" for XS_ERROR, or "<no reply>".
const char* call(MsgType t, uint32_t tx, const char* a, uint32_t an, const char* b = nullptr, uint32_t bn = 0)
{
    const Header h{static_cast<uint32_t>(t), g_next_req++, tx, an + bn};
    if (!put(reinterpret_cast<const char*>(&h), sizeof h) || !put(a, an) || (b && !put(b, bn))) return "<no room>";
    g_reply = Header{};
    while (g_reply.req_id != h.req_id)
        if (!receive_one()) return "<no reply>";
    static char err[40];
    if (g_reply.type == static_cast<uint32_t>(MsgType::error)) {
        format(err, sizeof err, "ERR %s", g_body);
        return err;
    }
    return g_body;
}
// A request whose payload is one string with its NUL.
const char* call1(MsgType t, const char* s, uint32_t tx = 0) { return call(t, tx, s, static_cast<uint32_t>(str_len(s)) + 1); }
const char* write(const char* path, const char* value, uint32_t tx = 0)
{
    return call(MsgType::write, tx, path, static_cast<uint32_t>(str_len(path)) + 1, value, static_cast<uint32_t>(str_len(value)));
}

void expect(const char* what, const char* got, const char* want)
{
    const bool ok = str_eq(got, want);
    (ok ? g_c.passed : g_c.failed)++;
    print("xsclient: %s -> \"%s\" (expected \"%s\") %s\n", what, got, want, ok ? "ok" : "FAIL");
}

uint32_t number(const char* s)
{
    uint32_t v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + static_cast<uint32_t>(*s++ - '0');
    return v;
}

void client(uint16_t self, uint64_t releases)
{
    char want[64], name[32];
    if (!cmdline_option(cmdline(), "name", name, sizeof name)) format(name, sizeof name, "xsclient");
    expect("WATCH @releaseDomain", call(MsgType::watch, 0, "@releaseDomain\0rel", 19), "OK");
    expect("READ name", call1(MsgType::read, "name"), name);
    format(want, sizeof want, "%u", self);
    expect("READ domid", call1(MsgType::read, "domid"), want);
    char arg[8];
    format(arg, sizeof arg, "%u", self);
    format(want, sizeof want, "/local/domain/%u", self);
    expect("GET_DOMAIN_PATH", call1(MsgType::get_domain_path, arg), want);
    expect("WRITE data/greeting", write("data/greeting", "hello"), "OK");
    expect("READ data/greeting", call1(MsgType::read, "data/greeting"), "hello");
    expect("MKDIR data/dir", call1(MsgType::mkdir, "data/dir"), "OK");
    const char* dir = call1(MsgType::directory, "data");
    const bool listing = str_eq(dir, "greeting") && str_eq(dir + 9, "dir") && g_reply.len == 13;
    g_c.expect("DIRECTORY data is greeting, dir", listing, 1);
    // A watch: OK, then its first event; then an event for a write.
    const uint32_t events = g_watch_events;
    expect("WATCH data/watched", call(MsgType::watch, 0, "data/watched\0w1", 16), "OK");
    if (g_watch_events == events) (void)receive_one();
    g_c.expect("WATCH first event", g_watch_events > events && str_eq(g_event_path, "data/watched") && str_eq(g_event_token, "w1"), 1);
    g_event_path[0] = '\0';
    expect("WRITE data/watched", write("data/watched", "x"), "OK");
    if (!str_eq(g_event_path, "data/watched")) (void)receive_one();
    g_c.expect("WATCH event after the write", str_eq(g_event_path, "data/watched") && str_eq(g_event_token, "w1"), 1);
    expect("UNWATCH data/watched", call(MsgType::unwatch, 0, "data/watched\0w1", 16), "OK");
    // A transaction that commits.
    const uint32_t tx = number(call(MsgType::transaction_start, 0, "", 1));
    g_c.expect("TRANSACTION_START gives an id", tx != 0, 1);
    expect("WRITE data/tx in the transaction", write("data/tx", "1", tx), "OK");
    expect("READ data/tx outside it", call1(MsgType::read, "data/tx"), "ERR ENOENT");
    expect("READ data/tx inside it", call1(MsgType::read, "data/tx", tx), "1");
    expect("TRANSACTION_END commit", call(MsgType::transaction_end, tx, "T", 2), "OK");
    expect("READ data/tx after the commit", call1(MsgType::read, "data/tx"), "1");
    // One that conflicts: what it read changes before it commits.
    const uint32_t tx2 = number(call(MsgType::transaction_start, 0, "", 1));
    expect("READ data/tx in transaction 2", call1(MsgType::read, "data/tx", tx2), "1");
    expect("WRITE data/tx2 in transaction 2", write("data/tx2", "2", tx2), "OK");
    expect("WRITE data/tx outside transaction 2", write("data/tx", "changed"), "OK");
    expect("TRANSACTION_END conflicting commit", call(MsgType::transaction_end, tx2, "T", 2), "ERR EAGAIN");
    expect("READ data/tx2 (not applied)", call1(MsgType::read, "data/tx2"), "ERR ENOENT");
    // Other domains' nodes and our read-only home.
    expect("READ /local/domain/0/name", call1(MsgType::read, "/local/domain/0/name"), "ERR EACCES");
    expect("WRITE name (read-only home)", write("name", "renamed"), "ERR EACCES");
    static char big[2050];
    __builtin_memset(big, 'b', 2049);
    expect("WRITE data/big (2049 bytes)", write("data/big", big), "ERR E2BIG");
    expect("RM data/greeting", call1(MsgType::rm, "data/greeting"), "OK");
    expect("READ data/greeting after RM", call1(MsgType::read, "data/greeting"), "ERR ENOENT");
    if (releases) {
        print("xsclient: waiting for %llu @releaseDomain events\n", static_cast<unsigned long long>(releases));
        // Events arrive while no reply is awaited: read them as they come.
        const uint64_t start = ev::now_ns();
        while (g_releases < releases + 1 && ev::now_ns() - start < 600 * SEC) (void)receive_one();
        g_c.expect("@releaseDomain events (after the first)", g_releases - 1, static_cast<long>(releases));
        expect("WRITE data/after, still served", write("data/after", "still"), "OK");
        expect("READ data/after", call1(MsgType::read, "data/after"), "still");
    }
    print("xsclient: %u passed, %u failed\n", g_c.passed, g_c.failed);
}

void bench()
{
    const char* first = call1(MsgType::read, "name");
    constexpr uint32_t rounds = 1000;
    bool ok = g_reply.type == static_cast<uint32_t>(MsgType::read);
    const uint64_t start = rdtsc();
    for (uint32_t i = 0; i < rounds && ok; ++i) ok = str_eq(call1(MsgType::read, "name"), first);
    const uint64_t end = rdtsc();
    if (ok) print("xsclient: bench: xenstore_read %llu ticks/op\n", static_cast<unsigned long long>((end - start) / rounds));
    else print("xsclient: bench: xenstore_read FAIL (READ name -> \"%s\")\n", first);
}

void hostile(const char* mode)
{
    const char* r = call1(MsgType::read, "name");
    print("xsclient: %s: served first (READ name -> \"%s\")\n", mode, r);
    volatile xenstore::RingInterface& ring = *g_ring;
    if (str_eq(mode, "indices")) {
        __atomic_store_n(&ring.req_prod, ring.req_cons + 5000, __ATOMIC_RELEASE);
        ev::send(g_port);
    } else if (str_eq(mode, "oversize")) {
        const Header h{static_cast<uint32_t>(MsgType::read), 99, 0, xenstore::payload_max + 1};
        (void)put(reinterpret_cast<const char*>(&h), sizeof h);
    } else if (str_eq(mode, "flood")) {
        // Requests, never a reply read; stop when req[] stays full.
        static const char req[] = "nothing-here";
        uint32_t sent = 0;
        for (; sent < 100000; ++sent) {
            const Header h{static_cast<uint32_t>(MsgType::read), sent, 0, sizeof req};
            char msg[sizeof h + sizeof req];
            __builtin_memcpy(msg, &h, sizeof h);
            __builtin_memcpy(msg + sizeof h, req, sizeof req);
            if (!ev::wait_until([&] { return ring.req_prod - load(ring.req_cons) + sizeof msg <= xenstore::ring_size; },
                                3 * SEC))
                break;
            uint32_t prod = ring.req_prod;
            for (char ch : msg) ring.req[prod++ & (xenstore::ring_size - 1)] = ch;
            __atomic_store_n(&ring.req_prod, prod, __ATOMIC_RELEASE);
            ev::send(g_port);
        }
        print("xsclient: flood: %u requests written, none of the replies read\n", sent);
    }
    print("xsclient: %s: abuse sent, lingering 5 s\n", mode);
    const uint64_t start = ev::now_ns();
    ev::wait_until([&] { return false; }, 5 * SEC);
    (void)start;
}

} // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    uint64_t pfn = 0, port = 0;
    const long e1 = hvm_get_param(xen::HVM_PARAM_STORE_PFN, &pfn);
    const long e2 = hvm_get_param(xen::HVM_PARAM_STORE_EVTCHN, &port);
    print("xsclient: HVM_PARAM_STORE_PFN -> %ld 0x%llx, HVM_PARAM_STORE_EVTCHN -> %ld %llu\n", e1,
          static_cast<unsigned long long>(pfn), e2, static_cast<unsigned long long>(port));
    if (e1 || e2 || !pfn || !port || !ev::init() || !ev::heartbeat_start(10 * ev::MS)) {
        print("xsclient: FAIL no xenstore ring\n");
        poweroff();
    }
    g_ring = reinterpret_cast<volatile xenstore::RingInterface*>(pfn * 4096);
    g_port = static_cast<uint32_t>(port);
    ev::set_handler(g_port, on_event);
    char mode[16];
    if (cmdline_option(cmdline(), "mode", mode, sizeof mode)) {
        if (str_eq(mode, "bench")) bench();
        else hostile(mode);
    } else {
        uint64_t releases = 0;
        (void)cmdline_number(cmdline(), "releases", &releases);
        client(xen_domid(), releases);
    }
    poweroff();
}
