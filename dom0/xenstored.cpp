// See xenstored.hpp. One Conn per served domain: the mapped ring, the local
// port, the request being collected and the replies waiting for rsp[].
// dom0's own watches' events wait in g_local (xenstore/local_watch).
#include "xenstored.hpp"

#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "../vmm/abi/menhir.hpp"
#include "domctl.hpp"
#include "gfn_pool.hpp"
#include "terminal.hpp"
#include "xenstore/local_watch.hpp"
#include "xenstore/protocol.hpp"
#include "xenstore/ring.hpp"

using namespace guest;
namespace abi = menhir::abi;
using xenstore::Err;
using xenstore::Str;

namespace dom0::xenstored {
namespace {

constexpr uint64_t PAGE = 4096;
constexpr uint32_t max_conns = 64;
// Requests served per ring per poll: a busy domain cannot starve the others.
constexpr uint32_t budget = 32;
constexpr long ENOENT_ = -2, EEXIST_ = -17, EINVAL_ = -22, ENOSPC_ = -28;

struct Conn {
    bool used;
    bool dead;        // dropped: no longer served, kept until the domain goes
    bool kick;        // an event arrived or work is left
    uint16_t domid;
    uint32_t local_port;
    uint64_t local_gfn;
    volatile xenstore::RingInterface* ring;
    char name[32];
    xenstore::Inbox in;
    xenstore::Outbox out;
};

xenstore::Store g_store;
Conn g_conns[max_conns];
xenstore::LocalWatches g_local;
volatile bool g_dom_exc;
bool g_started;

Str S(const char* s) { return Str{s, static_cast<uint32_t>(str_len(s))}; }

Conn* conn_of(uint16_t domid)
{
    for (Conn& c : g_conns)
        if (c.used && c.domid == domid) return &c;
    return nullptr;
}

void on_ring(uint32_t, void* ctx) { static_cast<Conn*>(ctx)->kick = true; }

// Store events to the watcher's outbox, or to dom0's queue.
void sink(void*, uint16_t domid, Str path, Str token)
{
    if (domid == 0) {
        g_local.event(path, token);
        return;
    }
    Conn* c = conn_of(domid);
    if (!c || c->dead) return;
    if (!xenstore::push_event(c->out, path, token)) ++c->out.dropped_events;
    c->kick = true;
}

void stop(Conn& c)
{
    if (c.local_port) (void)ev::close(c.local_port);
    if (c.ring) gfn_pool::unmap_ring(c.local_gfn);
    c.ring = nullptr;
    c.local_port = 0;
}

void drop(Conn& c, const char* why)
{
    terminal::async_output();
    print("xenstored: d%u (%s): connection dropped: %s\n", c.domid, c.name, why);
    stop(c);
    c.dead = true;
    g_store.reset_watches(c.domid);   // its watches and transactions go; its nodes stay until release
}

bool get_param(uint16_t dom, uint32_t index, uint64_t& value)
{
    xen::xen_hvm_param p{};
    p.domid = dom;
    p.index = index;
    if (hvm_op(xen::HVMOP_get_param, &p) != 0) return false;
    value = p.value;
    return true;
}

// Writes `value` at "PREFIX/rel" (dom0's own write, no checks).
char g_path[256];
void put(const char* prefix, const char* rel, const char* value)
{
    format(g_path, sizeof g_path, "%s/%s", prefix, rel);
    (void)g_store.write(0, 0, S(g_path), S(value));
}
void perms(const char* prefix, const char* rel, uint16_t owner, uint16_t reader)
{
    if (rel) format(g_path, sizeof g_path, "%s/%s", prefix, rel);
    else format(g_path, sizeof g_path, "%s", prefix);
    xenstore::Perm p[2] = {{owner, 0}, {reader, xenstore::perm_read}};
    (void)g_store.set_perms(0, 0, S(g_path), p, reader == owner ? 1 : 2);
}

// The layout xl writes (libxl's domain creation): the home and vm/ owned
// by dom0 and readable by the domain; the directories the domain's
// drivers write owned by it.
void write_layout(uint16_t domid, const char* name, const abi::DomainInfo& info, uint64_t gfn, uint32_t port)
{
    char home[32], vm[24], v[32];
    format(home, sizeof home, "/local/domain/%u", domid);
    format(vm, sizeof vm, "/vm/%u", domid);
    (void)g_store.rm(0, 0, S(home));
    (void)g_store.mkdir(0, 0, S(home));
    perms(home, nullptr, 0, domid);
    (void)g_store.mkdir(0, 0, S(vm));
    perms(vm, nullptr, 0, domid);
    put(vm, "name", name);
    put(home, "vm", vm);
    put(home, "name", name);
    format(v, sizeof v, "%u", domid);
    put(home, "domid", v);
    format(v, sizeof v, "%llu", static_cast<unsigned long long>(info.memory_kb));
    put(home, "memory/static-max", v);
    put(home, "memory/target", v);
    for (uint32_t k = 0; k < info.vcpus && k < 64; ++k) {
        char rel[32];
        format(rel, sizeof rel, "cpu/%u/availability", k);
        put(home, rel, "online");
    }
    format(v, sizeof v, "%llu", static_cast<unsigned long long>(gfn));
    put(home, "store/ring-ref", v);
    format(v, sizeof v, "%u", port);
    put(home, "store/port", v);
    uint64_t cpfn = 0, cport = 0;
    if (get_param(domid, xen::HVM_PARAM_CONSOLE_PFN, cpfn) && cpfn &&
        get_param(domid, xen::HVM_PARAM_CONSOLE_EVTCHN, cport)) {
        format(v, sizeof v, "%llu", static_cast<unsigned long long>(cpfn));
        put(home, "console/ring-ref", v);
        format(v, sizeof v, "%llu", static_cast<unsigned long long>(cport));
        put(home, "console/port", v);
        put(home, "console/type", "xenconsoled");
        put(home, "console/limit", "1048576");
    }
    static const char* const controls[] = {"control/shutdown", "control/feature-poweroff", "control/feature-reboot",
                                           "control/feature-suspend", "control/sysrq"};
    for (const char* f : controls) {
        put(home, f, "");
        perms(home, f, domid, domid);
    }
    static const char* const owned[] = {"device", "data", "drivers", "feature", "attr", "error", "console"};
    for (const char* d : owned) {
        format(g_path, sizeof g_path, "%s/%s", home, d);
        (void)g_store.mkdir(0, 0, S(g_path));
        perms(home, d, domid, domid);
    }
}

Err hook_introduce(void*, uint16_t domid, uint64_t gfn, uint32_t port)
{
    const long rc = introduce(domid, gfn, port, nullptr);
    return rc == 0 ? Err::none : rc == EEXIST_ ? Err::eexist : rc == ENOENT_ ? Err::enoent : Err::einval;
}
Err hook_release(void*, uint16_t domid) { return release(domid) == 0 ? Err::none : Err::enoent; }
const xenstore::Hooks g_hooks{hook_introduce, hook_release, nullptr};

void serve(Conn& c)
{
    bool notify = false;
    for (uint32_t n = 0; n < budget && !c.dead; ++n) {
        bool moved = false;
        if (xenstore::flush(*c.ring, c.out, moved) == xenstore::Flush::hostile) {
            drop(c, "rsp_prod - rsp_cons exceeds the ring");
            return;
        }
        notify |= moved;
        const uint32_t before = c.in.cons;
        if (!xenstore::room_for_reply(c.out)) {
            // Replies pile up unread while more requests come: a flood.
            if (c.ring->req_prod != c.in.cons) drop(c, "floods requests without reading its replies");
            c.kick = false;   // until it reads replies and notifies us
            break;
        }
        const xenstore::PullResult r = xenstore::pull(*c.ring, c.in);
        notify |= c.in.cons != before;   // room in req[] for a writer that waits
        if (r.status == xenstore::Pull::hostile) {
            drop(c, r.why);
            return;
        }
        if (r.status == xenstore::Pull::idle) {
            c.kick = false;
            break;
        }
        (void)xenstore::handle(g_store, c.domid, c.in.hdr, c.in.payload, c.out, &g_hooks);
        xenstore::done(c.in);
    }
    if (c.dead) return;
    bool moved = false;
    if (xenstore::flush(*c.ring, c.out, moved) == xenstore::Flush::hostile) {
        drop(c, "rsp_prod - rsp_cons exceeds the ring");
        return;
    }
    if (notify || moved) (void)ev::send(c.local_port);
}

void reap_dead_domains()
{
    for (Conn& c : g_conns) {
        if (!c.used) continue;
        abi::Domctl d = domctl_op(abi::DomctlCmd::get_info, c.domid);
        const long rc = domctl(&d);
        if (rc == 0 && (d.u.info.state == static_cast<uint8_t>(abi::DomainStateAbi::running) ||
                        d.u.info.state == static_cast<uint8_t>(abi::DomainStateAbi::paused)))
            continue;
        const uint16_t id = c.domid;
        (void)release(id);
        terminal::async_output();
        print("xenstored: d%u is gone, released\n", id);
    }
}

} // namespace

xenstore::Store& store() { return g_store; }

long introduce(uint16_t domid, uint64_t gfn, uint32_t port, const char* name)
{
    if (domid == 0 || domid >= xen::DOMID_FIRST_RESERVED) return EINVAL_;
    if (conn_of(domid)) return EEXIST_;
    abi::Domctl d = domctl_op(abi::DomctlCmd::get_info, domid);
    if (domctl(&d) != 0) return ENOENT_;
    Conn* c = nullptr;
    for (Conn& k : g_conns)
        if (!k.used) { c = &k; break; }
    if (!c) return ENOSPC_;
    __builtin_memset(static_cast<void*>(c), 0, sizeof *c);
    c->domid = domid;
    format(c->name, sizeof c->name, "%s", name ? name : d.u.info.name);
    uint64_t local = 0;
    const long mrc = gfn_pool::map_ring(domid, gfn, local);
    if (mrc != 0) {
        print("xenstored: d%u: cannot map its store page 0x%llx: %ld\n", domid, static_cast<unsigned long long>(gfn), mrc);
        return mrc < 0 ? mrc : EINVAL_;
    }
    const long lp = ev::bind_interdomain(domid, port);
    if (lp <= 0) {
        gfn_pool::unmap_ring(local);
        print("xenstored: d%u: cannot bind its store port %u: %ld\n", domid, port, lp);
        return lp < 0 ? lp : EINVAL_;
    }
    c->local_gfn = local;
    c->local_port = static_cast<uint32_t>(lp);
    c->ring = reinterpret_cast<volatile xenstore::RingInterface*>(local * PAGE);
    // Indices a client wrote before we came are taken as they are (it may
    // already have queued a request); ours start from what the page says.
    c->in.cons = c->ring->req_cons;
    c->out.prod = c->ring->rsp_prod;
    c->ring->server_features = 0;
    c->ring->connection = xenstore::connected;
    c->used = true;
    c->kick = true;
    ev::clear_pending(c->local_port);
    ev::set_handler(c->local_port, on_ring, c);
    write_layout(domid, c->name, d.u.info, gfn, port);
    const Err e = g_store.introduce(domid);
    if (e != Err::none && e != Err::eexist) print("xenstored: d%u: introduce: %s\n", domid, xenstore::err_name(e));
    print("xenstored: introduced d%u (%s): store page 0x%llx, port %u (local port %u)\n", domid, c->name,
          static_cast<unsigned long long>(gfn), port, c->local_port);
    return 0;
}

long release(uint16_t domid)
{
    Conn* c = conn_of(domid);
    if (!c) return ENOENT_;
    stop(*c);
    c->used = false;
    char path[32];
    format(path, sizeof path, "/local/domain/%u", domid);
    (void)g_store.rm(0, 0, S(path));
    format(path, sizeof path, "/vm/%u", domid);
    (void)g_store.rm(0, 0, S(path));
    (void)g_store.release(domid);   // fires @releaseDomain
    return 0;
}

bool start()
{
    if (g_started) return true;
    g_store.init();
    g_store.set_sink(sink, nullptr);
    (void)g_store.write(0, 0, S("/local/domain/0/name"), S("Domain-0"));
    (void)g_store.write(0, 0, S("/local/domain/0/domid"), S("0"));
    g_started = true;
    static abi::DomainInfo list[64];
    abi::Sysctl s{};
    s.cmd = static_cast<uint32_t>(abi::SysctlCmd::domain_list);
    s.interface_version = abi::domctl_interface_version;
    s.u.list.first_domain = 1;
    s.u.list.max_domains = 64;
    s.u.list.buffer = reinterpret_cast<uintptr_t>(list);
    const long rc = sysctl(&s);
    const uint32_t n = rc == 0 ? s.u.list.num_domains : 0;
    for (uint32_t i = 0; i < n; ++i) {
        abi::Domctl d = domctl_op(abi::DomctlCmd::store_info, list[i].domain);
        if (domctl(&d) != 0) continue;
        (void)introduce(list[i].domain, d.u.store.gfn, d.u.store.port, list[i].name);
    }
    print("xenstored: serving %u domain%s\n", n, n == 1 ? "" : "s");
    return true;
}

bool pending()
{
    if (g_dom_exc || g_local.pending()) return true;
    for (const Conn& c : g_conns)
        if (c.used && !c.dead && c.kick) return true;
    return false;
}

void poll()
{
    if (g_dom_exc) {
        g_dom_exc = false;
        reap_dead_domains();
    }
    for (Conn& c : g_conns)
        if (c.used && !c.dead && c.kick) serve(c);
    g_local.deliver();
}

void domains_changed() { g_dom_exc = true; }

Err read(const char* path, char* out, uint32_t cap, uint32_t& len) { return g_store.read(0, 0, S(path), out, cap, len); }
Err write(const char* path, const char* value) { return g_store.write(0, 0, S(path), S(value)); }
Err mkdir(const char* path) { return g_store.mkdir(0, 0, S(path)); }
Err rm(const char* path) { return g_store.rm(0, 0, S(path)); }
Err set_perms(const char* path, const xenstore::Perm* p, uint32_t n) { return g_store.set_perms(0, 0, S(path), p, n); }

Err watch_local(const char* path, const char* token, LocalWatchFn fn, void* ctx)
{
    if (Err e = g_local.add(path, token, fn, ctx); e != Err::none) return e;
    const Err e = g_store.watch(0, S(path), S(token));   // its first event finds the watch in g_local
    if (e != Err::none) (void)g_local.remove(path, token);
    return e;
}

Err unwatch_local(const char* path, const char* token)
{
    if (Err e = g_local.remove(path, token); e != Err::none) return e;
    return g_store.unwatch(0, S(path), S(token));
}

} // namespace dom0::xenstored
