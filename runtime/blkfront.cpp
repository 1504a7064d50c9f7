// The blkif front end: the xenbus handshake, the shared ring and the requests (see blkfront.hpp).
#include "blkfront.hpp"

#include "blkfront_ring.hpp"

#include "events.hpp"
#include "grant.hpp"
#include "print.hpp"
#include "runtime.hpp"
#include "xenstore.hpp"

namespace guest::blkfront {
namespace {

using blkif::XenbusState;

constexpr unsigned RAW_REFS = 8;
constexpr uint32_t REF_RING = gnt::FIRST_FREE_REF;
constexpr uint32_t REF_SLOTS = REF_RING + MAX_RING_PAGES;
constexpr uint32_t REFS_PER_SLOT = MAX_INDIRECT_SEGMENTS + 1;   // the data pages, then the indirect page
constexpr uint32_t REF_RAW = REF_SLOTS + MAX_INFLIGHT * REFS_PER_SLOT;
constexpr uint32_t REF_END = REF_RAW + RAW_REFS;
constexpr unsigned TABLE_FRAMES = (REF_END + xen::GRANT_ENTRIES_PER_FRAME - 1) / xen::GRANT_ENTRIES_PER_FRAME;
constexpr char WATCH_TOKEN[] = "blkfront-be";

alignas(4096) uint8_t g_ring_pages[MAX_RING_PAGES][blkif::page_bytes];
alignas(4096) blkif::Segment g_indirect[MAX_INFLIGHT][blkif::segments_per_indirect_page];
// Ring pages the back end never let go of (disconnect() found them still
// mapped): never granted again.
bool g_ring_lost = false;

// One request on the ring (the ring slot's id is the index).
struct Shadow {
    bool busy;
    bool done;
    uint8_t op;            // the operation the response must name (indirect: the inner one)
    uint16_t refs;         // grants to end when the response comes
    bool indirect;
    int16_t status;
};

Disk g_disk;
State g_state = State::closed;
bool g_opened = false;
Options g_opts;
Shadow g_shadow[MAX_INFLIGHT];
unsigned g_inflight = 0;
uint32_t g_req_prod_pvt = 0;
uint32_t g_rsp_cons = 0;
int16_t g_last_status = 0;
Stats g_stats{};
char g_error[128] = "";
bool g_raw_used[RAW_REFS];

volatile blkif::SringHeader* sring() { return reinterpret_cast<volatile blkif::SringHeader*>(g_ring_pages[0]); }
volatile blkif::Entry* ring_slot(uint32_t idx) {
    auto* base = reinterpret_cast<volatile blkif::Entry*>(g_ring_pages[0] + sizeof(blkif::SringHeader));
    return base + (idx & (g_disk.ring_slots - 1));
}

void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vformat(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
}

// The device stops here, as blkfront's BLKIF_STATE_ERROR.
void broke(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void broke(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vformat(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
    if (g_state == State::connected) print("%s: vbd %u: %s: disabled for further use\n", guest_name, g_disk.devid, g_error);
    g_state = State::broken;
}

void on_event(uint32_t, void*) {}   // waking wait_until() is all it is for

bool parse_u64(const char* s, uint64_t& out) {
    if (*s == '\0') return false;
    uint64_t v = 0;
    for (; *s; ++s) {
        if (*s < '0' || *s > '9') return false;
        v = v * 10 + static_cast<uint64_t>(*s - '0');
    }
    out = v;
    return true;
}

// `dir/key` as a number; false if absent or not a number.
bool read_number(const char* dir, const char* key, uint64_t& out, uint32_t tx = 0) {
    char path[160], value[32];
    format(path, sizeof path, "%s/%s", dir, key);
    if (xs::read(path, value, sizeof value, tx) < 0) return false;
    return parse_u64(value, out);
}

uint64_t read_number_or(const char* dir, const char* key, uint64_t fallback) {
    uint64_t v = 0;
    return read_number(dir, key, v) ? v : fallback;
}

long write_key(const char* dir, const char* key, const char* value, uint32_t tx) {
    char path[160];
    format(path, sizeof path, "%s/%s", dir, key);
    return xs::write(path, value, tx);
}

long write_number(const char* dir, const char* key, uint64_t v, uint32_t tx) {
    char value[24];
    format(value, sizeof value, "%llu", static_cast<unsigned long long>(v));
    return write_key(dir, key, value, tx);
}

// Our `state`, as xenbus_switch_state: read and written in one
// transaction (a missing node is not recreated), retried on EAGAIN.
bool switch_state(XenbusState s) {
    for (int attempt = 0; attempt < 16; ++attempt) {
        uint32_t tx = 0;
        if (xs::transaction_start(&tx) < 0) {
            fail("starting a transaction: %s", xs::last_error());
            return false;
        }
        uint64_t cur = 0;
        if (!read_number(g_disk.frontend, "state", cur, tx)) {
            (void)xs::transaction_end(tx, false);
            fail("reading %s/state: %s", g_disk.frontend, xs::last_error());
            return false;
        }
        if (write_number(g_disk.frontend, "state", static_cast<uint32_t>(s), tx) < 0) {
            fail("writing %s/state: %s", g_disk.frontend, xs::last_error());
            (void)xs::transaction_end(tx, false);
            return false;
        }
        if (xs::transaction_end(tx, true) >= 0) return true;
        if (!str_eq(xs::last_error(), "EAGAIN")) {
            fail("ending the state transaction: %s", xs::last_error());
            return false;
        }
    }
    fail("the state transaction kept conflicting");
    return false;
}

uint32_t read_backend_state() {
    uint64_t v = 0;
    return read_number(g_disk.backend, "state", v) ? static_cast<uint32_t>(v) : 0;
}

// Waits until the back end's state satisfies ok(state), reading it at
// each event of our watch. The state seen last goes to *seen.
template <typename Ok>
bool wait_backend(Ok ok, uint32_t* seen, uint64_t timeout_ns) {
    const uint64_t start = ev::now_ns();
    for (;;) {
        while (xs::take_event(WATCH_TOKEN)) {
        }
        *seen = read_backend_state();
        if (ok(*seen)) return true;
        const uint64_t spent = ev::now_ns() - start;
        if (spent >= timeout_ns) return false;
        // At least once a second the state is read again, events or not
        // (a full event queue drops them).
        const uint64_t left = timeout_ns - spent;
        (void)ev::wait_until([] { return xs::event_pending(WATCH_TOKEN); }, left < 1000 * ev::MS ? left : 1000 * ev::MS);
    }
}

// --- the ring ------------------------------------------------------------

uint32_t load_acquire(const volatile uint32_t& v) { return __atomic_load_n(&v, __ATOMIC_ACQUIRE); }

// RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, then the notification when due.
void push(bool force) {
    volatile blkif::SringHeader* s = sring();
    const uint32_t old_prod = s->req_prod;
    const uint32_t new_prod = g_req_prod_pvt;
    __atomic_store_n(&s->req_prod, new_prod, __ATOMIC_RELEASE);   // requests before the index
    __atomic_thread_fence(__ATOMIC_SEQ_CST);                       // the index before reading req_event
    if (blkif::needs_notify(old_prod, new_prod, s->req_event) || force) {
        (void)ev::send(g_disk.port);
        ++g_stats.notifications;
    }
}

// Takes the responses that are there, checking each against its request
// as blkfront does, then re-arms rsp_event (RING_FINAL_CHECK_FOR_RESPONSES)
// so that the back end's next response notifies us.
void consume() {
    if (g_state != State::connected) return;
    volatile blkif::SringHeader* s = sring();
    for (;;) {
        const uint32_t rp = load_acquire(s->rsp_prod);
        if (blkfront_ring::responses_overflow(rp, g_rsp_cons, g_disk.ring_slots)) {
            broke("illegal number of responses %u (rsp_cons %u)", rp - g_rsp_cons, g_rsp_cons);
            return;
        }
        uint32_t i = g_rsp_cons;
        for (; i != rp; ++i) {
            blkif::Response r;
            __builtin_memcpy(&r, const_cast<const blkif::Response*>(&ring_slot(i)->rsp), sizeof r);   // once: the back end may change it
            if (r.id >= MAX_INFLIGHT) {
                broke("response has incorrect id (%llu)", static_cast<unsigned long long>(r.id));
                return;
            }
            Shadow& sh = g_shadow[r.id];
            if (!sh.busy || sh.done) {
                broke("response references no pending request (id %llu)", static_cast<unsigned long long>(r.id));
                return;
            }
            if (r.operation != sh.op) {
                broke("response has wrong operation (%u instead of %u)", r.operation, sh.op);
                return;
            }
            const uint32_t base = REF_SLOTS + static_cast<uint32_t>(r.id) * REFS_PER_SLOT;
            for (uint32_t k = 0; k < sh.refs; ++k)
                if (!gnt::end_access(base + k)) {
                    broke("backend has not unmapped grant %u", base + k);
                    return;
                }
            if (sh.indirect && !gnt::end_access(base + MAX_INDIRECT_SEGMENTS)) {
                broke("backend has not unmapped indirect grant %u", base + MAX_INDIRECT_SEGMENTS);
                return;
            }
            sh.done = true;
            sh.status = r.status;
            ++g_stats.responses;
        }
        g_rsp_cons = i;
        if (i == g_req_prod_pvt) {
            s->rsp_event = i + 1;
            return;
        }
        s->rsp_event = g_rsp_cons + 1;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (load_acquire(s->rsp_prod) == g_rsp_cons) return;
    }
}

int free_slot() {
    for (unsigned i = 0; i < MAX_INFLIGHT; ++i)
        if (!g_shadow[i].busy) return static_cast<int>(i);
    return -1;
}

// The result of finished request `id`; frees its slot.
long finish(unsigned id) {
    Shadow& sh = g_shadow[id];
    const int16_t st = sh.status;
    const uint8_t op = sh.op;
    sh = Shadow{};
    --g_inflight;
    if (st == blkif::rsp_okay) return 0;
    ++g_stats.errors;
    g_last_status = st;
    if (st == blkif::rsp_eopnotsupp) {
        if (op == blkif::op_flush_diskcache) g_disk.flush = false;   // blkfront stops asking
        fail("operation %u not supported by the back end", op);
        return -EOPNOTSUPP;
    }
    fail("operation %u failed with status %d", op, st);
    return -EIO;
}

bool wait_responses(bool for_slot) {
    const bool ok = ev::wait_until(
        [&] {
            consume();
            if (g_state != State::connected) return true;
            for (unsigned i = 0; i < MAX_INFLIGHT; ++i)
                if (g_shadow[i].busy && g_shadow[i].done) return true;
            return !for_slot && g_inflight == 0;
        },
        g_opts.timeout_ns);
    if (!ok) {
        broke("no response from the back end in %llu ms (%u requests in flight)",
              static_cast<unsigned long long>(g_opts.timeout_ns / ev::MS), g_inflight);
        return false;
    }
    return g_state == State::connected;
}

// Puts a request for `count` sectors at `sector`, data at `addr`, in slot
// `id`: segments of up to a page each, direct or through the indirect page.
void queue_rw(unsigned id, uint8_t op, uint64_t sector, uint32_t count, uintptr_t addr, unsigned nseg) {
    const bool indirect = nseg > blkif::max_segments_per_request;
    const uint32_t base = REF_SLOTS + id * REFS_PER_SLOT;
    blkif::Segment segs[MAX_INDIRECT_SEGMENTS];
    uint32_t left = count;
    for (unsigned k = 0; k < nseg; ++k) {
        const blkfront_ring::SegmentSpan span = blkfront_ring::segment_at(addr, left);
        gnt::grant_access(base + k, g_disk.backend_id, addr >> 12, op == blkif::op_write);
        segs[k] = blkif::Segment{base + k, span.first_sect, span.last_sect, 0};
        addr += span.sectors * blkif::sector_bytes;
        left -= span.sectors;
    }
    Shadow& sh = g_shadow[id];
    sh = Shadow{true, false, op, static_cast<uint16_t>(nseg), indirect, 0};
    blkif::Entry e{};
    if (indirect) {
        __builtin_memcpy(g_indirect[id], segs, nseg * sizeof(blkif::Segment));
        const uint32_t iref = base + MAX_INDIRECT_SEGMENTS;
        gnt::grant_access(iref, g_disk.backend_id, reinterpret_cast<uintptr_t>(g_indirect[id]) >> 12, true);
        e.ind.operation = blkif::op_indirect;
        e.ind.indirect_op = op;
        e.ind.nr_segments = static_cast<uint16_t>(nseg);
        e.ind.id = id;
        e.ind.sector_number = sector;
        e.ind.handle = static_cast<uint16_t>(g_disk.devid);
        e.ind.indirect_grefs[0] = iref;
        ++g_stats.indirect_requests;
    } else {
        e.req.operation = op;
        e.req.nr_segments = static_cast<uint8_t>(nseg);
        e.req.handle = static_cast<uint16_t>(g_disk.devid);
        e.req.id = id;
        e.req.sector_number = sector;
        __builtin_memcpy(e.req.seg, segs, nseg * sizeof(blkif::Segment));
    }
    __builtin_memcpy(const_cast<blkif::Entry*>(ring_slot(g_req_prod_pvt)), &e, sizeof e);
    ++g_req_prod_pvt;
    ++g_inflight;
    ++g_stats.requests;
}

long io(uint8_t op, uint64_t sector, uint32_t count, uintptr_t addr) {
    if (g_state == State::broken) return -EPROTO;
    if (g_state != State::connected) {
        fail("not connected");
        return -ENODEV;
    }
    if (count == 0 || (addr & (blkif::sector_bytes - 1)) != 0 ||
        addr + static_cast<uint64_t>(count) * blkif::sector_bytes > IDENTITY_MAP_END) {
        fail("bad buffer or count (0x%llx, %u sectors)", static_cast<unsigned long long>(addr), count);
        return -EINVAL;
    }
    if (sector >= g_disk.sectors || count > g_disk.sectors - sector) {
        fail("sectors %llu+%u beyond the disk (%llu sectors)", static_cast<unsigned long long>(sector), count,
             static_cast<unsigned long long>(g_disk.sectors));
        return -EINVAL;
    }
    const unsigned max_seg = g_disk.indirect_segments ? g_disk.indirect_segments : blkif::max_segments_per_request;
    long result = 0;
    uint32_t left = count;
    while (left > 0 || g_inflight > 0) {
        bool queued = false;
        int id;
        while (left > 0 && (id = free_slot()) >= 0) {
            const uint32_t n = blkfront_ring::sectors_fitting(addr, left, max_seg);
            queue_rw(static_cast<unsigned>(id), op, sector, n, addr, blkfront_ring::segments_for(addr, n));
            sector += n;
            addr += static_cast<uintptr_t>(n) * blkif::sector_bytes;
            left -= n;
            queued = true;
        }
        if (queued) push(false);
        if (!wait_responses(left > 0)) return -EPROTO;
        for (unsigned i = 0; i < MAX_INFLIGHT; ++i)
            if (g_shadow[i].busy && g_shadow[i].done) {
                const long r = finish(i);
                if (result == 0) result = r;
            }
        if (result != 0 && left > 0) left = 0;   // stop queueing; drain what is on the ring
    }
    return result;
}

void reset_ring_state() {
    for (auto& sh : g_shadow) sh = Shadow{};
    g_inflight = 0;
    g_req_prod_pvt = 0;
    g_rsp_cons = 0;
    g_stats = Stats{};
    for (auto& u : g_raw_used) u = false;
}

}  // namespace

long open(uint32_t devid) {
    g_opened = false;
    char home[48];
    if (xs::get_domain_path(xen_domid(), home, sizeof home) < 0) {
        fail("get_domain_path: %s", xs::last_error());
        return -ENODEV;
    }
    char dir[96], list[512];
    format(dir, sizeof dir, "%s/device/vbd", home);
    const long n = xs::directory(dir, list, sizeof list);
    if (n <= 0) {
        fail("no %s: %s", dir, n < 0 ? xs::last_error() : "empty");
        return -ENODEV;
    }
    const char* found = nullptr;
    for (long i = 0; i < n; i += static_cast<long>(str_len(list + i)) + 1) {
        uint64_t id = 0;
        if (!parse_u64(list + i, id)) continue;
        if (devid == 0 || id == devid) {
            found = list + i;
            devid = static_cast<uint32_t>(id);
            break;
        }
    }
    if (found == nullptr) {
        fail("no vbd %u in %s", devid, dir);
        return -ENODEV;
    }
    g_disk = Disk{};
    g_disk.devid = devid;
    format(g_disk.frontend, sizeof g_disk.frontend, "%s/%s", dir, found);
    char path[160];
    format(path, sizeof path, "%s/backend", g_disk.frontend);
    if (xs::read(path, g_disk.backend, sizeof g_disk.backend) <= 0) {
        fail("no %s: %s", path, xs::last_error());
        return -ENODEV;
    }
    uint64_t be_id = 0;
    if (!read_number(g_disk.frontend, "backend-id", be_id) || be_id >= xen::DOMID_SELF) {
        fail("no usable %s/backend-id", g_disk.frontend);
        return -ENODEV;
    }
    g_disk.backend_id = static_cast<uint16_t>(be_id);
    g_opened = true;
    return 0;
}

long connect(const Options& opts) {
    if (!g_opened) {
        fail("open() first");
        return -ENODEV;
    }
    if (g_state != State::closed) {
        fail("already connected (disconnect() first)");
        return -EINVAL;
    }
    if (g_ring_lost) {
        fail("the back end still maps our ring pages from before");
        return -EBUSY;
    }
    g_opts = opts;
    if (!gnt::table_init(TABLE_FRAMES) || gnt::table_entries() < REF_END) {
        fail("grant table: %u entries, %u needed", gnt::table_entries(), REF_END);
        return -EIO;
    }
    char be_state[160];
    format(be_state, sizeof be_state, "%s/state", g_disk.backend);
    (void)xs::unwatch(be_state, WATCH_TOKEN);   // left over from a connect() that failed
    while (xs::take_event(WATCH_TOKEN)) {
    }
    if (xs::watch(be_state, WATCH_TOKEN) < 0) {
        fail("watch %s: %s", be_state, xs::last_error());
        return -EIO;
    }
    // Once closed, we start again from Initialising: a back end that is
    // Closed answers it with InitWait ("prepare for reconnect").
    uint64_t mine = 0;
    if (!read_number(g_disk.frontend, "state", mine)) {
        fail("no %s/state", g_disk.frontend);
        return -ENODEV;
    }
    if (mine != static_cast<uint32_t>(XenbusState::initialising) && !switch_state(XenbusState::initialising)) return -EIO;

    uint32_t seen = 0;
    if (!wait_backend(
            [](uint32_t s) {
                return s == static_cast<uint32_t>(XenbusState::init_wait) || s == static_cast<uint32_t>(XenbusState::connected);
            },
            &seen, opts.timeout_ns)) {
        fail("backend %s stayed in state %u, InitWait (2) awaited", g_disk.backend, seen);
        return -ETIMEDOUT;
    }

    // The ring.
    uint64_t be_order = read_number_or(g_disk.backend, "max-ring-page-order", 0);
    unsigned order = opts.max_ring_page_order;
    if (order > blkif::max_ring_page_order) order = blkif::max_ring_page_order;
    if (be_order < order) order = static_cast<unsigned>(be_order);
    g_disk.ring_pages = 1u << order;
    g_disk.ring_slots = blkif::ring_size(g_disk.ring_pages);
    reset_ring_state();
    __builtin_memset(g_ring_pages, 0, sizeof g_ring_pages);
    sring()->req_event = 1;   // SHARED_RING_INIT
    sring()->rsp_event = 1;
    for (unsigned i = 0; i < g_disk.ring_pages; ++i)
        gnt::grant_access(REF_RING + i, g_disk.backend_id, reinterpret_cast<uintptr_t>(g_ring_pages[i]) >> 12, false);
    g_disk.ring_ref0 = REF_RING;
    const long port = ev::alloc_unbound(g_disk.backend_id);
    if (port < 0) {
        for (unsigned i = 0; i < g_disk.ring_pages; ++i) (void)gnt::end_access(REF_RING + i);
        fail("EVTCHNOP_alloc_unbound(%u) -> %ld", g_disk.backend_id, port);
        return -EIO;
    }
    g_disk.port = static_cast<uint32_t>(port);
    ev::set_handler(g_disk.port, on_event);
    (void)ev::unmask(g_disk.port);

    // What the back end needs to map it, in one transaction.
    bool written = false;
    for (int attempt = 0; attempt < 16 && !written; ++attempt) {
        uint32_t tx = 0;
        if (xs::transaction_start(&tx) < 0) break;
        const char* f = g_disk.frontend;
        bool ok = true;
        if (g_disk.ring_pages > 1) {
            ok = write_number(f, "ring-page-order", order, tx) >= 0;
            for (unsigned i = 0; ok && i < g_disk.ring_pages; ++i) {
                char key[16];
                format(key, sizeof key, "ring-ref%u", i);
                ok = write_number(f, key, REF_RING + i, tx) >= 0;
            }
        } else {
            ok = write_number(f, "ring-ref", REF_RING, tx) >= 0;
        }
        ok = ok && write_number(f, "event-channel", g_disk.port, tx) >= 0 &&
             write_key(f, "protocol", blkif::protocol_x86_64, tx) >= 0 && write_key(f, "feature-persistent", "0", tx) >= 0;
        if (!ok) {
            fail("writing the ring keys: %s", xs::last_error());
            (void)xs::transaction_end(tx, false);
            break;
        }
        if (xs::transaction_end(tx, true) >= 0) written = true;
        else if (!str_eq(xs::last_error(), "EAGAIN")) {
            fail("ending the ring transaction: %s", xs::last_error());
            break;
        }
    }
    if (!written || !switch_state(XenbusState::initialised)) {
        (void)ev::close(g_disk.port);
        for (unsigned i = 0; i < g_disk.ring_pages; ++i) (void)gnt::end_access(REF_RING + i);
        if (!written && g_error[0] == '\0') fail("the ring transaction kept conflicting");
        return -EIO;
    }

    if (!wait_backend(
            [](uint32_t s) {
                return s == static_cast<uint32_t>(XenbusState::connected) || s >= static_cast<uint32_t>(XenbusState::closing);
            },
            &seen, opts.timeout_ns) ||
        seen != static_cast<uint32_t>(XenbusState::connected)) {
        fail("backend %s in state %u, Connected (4) awaited", g_disk.backend, seen);
        // Leave the ring granted: the back end may have mapped it. disconnect() takes it back.
        g_state = State::broken;
        return seen >= static_cast<uint32_t>(XenbusState::closing) ? -EPROTO : -ETIMEDOUT;
    }

    uint64_t sectors = 0, info = 0, sector_size = 0;
    if (!read_number(g_disk.backend, "sectors", sectors) || !read_number(g_disk.backend, "info", info) ||
        !read_number(g_disk.backend, "sector-size", sector_size) || sector_size < blkif::sector_bytes ||
        sector_size % blkif::sector_bytes != 0) {
        fail("reading backend fields at %s (sectors, info, sector-size)", g_disk.backend);
        g_state = State::broken;
        return -EPROTO;
    }
    g_disk.sectors = sectors;
    g_disk.info = static_cast<uint32_t>(info);
    g_disk.sector_size = static_cast<uint32_t>(sector_size);
    g_disk.physical_sector_size = static_cast<uint32_t>(read_number_or(g_disk.backend, "physical-sector-size", sector_size));
    g_disk.flush = read_number_or(g_disk.backend, "feature-flush-cache", 0) != 0;
    uint64_t ind = read_number_or(g_disk.backend, "feature-max-indirect-segments", 0);
    g_disk.backend_indirect_segments = ind > 0xffff ? 0xffff : static_cast<unsigned>(ind);
    if (ind > opts.max_indirect_segments) ind = opts.max_indirect_segments;
    if (ind > MAX_INDIRECT_SEGMENTS) ind = MAX_INDIRECT_SEGMENTS;
    g_disk.indirect_segments = ind > blkif::max_segments_per_request ? static_cast<unsigned>(ind) : 0;
    g_state = State::connected;
    if (!switch_state(XenbusState::connected)) {
        g_state = State::broken;
        return -EIO;
    }
    g_error[0] = '\0';
    return 0;
}

long disconnect() {
    if (g_state == State::closed) return 0;
    // Give requests still out a moment to finish (their grants end then).
    if (g_state == State::connected && g_inflight > 0) (void)wait_responses(false);
    long result = 0;
    uint32_t seen = 0;
    if (switch_state(XenbusState::closing)) {
        if (!wait_backend([](uint32_t s) { return s >= static_cast<uint32_t>(XenbusState::closing) || s == 0; }, &seen,
                          g_opts.timeout_ns)) {
            fail("backend stayed in state %u after our Closing", seen);
            result = -ETIMEDOUT;
        }
    }
    if (switch_state(XenbusState::closed) && result == 0 &&
        !wait_backend([](uint32_t s) { return s == static_cast<uint32_t>(XenbusState::closed) || s == 0; }, &seen,
                      g_opts.timeout_ns)) {
        fail("backend stayed in state %u after our Closed", seen);
        result = -ETIMEDOUT;
    }
    char be_state[160];
    format(be_state, sizeof be_state, "%s/state", g_disk.backend);
    (void)xs::unwatch(be_state, WATCH_TOKEN);
    (void)ev::close(g_disk.port);
    ev::set_handler(g_disk.port, nullptr);
    for (unsigned i = 0; i < g_disk.ring_pages; ++i)
        if (!gnt::end_access(REF_RING + i)) g_ring_lost = true;
    // Requests that never got a response: their grants go now, if they can.
    for (unsigned id = 0; id < MAX_INFLIGHT; ++id) {
        if (!g_shadow[id].busy) continue;
        const uint32_t base = REF_SLOTS + id * REFS_PER_SLOT;
        for (uint32_t k = 0; k < g_shadow[id].refs; ++k) (void)gnt::end_access(base + k);
        if (g_shadow[id].indirect) (void)gnt::end_access(base + MAX_INDIRECT_SEGMENTS);
    }
    for (unsigned k = 0; k < RAW_REFS; ++k)
        if (g_raw_used[k]) (void)gnt::end_access(REF_RAW + k);
    reset_ring_state();
    g_state = State::closed;
    if (g_ring_lost) {
        fail("the back end still maps the ring after Closed");
        return -EBUSY;
    }
    return result;
}

const Disk& disk() { return g_disk; }
State state() { return g_state; }
const char* last_error() { return g_error; }
int16_t last_status() { return g_last_status; }
uint32_t backend_state() { return g_opened ? read_backend_state() : 0; }
Stats stats() { return g_stats; }

long read(uint64_t sector, uint32_t count, void* buf) {
    return io(blkif::op_read, sector, count, reinterpret_cast<uintptr_t>(buf));
}

long write(uint64_t sector, uint32_t count, const void* buf) {
    return io(blkif::op_write, sector, count, reinterpret_cast<uintptr_t>(buf));
}

long flush() {
    if (g_state == State::broken) return -EPROTO;
    if (g_state != State::connected) return -ENODEV;
    if (!g_disk.flush) {
        fail("the back end offers no feature-flush-cache");
        return -EOPNOTSUPP;
    }
    const int id = free_slot();
    if (id < 0) return -EBUSY;   // io() drains before returning: cannot happen
    Shadow& sh = g_shadow[id];
    sh = Shadow{true, false, blkif::op_flush_diskcache, 0, false, 0};
    blkif::Entry e{};
    e.req.operation = blkif::op_flush_diskcache;
    e.req.handle = static_cast<uint16_t>(g_disk.devid);
    e.req.id = static_cast<uint64_t>(id);
    __builtin_memcpy(const_cast<blkif::Entry*>(ring_slot(g_req_prod_pvt)), &e, sizeof e);
    ++g_req_prod_pvt;
    ++g_inflight;
    ++g_stats.requests;
    push(false);
    if (!wait_responses(false)) return -EPROTO;
    return finish(static_cast<unsigned>(id));
}

volatile blkif::SringHeader* raw_sring() { return sring(); }

blkif::Entry* raw_next_slot() { return const_cast<blkif::Entry*>(ring_slot(g_req_prod_pvt)); }

void raw_push(bool force) {
    ++g_req_prod_pvt;
    push(force);
}

void raw_notify() {
    (void)ev::send(g_disk.port);
    ++g_stats.notifications;
}

uint32_t raw_grant(const void* page, bool readonly) {
    for (unsigned k = 0; k < RAW_REFS; ++k)
        if (!g_raw_used[k]) {
            g_raw_used[k] = true;
            gnt::grant_access(REF_RAW + k, g_disk.backend_id, reinterpret_cast<uintptr_t>(page) >> 12, readonly);
            return REF_RAW + k;
        }
    return 0;
}

bool raw_end_grant(uint32_t ref) {
    if (ref < REF_RAW || ref >= REF_END) return false;
    if (!gnt::end_access(ref)) return false;
    g_raw_used[ref - REF_RAW] = false;
    return true;
}

bool raw_response(blkif::Response& out, uint64_t timeout_ns) {
    volatile blkif::SringHeader* s = sring();
    const bool ok = ev::wait_until(
        [&] {
            if (load_acquire(s->rsp_prod) != g_rsp_cons) return true;
            s->rsp_event = g_rsp_cons + 1;
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            return load_acquire(s->rsp_prod) != g_rsp_cons;
        },
        timeout_ns);
    if (!ok) return false;
    __builtin_memcpy(&out, const_cast<const blkif::Response*>(&ring_slot(g_rsp_cons)->rsp), sizeof out);
    ++g_rsp_cons;
    ++g_stats.responses;
    return true;
}

}  // namespace guest::blkfront
