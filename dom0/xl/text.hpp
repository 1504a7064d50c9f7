// A fixed-size text builder for xl's output: strings, padded columns and
// numbers, truncating (and saying so) when full. Pure: builds on the host.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dom0::xl {

class Text {
public:
    // constexpr: a Text in static storage needs no constructor run (dom0
    // has none). The buffer is written only when text is added.
    constexpr Text(char* buffer, size_t capacity) : buf_{buffer}, cap_{capacity} {}

    void clear();
    Text& put(char c);
    Text& str(const char* s);
    Text& str(const char* s, size_t n);
    // s left-aligned in `width` columns ("%-Ns"); never cut.
    Text& left(const char* s, size_t width);
    // s right-aligned in `width` columns ("%Ns").
    Text& right(const char* s, size_t width);
    // v in decimal, right-aligned in `width` columns ("%Nu"; 0 = as wide as needed).
    Text& num(uint64_t v, size_t width = 0);
    Text& snum(int64_t v, size_t width = 0);
    // Nanoseconds as seconds with one decimal, right-aligned ("%N.1f" of ns / 1e9).
    Text& seconds1(uint64_t ns, size_t width);
    // v in decimal with `digits` digits, leading zeros ("%0Nu").
    Text& zeros(uint64_t v, size_t digits);

    [[nodiscard]] const char* c_str() const { return len_ != 0 ? buf_ : ""; }
    [[nodiscard]] size_t size() const { return len_; }
    [[nodiscard]] bool truncated() const { return truncated_; }

private:
    char* buf_;
    size_t cap_;
    size_t len_{0};
    bool truncated_{false};
};

// Decimal text of v into out (at least 21 bytes); returns its length.
size_t decimal(uint64_t v, char* out);

} // namespace dom0::xl
