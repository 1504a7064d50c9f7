// See ring.hpp. Index loads are acquire and index stores release, so the
// bytes they cover are seen in order (Xen's ring protocol uses the same
// barriers around the index updates).
#include "ring.hpp"

namespace xenstore {
namespace {

uint32_t load(const volatile uint32_t& v) { return __atomic_load_n(&v, __ATOMIC_ACQUIRE); }
void store(volatile uint32_t& v, uint32_t x) { __atomic_store_n(&v, x, __ATOMIC_RELEASE); }

} // namespace

PullResult pull(volatile RingInterface& r, Inbox& in)
{
    const uint32_t prod = load(r.req_prod);
    uint32_t cons = in.cons;
    if (prod - cons > ring_size) return {Pull::hostile, "req_prod - req_cons exceeds the ring"};
    PullResult result{Pull::idle, nullptr};
    while (cons != prod) {
        char* dst;
        uint32_t need;
        if (in.have < sizeof(Header)) {
            dst = reinterpret_cast<char*>(&in.hdr) + in.have;
            need = sizeof(Header) - in.have;
        } else {
            dst = in.payload + (in.have - sizeof(Header));
            need = sizeof(Header) + in.hdr.len - in.have;
        }
        uint32_t k = prod - cons < need ? prod - cons : need;
        for (uint32_t i = 0; i < k; ++i) dst[i] = r.req[(cons + i) & (ring_size - 1)];
        cons += k;
        in.have += k;
        if (in.have == sizeof(Header) && in.hdr.len > payload_max) {
            result = {Pull::hostile, "message longer than XENSTORE_PAYLOAD_MAX"};
            break;
        }
        if (in.have >= sizeof(Header) && in.have == sizeof(Header) + in.hdr.len) {
            result = {Pull::message, nullptr};
            break;
        }
    }
    in.cons = cons;
    store(r.req_cons, cons);
    return result;
}

bool push(Outbox& o, const Header& h, const char* a, uint32_t an, const char* b, uint32_t bn)
{
    const uint32_t total = sizeof h + an + bn;
    if (Outbox::capacity - o.len < total) return false;
    auto put = [&](const char* p, uint32_t n) {
        for (uint32_t i = 0; i < n; ++i) o.buf[(o.head + o.len + i) % Outbox::capacity] = p[i];
        o.len += n;
    };
    put(reinterpret_cast<const char*>(&h), sizeof h);
    put(a, an);
    if (b) put(b, bn);
    return true;
}

Flush flush(volatile RingInterface& r, Outbox& o, bool& moved)
{
    moved = false;
    const uint32_t cons = load(r.rsp_cons);
    uint32_t prod = o.prod;
    if (prod - cons > ring_size) return Flush::hostile;
    uint32_t room = ring_size - (prod - cons);
    while (room && o.len) {
        r.rsp[prod & (ring_size - 1)] = o.buf[o.head];
        o.head = (o.head + 1) % Outbox::capacity;
        --o.len;
        ++prod;
        --room;
        moved = true;
    }
    o.prod = prod;
    if (moved) store(r.rsp_prod, prod);
    return Flush::ok;
}

} // namespace xenstore
