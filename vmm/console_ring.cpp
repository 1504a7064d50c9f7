#include "vmm/console_ring.hpp"

namespace menhir::conring {
namespace {

uint32_t load(const xen::XenconsRingIdx& idx) { return __atomic_load_n(&idx, __ATOMIC_ACQUIRE); }
void store(xen::XenconsRingIdx& idx, uint32_t v) { __atomic_store_n(&idx, v, __ATOMIC_RELEASE); }

} // namespace

Drained drain_out(xen::XenconsInterface& ring, char* dst, uint32_t max)
{
    const uint32_t cons = load(ring.out_cons);
    const uint32_t prod = load(ring.out_prod);
    // Unsigned difference: correct across the 2^32 wrap, and huge for a
    // producer "behind" its consumer.
    const uint32_t pending = prod - cons;
    if (pending > xen::xencons_out_size) return Drained{Status::hostile, 0};
    const uint32_t n = pending < max ? pending : max;
    for (uint32_t i = 0; i < n; ++i)
        dst[i] = __atomic_load_n(&ring.out[(cons + i) & (xen::xencons_out_size - 1)], __ATOMIC_RELAXED);
    store(ring.out_cons, cons + n);   // release: the bytes are read before the guest may reuse them
    return Drained{Status::ok, n};
}

Put put_in(xen::XenconsInterface& ring, char c)
{
    const uint32_t cons = load(ring.in_cons);
    const uint32_t prod = load(ring.in_prod);
    const uint32_t queued = prod - cons;
    if (queued > xen::xencons_in_size) return Put::hostile;
    if (queued == xen::xencons_in_size) return Put::full;
    __atomic_store_n(&ring.in[prod & (xen::xencons_in_size - 1)], c, __ATOMIC_RELAXED);
    store(ring.in_prod, prod + 1);   // release: the byte is visible before the index
    return Put::stored;
}

} // namespace menhir::conring
