#include "print.hpp"

#include "hypercall.hpp"
#include "runtime.hpp"
#include "x86.hpp"

namespace guest {

unsigned console_sinks = CONSOLE_XEN;

void e9_write(const char* s, size_t n) {
    for (size_t i = 0; i < n; ++i) outb(0xe9, static_cast<uint8_t>(s[i]));
}

void console_write(const char* s, size_t n) {
    if (n == 0) return;
    if (console_sinks & CONSOLE_XEN) console_io(xen::CONSOLEIO_write, static_cast<unsigned>(n), s);
    if (console_sinks & CONSOLE_E9) e9_write(s, n);
}

namespace {

// 64-bit division by a small base without libgcc (the 32-bit build would
// otherwise call __udivdi3): plain division in 64-bit mode, long division
// bit by bit in 32-bit mode.
uint64_t divmod(uint64_t n, unsigned base, unsigned* rem) {
#if defined(__x86_64__)
    *rem = static_cast<unsigned>(n % base);
    return n / base;
#else
    uint64_t q = 0;
    uint32_t r = 0;
    for (int bit = 63; bit >= 0; --bit) {
        r = (r << 1) | static_cast<uint32_t>((n >> bit) & 1);
        if (r >= base) {
            r -= base;
            q |= 1ull << bit;
        }
    }
    *rem = r;
    return q;
#endif
}

// Output target for the formatter: a line buffer flushed to the console, or
// a caller's buffer.
struct Sink {
    char* buf;
    size_t size;
    size_t len;  // bytes produced (may exceed size for a string sink)
    bool console;

    void put(char c) {
        if (console) {
            buf[len++] = c;
            if (c == '\n' || len == size) flush();
        } else {
            if (len + 1 < size) buf[len] = c;
            ++len;
        }
    }
    void flush() {
        if (console) {
            console_write(buf, len);
            len = 0;
        }
    }
};

void put_padded(Sink& out, const char* s, size_t n, int width, bool left, char pad) {
    int fill = width > static_cast<int>(n) ? width - static_cast<int>(n) : 0;
    if (!left)
        for (; fill > 0; --fill) out.put(pad);
    for (size_t i = 0; i < n; ++i) out.put(s[i]);
    for (; fill > 0; --fill) out.put(' ');
}

void put_number(Sink& out, uint64_t v, bool negative, unsigned base, bool upper, int width, bool left, bool zero) {
    char digits[24];
    size_t n = 0;
    const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        unsigned r;
        v = divmod(v, base, &r);
        digits[n++] = set[r];
    } while (v != 0);
    if (negative) {
        if (zero && !left) {
            out.put('-');
            --width;
        } else {
            digits[n++] = '-';
        }
    }
    char text[24];
    for (size_t i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
    put_padded(out, text, n, width, left, zero && !left ? '0' : ' ');
}

void format_to(Sink& out, const char* fmt, va_list ap) {
    for (const char* p = fmt; *p != '\0'; ++p) {
        if (*p != '%') {
            out.put(*p);
            continue;
        }
        ++p;
        bool left = false, zero = false;
        for (;; ++p) {
            if (*p == '-')
                left = true;
            else if (*p == '0')
                zero = true;
            else
                break;
        }
        int width = 0;
        if (*p == '*') {
            width = va_arg(ap, int);
            ++p;
        } else {
            for (; *p >= '0' && *p <= '9'; ++p) width = width * 10 + (*p - '0');
        }
        int length = 0;  // 0: int, 1: long, 2: long long, 3: size_t; h/hh read as int
        for (;; ++p) {
            if (*p == 'l')
                ++length;
            else if (*p == 'z')
                length = 3;
            else if (*p != 'h')
                break;
        }
        auto get_unsigned = [&]() -> uint64_t {
            switch (length) {
                case 0: return va_arg(ap, unsigned);
                case 1: return va_arg(ap, unsigned long);
                case 3: return va_arg(ap, size_t);
                default: return va_arg(ap, unsigned long long);
            }
        };
        auto get_signed = [&]() -> int64_t {
            switch (length) {
                case 0: return va_arg(ap, int);
                case 1: return va_arg(ap, long);
                case 3: return static_cast<int64_t>(va_arg(ap, size_t));
                default: return va_arg(ap, long long);
            }
        };
        switch (*p) {
            case 'd':
            case 'i': {
                int64_t v = get_signed();
                uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
                put_number(out, mag, v < 0, 10, false, width, left, zero);
                break;
            }
            case 'u': put_number(out, get_unsigned(), false, 10, false, width, left, zero); break;
            case 'x': put_number(out, get_unsigned(), false, 16, false, width, left, zero); break;
            case 'X': put_number(out, get_unsigned(), false, 16, true, width, left, zero); break;
            case 'p':
                out.put('0');
                out.put('x');
                put_number(out, reinterpret_cast<uintptr_t>(va_arg(ap, void*)), false, 16, false, width, left, zero);
                break;
            case 'c': {
                char c = static_cast<char>(va_arg(ap, int));
                put_padded(out, &c, 1, width, left, ' ');
                break;
            }
            case 's': {
                const char* s = va_arg(ap, const char*);
                if (s == nullptr) s = "(null)";
                size_t n = 0;
                while (s[n] != '\0') ++n;
                put_padded(out, s, n, width, left, ' ');
                break;
            }
            case '%': out.put('%'); break;
            case '\0': return;  // lone '%' at the end
            default:
                out.put('%');
                out.put(*p);
                break;
        }
    }
}

char line_buffer[256];

// One printer at a time across vCPUs, with interrupts off so an interrupt
// handler cannot wait for its own vCPU. A vCPU that faults while printing
// (owner == itself) prints without the lock: the exception report matters
// more than the half-written line.
volatile uint32_t print_lock = 0;
volatile uint32_t print_owner = ~0u;

}  // namespace

void vprint(const char* fmt, va_list ap) {
    unsigned long flags = irq_save();
    const uint32_t me = this_vcpu();
    const bool nested = print_lock != 0 && print_owner == me;
    if (!nested) {
        while (__atomic_exchange_n(&print_lock, 1u, __ATOMIC_ACQUIRE) != 0) pause();
        print_owner = me;
    }
    Sink out{line_buffer, sizeof(line_buffer), 0, true};
    format_to(out, fmt, ap);
    out.flush();
    if (!nested) {
        print_owner = ~0u;
        __atomic_store_n(&print_lock, 0u, __ATOMIC_RELEASE);
    }
    irq_restore(flags);
}

void print(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
}

size_t vformat(char* buf, size_t size, const char* fmt, va_list ap) {
    Sink out{buf, size, 0, false};
    format_to(out, fmt, ap);
    if (size > 0) buf[out.len < size ? out.len : size - 1] = '\0';
    return out.len;
}

size_t format(char* buf, size_t size, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const size_t n = vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

}  // namespace guest
