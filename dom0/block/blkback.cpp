// dom0's block back end: see blkback.hpp. The checks on what a frontend
// sends are the pure dom0/block/blkif_request; this file maps, does the I/O
// (PIO through dom0/block/ata, synchronous: one request at a time for the
// whole of dom0) and answers.
//
// Data path, per request: the segments' grants are mapped in one
// GNTTABOP_map_grant_ref batch at consecutive frames of one window, so
// whole-page segments form one run the disk reads or writes in one go;
// then one unmap batch. Writes map read-only, as the frontend granted them.
// That is `blkback=map` on dom0's command line; by default the data goes
// instead through a bounce buffer of dom0's and one GNTTABOP_copy batch,
// which bench/ measures about 10% faster (no EPT change and flush per
// request).
#include "dom0/block/blkback.hpp"

#include "dom0/block/ata.hpp"
#include "dom0/block/blkif_request.hpp"
#include "dom0/terminal.hpp"
#include "dom0/xenstored.hpp"
#include "runtime/blkif.hpp"
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;
using blkif::XenbusState;

namespace dom0::blkback {
namespace {

constexpr unsigned MAX_RING_PAGES = 1u << blkif::max_ring_page_order;
constexpr unsigned DATA_FRAMES = block::max_indirect_segments;
constexpr unsigned INDIRECT_FRAMES = blkif::max_indirect_pages_per_request;
constexpr unsigned BUDGET = 4;          // requests per ring per poll(): fairness between disks
constexpr unsigned LOGGED_ERRORS = 8;   // per connection; the rest are counted

inline void compiler_barrier() { asm volatile("" ::: "memory"); }   // x86: loads and stores keep their order
inline void full_barrier() { asm volatile("mfence" ::: "memory"); }  // store then load (the ring's event checks)

struct Vbd {
    bool used = false;
    uint16_t domid = 0;
    uint32_t devid = 0;
    bool writable = false;
    block::Extent extent{};
    char vdev[16] = {};
    char target[64] = {};
    char be_path[64] = {};
    char fe_path[64] = {};
    XenbusState be_state = XenbusState::unknown;
    XenbusState fe_seen = XenbusState::unknown;   // the frontend state last acted on

    // The connection (frontend Initialised .. Closing).
    bool connected = false;
    bool halted = false;        // the frontend broke the ring: no more requests until it reconnects
    uint64_t ring_gfn = 0;      // MAX_RING_PAGES frames of dom0's space, this slot's for good
    unsigned ring_pages = 0;
    uint32_t ring_handles[MAX_RING_PAGES] = {};
    uint32_t ring_refs[MAX_RING_PAGES] = {};
    uint32_t ring_size = 0;
    uint32_t remote_port = 0;
    uint32_t local_port = 0;
    uint32_t req_cons = 0;
    uint32_t rsp_prod_pvt = 0;
    bool uses_flush = false;    // it sent a flush: writes need not be flushed one by one
    unsigned errors = 0;
    volatile bool kick = false;
    char watch_token[24] = {};  // its dom0-local watch on the frontend's state
};

Vbd g_vbds[MAX_VBDS];
uint64_t g_window_gfn = 0;   // DATA_FRAMES + INDIRECT_FRAMES frames for the request being served
bool g_more = false;         // a ring still had requests when its budget ran out
xen::gnttab_map_grant_ref g_map[DATA_FRAMES];
xen::gnttab_unmap_grant_ref g_unmap[DATA_FRAMES];
block::Seg g_segs[block::max_indirect_segments];
uint32_t g_refs[block::max_indirect_segments];

// The copy path: a request's data in dom0's RAM, and at most two copies
// per segment (a copy stays within one page on both sides).
alignas(4096) uint8_t g_bounce[block::max_indirect_segments * blkif::page_bytes];
xen::gnttab_copy g_copy[2 * block::max_indirect_segments];
int g_copy_mode = -1;   // -1: not looked at yet

bool copy_mode()
{
    if (g_copy_mode < 0) {
        char v[8];
        g_copy_mode = cmdline_option(cmdline(), "blkback", v, sizeof v) && str_eq(v, "map") ? 0 : 1;
    }
    return g_copy_mode == 1;
}

void on_event(uint32_t, void* ctx) { static_cast<Vbd*>(ctx)->kick = true; }

blkif::SringHeader* sring(Vbd& v) { return reinterpret_cast<blkif::SringHeader*>(v.ring_gfn << 12); }
blkif::Entry* slots(Vbd& v) { return reinterpret_cast<blkif::Entry*>((v.ring_gfn << 12) + sizeof(blkif::SringHeader)); }
uint8_t* window(unsigned frame) { return reinterpret_cast<uint8_t*>((g_window_gfn + frame) << 12); }

void say(const Vbd& v, const char* what, const char* detail = "")
{
    terminal::async_output();
    print("blkback: d%u: %s: %s%s\n", v.domid, v.vdev, what, detail);
}

// --- xenstore --------------------------------------------------------------

char g_path[128];
const char* at(const char* dir, const char* key)
{
    format(g_path, sizeof g_path, "%s/%s", dir, key);
    return g_path;
}
bool put(const char* dir, const char* key, const char* value)
{
    return xenstored::write(at(dir, key), value) == xenstore::Err::none;
}
bool put_u(const char* dir, const char* key, uint64_t value)
{
    char s[24];
    format(s, sizeof s, "%llu", static_cast<unsigned long long>(value));
    return put(dir, key, s);
}
// A decimal key of the frontend's; false if absent or not a number.
bool get_u(const char* dir, const char* key, uint64_t& out)
{
    char s[24];
    uint32_t len = 0;
    if (xenstored::read(at(dir, key), s, sizeof s - 1, len) != xenstore::Err::none) return false;
    s[len] = '\0';
    if (len == 0) return false;
    uint64_t v = 0;
    for (uint32_t i = 0; i < len; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    }
    out = v;
    return true;
}
bool get_s(const char* dir, const char* key, char* out, uint32_t cap)
{
    uint32_t len = 0;
    if (xenstored::read(at(dir, key), out, cap - 1, len) != xenstore::Err::none) return false;
    out[len] = '\0';
    return true;
}
void set_perms(const char* path, uint16_t owner, uint16_t reader)
{
    const xenstore::Perm p[2] = {{owner, 0}, {reader, xenstore::perm_read}};
    (void)xenstored::set_perms(path, p, 2);
}
void switch_state(Vbd& v, XenbusState s)
{
    v.be_state = s;
    (void)put_u(v.be_path, "state", static_cast<uint32_t>(s));
}

// Linux's blkback probe: what the frontend needs before it sets up its ring.
void offer(Vbd& v)
{
    (void)put_u(v.be_path, "feature-max-indirect-segments", block::max_indirect_segments);
    (void)put_u(v.be_path, "max-ring-page-order", blkif::max_ring_page_order);
    switch_state(v, XenbusState::init_wait);
}

// --- the connection --------------------------------------------------------

void unmap_ring(Vbd& v)
{
    for (unsigned i = 0; i < v.ring_pages; ++i) {
        xen::gnttab_unmap_grant_ref u{};
        u.host_addr = (v.ring_gfn + i) << 12;
        u.handle = v.ring_handles[i];
        (void)grant_table_op(xen::GNTTABOP_unmap_grant_ref, &u, 1);
    }
    v.ring_pages = 0;
}

void disconnect(Vbd& v)
{
    if (!v.connected) return;
    if (v.local_port) {
        ev::set_handler(v.local_port, nullptr);
        (void)ev::close(v.local_port);
    }
    unmap_ring(v);
    v.local_port = 0;
    v.connected = false;
    v.halted = false;
    v.kick = false;
}

// Linux's connect_ring: the frontend's ring pages, port and protocol.
bool connect_ring(Vbd& v)
{
    uint64_t order = 0, port = 0;
    const bool multi = get_u(v.fe_path, "ring-page-order", order);
    if (order > blkif::max_ring_page_order) {
        say(v, "refused: ring-page-order above what was offered");
        return false;
    }
    const unsigned pages = 1u << order;
    for (unsigned i = 0; i < pages; ++i) {
        char key[16];
        format(key, sizeof key, "ring-ref%u", i);
        uint64_t ref = 0;
        if (!get_u(v.fe_path, multi ? key : "ring-ref", ref) || ref > 0xffffffffull) {
            say(v, "refused: no ring-ref");
            return false;
        }
        v.ring_refs[i] = static_cast<uint32_t>(ref);
    }
    if (!get_u(v.fe_path, "event-channel", port) || port > 0xffffffffull) {
        say(v, "refused: no event-channel");
        return false;
    }
    char proto[24];
    if (get_s(v.fe_path, "protocol", proto, sizeof proto) && !str_eq(proto, blkif::protocol_x86_64)) {
        say(v, "refused: protocol ", proto);
        return false;
    }
    if (v.ring_gfn == 0) v.ring_gfn = alloc_unused_gfn(MAX_RING_PAGES);
    if (v.ring_gfn == 0) {
        say(v, "refused: dom0 has no frames left to map rings at");
        return false;
    }
    for (unsigned i = 0; i < pages; ++i) {
        xen::gnttab_map_grant_ref m{};
        m.host_addr = (v.ring_gfn + i) << 12;
        m.flags = xen::GNTMAP_host_map;
        m.ref = v.ring_refs[i];
        m.dom = v.domid;
        const long rc = grant_table_op(xen::GNTTABOP_map_grant_ref, &m, 1);
        if (rc != 0 || m.status != 0) {
            say(v, "refused: cannot map the ring's grant");
            unmap_ring(v);
            return false;
        }
        v.ring_handles[i] = m.handle;
        v.ring_pages = i + 1;
    }
    const long lp = ev::bind_interdomain(v.domid, static_cast<uint32_t>(port));
    if (lp < 0) {
        say(v, "refused: cannot bind its event channel");
        unmap_ring(v);
        return false;
    }
    v.remote_port = static_cast<uint32_t>(port);
    v.local_port = static_cast<uint32_t>(lp);
    v.ring_size = blkif::ring_size(pages);
    v.req_cons = 0;
    v.rsp_prod_pvt = 0;
    v.uses_flush = false;
    v.errors = 0;
    v.halted = false;
    v.connected = true;
    ev::set_handler(v.local_port, on_event, &v);
    (void)ev::unmask(v.local_port);
    v.kick = true;   // requests may be there already
    return true;
}

// Linux's blkback connect(): the disk's geometry and features, then Connected.
void connect(Vbd& v)
{
    (void)put_u(v.be_path, "feature-flush-cache", 1);
    (void)put_u(v.be_path, "feature-persistent", 0);
    (void)put_u(v.be_path, "sectors", v.extent.sectors);
    (void)put_u(v.be_path, "info", v.writable ? 0 : blkif::vdisk_readonly);
    (void)put_u(v.be_path, "sector-size", blkif::sector_bytes);
    (void)put_u(v.be_path, "physical-sector-size", blkif::sector_bytes);
    switch_state(v, XenbusState::connected);
}

// The xenbus state machine on the frontend's side changing, as Linux's
// blkback frontend_changed() follows it.
void frontend_changed(Vbd& v, XenbusState fe)
{
    switch (fe) {
    case XenbusState::initialising:
        if (v.be_state == XenbusState::closed) {   // a frontend coming round again
            say(v, "frontend reconnecting");
            offer(v);
        }
        break;
    case XenbusState::initialised:
    case XenbusState::connected:
        if (v.be_state == XenbusState::connected) break;
        disconnect(v);
        if (connect_ring(v)) {
            connect(v);
        } else {
            switch_state(v, XenbusState::closing);
        }
        break;
    case XenbusState::closing:
        disconnect(v);
        switch_state(v, XenbusState::closing);
        break;
    case XenbusState::closed:
    case XenbusState::unknown:
        disconnect(v);
        switch_state(v, XenbusState::closed);
        break;
    default:
        break;
    }
}

// The frontend's `state` changed (or the watch was just set, or events
// were lost: rescan): act on where it is now.
void on_frontend_state(void* ctx, const char*, const char*, bool)
{
    Vbd& v = *static_cast<Vbd*>(ctx);
    if (!v.used) return;
    uint64_t fs = 0;
    const XenbusState fe = get_u(v.fe_path, "state", fs) && fs <= 8 ? static_cast<XenbusState>(fs) : XenbusState::unknown;
    if (fe == v.fe_seen) return;
    v.fe_seen = fe;
    frontend_changed(v, fe);
}

// --- requests --------------------------------------------------------------

int16_t fail(Vbd& v, const char* why)
{
    if (v.errors < LOGGED_ERRORS) say(v, "request refused: ", why);
    else if (v.errors == LOGGED_ERRORS) say(v, "further refused requests not logged");
    ++v.errors;
    return blkif::rsp_error;
}

void unmap_data(unsigned n)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; ++i) {
        if (g_map[i].status != 0) continue;
        g_unmap[k] = xen::gnttab_unmap_grant_ref{};
        g_unmap[k].host_addr = g_map[i].host_addr;
        g_unmap[k].handle = g_map[i].handle;
        ++k;
    }
    if (k) (void)grant_table_op(xen::GNTTABOP_unmap_grant_ref, g_unmap, k);
}

// Maps the frontend's grants refs[0..n) at window frames base.., all or none.
bool map_batch(const Vbd& v, const uint32_t* refs, unsigned n, unsigned base, bool readonly)
{
    for (unsigned i = 0; i < n; ++i) {
        g_map[i] = xen::gnttab_map_grant_ref{};
        g_map[i].host_addr = (g_window_gfn + base + i) << 12;
        g_map[i].flags = xen::GNTMAP_host_map | (readonly ? xen::GNTMAP_readonly : 0);
        g_map[i].ref = refs[i];
        g_map[i].dom = v.domid;
        g_map[i].status = -1;
    }
    const long rc = grant_table_op(xen::GNTTABOP_map_grant_ref, g_map, n);
    bool ok = rc == 0;
    for (unsigned i = 0; i < n; ++i) ok = ok && g_map[i].status == 0;
    if (!ok) unmap_data(n);
    return ok;
}

// Reads an indirect request's segment list out of its granted pages.
bool indirect_segments(Vbd& v, const block::Decoded& d, const char*& why)
{
    if (!map_batch(v, d.indirect_grefs, d.nr_indirect_pages, DATA_FRAMES, true)) {
        why = "bad grant reference (indirect page)";
        return false;
    }
    bool ok = true;
    for (uint32_t i = 0; i < d.nr_segments; ++i) {
        const auto* page = reinterpret_cast<const blkif::Segment*>(window(DATA_FRAMES + i / blkif::segments_per_indirect_page));
        blkif::Segment s = page[i % blkif::segments_per_indirect_page];
        compiler_barrier();
        if (block::check_segment(s, g_segs[i]) != block::RequestError::none) ok = false;
    }
    unmap_data(d.nr_indirect_pages);
    if (!ok) why = block::to_string(block::RequestError::bad_segment);
    return ok;
}

// Durable before answered: a flush-with-data, and every write of a
// frontend that has not shown it flushes (it may not know of a cache).
int16_t finish_write(Vbd& v, const block::Decoded& d, bool write)
{
    if (write && (d.flush_after || !v.uses_flush) && !block::ata::flush(v.extent.disk).ok()) return fail(v, "FLUSH CACHE failed");
    if (d.flush_after) v.uses_flush = true;
    return blkif::rsp_okay;
}

// The copy path: the request's sectors are contiguous in g_bounce.
bool transfer_by_copy(Vbd& v, const block::Decoded& d, uint64_t sectors, bool write)
{
    const uint64_t bounce_gfn = reinterpret_cast<uintptr_t>(g_bounce) >> 12;
    unsigned n = 0;
    uint32_t at = 0;   // byte offset in g_bounce
    for (uint32_t i = 0; i < d.nr_segments; ++i) {
        uint32_t len = (static_cast<uint32_t>(g_segs[i].last - g_segs[i].first) + 1) * blkif::sector_bytes;
        uint32_t seg_off = g_segs[i].first * blkif::sector_bytes;
        while (len > 0) {
            const uint32_t in_page = blkif::page_bytes - at % blkif::page_bytes;
            const uint32_t piece = len < in_page ? len : in_page;
            xen::gnttab_copy& c = g_copy[n++];
            c = xen::gnttab_copy{};
            xen::gnttab_copy_ptr& mine = write ? c.dest : c.source;
            xen::gnttab_copy_ptr& theirs = write ? c.source : c.dest;
            mine.ref_or_gmfn = bounce_gfn + at / blkif::page_bytes;
            mine.domid = xen::DOMID_SELF;
            mine.offset = static_cast<uint16_t>(at % blkif::page_bytes);
            theirs.ref_or_gmfn = g_segs[i].gref;
            theirs.domid = v.domid;
            theirs.offset = static_cast<uint16_t>(seg_off);
            c.len = static_cast<uint16_t>(piece);
            c.flags = write ? xen::GNTCOPY_source_gref : xen::GNTCOPY_dest_gref;
            at += piece;
            seg_off += piece;
            len -= piece;
        }
    }
    auto copies_ok = [n]() {
        if (grant_table_op(xen::GNTTABOP_copy, g_copy, n) != 0) return false;
        for (unsigned i = 0; i < n; ++i)
            if (g_copy[i].status != 0) return false;
        return true;
    };
    const uint64_t lba = v.extent.start + d.sector;
    const uint32_t count = static_cast<uint32_t>(sectors);
    if (write) return copies_ok() && block::ata::write(v.extent.disk, lba, count, g_bounce).ok();
    return block::ata::read(v.extent.disk, lba, count, g_bounce).ok() && copies_ok();
}

int16_t serve(Vbd& v, const blkif::Entry& slot)
{
    block::Decoded d;
    const block::RequestError e = block::decode(slot, v.writable, d);
    if (e == block::RequestError::unsupported) return blkif::rsp_eopnotsupp;
    if (e != block::RequestError::none) return fail(v, block::to_string(e));

    if (d.op == block::Op::flush) {
        v.uses_flush = true;
        return block::ata::flush(v.extent.disk).ok() ? blkif::rsp_okay : fail(v, "FLUSH CACHE failed");
    }
    const char* why = nullptr;
    if (d.indirect) {
        if (!indirect_segments(v, d, why)) return fail(v, why);
    } else {
        for (uint32_t i = 0; i < d.nr_segments; ++i)
            if (block::check_segment(d.direct[i], g_segs[i]) != block::RequestError::none)
                return fail(v, block::to_string(block::RequestError::bad_segment));
    }
    uint64_t sectors = 0;
    for (uint32_t i = 0; i < d.nr_segments; ++i) sectors += static_cast<uint64_t>(g_segs[i].last - g_segs[i].first) + 1;
    if (block::check_range(d.sector, sectors, v.extent.sectors) != block::RequestError::none)
        return fail(v, block::to_string(block::RequestError::beyond_disk));

    const bool write = d.op == block::Op::write;
    if (copy_mode()) {
        if (!transfer_by_copy(v, d, sectors, write)) return fail(v, "disk or grant copy failed");
        return finish_write(v, d, write);
    }
    for (uint32_t i = 0; i < d.nr_segments; ++i) g_refs[i] = g_segs[i].gref;
    if (!map_batch(v, g_refs, d.nr_segments, 0, write))
        return fail(v, "bad grant reference");
    block::Run runs[block::max_indirect_segments];
    const unsigned nr = block::coalesce(g_segs, d.nr_segments, runs, block::max_indirect_segments);
    uint64_t lba = v.extent.start + d.sector;
    bool ok = true;
    for (unsigned r = 0; r < nr && ok; ++r) {
        uint8_t* buf = window(0) + runs[r].byte_offset;
        const block::ata::Result res = write ? block::ata::write(v.extent.disk, lba, runs[r].sectors, buf)
                                             : block::ata::read(v.extent.disk, lba, runs[r].sectors, buf);
        ok = res.ok();
        lba += runs[r].sectors;
    }
    unmap_data(d.nr_segments);
    if (!ok) return fail(v, write ? "disk write failed" : "disk read failed");
    return finish_write(v, d, write);
}

void respond(Vbd& v, uint64_t id, uint8_t operation, int16_t status)
{
    blkif::Entry& e = slots(v)[v.rsp_prod_pvt & (v.ring_size - 1)];
    e.rsp.id = id;
    e.rsp.operation = operation;
    e.rsp.status = status;
    ++v.rsp_prod_pvt;
    blkif::SringHeader* s = sring(v);
    const uint32_t old = s->rsp_prod;
    compiler_barrier();   // the response before the index that publishes it
    s->rsp_prod = v.rsp_prod_pvt;
    full_barrier();       // the index before reading where the frontend wants an event
    if (blkif::needs_notify(old, v.rsp_prod_pvt, s->rsp_event)) (void)ev::send(v.local_port);
}

void serve_ring(Vbd& v)
{
    blkif::SringHeader* s = sring(v);
    for (unsigned done = 0; done < BUDGET;) {
        const uint32_t prod = *reinterpret_cast<volatile uint32_t*>(&s->req_prod);
        compiler_barrier();   // the index before the requests it covers
        const long n = block::unconsumed_requests(prod, v.req_cons, v.rsp_prod_pvt, v.ring_size);
        if (n < 0) {
            say(v, "ring halted: the frontend's req_prod is beyond its ring (connection dropped)");
            v.halted = true;
            return;
        }
        if (n == 0) {
            // RING_FINAL_CHECK_FOR_REQUESTS: ask for an event, then look once more.
            s->req_event = v.req_cons + 1;
            full_barrier();
            if (*reinterpret_cast<volatile uint32_t*>(&s->req_prod) == v.req_cons) return;
            continue;
        }
        blkif::Entry slot;
        const blkif::Entry* src = &slots(v)[v.req_cons & (v.ring_size - 1)];
        __builtin_memcpy(&slot, src, sizeof slot);   // one copy: the frontend cannot change it under the checks
        compiler_barrier();
        ++v.req_cons;
        const int16_t status = serve(v, slot);
        respond(v, slot.req.id, block::response_operation(slot), status);
        ++done;
    }
    // Budget spent with requests left: this ring again on the next round
    // (its req_event is not re-armed, so no event will ask for it).
    v.kick = true;
    g_more = true;
}

Vbd* find(uint16_t domid, uint32_t devid)
{
    for (Vbd& v : g_vbds)
        if (v.used && v.domid == domid && v.devid == devid) return &v;
    return nullptr;
}

}  // namespace

long add(uint16_t domid, uint32_t devid, const char* vdev, const char* target, const block::Extent& extent, bool writable,
         char* why, size_t why_size)
{
    if (find(domid, devid)) {
        format(why, why_size, "domain %u already has a disk %s", domid, vdev);
        return -xen::XEN_EBUSY;
    }
    if (g_window_gfn == 0) g_window_gfn = alloc_unused_gfn(DATA_FRAMES + INDIRECT_FRAMES);
    Vbd* v = nullptr;
    for (Vbd& c : g_vbds)
        if (!c.used) {
            v = &c;
            break;
        }
    if (!v || g_window_gfn == 0) {
        format(why, why_size, "no room for another virtual disk (%u at most)", MAX_VBDS);
        return -xen::XEN_ENOSPC;
    }
    const uint64_t ring_gfn = v->ring_gfn;   // the slot keeps its frames
    *v = Vbd{};
    v->ring_gfn = ring_gfn;
    v->domid = domid;
    v->devid = devid;
    v->writable = writable;
    v->extent = extent;
    format(v->vdev, sizeof v->vdev, "%s", vdev);
    format(v->target, sizeof v->target, "%s", target);
    format(v->be_path, sizeof v->be_path, "/local/domain/0/backend/vbd/%u/%u", domid, devid);
    format(v->fe_path, sizeof v->fe_path, "/local/domain/%u/device/vbd/%u", domid, devid);

    // libxl's device_disk_add: both directories, the frontend's owned by the domain.
    bool ok = xenstored::mkdir(v->be_path) == xenstore::Err::none;
    set_perms(v->be_path, 0, domid);
    ok = ok && put(v->be_path, "frontend", v->fe_path) && put_u(v->be_path, "frontend-id", domid) &&
         put_u(v->be_path, "online", 1) && put_u(v->be_path, "removable", 0) && put_u(v->be_path, "bootable", 1) &&
         put_u(v->be_path, "state", static_cast<uint32_t>(XenbusState::initialising)) && put(v->be_path, "dev", vdev) &&
         put(v->be_path, "type", "phy") && put(v->be_path, "mode", writable ? "w" : "r") &&
         put(v->be_path, "device-type", "disk") && put(v->be_path, "params", target);
    ok = ok && xenstored::mkdir(v->fe_path) == xenstore::Err::none;
    set_perms(v->fe_path, domid, 0);
    ok = ok && put(v->fe_path, "backend", v->be_path) && put_u(v->fe_path, "backend-id", 0) &&
         put_u(v->fe_path, "state", static_cast<uint32_t>(XenbusState::initialising)) &&
         put_u(v->fe_path, "virtual-device", devid) && put(v->fe_path, "device-type", "disk");
    if (!ok) {
        (void)xenstored::rm(v->be_path);
        (void)xenstored::rm(v->fe_path);
        format(why, why_size, "xenstore refused the device's directories");
        return -5;   // EIO
    }
    v->used = true;
    v->be_state = XenbusState::initialising;
    v->fe_seen = XenbusState::initialising;
    offer(*v);
    // As blkback's xenbus watch on the other end's state; its first event comes at once.
    format(v->watch_token, sizeof v->watch_token, "vbd-%u-%u", domid, devid);
    if (xenstored::watch_local(at(v->fe_path, "state"), v->watch_token, on_frontend_state, v) != xenstore::Err::none) {
        (void)xenstored::rm(v->be_path);
        (void)xenstored::rm(v->fe_path);
        v->used = false;
        format(why, why_size, "xenstore refused a watch on the frontend's state");
        return -5;   // EIO
    }
    return 0;
}

void remove_domain(uint16_t domid)
{
    for (Vbd& v : g_vbds) {
        if (!v.used || v.domid != domid) continue;
        (void)xenstored::unwatch_local(at(v.fe_path, "state"), v.watch_token);
        disconnect(v);
        (void)xenstored::rm(v.be_path);
        (void)xenstored::rm(v.fe_path);
        v.used = false;
    }
    char dir[48];
    format(dir, sizeof dir, "/local/domain/0/backend/vbd/%u", domid);
    (void)xenstored::rm(dir);
}

bool conflicts(const block::Extent& e, bool writable, uint16_t& domid)
{
    for (const Vbd& v : g_vbds) {
        if (!v.used || v.extent.disk != e.disk) continue;
        const bool overlap = v.extent.start < e.start + e.sectors && e.start < v.extent.start + v.extent.sectors;
        if (overlap && (writable || v.writable)) {
            domid = v.domid;
            return true;
        }
    }
    return false;
}

unsigned list(uint16_t domid, VbdInfo* out, unsigned max)
{
    unsigned n = 0;
    for (const Vbd& v : g_vbds) {
        if (!v.used || (domid != 0xffff && v.domid != domid) || n == max) continue;
        VbdInfo& i = out[n++];
        i = VbdInfo{};
        i.domid = v.domid;
        i.devid = v.devid;
        i.backend_state = static_cast<uint32_t>(v.be_state);
        uint64_t fs = 0;
        i.frontend_state = get_u(v.fe_path, "state", fs) ? static_cast<uint32_t>(fs) : 0;
        i.evtchn = v.connected ? v.remote_port : 0;
        i.ring_ref = v.connected ? v.ring_refs[0] : 0;
        i.writable = v.writable;
        i.extent = v.extent;
        format(i.vdev, sizeof i.vdev, "%s", v.vdev);
        format(i.target, sizeof i.target, "%s", v.target);
        format(i.be_path, sizeof i.be_path, "%s", v.be_path);
    }
    return n;
}

bool work_pending()
{
    if (g_more) return true;
    for (const Vbd& v : g_vbds)
        if (v.used && v.kick) return true;
    return false;
}

void poll()
{
    g_more = false;
    for (Vbd& v : g_vbds) {
        if (!v.used) continue;
        if (v.connected && !v.halted && v.kick) {
            v.kick = false;
            serve_ring(v);
        }
    }
}

}  // namespace dom0::blkback
