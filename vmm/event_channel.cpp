#include "vmm/event_channel.hpp"

namespace menhir::evtchn {
namespace {

namespace err = xen::err;

constexpr uint32_t bits_per_word = 64;

// Lowest free port, 0 if none (port 0 is reserved, so never free).
uint32_t find_free(const Table& t)
{
    for (uint32_t p = 1; p < max_ports; ++p)
        if (t.ports[p].state == State::free)
            return p;
    return 0;
}

// The virq_port row that holds a VIRQ bound for `vcpu`: global VIRQs are
// always found in vCPU 0's, however their notifications were moved.
uint32_t virq_row(uint32_t virq, uint32_t vcpu)
{
    return xen::virq_is_global(virq) ? 0 : vcpu;
}

// The table of domain `domid`, which may be t's own (loopback channels).
Table* find_table(Table& t, uint16_t domid, Lookup lookup, void* ctx)
{
    if (domid == t.domid)
        return &t;
    return lookup == nullptr ? nullptr : lookup(ctx, domid);
}

const Table* find_table(const Table& t, uint16_t domid, Lookup lookup, void* ctx)
{
    if (domid == t.domid)
        return &t;
    return lookup == nullptr ? nullptr : lookup(ctx, domid);
}

bool is_bound(State s)
{
    return s != State::free && s != State::reserved;
}

// ---- Atomic bit operations on the words the guest shares with us. ----

uint64_t bit(uint32_t port)
{
    return uint64_t{1} << (port % bits_per_word);
}

bool test_and_set(uint64_t& word, uint64_t mask)
{
    return (__atomic_fetch_or(&word, mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

bool test_and_clear(uint64_t& word, uint64_t mask)
{
    return (__atomic_fetch_and(&word, ~mask, __ATOMIC_SEQ_CST) & mask) != 0;
}

bool test(const uint64_t& word, uint64_t mask)
{
    return (__atomic_load_n(&word, __ATOMIC_SEQ_CST) & mask) != 0;
}

// The selector/upcall half of raising an event: the port's selector bit on
// the vCPU, then evtchn_upcall_pending (bit 0 of its byte). True only when
// this call made the upcall pending, so one notification per 0 -> 1 edge.
bool mark_pending(xen::VcpuInfo& vi, uint32_t port)
{
    if (test_and_set(vi.evtchn_pending_sel, uint64_t{1} << (port / bits_per_word)))
        return false;
    const uint8_t old = __atomic_fetch_or(&vi.evtchn_upcall_pending, uint8_t{1}, __ATOMIC_SEQ_CST);
    return (old & 1) == 0;
}

} // namespace

void Table::init(uint16_t id, uint32_t count)
{
    domid = id;
    vcpu_count = count == 0 ? 1 : (count > xen::legacy_max_vcpus ? xen::legacy_max_vcpus : count);
    for (Channel& c : ports)
        c = Channel{};
    ports[0].state = State::reserved;
    for (auto& row : virq_port)
        for (uint32_t& p : row)
            p = 0;
}

int64_t alloc_unbound(Table& t, uint16_t remote_dom, uint32_t& port)
{
    const uint32_t p = find_free(t);
    if (p == 0)
        return err::enospc;
    t.ports[p] = Channel{State::unbound, remote_dom, 0, 0, 0};
    port = p;
    return 0;
}

int64_t bind_interdomain(Table& local, Table& remote, uint32_t remote_port, uint32_t& local_port)
{
    if (remote_port >= max_ports)
        return err::einval;
    Channel& r = remote.ports[remote_port];
    if (r.state != State::unbound || r.remote_dom != local.domid)
        return err::einval;
    // r is not free, so in a loopback (local == remote) the new port differs from it.
    const uint32_t p = find_free(local);
    if (p == 0)
        return err::enospc;
    local.ports[p] = Channel{State::interdomain, remote.domid, remote_port, 0, 0};
    r.state = State::interdomain;
    r.remote_dom = local.domid;
    r.remote_port = p;
    local_port = p;
    return 0;
}

int64_t bind_virq(Table& t, uint32_t virq, uint32_t vcpu, uint32_t& port)
{
    if (virq >= xen::nr_virqs)
        return err::einval;
    if (xen::virq_is_global(virq) && vcpu != 0)
        return err::einval;
    if (vcpu >= t.vcpu_count)
        return err::enoent;
    uint32_t& slot = t.virq_port[virq_row(virq, vcpu)][virq];
    if (slot != 0)
        return err::eexist;
    const uint32_t p = find_free(t);
    if (p == 0)
        return err::enospc;
    t.ports[p] = Channel{State::virq, 0, 0, vcpu, virq};
    slot = p;
    port = p;
    return 0;
}

int64_t bind_ipi(Table& t, uint32_t vcpu, uint32_t& port)
{
    if (vcpu >= t.vcpu_count)
        return err::enoent;
    const uint32_t p = find_free(t);
    if (p == 0)
        return err::enospc;
    t.ports[p] = Channel{State::ipi, 0, 0, vcpu, 0};
    port = p;
    return 0;
}

int64_t bind_pirq(Table& t, uint32_t pirq, uint32_t& port)
{
    if (pirq_port(t, pirq) != 0)
        return err::eexist;
    const uint32_t p = find_free(t);
    if (p == 0)
        return err::enospc;
    t.ports[p] = Channel{State::pirq, 0, 0, 0, pirq};
    port = p;
    return 0;
}

int64_t close(Table& t, uint32_t port, Lookup lookup, void* ctx)
{
    if (port >= max_ports)
        return err::einval;
    Channel& c = t.ports[port];
    switch (c.state) {
    case State::free:
    case State::reserved:
        return err::einval;
    case State::unbound:
    case State::ipi:
    case State::pirq:
        break;
    case State::virq: {
        uint32_t& slot = t.virq_port[virq_row(c.virq, c.vcpu)][c.virq];
        if (slot == port)
            slot = 0;
        break;
    }
    case State::interdomain:
        if (Table* peer = find_table(t, c.remote_dom, lookup, ctx); peer != nullptr && c.remote_port < max_ports) {
            Channel& r = peer->ports[c.remote_port];
            // Only an end that still points back is ours to unbind.
            if (r.state == State::interdomain && r.remote_dom == t.domid && r.remote_port == port) {
                r.state = State::unbound;
                r.remote_dom = t.domid;
                r.remote_port = 0;
            }
        }
        break;
    }
    c = Channel{};
    return 0;
}

void close_all(Table& t, Lookup lookup, void* ctx)
{
    for (uint32_t p = 1; p < max_ports; ++p)
        if (is_bound(t.ports[p].state))
            (void)close(t, p, lookup, ctx);
}

int64_t send(const Table& t, uint32_t port, Lookup lookup, void* ctx, Target& target)
{
    target = Target{false, 0, 0, 0};
    if (port >= max_ports)
        return err::einval;
    const Channel& c = t.ports[port];
    switch (c.state) {
    case State::unbound:
        return 0;
    case State::ipi:
        target = Target{true, t.domid, port, c.vcpu};
        return 0;
    case State::interdomain: {
        const Table* peer = find_table(t, c.remote_dom, lookup, ctx);
        if (peer == nullptr || c.remote_port >= max_ports)
            return 0;   // the peer is gone: nobody to notify
        target = Target{true, c.remote_dom, c.remote_port, peer->ports[c.remote_port].vcpu};
        return 0;
    }
    default:
        return err::einval;
    }
}

int64_t bind_vcpu(Table& t, uint32_t port, uint32_t vcpu)
{
    if (vcpu >= t.vcpu_count)
        return err::enoent;
    if (port >= max_ports)
        return err::einval;
    Channel& c = t.ports[port];
    switch (c.state) {
    case State::virq:
        // A per-vCPU VIRQ (TIMER, DEBUG) is raised by its own vCPU only.
        if (!xen::virq_is_global(c.virq))
            return err::einval;
        break;
    case State::unbound:
    case State::interdomain:
    case State::pirq:
        break;
    default:
        return err::einval;
    }
    c.vcpu = vcpu;
    return 0;
}

int64_t status(const Table& t, uint32_t port, xen::EvtchnStatus& out)
{
    if (port >= max_ports)
        return err::einval;
    const Channel& c = t.ports[port];
    out.u = {};
    out.vcpu = c.vcpu;
    switch (c.state) {
    case State::free:
    case State::reserved:
        out.status = xen::evtchnstat_closed;
        break;
    case State::unbound:
        out.status = xen::evtchnstat_unbound;
        out.u.unbound.dom = c.remote_dom;
        break;
    case State::interdomain:
        out.status = xen::evtchnstat_interdomain;
        out.u.interdomain.dom = c.remote_dom;
        out.u.interdomain.port = c.remote_port;
        break;
    case State::virq:
        out.status = xen::evtchnstat_virq;
        out.u.virq = c.virq;
        break;
    case State::ipi:
        out.status = xen::evtchnstat_ipi;
        break;
    case State::pirq:
        out.status = xen::evtchnstat_pirq;
        out.u.pirq = c.virq;
        break;
    }
    return 0;
}

uint32_t virq_port(const Table& t, uint32_t virq, uint32_t vcpu)
{
    if (virq >= xen::nr_virqs || vcpu >= xen::legacy_max_vcpus)
        return 0;
    return t.virq_port[vcpu][virq];
}

Target virq_target(const Table& t, uint32_t virq, uint32_t vcpu)
{
    if (virq >= xen::nr_virqs || vcpu >= t.vcpu_count)
        return Target{false, 0, 0, 0};
    const uint32_t p = t.virq_port[virq_row(virq, vcpu)][virq];
    if (p == 0)
        return Target{false, 0, 0, 0};
    return Target{true, t.domid, p, t.ports[p].vcpu};
}

uint32_t pirq_port(const Table& t, uint32_t pirq)
{
    for (uint32_t p = 1; p < max_ports; ++p)
        if (t.ports[p].state == State::pirq && t.ports[p].virq == pirq)
            return p;
    return 0;
}

bool set_pending(xen::SharedInfo& shared, xen::VcpuInfo& vcpu_info, uint32_t port)
{
    if (port >= xen::evtchn_2l_ports)
        return false;
    const uint32_t w = port / bits_per_word;
    if (test_and_set(shared.evtchn_pending[w], bit(port)))
        return false;   // already pending: the guest has been (or will be) told
    if (test(shared.evtchn_mask[w], bit(port)))
        return false;   // masked: unmask delivers it
    return mark_pending(vcpu_info, port);
}

bool set_pending(xen::SharedInfo& shared, uint32_t port, uint32_t vcpu)
{
    if (vcpu >= xen::legacy_max_vcpus)
        return false;
    return set_pending(shared, shared.vcpu_info[vcpu], port);
}

bool unmask(xen::SharedInfo& shared, xen::VcpuInfo& vcpu_info, uint32_t port)
{
    if (port >= xen::evtchn_2l_ports)
        return false;
    const uint32_t w = port / bits_per_word;
    // Only an unmask that cleared the bit delivers: if the port was not
    // masked, set_pending already raised the selector and upcall for it.
    if (!test_and_clear(shared.evtchn_mask[w], bit(port)))
        return false;
    if (!test(shared.evtchn_pending[w], bit(port)))
        return false;
    return mark_pending(vcpu_info, port);
}

bool unmask(xen::SharedInfo& shared, uint32_t port, uint32_t vcpu)
{
    if (vcpu >= xen::legacy_max_vcpus)
        return false;
    return unmask(shared, shared.vcpu_info[vcpu], port);
}

void clear_pending(xen::SharedInfo& shared, uint32_t port)
{
    if (port < xen::evtchn_2l_ports)
        (void)test_and_clear(shared.evtchn_pending[port / bits_per_word], bit(port));
}

bool is_pending(const xen::SharedInfo& shared, uint32_t port)
{
    return port < xen::evtchn_2l_ports && test(shared.evtchn_pending[port / bits_per_word], bit(port));
}

bool is_masked(const xen::SharedInfo& shared, uint32_t port)
{
    return port < xen::evtchn_2l_ports && test(shared.evtchn_mask[port / bits_per_word], bit(port));
}

} // namespace menhir::evtchn
