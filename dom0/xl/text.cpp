// See text.hpp.
#include "text.hpp"

namespace dom0::xl {

size_t decimal(uint64_t v, char* out)
{
    char tmp[21];
    size_t n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

void Text::clear()
{
    len_ = 0;
    truncated_ = false;
    if (cap_ != 0) buf_[0] = '\0';
}

Text& Text::put(char c)
{
    if (len_ + 1 < cap_) {
        buf_[len_++] = c;
        buf_[len_] = '\0';
    } else {
        truncated_ = true;
    }
    return *this;
}

Text& Text::str(const char* s)
{
    while (*s != '\0') put(*s++);
    return *this;
}

Text& Text::str(const char* s, size_t n)
{
    for (size_t i = 0; i < n; ++i) put(s[i]);
    return *this;
}

static size_t length(const char* s)
{
    size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

Text& Text::left(const char* s, size_t width)
{
    str(s);
    for (size_t n = length(s); n < width; ++n) put(' ');
    return *this;
}

Text& Text::right(const char* s, size_t width)
{
    for (size_t n = length(s); n < width; ++n) put(' ');
    return str(s);
}

Text& Text::num(uint64_t v, size_t width)
{
    char d[21];
    decimal(v, d);
    return right(d, width);
}

Text& Text::snum(int64_t v, size_t width)
{
    char d[22];
    if (v < 0) {
        d[0] = '-';
        decimal(static_cast<uint64_t>(-(v + 1)) + 1, d + 1);
    } else {
        decimal(static_cast<uint64_t>(v), d);
    }
    return right(d, width);
}

Text& Text::seconds1(uint64_t ns, size_t width)
{
    // Rounded to the nearest tenth, as printf rounds.
    const uint64_t tenths = (ns + 50'000'000) / 100'000'000;
    char d[24];
    size_t n = decimal(tenths / 10, d);
    d[n++] = '.';
    d[n++] = static_cast<char>('0' + tenths % 10);
    d[n] = '\0';
    return right(d, width);
}

Text& Text::zeros(uint64_t v, size_t digits)
{
    char d[21];
    for (size_t n = decimal(v, d); n < digits; ++n) put('0');
    return str(d);
}

} // namespace dom0::xl
