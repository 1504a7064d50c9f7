#include "kernel/log_ring.hpp"

namespace menhir {

void LogRing::write(const char* text, size_t length)
{
    if (text == nullptr) {
        return;
    }
    total_ += length;
    if (capacity_ == 0 || length == 0) {
        return;
    }
    // Only the last capacity_ bytes of a long write can survive it.
    if (length >= capacity_) {
        __builtin_memcpy(buffer_, text + (length - capacity_), capacity_);
        start_ = 0;
        size_ = capacity_;
        return;
    }
    size_t end = (start_ + size_) % capacity_;
    size_t first = capacity_ - end < length ? capacity_ - end : length;
    __builtin_memcpy(buffer_ + end, text, first);
    __builtin_memcpy(buffer_, text + first, length - first);

    size_t held = size_ + length;
    if (held > capacity_) {
        start_ = (start_ + (held - capacity_)) % capacity_;
        held = capacity_;
    }
    size_ = held;
}

size_t LogRing::size() const
{
    return size_;
}

uint64_t LogRing::total_written() const
{
    return total_;
}

size_t LogRing::read(size_t offset, char* out, size_t n) const
{
    if (out == nullptr || offset >= size_) {
        return 0;
    }
    size_t count = size_ - offset < n ? size_ - offset : n;
    // start_ and offset are both below capacity_, so the sum cannot wrap.
    size_t pos = (start_ + offset) % capacity_;
    size_t first = capacity_ - pos < count ? capacity_ - pos : count;
    __builtin_memcpy(out, buffer_ + pos, first);
    __builtin_memcpy(out + first, buffer_, count - first);
    return count;
}

} // namespace menhir
