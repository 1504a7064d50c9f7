// The serial console's transmit ring (see tx_ring.hpp).
#include "kernel/tx_ring.hpp"

namespace menhir {

size_t TxRing::used() const
{
    // Tail first: head only grows, so head - tail never underflows.
    const uint64_t tail = __atomic_load_n(&tail_, __ATOMIC_ACQUIRE);
    const uint64_t head = __atomic_load_n(&head_, __ATOMIC_ACQUIRE);
    return static_cast<size_t>(head - tail);
}

uint64_t TxRing::queued() const { return __atomic_load_n(&head_, __ATOMIC_ACQUIRE); }

uint64_t TxRing::sent() const { return __atomic_load_n(&tail_, __ATOMIC_ACQUIRE); }

bool TxRing::push(const char* text, size_t length, size_t limit)
{
    if (limit > capacity_) limit = capacity_;
    const uint64_t head = head_;   // only the producer writes it
    const uint64_t tail = __atomic_load_n(&tail_, __ATOMIC_ACQUIRE);
    const size_t held = static_cast<size_t>(head - tail);
    if (text == nullptr || length > limit || held > limit - length) {
        dropped_ += length;
        return false;
    }
    const size_t mask = capacity_ - 1;
    for (size_t i = 0; i < length; ++i) buffer_[(head + i) & mask] = text[i];
    // The bytes are in place before the consumer can see the new head.
    __atomic_store_n(&head_, head + length, __ATOMIC_RELEASE);
    return true;
}

size_t TxRing::pop(char* out, size_t max)
{
    const uint64_t tail = tail_;   // only the consumer writes it
    const uint64_t head = __atomic_load_n(&head_, __ATOMIC_ACQUIRE);
    size_t n = static_cast<size_t>(head - tail);
    if (n > max) n = max;
    const size_t mask = capacity_ - 1;
    for (size_t i = 0; i < n; ++i) out[i] = buffer_[(tail + i) & mask];
    // Copied out before the producer may reuse the space.
    __atomic_store_n(&tail_, tail + n, __ATOMIC_RELEASE);
    return n;
}

} // namespace menhir
