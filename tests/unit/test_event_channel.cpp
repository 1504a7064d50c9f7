#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "vmm/event_channel.hpp"

using namespace menhir;
using namespace menhir::evtchn;
namespace err = menhir::xen::err;

namespace {

// A few domains' tables, found by id like the hypervisor's domain list.
struct World {
    std::vector<std::unique_ptr<Table>> tables;

    Table& add(uint16_t domid, uint32_t vcpus)
    {
        tables.push_back(std::make_unique<Table>());
        tables.back()->init(domid, vcpus);
        return *tables.back();
    }
    Table* find(uint16_t domid)
    {
        for (auto& t : tables)
            if (t->domid == domid)
                return t.get();
        return nullptr;
    }
    void remove(uint16_t domid)
    {
        for (auto it = tables.begin(); it != tables.end(); ++it)
            if ((*it)->domid == domid) {
                tables.erase(it);
                return;
            }
    }
    static Table* lookup(void* ctx, uint16_t domid) { return static_cast<World*>(ctx)->find(domid); }
};

uint32_t row_of(uint32_t virq, uint32_t vcpu)
{
    return xen::virq_is_global(virq) ? 0 : vcpu;
}

// Every invariant the model promises, over all tables of the world. Returns
// the first violation ("" if none); plain code, as it runs thousands of times.
std::string violation(World& w)
{
    auto where = [](const Table& t, uint32_t p, const char* what) {
        return "domain " + std::to_string(t.domid) + " port " + std::to_string(p) + ": " + what;
    };
    for (auto& tp : w.tables) {
        const Table& t = *tp;
        if (t.ports[0].state != State::reserved)
            return where(t, 0, "port 0 not reserved");
        std::vector<uint32_t> pirqs;
        for (uint32_t p = 1; p < max_ports; ++p) {
            const Channel& c = t.ports[p];
            if (c.state == State::reserved)
                return where(t, p, "reserved");
            if (c.vcpu >= t.vcpu_count)
                return where(t, p, "vcpu out of range");
            switch (c.state) {
            case State::free:
                if (c.remote_dom != 0 || c.remote_port != 0 || c.vcpu != 0 || c.virq != 0)
                    return where(t, p, "free but not cleared");
                break;
            case State::interdomain: {
                Table* peer = w.find(c.remote_dom);
                if (peer == nullptr)
                    return where(t, p, "peer domain does not exist");
                if (c.remote_port == 0 || c.remote_port >= max_ports)
                    return where(t, p, "bad remote port");
                const Channel& r = peer->ports[c.remote_port];
                if (r.state != State::interdomain || r.remote_dom != t.domid || r.remote_port != p)
                    return where(t, p, "peer does not point back");
                break;
            }
            case State::virq:
                if (c.virq >= xen::nr_virqs)
                    return where(t, p, "bad virq");
                if (t.virq_port[row_of(c.virq, c.vcpu)][c.virq] != p)
                    return where(t, p, "virq channel not in virq_port");
                break;
            case State::pirq:
                for (uint32_t q : pirqs)
                    if (q == c.virq)
                        return where(t, p, "pirq bound twice");
                pirqs.push_back(c.virq);
                break;
            default:
                break;
            }
        }
        for (uint32_t v = 0; v < xen::legacy_max_vcpus; ++v)
            for (uint32_t virq = 0; virq < xen::nr_virqs; ++virq) {
                const uint32_t p = t.virq_port[v][virq];
                if (p == 0)
                    continue;
                if (p >= max_ports || t.ports[p].state != State::virq || t.ports[p].virq != virq ||
                    row_of(virq, t.ports[p].vcpu) != v || v >= t.vcpu_count)
                    return where(t, p, ("virq_port slot of vcpu " + std::to_string(v) + " virq " +
                                        std::to_string(virq) + " is wrong").c_str());
            }
    }
    return "";
}

void check_invariants(World& w)
{
    const std::string v = violation(w);
    INFO(v);
    REQUIRE(v.empty());
}

uint32_t used_ports(const Table& t)
{
    uint32_t n = 0;
    for (uint32_t p = 1; p < max_ports; ++p)
        n += t.ports[p].state != State::free;
    return n;
}

void fill(Table& t)
{
    uint32_t port = 0;
    while (alloc_unbound(t, 0, port) == 0) {
    }
    REQUIRE(used_ports(t) == max_ports - 1);
}

xen::EvtchnStatus status_of(const Table& t, uint32_t port)
{
    xen::EvtchnStatus s{};
    REQUIRE(status(t, port, s) == 0);
    return s;
}

std::unique_ptr<xen::SharedInfo> new_shared()
{
    return std::make_unique<xen::SharedInfo>();   // value-initialised: all zero
}

void mask(xen::SharedInfo& s, uint32_t port)
{
    s.evtchn_mask[port / 64] |= uint64_t{1} << (port % 64);
}

} // namespace

TEST_CASE("init reserves port 0 and clamps the vCPU count", "[evtchn]")
{
    World w;
    Table& t = w.add(3, 4);
    CHECK(t.domid == 3);
    CHECK(t.vcpu_count == 4);
    CHECK(t.ports[0].state == State::reserved);
    CHECK(used_ports(t) == 0);
    CHECK(status_of(t, 0).status == xen::evtchnstat_closed);
    CHECK(status_of(t, 1).status == xen::evtchnstat_closed);

    t.init(4, 0);
    CHECK(t.vcpu_count == 1);
    t.init(4, 1000);
    CHECK(t.vcpu_count == xen::legacy_max_vcpus);

    // init wipes what was there.
    uint32_t port = 0;
    REQUIRE(bind_virq(t, xen::virq_timer, 2, port) == 0);
    t.init(4, 2);
    CHECK(used_ports(t) == 0);
    CHECK(virq_port(t, xen::virq_timer, 2) == 0);
    check_invariants(w);
}

TEST_CASE("alloc_unbound hands out the lowest free port, never 0, and reuses closed ones", "[evtchn]")
{
    World w;
    Table& t = w.add(1, 1);
    uint32_t a = 0, b = 0, c = 0;
    REQUIRE(alloc_unbound(t, 0, a) == 0);
    REQUIRE(alloc_unbound(t, 2, b) == 0);
    REQUIRE(alloc_unbound(t, 1, c) == 0);   // the domain itself may be the remote
    CHECK(a == 1);
    CHECK(b == 2);
    CHECK(c == 3);
    CHECK(t.ports[b].state == State::unbound);
    CHECK(t.ports[b].remote_dom == 2);
    CHECK(t.ports[b].vcpu == 0);
    const xen::EvtchnStatus s = status_of(t, b);
    CHECK(s.status == xen::evtchnstat_unbound);
    CHECK(s.u.unbound.dom == 2);
    CHECK(s.vcpu == 0);

    REQUIRE(close(t, b, World::lookup, &w) == 0);
    CHECK(t.ports[b].state == State::free);
    uint32_t d = 0;
    REQUIRE(alloc_unbound(t, 5, d) == 0);
    CHECK(d == b);
    CHECK(t.ports[d].remote_dom == 5);
    check_invariants(w);
}

TEST_CASE("a full table refuses every kind of bind with -ENOSPC", "[evtchn]")
{
    World w;
    Table& t = w.add(1, 2);
    Table& r = w.add(2, 1);
    uint32_t rp = 0;
    REQUIRE(alloc_unbound(r, 1, rp) == 0);
    fill(t);
    for (uint32_t p = 1; p < max_ports; ++p)
        CHECK(t.ports[p].state == State::unbound);

    uint32_t port = 1234;
    CHECK(alloc_unbound(t, 0, port) == err::enospc);
    CHECK(bind_virq(t, xen::virq_timer, 1, port) == err::enospc);
    CHECK(bind_virq(t, xen::virq_console, 0, port) == err::enospc);
    CHECK(bind_ipi(t, 0, port) == err::enospc);
    CHECK(bind_pirq(t, 9, port) == err::enospc);
    CHECK(bind_interdomain(t, r, rp, port) == err::enospc);
    CHECK(port == 1234);   // untouched on failure
    CHECK(r.ports[rp].state == State::unbound);   // the remote end is untouched too
    CHECK(virq_port(t, xen::virq_timer, 1) == 0);
    CHECK(virq_port(t, xen::virq_console, 0) == 0);
    CHECK(pirq_port(t, 9) == 0);

    // One close makes room for exactly one more.
    REQUIRE(close(t, 700, World::lookup, &w) == 0);
    REQUIRE(bind_ipi(t, 1, port) == 0);
    CHECK(port == 700);
    CHECK(bind_ipi(t, 1, port) == err::enospc);
    check_invariants(w);
}

TEST_CASE("bind_interdomain connects both ends and sends land on the peer", "[evtchn]")
{
    World w;
    Table& d0 = w.add(0, 2);
    Table& d1 = w.add(1, 4);
    uint32_t filler = 0;
    REQUIRE(alloc_unbound(d1, 7, filler) == 0);   // so the two port numbers differ

    uint32_t rp = 0;
    REQUIRE(alloc_unbound(d0, 1, rp) == 0);
    REQUIRE(bind_vcpu(d0, rp, 1) == 0);   // the unbound end's vCPU survives binding
    uint32_t lp = 0;
    REQUIRE(bind_interdomain(d1, d0, rp, lp) == 0);
    CHECK(rp == 1);
    CHECK(lp == 2);

    CHECK(d1.ports[lp].state == State::interdomain);
    CHECK(d1.ports[lp].remote_dom == 0);
    CHECK(d1.ports[lp].remote_port == rp);
    CHECK(d1.ports[lp].vcpu == 0);
    CHECK(d0.ports[rp].state == State::interdomain);
    CHECK(d0.ports[rp].remote_dom == 1);
    CHECK(d0.ports[rp].remote_port == lp);
    CHECK(d0.ports[rp].vcpu == 1);

    xen::EvtchnStatus s = status_of(d1, lp);
    CHECK(s.status == xen::evtchnstat_interdomain);
    CHECK(s.u.interdomain.dom == 0);
    CHECK(s.u.interdomain.port == rp);
    CHECK(s.vcpu == 0);
    s = status_of(d0, rp);
    CHECK(s.status == xen::evtchnstat_interdomain);
    CHECK(s.u.interdomain.dom == 1);
    CHECK(s.u.interdomain.port == lp);
    CHECK(s.vcpu == 1);

    Target tg{};
    REQUIRE(send(d1, lp, World::lookup, &w, tg) == 0);
    CHECK(tg.valid);
    CHECK(tg.domid == 0);
    CHECK(tg.port == rp);
    CHECK(tg.vcpu == 1);

    REQUIRE(send(d0, rp, World::lookup, &w, tg) == 0);
    CHECK(tg.valid);
    CHECK(tg.domid == 1);
    CHECK(tg.port == lp);
    CHECK(tg.vcpu == 0);

    // Moving the receiving end moves where sends land.
    REQUIRE(bind_vcpu(d1, lp, 3) == 0);
    REQUIRE(send(d0, rp, World::lookup, &w, tg) == 0);
    CHECK(tg.vcpu == 3);
    check_invariants(w);
}

TEST_CASE("bind_interdomain error paths", "[evtchn]")
{
    World w;
    Table& a = w.add(1, 1);
    Table& b = w.add(2, 1);
    Table& c = w.add(3, 1);
    uint32_t port = 77;

    uint32_t for_c = 0;
    REQUIRE(alloc_unbound(a, 3, for_c) == 0);
    CHECK(bind_interdomain(b, a, for_c, port) == err::einval);   // allows 3, not 2
    CHECK(bind_interdomain(b, a, 0, port) == err::einval);       // reserved
    CHECK(bind_interdomain(b, a, 5, port) == err::einval);       // free
    CHECK(bind_interdomain(b, a, max_ports, port) == err::einval);
    CHECK(bind_interdomain(b, a, ~0u, port) == err::einval);

    uint32_t ipi = 0, virq = 0, pirq = 0;
    REQUIRE(bind_ipi(a, 0, ipi) == 0);
    REQUIRE(bind_virq(a, xen::virq_console, 0, virq) == 0);
    REQUIRE(bind_pirq(a, 4, pirq) == 0);
    CHECK(bind_interdomain(b, a, ipi, port) == err::einval);
    CHECK(bind_interdomain(b, a, virq, port) == err::einval);
    CHECK(bind_interdomain(b, a, pirq, port) == err::einval);

    // Already bound by the allowed domain: a second bind fails.
    REQUIRE(bind_interdomain(c, a, for_c, port) == 0);
    uint32_t again = 99;
    CHECK(bind_interdomain(c, a, for_c, again) == err::einval);
    CHECK(again == 99);
    CHECK(used_ports(b) == 0);   // failures allocate nothing
    CHECK(used_ports(c) == 1);
    check_invariants(w);
}

TEST_CASE("a loopback channel inside one domain", "[evtchn]")
{
    World w;
    Table& t = w.add(4, 2);
    uint32_t a = 0, b = 0;
    REQUIRE(alloc_unbound(t, 4, a) == 0);
    REQUIRE(bind_interdomain(t, t, a, b) == 0);
    CHECK(a != b);
    Target tg{};
    REQUIRE(send(t, a, nullptr, nullptr, tg) == 0);   // no lookup needed for oneself
    CHECK(tg.valid);
    CHECK(tg.domid == 4);
    CHECK(tg.port == b);
    REQUIRE(send(t, b, nullptr, nullptr, tg) == 0);
    CHECK(tg.port == a);
    check_invariants(w);

    REQUIRE(close(t, b, nullptr, nullptr) == 0);
    CHECK(t.ports[a].state == State::unbound);
    CHECK(t.ports[a].remote_dom == 4);
    REQUIRE(bind_interdomain(t, t, a, b) == 0);
    check_invariants(w);
}

TEST_CASE("closing one end of an interdomain channel leaves the other unbound", "[evtchn]")
{
    World w;
    Table& back = w.add(0, 1);    // backend
    Table& front = w.add(1, 1);   // frontend
    Table& third = w.add(2, 1);

    uint32_t fp = 0, bp = 0;
    REQUIRE(alloc_unbound(front, 0, fp) == 0);
    REQUIRE(bind_interdomain(back, front, fp, bp) == 0);
    REQUIRE(bind_vcpu(front, fp, 0) == 0);

    SECTION("the binder closes: the allocator's end allows the binder again")
    {
        REQUIRE(close(back, bp, World::lookup, &w) == 0);
        CHECK(back.ports[bp].state == State::free);
        CHECK(front.ports[fp].state == State::unbound);
        CHECK(front.ports[fp].remote_dom == 0);
        CHECK(front.ports[fp].remote_port == 0);
        const xen::EvtchnStatus s = status_of(front, fp);
        CHECK(s.status == xen::evtchnstat_unbound);
        CHECK(s.u.unbound.dom == 0);
        check_invariants(w);

        // Sending on the now unbound end goes nowhere, without error.
        Target tg{true, 9, 9, 9};
        REQUIRE(send(front, fp, World::lookup, &w, tg) == 0);
        CHECK_FALSE(tg.valid);
        // Sending on the closed end is an error.
        CHECK(send(back, bp, World::lookup, &w, tg) == err::einval);

        uint32_t p = 0;
        CHECK(bind_interdomain(third, front, fp, p) == err::einval);   // not allowed
        REQUIRE(bind_interdomain(back, front, fp, p) == 0);             // the closer may rebind
        CHECK(p == bp);
        check_invariants(w);
    }
    SECTION("the allocator closes: the binder's end allows the allocator; a fresh port serves a third domain")
    {
        REQUIRE(close(front, fp, World::lookup, &w) == 0);
        CHECK(back.ports[bp].state == State::unbound);
        CHECK(back.ports[bp].remote_dom == 1);
        check_invariants(w);

        uint32_t p = 0;
        CHECK(bind_interdomain(third, back, bp, p) == err::einval);
        // The backend closes the stale end and offers a new port to domain 2.
        REQUIRE(close(back, bp, World::lookup, &w) == 0);
        uint32_t offer = 0;
        REQUIRE(alloc_unbound(back, 2, offer) == 0);
        CHECK(offer == bp);   // reused
        REQUIRE(bind_interdomain(third, back, offer, p) == 0);
        Target tg{};
        REQUIRE(send(third, p, World::lookup, &w, tg) == 0);
        CHECK(tg.valid);
        CHECK(tg.domid == 0);
        CHECK(tg.port == offer);
        REQUIRE(send(back, offer, World::lookup, &w, tg) == 0);
        CHECK(tg.domid == 2);
        CHECK(tg.port == p);
        check_invariants(w);
    }
    SECTION("the freed port number is reused by the closer's next bind")
    {
        REQUIRE(close(front, fp, World::lookup, &w) == 0);
        uint32_t p = 0;
        REQUIRE(bind_ipi(front, 0, p) == 0);
        CHECK(p == fp);
        CHECK(back.ports[bp].state == State::unbound);   // no confusion with the new port
        Target tg{};
        REQUIRE(send(back, bp, World::lookup, &w, tg) == 0);
        CHECK_FALSE(tg.valid);
        check_invariants(w);
    }
}

TEST_CASE("bind_virq success and error paths", "[evtchn]")
{
    World w;
    Table& t = w.add(1, 3);
    uint32_t port = 55;

    CHECK(bind_virq(t, xen::nr_virqs, 0, port) == err::einval);
    CHECK(bind_virq(t, ~0u, 0, port) == err::einval);
    CHECK(bind_virq(t, xen::virq_console, 1, port) == err::einval);   // global, not vCPU 0
    CHECK(bind_virq(t, xen::virq_console, 3, port) == err::einval);   // global check comes first
    CHECK(bind_virq(t, xen::virq_timer, 3, port) == err::enoent);
    CHECK(bind_virq(t, xen::virq_debug, 100, port) == err::enoent);
    CHECK(port == 55);
    CHECK(used_ports(t) == 0);

    // Per-vCPU VIRQs: one port per vCPU.
    uint32_t t0 = 0, t1 = 0, t2 = 0;
    REQUIRE(bind_virq(t, xen::virq_timer, 0, t0) == 0);
    REQUIRE(bind_virq(t, xen::virq_timer, 1, t1) == 0);
    REQUIRE(bind_virq(t, xen::virq_timer, 2, t2) == 0);
    CHECK(t0 != t1);
    CHECK(bind_virq(t, xen::virq_timer, 1, port) == err::eexist);
    CHECK(virq_port(t, xen::virq_timer, 0) == t0);
    CHECK(virq_port(t, xen::virq_timer, 1) == t1);
    CHECK(virq_port(t, xen::virq_timer, 2) == t2);
    CHECK(virq_port(t, xen::virq_debug, 1) == 0);
    CHECK(virq_port(t, xen::nr_virqs, 0) == 0);
    CHECK(virq_port(t, xen::virq_timer, xen::legacy_max_vcpus) == 0);
    CHECK(t.ports[t1].vcpu == 1);
    CHECK(t.ports[t1].virq == xen::virq_timer);

    const xen::EvtchnStatus s = status_of(t, t1);
    CHECK(s.status == xen::evtchnstat_virq);
    CHECK(s.u.virq == xen::virq_timer);
    CHECK(s.vcpu == 1);

    // Global VIRQ on vCPU 0 only.
    uint32_t con = 0;
    REQUIRE(bind_virq(t, xen::virq_console, 0, con) == 0);
    CHECK(bind_virq(t, xen::virq_console, 0, port) == err::eexist);
    CHECK(virq_port(t, xen::virq_console, 0) == con);

    // Sending on a VIRQ port is refused.
    Target tg{};
    CHECK(send(t, t1, nullptr, nullptr, tg) == err::einval);
    CHECK_FALSE(tg.valid);

    // Closing clears the binding and allows it again.
    REQUIRE(close(t, t1, nullptr, nullptr) == 0);
    CHECK(virq_port(t, xen::virq_timer, 1) == 0);
    CHECK(virq_port(t, xen::virq_timer, 0) == t0);
    REQUIRE(bind_virq(t, xen::virq_timer, 1, port) == 0);
    CHECK(port == t1);
    check_invariants(w);
}

TEST_CASE("raising VIRQs: virq_target follows global VIRQs moved by bind_vcpu", "[evtchn]")
{
    World w;
    Table& t = w.add(6, 4);
    uint32_t con = 0, tim = 0;
    REQUIRE(bind_virq(t, xen::virq_console, 0, con) == 0);
    REQUIRE(bind_virq(t, xen::virq_timer, 2, tim) == 0);

    Target tg = virq_target(t, xen::virq_console, 0);
    CHECK(tg.valid);
    CHECK(tg.domid == 6);
    CHECK(tg.port == con);
    CHECK(tg.vcpu == 0);

    REQUIRE(bind_vcpu(t, con, 3) == 0);
    CHECK(virq_port(t, xen::virq_console, 0) == con);   // still found in vCPU 0's row
    CHECK(virq_port(t, xen::virq_console, 3) == 0);
    tg = virq_target(t, xen::virq_console, 0);
    CHECK(tg.valid);
    CHECK(tg.vcpu == 3);
    // A global VIRQ is the same whichever vCPU raises it.
    tg = virq_target(t, xen::virq_console, 2);
    CHECK(tg.valid);
    CHECK(tg.port == con);
    // Binding the same global VIRQ again is still -EEXIST after the move.
    uint32_t port = 0;
    CHECK(bind_virq(t, xen::virq_console, 0, port) == err::eexist);

    tg = virq_target(t, xen::virq_timer, 2);
    CHECK(tg.valid);
    CHECK(tg.port == tim);
    CHECK(tg.vcpu == 2);
    CHECK_FALSE(virq_target(t, xen::virq_timer, 1).valid);
    CHECK_FALSE(virq_target(t, xen::virq_timer, 4).valid);   // no such vCPU
    CHECK_FALSE(virq_target(t, xen::nr_virqs, 0).valid);
    CHECK_FALSE(virq_target(t, xen::virq_dom_exc, 0).valid);

    // Closing a moved global VIRQ clears its vCPU 0 slot.
    REQUIRE(close(t, con, nullptr, nullptr) == 0);
    CHECK(virq_port(t, xen::virq_console, 0) == 0);
    CHECK_FALSE(virq_target(t, xen::virq_console, 0).valid);
    check_invariants(w);
}

TEST_CASE("bind_ipi sends come back to the domain's own vCPU", "[evtchn]")
{
    World w;
    Table& t = w.add(2, 2);
    uint32_t port = 8;
    CHECK(bind_ipi(t, 2, port) == err::enoent);
    CHECK(bind_ipi(t, ~0u, port) == err::enoent);
    CHECK(port == 8);

    uint32_t a = 0, b = 0;
    REQUIRE(bind_ipi(t, 1, a) == 0);
    REQUIRE(bind_ipi(t, 1, b) == 0);   // any number of IPI ports per vCPU
    CHECK(a != b);
    CHECK(t.ports[a].state == State::ipi);
    const xen::EvtchnStatus s = status_of(t, a);
    CHECK(s.status == xen::evtchnstat_ipi);
    CHECK(s.vcpu == 1);

    Target tg{};
    REQUIRE(send(t, a, nullptr, nullptr, tg) == 0);
    CHECK(tg.valid);
    CHECK(tg.domid == 2);
    CHECK(tg.port == a);
    CHECK(tg.vcpu == 1);

    CHECK(bind_vcpu(t, a, 0) == err::einval);   // IPIs do not move
    CHECK(t.ports[a].vcpu == 1);
    REQUIRE(close(t, a, nullptr, nullptr) == 0);
    CHECK(send(t, a, nullptr, nullptr, tg) == err::einval);
    check_invariants(w);
}

TEST_CASE("bind_pirq allows one port per pirq", "[evtchn]")
{
    World w;
    Table& t = w.add(0, 2);
    uint32_t a = 0, b = 0, port = 3;
    REQUIRE(bind_pirq(t, 16, a) == 0);
    REQUIRE(bind_pirq(t, 17, b) == 0);
    CHECK(bind_pirq(t, 16, port) == err::eexist);
    CHECK(port == 3);
    CHECK(pirq_port(t, 16) == a);
    CHECK(pirq_port(t, 17) == b);
    CHECK(pirq_port(t, 18) == 0);
    CHECK(t.ports[a].vcpu == 0);

    const xen::EvtchnStatus s = status_of(t, a);
    CHECK(s.status == xen::evtchnstat_pirq);
    CHECK(s.u.pirq == 16);

    Target tg{};
    CHECK(send(t, a, nullptr, nullptr, tg) == err::einval);
    REQUIRE(bind_vcpu(t, a, 1) == 0);
    CHECK(status_of(t, a).vcpu == 1);

    REQUIRE(close(t, a, nullptr, nullptr) == 0);
    CHECK(pirq_port(t, 16) == 0);
    REQUIRE(bind_pirq(t, 16, port) == 0);
    CHECK(port == a);
    CHECK(t.ports[port].vcpu == 0);   // a reused port starts afresh
    check_invariants(w);
}

TEST_CASE("close and send error paths", "[evtchn]")
{
    World w;
    Table& t = w.add(1, 1);
    CHECK(close(t, 0, World::lookup, &w) == err::einval);
    CHECK(close(t, 1, World::lookup, &w) == err::einval);
    CHECK(close(t, max_ports, World::lookup, &w) == err::einval);
    CHECK(close(t, ~0u, World::lookup, &w) == err::einval);
    uint32_t p = 0;
    REQUIRE(alloc_unbound(t, 0, p) == 0);
    REQUIRE(close(t, p, World::lookup, &w) == 0);
    CHECK(close(t, p, World::lookup, &w) == err::einval);   // twice
    CHECK(t.ports[0].state == State::reserved);

    Target tg{true, 1, 1, 1};
    CHECK(send(t, 0, World::lookup, &w, tg) == err::einval);   // reserved
    CHECK_FALSE(tg.valid);
    CHECK(send(t, 1, World::lookup, &w, tg) == err::einval);   // free
    CHECK(send(t, max_ports, World::lookup, &w, tg) == err::einval);
    CHECK(send(t, ~0u, World::lookup, &w, tg) == err::einval);
    check_invariants(w);
}

TEST_CASE("bind_vcpu moves only the ports Xen lets move", "[evtchn]")
{
    World w;
    Table& t = w.add(1, 3);
    Table& r = w.add(2, 1);
    uint32_t unbound = 0, inter = 0, rp = 0, pirq = 0, timer = 0, debug = 0, console = 0, ipi = 0;
    REQUIRE(alloc_unbound(t, 2, unbound) == 0);
    REQUIRE(alloc_unbound(r, 1, rp) == 0);
    REQUIRE(bind_interdomain(t, r, rp, inter) == 0);
    REQUIRE(bind_pirq(t, 3, pirq) == 0);
    REQUIRE(bind_virq(t, xen::virq_timer, 1, timer) == 0);
    REQUIRE(bind_virq(t, xen::virq_debug, 0, debug) == 0);
    REQUIRE(bind_virq(t, xen::virq_console, 0, console) == 0);
    REQUIRE(bind_ipi(t, 0, ipi) == 0);

    for (uint32_t p : {unbound, inter, pirq, console}) {
        INFO("port " << p);
        REQUIRE(bind_vcpu(t, p, 2) == 0);
        CHECK(t.ports[p].vcpu == 2);
        CHECK(status_of(t, p).vcpu == 2);
        CHECK(bind_vcpu(t, p, 3) == err::enoent);
        CHECK(bind_vcpu(t, p, ~0u) == err::enoent);
        CHECK(t.ports[p].vcpu == 2);
        REQUIRE(bind_vcpu(t, p, 0) == 0);
        CHECK(t.ports[p].vcpu == 0);
    }
    for (uint32_t p : {timer, debug, ipi, 0u, 100u, max_ports}) {
        INFO("port " << p);
        CHECK(bind_vcpu(t, p, 2) == err::einval);
    }
    CHECK(t.ports[timer].vcpu == 1);
    CHECK(bind_vcpu(t, 100, 9) == err::enoent);   // the vCPU is checked first
    check_invariants(w);
}

TEST_CASE("status reports every state and refuses out of range", "[evtchn]")
{
    World w;
    Table& t = w.add(1, 1);
    xen::EvtchnStatus s{};
    s.dom = 0x7ff0;
    s.port = 12;
    s.status = 99;
    CHECK(status(t, max_ports, s) == err::einval);
    CHECK(status(t, ~0u, s) == err::einval);
    CHECK(s.status == 99);   // untouched on error
    REQUIRE(status(t, 12, s) == 0);
    CHECK(s.status == xen::evtchnstat_closed);
    CHECK(s.vcpu == 0);
    CHECK(s.u.virq == 0);
    CHECK(s.dom == 0x7ff0);   // the caller's fields stay
    CHECK(s.port == 12);
    REQUIRE(status(t, 0, s) == 0);
    CHECK(s.status == xen::evtchnstat_closed);
}

TEST_CASE("close_all of a dying domain leaves no peer pointing at it", "[evtchn]")
{
    World w;
    Table& d0 = w.add(0, 2);
    Table& d1 = w.add(1, 2);
    Table& d2 = w.add(2, 2);
    uint32_t p = 0, q = 0;

    // d1 is connected to both others, in both directions of allocation, and to itself.
    for (int i = 0; i < 5; ++i) {
        REQUIRE(alloc_unbound(d0, 1, p) == 0);
        REQUIRE(bind_interdomain(d1, d0, p, q) == 0);
        REQUIRE(alloc_unbound(d1, 2, p) == 0);
        REQUIRE(bind_interdomain(d2, d1, p, q) == 0);
    }
    REQUIRE(alloc_unbound(d1, 1, p) == 0);
    REQUIRE(bind_interdomain(d1, d1, p, q) == 0);
    // d0 <-> d2, which must survive.
    uint32_t keep0 = 0, keep2 = 0;
    REQUIRE(alloc_unbound(d0, 2, keep0) == 0);
    REQUIRE(bind_interdomain(d2, d0, keep0, keep2) == 0);
    REQUIRE(bind_virq(d1, xen::virq_timer, 1, p) == 0);
    REQUIRE(bind_virq(d1, xen::virq_console, 0, p) == 0);
    REQUIRE(bind_ipi(d1, 1, p) == 0);
    REQUIRE(bind_pirq(d1, 5, p) == 0);
    REQUIRE(alloc_unbound(d1, 0, p) == 0);
    check_invariants(w);

    close_all(d1, World::lookup, &w);
    CHECK(used_ports(d1) == 0);
    CHECK(d1.ports[0].state == State::reserved);
    for (uint32_t v = 0; v < xen::legacy_max_vcpus; ++v)
        for (uint32_t virq = 0; virq < xen::nr_virqs; ++virq)
            CHECK(d1.virq_port[v][virq] == 0);
    w.remove(1);

    uint32_t unbound_for_1 = 0;
    for (auto& t : w.tables)
        for (uint32_t port = 1; port < max_ports; ++port) {
            const Channel& c = t->ports[port];
            if (c.state == State::interdomain)
                CHECK(c.remote_dom != 1);
            if (c.state == State::unbound && c.remote_dom == 1)
                ++unbound_for_1;
        }
    CHECK(unbound_for_1 == 10);   // every former peer falls back to unbound, as in Xen
    CHECK(d0.ports[keep0].state == State::interdomain);
    CHECK(d2.ports[keep2].state == State::interdomain);
    check_invariants(w);

    // close_all twice is harmless.
    close_all(d0, World::lookup, &w);
    close_all(d0, World::lookup, &w);
    CHECK(used_ports(d0) == 0);
    CHECK(d2.ports[keep2].state == State::unbound);
    CHECK(d2.ports[keep2].remote_dom == 0);
    check_invariants(w);
}

// ---- 2-level pending / mask / selector / upcall bits. ----

TEST_CASE("set_pending raises the selector and upcall once", "[evtchn]")
{
    auto s = new_shared();
    xen::VcpuInfo& v0 = s->vcpu_info[0];

    CHECK(set_pending(*s, 5, 0));
    CHECK(is_pending(*s, 5));
    CHECK(s->evtchn_pending[0] == uint64_t{1} << 5);
    CHECK(v0.evtchn_pending_sel == 1);
    CHECK(v0.evtchn_upcall_pending == 1);

    // Already pending: nothing more, not even a selector bit.
    CHECK_FALSE(set_pending(*s, 5, 0));
    // Another port of the same word: pending, but selector and upcall are already set.
    CHECK_FALSE(set_pending(*s, 9, 0));
    CHECK(is_pending(*s, 9));
    CHECK(v0.evtchn_pending_sel == 1);

    // The guest acknowledges the upcall but has not yet scanned the selector:
    // Xen raises no new upcall while the selector bit is still set.
    v0.evtchn_upcall_pending = 0;
    CHECK_FALSE(set_pending(*s, 10, 0));
    CHECK(v0.evtchn_upcall_pending == 0);

    // The guest consumes everything; the next event raises an upcall again.
    s->evtchn_pending[0] = 0;
    v0.evtchn_pending_sel = 0;
    CHECK(set_pending(*s, 10, 0));
    CHECK(v0.evtchn_upcall_pending == 1);

    // Selector set afresh for another word, but the upcall was still pending.
    CHECK_FALSE(set_pending(*s, 64, 0));
    CHECK(v0.evtchn_pending_sel == 0b11);
    CHECK(v0.evtchn_upcall_pending == 1);
}

TEST_CASE("set_pending: ports >= 64 use selector bit port / 64", "[evtchn]")
{
    auto s = new_shared();
    for (uint32_t port : {64u, 127u, 200u, 1023u, 4095u}) {
        INFO("port " << port);
        s = new_shared();
        CHECK(set_pending(*s, port, 3));
        CHECK(s->evtchn_pending[port / 64] == uint64_t{1} << (port % 64));
        CHECK(s->vcpu_info[3].evtchn_pending_sel == uint64_t{1} << (port / 64));
        CHECK(s->vcpu_info[3].evtchn_upcall_pending == 1);
        CHECK(s->vcpu_info[0].evtchn_pending_sel == 0);
        CHECK(s->vcpu_info[0].evtchn_upcall_pending == 0);
        for (uint32_t w = 0; w < 64; ++w)
            if (w != port / 64)
                CHECK(s->evtchn_pending[w] == 0);
    }
}

TEST_CASE("set_pending on a masked port defers to unmask", "[evtchn]")
{
    auto s = new_shared();
    mask(*s, 70);
    CHECK(is_masked(*s, 70));
    CHECK_FALSE(is_masked(*s, 71));

    CHECK_FALSE(set_pending(*s, 70, 1));
    CHECK(is_pending(*s, 70));
    CHECK(s->vcpu_info[1].evtchn_pending_sel == 0);
    CHECK(s->vcpu_info[1].evtchn_upcall_pending == 0);

    CHECK(unmask(*s, 70, 1));
    CHECK_FALSE(is_masked(*s, 70));
    CHECK(s->vcpu_info[1].evtchn_pending_sel == 0b10);
    CHECK(s->vcpu_info[1].evtchn_upcall_pending == 1);

    // Unmasking a port that is not masked does nothing, even if pending.
    s->vcpu_info[1].evtchn_pending_sel = 0;
    s->vcpu_info[1].evtchn_upcall_pending = 0;
    CHECK_FALSE(unmask(*s, 70, 1));
    CHECK(s->vcpu_info[1].evtchn_pending_sel == 0);
    CHECK(s->vcpu_info[1].evtchn_upcall_pending == 0);

    // Masked but not pending: the mask clears, nothing is raised.
    mask(*s, 3);
    CHECK_FALSE(unmask(*s, 3, 1));
    CHECK_FALSE(is_masked(*s, 3));
    CHECK(s->vcpu_info[1].evtchn_upcall_pending == 0);

    // Masked and pending, but the upcall is already pending: selector only.
    mask(*s, 130);
    CHECK_FALSE(set_pending(*s, 130, 1));
    s->vcpu_info[1].evtchn_upcall_pending = 1;
    CHECK_FALSE(unmask(*s, 130, 1));
    CHECK(s->vcpu_info[1].evtchn_pending_sel == 0b100);

    // Masked, pending, selector already set: no new upcall.
    s->vcpu_info[1].evtchn_upcall_pending = 0;
    mask(*s, 131);
    CHECK_FALSE(set_pending(*s, 131, 1));
    CHECK_FALSE(unmask(*s, 131, 1));
    CHECK(s->vcpu_info[1].evtchn_upcall_pending == 0);

    // Masking leaves the other bits of the word alone.
    CHECK(s->evtchn_mask[1] == 0);
    CHECK(s->evtchn_mask[2] == 0);
}

TEST_CASE("set_pending keeps vCPUs apart", "[evtchn]")
{
    auto s = new_shared();
    CHECK(set_pending(*s, 1, 0));
    CHECK(set_pending(*s, 65, 2));    // another vCPU gets its own upcall
    CHECK(set_pending(*s, 66, 31));
    CHECK_FALSE(set_pending(*s, 2, 2));   // vCPU 2's upcall already pending
    CHECK(s->vcpu_info[0].evtchn_pending_sel == 0b1);
    CHECK(s->vcpu_info[2].evtchn_pending_sel == 0b11);
    CHECK(s->vcpu_info[31].evtchn_pending_sel == 0b10);
    CHECK(s->vcpu_info[1].evtchn_pending_sel == 0);
    CHECK(s->vcpu_info[1].evtchn_upcall_pending == 0);
    CHECK(s->vcpu_info[31].evtchn_upcall_pending == 1);

    // Pending bits are per port, not per vCPU: a port pending for one vCPU is
    // not raised again for another.
    CHECK_FALSE(set_pending(*s, 1, 1));
    CHECK(s->vcpu_info[1].evtchn_upcall_pending == 0);
}

TEST_CASE("2-level helpers ignore ports and vCPUs out of range; clear_pending", "[evtchn]")
{
    auto s = new_shared();
    CHECK_FALSE(set_pending(*s, xen::evtchn_2l_ports, 0));
    CHECK_FALSE(set_pending(*s, 1, xen::legacy_max_vcpus));
    CHECK_FALSE(unmask(*s, xen::evtchn_2l_ports, 0));
    CHECK_FALSE(unmask(*s, 1, xen::legacy_max_vcpus));
    CHECK_FALSE(is_pending(*s, xen::evtchn_2l_ports));
    CHECK_FALSE(is_masked(*s, ~0u));
    clear_pending(*s, xen::evtchn_2l_ports);
    CHECK_FALSE(is_pending(*s, 1));   // the out-of-range vCPU set nothing
    for (const xen::VcpuInfo& v : s->vcpu_info) {
        CHECK(v.evtchn_pending_sel == 0);
        CHECK(v.evtchn_upcall_pending == 0);
    }

    CHECK(set_pending(*s, 100, 0));
    CHECK_FALSE(set_pending(*s, 101, 0));
    clear_pending(*s, 100);
    CHECK_FALSE(is_pending(*s, 100));
    CHECK(is_pending(*s, 101));
    // After clearing, the port can become pending (and raise nothing new while the upcall is up).
    CHECK_FALSE(set_pending(*s, 100, 0));
    CHECK(is_pending(*s, 100));
}

TEST_CASE("set_pending and unmask with a vcpu_info outside shared_info", "[evtchn]")
{
    auto s = new_shared();
    xen::VcpuInfo placed{};   // registered with VCPUOP_register_vcpu_info
    CHECK(set_pending(*s, placed, 300));
    CHECK(placed.evtchn_pending_sel == uint64_t{1} << 4);
    CHECK(placed.evtchn_upcall_pending == 1);
    CHECK(s->vcpu_info[0].evtchn_pending_sel == 0);
    CHECK(is_pending(*s, 300));

    placed = xen::VcpuInfo{};
    mask(*s, 301);
    CHECK_FALSE(set_pending(*s, placed, 301));
    CHECK(unmask(*s, placed, 301));
    CHECK(placed.evtchn_upcall_pending == 1);
    CHECK_FALSE(set_pending(*s, placed, xen::evtchn_2l_ports));
    CHECK_FALSE(unmask(*s, placed, xen::evtchn_2l_ports));
}

TEST_CASE("an interdomain send end to end through the bits", "[evtchn]")
{
    World w;
    Table& a = w.add(1, 2);
    Table& b = w.add(2, 2);
    auto sa = new_shared();
    auto sb = new_shared();
    for (uint32_t i = 0; i < 100; ++i) {   // push the ports past the first selector word
        uint32_t p = 0;
        REQUIRE(bind_ipi(b, 0, p) == 0);
    }
    uint32_t ap = 0, bp = 0;
    REQUIRE(alloc_unbound(a, 2, ap) == 0);
    REQUIRE(bind_interdomain(b, a, ap, bp) == 0);
    CHECK(bp == 101);
    REQUIRE(bind_vcpu(b, bp, 1) == 0);

    Target tg{};
    REQUIRE(send(a, ap, World::lookup, &w, tg) == 0);
    REQUIRE(tg.valid);
    REQUIRE(tg.domid == 2);
    CHECK(set_pending(*sb, tg.port, tg.vcpu));
    CHECK(is_pending(*sb, 101));
    CHECK(sb->vcpu_info[1].evtchn_pending_sel == 0b10);
    CHECK_FALSE(is_pending(*sa, ap));

    // Closing the end: the caller clears its pending bit.
    REQUIRE(close(b, bp, World::lookup, &w) == 0);
    clear_pending(*sb, bp);
    CHECK_FALSE(is_pending(*sb, bp));
}

TEST_CASE("randomized operations on three domains keep the invariants", "[evtchn]")
{
    for (uint32_t seed = 1; seed <= 20; ++seed) {
        INFO("seed " << seed);
        std::mt19937 rng(seed);
        World w;
        w.add(0, 1);
        w.add(1, 2);
        w.add(2, 4);
        auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
        // Mostly small port numbers so operations hit live ports; sometimes anything.
        auto any_port = [&]() { return pick(8) == 0 ? pick(max_ports + 4) : pick(40); };
        uint32_t ok = 0;

        for (int step = 0; step < 4000; ++step) {
            Table& t = *w.tables[pick(3)];
            Table& other = *w.tables[pick(3)];
            uint32_t port = 0;
            int64_t rc = 0;
            switch (pick(10)) {
            case 0:
            case 1:
                rc = alloc_unbound(t, static_cast<uint16_t>(pick(4)), port);   // domain 3 does not exist
                break;
            case 2:
            case 3: {
                const uint32_t rp = any_port();
                const bool allowed = rp < max_ports && other.ports[rp].state == State::unbound &&
                                     other.ports[rp].remote_dom == t.domid;
                rc = bind_interdomain(t, other, rp, port);
                if (!allowed)
                    CHECK(rc == err::einval);
                if (rc == 0) {
                    CHECK(other.ports[rp].remote_port == port);
                    Target tg{};
                    REQUIRE(send(t, port, World::lookup, &w, tg) == 0);
                    CHECK(tg.valid);
                    CHECK(tg.domid == other.domid);
                    CHECK(tg.port == rp);
                }
                break;
            }
            case 4:
                rc = bind_virq(t, pick(xen::nr_virqs + 1), pick(t.vcpu_count + 1), port);
                break;
            case 5:
                rc = bind_ipi(t, pick(t.vcpu_count + 1), port);
                break;
            case 6:
                rc = bind_pirq(t, pick(8), port);
                break;
            case 7:
            case 8: {
                const uint32_t p = any_port();
                const bool bound = p < max_ports && p != 0 && t.ports[p].state != State::free;
                rc = close(t, p, World::lookup, &w);
                CHECK((rc == 0) == bound);
                if (bound)
                    CHECK(t.ports[p].state == State::free);
                break;
            }
            default: {
                const uint32_t p = any_port();
                if (pick(2) == 0) {
                    rc = bind_vcpu(t, p, pick(t.vcpu_count + 1));
                } else {
                    Target tg{};
                    rc = send(t, p, World::lookup, &w, tg);
                    if (rc == 0 && tg.valid) {
                        Table* dst = w.find(tg.domid);
                        REQUIRE(dst != nullptr);
                        CHECK(tg.vcpu == dst->ports[tg.port].vcpu);
                        CHECK(tg.vcpu < dst->vcpu_count);
                    }
                }
                break;
            }
            }
            if (rc == 0 && port != 0)
                CHECK(port < max_ports);
            ok += rc == 0;
            if (step % 50 == 0)
                check_invariants(w);
        }
        check_invariants(w);
        CHECK(ok > 1000);

        // One domain dies; nobody is left pointing at it.
        const uint16_t dying = static_cast<uint16_t>(pick(3));
        close_all(*w.find(dying), World::lookup, &w);
        CHECK(used_ports(*w.find(dying)) == 0);
        w.remove(dying);
        for (auto& t : w.tables)
            for (const Channel& c : t->ports)
                if (c.state == State::interdomain)
                    CHECK(c.remote_dom != dying);
        check_invariants(w);
    }
}
