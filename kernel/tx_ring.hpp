// The serial console's transmit ring: bytes queued by console writers and
// taken by whoever feeds the UART (its transmit interrupt or a poll). A line
// goes in whole or not at all; what does not fit is dropped and counted,
// never waited for. One producer and one consumer at a time (the caller
// serialises each side with its own lock); the two sides may run at once.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir {

class TxRing final {
public:
    // capacity: a power of two (anything else holds nothing and drops all).
    // constexpr: the console's ring is usable before global constructors run.
    constexpr TxRing(char* buffer, size_t capacity)
        : buffer_{buffer},
          capacity_{buffer != nullptr && capacity != 0 && (capacity & (capacity - 1)) == 0 ? capacity : 0}
    {
    }

    // Producer: queues all `length` bytes if the ring then holds at most
    // `limit` bytes (limit > capacity means capacity); otherwise queues
    // nothing, adds length to dropped() and returns false.
    [[nodiscard]] bool push(const char* text, size_t length, size_t limit);
    [[nodiscard]] bool push(const char* text, size_t length) { return push(text, length, capacity_); }

    // Consumer: takes up to `max` of the oldest bytes; returns how many.
    size_t pop(char* out, size_t max);

    [[nodiscard]] size_t used() const;
    [[nodiscard]] bool empty() const { return used() == 0; }
    [[nodiscard]] size_t capacity() const { return capacity_; }
    [[nodiscard]] uint64_t dropped() const { return dropped_; }   // bytes refused, ever
    [[nodiscard]] uint64_t queued() const;                        // bytes accepted, ever
    [[nodiscard]] uint64_t sent() const;                          // bytes taken by the consumer, ever

private:
    char* buffer_;
    size_t capacity_;
    uint64_t head_{0};      // bytes ever pushed (producer writes)
    uint64_t tail_{0};      // bytes ever popped (consumer writes)
    uint64_t dropped_{0};   // producer side
};

} // namespace menhir
