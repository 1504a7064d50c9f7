// The hypervisor's console log kept in memory, so `xl dmesg` can show what
// scrolled past on the serial line. A byte ring: when full, new text
// overwrites the oldest. Locking is the caller's job.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir {

class LogRing final {
public:
    // capacity > 0 expected; with a null buffer or zero capacity the ring
    // holds nothing but still counts what was written.
    // constexpr: the console's ring holds the first lines, printed before
    // global constructors run (a run-time constructor would then empty it).
    constexpr LogRing(char* buffer, size_t capacity)
        : buffer_{buffer}, capacity_{buffer != nullptr ? capacity : 0}
    {
    }

    void write(const char* text, size_t length);     // overwrites the oldest bytes when full
    [[nodiscard]] size_t size() const;               // bytes currently held (<= capacity)
    [[nodiscard]] uint64_t total_written() const;    // bytes ever written
    [[nodiscard]] size_t capacity() const { return capacity_; }

    // Position, counted in bytes ever written, of the oldest byte still
    // held: a reader that remembers total_written() can tell from this how
    // much it missed, and resume at (its mark - oldest()) as the offset.
    [[nodiscard]] uint64_t oldest() const { return total_ - size_; }

    // Copy up to n bytes starting `offset` bytes after the oldest held byte;
    // returns bytes copied.
    size_t read(size_t offset, char* out, size_t n) const;

    // Forget the held bytes (xl dmesg -c); total_written() keeps counting.
    void clear() { size_ = 0; }

private:
    char* buffer_;
    size_t capacity_;
    size_t start_{0};   // index of the oldest held byte
    size_t size_{0};
    uint64_t total_{0};
};

} // namespace menhir
