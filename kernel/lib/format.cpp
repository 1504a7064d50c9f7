#include "kernel/lib/format.hpp"

#include <cstdint>
#include <type_traits>

namespace menhir {
namespace {

// Counts every byte it is given but stores only what fits, leaving room
// for the terminator: that is what gives vsnprintf's return value.
class Sink final {
public:
    Sink(char* buf, size_t size) : buf_{buf}, size_{buf != nullptr ? size : 0} {}

    void put(char c)
    {
        if (len_ + 1 < size_) {
            buf_[len_] = c;
        }
        ++len_;
    }
    void put(const char* s, size_t n)
    {
        for (size_t i = 0; i < n; ++i) {
            put(s[i]);
        }
    }
    void repeat(char c, size_t n)
    {
        for (size_t i = 0; i < n; ++i) {
            put(c);
        }
    }
    size_t finish()
    {
        if (size_ > 0) {
            buf_[len_ < size_ ? len_ : size_ - 1] = '\0';
        }
        return len_;
    }

private:
    char* buf_;
    size_t size_;
    size_t len_{0};
};

enum class Length : uint8_t { none, hh, h, l, ll, z, t, j };

struct Spec {
    bool left{false};
    bool zero{false};
    bool space{false};
    bool plus{false};
    bool alt{false};
    size_t width{0};
    int precision{-1};   // -1: none given
    Length length{Length::none};
};

// va_list is an array type on x86-64, so passing it to helpers by value
// would silently share state; wrapping a va_copy keeps ownership obvious.
class Args final {
public:
    explicit Args(va_list ap) { va_copy(ap_, ap); }
    ~Args() { va_end(ap_); }
    Args(const Args&) = delete;
    Args& operator=(const Args&) = delete;

    int next_int() { return va_arg(ap_, int); }
    const char* next_string() { return va_arg(ap_, const char*); }
    const void* next_pointer() { return va_arg(ap_, const void*); }

    // Arguments narrower than int arrive promoted to int (C 6.5.2.2), so
    // hh and h are read as int and then narrowed, as printf does.
    int64_t next_signed(Length len)
    {
        switch (len) {
        case Length::hh: return static_cast<signed char>(va_arg(ap_, int));
        case Length::h:  return static_cast<short>(va_arg(ap_, int));
        case Length::l:  return va_arg(ap_, long);
        case Length::ll: return va_arg(ap_, long long);
        case Length::z:  return va_arg(ap_, std::make_signed_t<size_t>);
        case Length::t:  return va_arg(ap_, ptrdiff_t);
        case Length::j:  return va_arg(ap_, intmax_t);
        case Length::none: break;
        }
        return va_arg(ap_, int);
    }
    uint64_t next_unsigned(Length len)
    {
        switch (len) {
        case Length::hh: return static_cast<unsigned char>(va_arg(ap_, unsigned int));
        case Length::h:  return static_cast<unsigned short>(va_arg(ap_, unsigned int));
        case Length::l:  return va_arg(ap_, unsigned long);
        case Length::ll: return va_arg(ap_, unsigned long long);
        case Length::z:  return va_arg(ap_, size_t);
        case Length::t:  return va_arg(ap_, std::make_unsigned_t<ptrdiff_t>);
        case Length::j:  return va_arg(ap_, uintmax_t);
        case Length::none: break;
        }
        return va_arg(ap_, unsigned int);
    }

private:
    va_list ap_;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int clamp_field(long long v)
{
    return v > format_max_field ? format_max_field : static_cast<int>(v);
}

// Reads digits, saturating rather than overflowing (overflow of int is UB).
int parse_field(const char*& p)
{
    long long v = 0;
    while (is_digit(*p)) {
        if (v <= format_max_field) {
            v = v * 10 + (*p - '0');
        }
        ++p;
    }
    return clamp_field(v);
}

void pad_text(Sink& out, const Spec& spec, const char* text, size_t n)
{
    size_t pad = spec.width > n ? spec.width - n : 0;
    if (!spec.left) {
        out.repeat(' ', pad);
    }
    out.put(text, n);
    if (spec.left) {
        out.repeat(' ', pad);
    }
}

// Reads at most `limit` bytes: with a precision the argument need not be
// NUL-terminated (C 7.21.6.1p8), so strlen would overrun it.
size_t bounded_length(const char* s, int limit)
{
    size_t n = 0;
    while ((limit < 0 || n < static_cast<size_t>(limit)) && s[n] != '\0') {
        ++n;
    }
    return n;
}

struct Conversion {
    unsigned base;
    bool upper;
    bool is_signed;
};

void emit_integer(Sink& out, const Spec& spec, const Conversion& conv, uint64_t magnitude, bool negative)
{
    const char* digit_set = conv.upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char digits[64];   // 64 binary digits is the longest possible
    size_t ndigits = 0;
    // C 7.21.6.1p8: a zero value with precision zero prints no digits.
    if (magnitude != 0 || spec.precision != 0) {
        uint64_t v = magnitude;
        do {
            digits[ndigits++] = digit_set[v % conv.base];
            v /= conv.base;
        } while (v != 0);
    }

    size_t zeros = 0;
    if (spec.precision >= 0 && static_cast<size_t>(spec.precision) > ndigits) {
        zeros = static_cast<size_t>(spec.precision) - ndigits;
    }
    // '#' with o raises the precision just enough for a leading zero.
    if (spec.alt && conv.base == 8 && zeros == 0 && (ndigits == 0 || magnitude != 0)) {
        zeros = 1;
    }

    char prefix[2];
    size_t nprefix = 0;
    if (conv.is_signed) {
        if (negative) {
            prefix[nprefix++] = '-';
        } else if (spec.plus) {
            prefix[nprefix++] = '+';
        } else if (spec.space) {
            prefix[nprefix++] = ' ';
        }
    } else if (spec.alt && magnitude != 0 && (conv.base == 16 || conv.base == 2)) {
        prefix[nprefix++] = '0';
        prefix[nprefix++] = conv.base == 2 ? 'b' : (conv.upper ? 'X' : 'x');
    }

    size_t body = nprefix + zeros + ndigits;
    size_t pad = spec.width > body ? spec.width - body : 0;
    // '0' is ignored with '-' or with a precision (C 7.21.6.1p6).
    bool zero_pad = spec.zero && !spec.left && spec.precision < 0;
    if (!spec.left && !zero_pad) {
        out.repeat(' ', pad);
    }
    out.put(prefix, nprefix);
    if (zero_pad) {
        out.repeat('0', pad);
    }
    out.repeat('0', zeros);
    while (ndigits > 0) {
        out.put(digits[--ndigits]);
    }
    if (spec.left) {
        out.repeat(' ', pad);
    }
}

void emit_pointer(Sink& out, const Spec& spec, const void* p)
{
    auto v = reinterpret_cast<uintptr_t>(p);
    char text[18] = {'0', 'x'};
    for (int i = 0; i < 16; ++i) {
        text[17 - i] = "0123456789abcdef"[v & 0xf];
        v >>= 4;
    }
    pad_text(out, spec, text, sizeof text);
}

Length parse_length(const char*& p)
{
    switch (*p) {
    case 'h':
        ++p;
        if (*p == 'h') {
            ++p;
            return Length::hh;
        }
        return Length::h;
    case 'l':
        ++p;
        if (*p == 'l') {
            ++p;
            return Length::ll;
        }
        return Length::l;
    case 'z': ++p; return Length::z;
    case 't': ++p; return Length::t;
    case 'j': ++p; return Length::j;
    default: return Length::none;
    }
}

} // namespace

size_t vformat(char* buf, size_t size, const char* fmt, va_list ap)
{
    Sink out{buf, size};
    if (fmt == nullptr) {
        return out.finish();
    }
    Args args{ap};

    const char* p = fmt;
    while (*p != '\0') {
        if (*p != '%') {
            out.put(*p++);
            continue;
        }
        const char* start = p++;
        Spec spec{};

        for (;; ++p) {
            if (*p == '-') {
                spec.left = true;
            } else if (*p == '0') {
                spec.zero = true;
            } else if (*p == ' ') {
                spec.space = true;
            } else if (*p == '+') {
                spec.plus = true;
            } else if (*p == '#') {
                spec.alt = true;
            } else {
                break;
            }
        }

        if (*p == '*') {
            ++p;
            // A negative '*' width means '-' plus its magnitude (C 7.21.6.1p5).
            long long w = args.next_int();
            if (w < 0) {
                spec.left = true;
                w = -w;
            }
            spec.width = static_cast<size_t>(clamp_field(w));
        } else {
            spec.width = static_cast<size_t>(parse_field(p));
        }

        if (*p == '.') {
            ++p;
            if (*p == '*') {
                ++p;
                int prec = args.next_int();
                // A negative '*' precision counts as omitted (C 7.21.6.1p5).
                spec.precision = prec < 0 ? -1 : clamp_field(prec);
            } else {
                spec.precision = parse_field(p);   // "." alone means zero
            }
        }

        spec.length = parse_length(p);

        switch (*p) {
        case '%':
            out.put('%');
            break;
        case 'c': {
            char c = static_cast<char>(static_cast<unsigned char>(args.next_int()));
            pad_text(out, spec, &c, 1);
            break;
        }
        case 's': {
            const char* s = args.next_string();
            if (s == nullptr) {
                s = "(null)";
            }
            pad_text(out, spec, s, bounded_length(s, spec.precision));
            break;
        }
        case 'd':
        case 'i': {
            int64_t v = args.next_signed(spec.length);
            // Negate in unsigned arithmetic so INT64_MIN has a magnitude.
            uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
            emit_integer(out, spec, {10, false, true}, magnitude, v < 0);
            break;
        }
        case 'u':
            emit_integer(out, spec, {10, false, false}, args.next_unsigned(spec.length), false);
            break;
        case 'x':
            emit_integer(out, spec, {16, false, false}, args.next_unsigned(spec.length), false);
            break;
        case 'X':
            emit_integer(out, spec, {16, true, false}, args.next_unsigned(spec.length), false);
            break;
        case 'o':
            emit_integer(out, spec, {8, false, false}, args.next_unsigned(spec.length), false);
            break;
        case 'b':
            emit_integer(out, spec, {2, false, false}, args.next_unsigned(spec.length), false);
            break;
        case 'p':
            emit_pointer(out, spec, args.next_pointer());
            break;
        case '\0':
            // The format ends inside a conversion: show what was written.
            out.put(start, static_cast<size_t>(p - start));
            return out.finish();
        default:
            out.put(start, static_cast<size_t>(p - start) + 1);
            break;
        }
        ++p;
    }
    return out.finish();
}

size_t format(char* buf, size_t size, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

} // namespace menhir
