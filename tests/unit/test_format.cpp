// format/vformat against the host's vsnprintf, which implements the C
// semantics Menhir's formatter promises, plus the deliberate departures.
#include <catch2/catch.hpp>

#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "kernel/lib/format.hpp"

using menhir::format;
using menhir::vformat;

namespace {

// Neither helper carries the printf attribute: the tests feed formats built
// at run time and deliberately odd ones that -Wformat would reject.
std::string mine(const char* fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    size_t n = vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    REQUIRE(n < sizeof buf);
    REQUIRE(std::strlen(buf) == n);
    return buf;
}

std::string libc(const char* fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    REQUIRE(n >= 0);
    REQUIRE(static_cast<size_t>(n) < sizeof buf);
    return buf;
}

#define SAME(...) CHECK(mine(__VA_ARGS__) == libc(__VA_ARGS__))

} // namespace

TEST_CASE("format: plain text and %%", "[format]")
{
    CHECK(mine("") == "");
    CHECK(mine("hello, world") == "hello, world");
    CHECK(mine("100%%") == "100%");
    CHECK(mine("%%%%") == "%%");
    CHECK(mine("%5%") == "%");   // flags and width on %% are ignored
}

TEST_CASE("format: %d and %i", "[format]")
{
    SAME("%d", 0);
    SAME("%d", 42);
    SAME("%d", -42);
    SAME("%i", 123456789);
    SAME("%d", INT_MAX);
    SAME("%d", INT_MIN);
    SAME("%+d|%+d|%+d", 5, -5, 0);
    SAME("% d|% d|% d", 5, -5, 0);
    SAME("%+ d|% +d", 5, 5);   // '+' wins over ' '
    SAME("%5d|%-5d|%05d|%-05d", 42, 42, 42, 42);
    SAME("%05d|%+05d|% 05d", -42, 42, 42);
    SAME("%.3d|%.3d|%8.3d|%-8.3d|%08.3d", 7, -7, 7, -7, 7);
    SAME("%.0d|%5.0d|%-5.0d|%+.0d|% .0d", 0, 0, 0, 0, 0);
    SAME("%.d", 0);
    SAME("%.0d", 1);
    SAME("%1d|%2d", 123, 123);   // width smaller than the number
}

TEST_CASE("format: length modifiers", "[format]")
{
    SAME("%hhd|%hhd|%hhd", 127, 128, -129);    // narrowed to signed char
    SAME("%hhu|%hhx", 511, 0x1ff);             // narrowed to unsigned char
    SAME("%hd|%hd|%hu", 32767, 32768, 70000);  // narrowed to short
    SAME("%ld|%ld", LONG_MAX, LONG_MIN);
    SAME("%lu|%lx", ULONG_MAX, ULONG_MAX);
    SAME("%lld|%lld", LLONG_MAX, LLONG_MIN);
    SAME("%llu|%llX|%llo", ULLONG_MAX, ULLONG_MAX, ULLONG_MAX);
    SAME("%zu|%zx|%zd", SIZE_MAX, static_cast<size_t>(0xabc), static_cast<ptrdiff_t>(-3));
    SAME("%td|%tu", static_cast<ptrdiff_t>(-9), static_cast<ptrdiff_t>(9));
    SAME("%jd|%ju|%jx", INTMAX_MIN, UINTMAX_MAX, static_cast<uintmax_t>(0xdead));
    SAME("%d %lld %d", 1, -2LL, 3);   // mixed widths keep the va_list in step
}

TEST_CASE("format: %u %x %X %o", "[format]")
{
    SAME("%u|%u|%u", 0u, 1u, UINT_MAX);
    SAME("%x|%X|%x|%X", 0xdeadbeefu, 0xdeadbeefu, 0u, 0xabcu);
    SAME("%#x|%#X|%#x|%#08x|%#-8x|%#.4x", 0x1fu, 0x1fu, 0u, 0x1fu, 0x1fu, 0x1fu);
    SAME("%08x|%8x|%-8x|%.8x", 0xbeefu, 0xbeefu, 0xbeefu, 0xbeefu);
    SAME("%o|%#o|%#o|%#.0o|%.0o|%#5o|%#.3o|%#.3o", 8u, 8u, 0u, 0u, 0u, 8u, 8u, 01234u);
    SAME("%+u|% u|% x", 5u, 5u, 5u);   // sign flags do nothing for unsigned
    SAME("%.0x|%#.0x|%5.0x", 0u, 0u, 0u);
}

TEST_CASE("format: %b binary", "[format]")
{
    CHECK(mine("%b", 0u) == "0");
    CHECK(mine("%b", 5u) == "101");
    CHECK(mine("%#b", 5u) == "0b101");
    CHECK(mine("%#b", 0u) == "0");
    CHECK(mine("%08b", 5u) == "00000101");
    CHECK(mine("%#010b", 5u) == "0b00000101");
    CHECK(mine("%.0b", 0u) == "");
    CHECK(mine("%llb", ULLONG_MAX) == std::string(64, '1'));
    CHECK(mine("%hhb", 0x1ffu) == "11111111");
    // What glibc 2.35+ prints for C23 %b (not compared live: ASan's printf
    // interceptor does not know %b).
    CHECK(mine("%b|%#b|%08b|%-8b|%#10b|%.6b|%#.6b", 6u, 6u, 6u, 6u, 6u, 6u, 6u) ==
          "110|0b110|00000110|110     |     0b110|000110|0b000110");
}

TEST_CASE("format: %c", "[format]")
{
    SAME("%c", 'A');
    SAME("[%5c][%-5c]", 'x', 'y');
    SAME("%c%c%c", 'a', 'b', 'c');
    CHECK(mine("%c", 0x141) == "A");   // int narrowed to unsigned char
    char buf[8];
    CHECK(format(buf, sizeof buf, "a%cb", 0) == 3);   // an embedded NUL still counts
    CHECK(std::memcmp(buf, "a\0b", 4) == 0);
}

TEST_CASE("format: %s", "[format]")
{
    SAME("%s", "hello");
    SAME("[%10s][%-10s]", "hi", "hi");
    SAME("[%.3s][%.0s][%.10s]", "hello", "hello", "hi");
    SAME("[%8.3s][%-8.3s]", "hello", "hello");
    SAME("%s", "");
    SAME("[%5s]", "");
    CHECK(mine("%s", static_cast<const char*>(nullptr)) == "(null)");
    CHECK(mine("[%8s]", static_cast<const char*>(nullptr)) == "[  (null)]");
    CHECK(mine("[%.3s]", static_cast<const char*>(nullptr)) == "[(nu]");
}

TEST_CASE("format: %s with a precision reads no further than the precision", "[format]")
{
    // Not NUL-terminated: ASan reports any read past the four bytes.
    char* raw = new char[4]{'a', 'b', 'c', 'd'};
    CHECK(mine("%.4s", raw) == "abcd");
    CHECK(mine("%.2s", raw) == "ab");
    CHECK(mine("%.*s", 3, raw) == "abc");
    delete[] raw;
}

TEST_CASE("format: %p is 0x plus 16 digits", "[format]")
{
    CHECK(mine("%p", static_cast<void*>(nullptr)) == "0x0000000000000000");
    CHECK(mine("%p", reinterpret_cast<void*>(0xdeadbeefULL)) == "0x00000000deadbeef");
    CHECK(mine("%p", reinterpret_cast<void*>(UINTPTR_MAX)) == "0xffffffffffffffff");
    CHECK(mine("[%20p]", reinterpret_cast<void*>(0x10)) == "[  0x0000000000000010]");
    CHECK(mine("[%-20p]", reinterpret_cast<void*>(0x10)) == "[0x0000000000000010  ]");
}

TEST_CASE("format: '*' width and precision", "[format]")
{
    SAME("[%*d]", 6, 42);
    SAME("[%*d]", -6, 42);   // negative width means '-'
    SAME("[%-*d]", -6, 42);
    SAME("[%.*d]", 4, 42);
    SAME("[%.*d]", -4, 42);  // negative precision means none
    SAME("[%0*.*d]", 8, -1, 42);
    SAME("[%*.*s]", 7, 2, "hello");
    SAME("[%*s|%*s]", 3, "a", -3, "b");
    SAME("[%0*d]", 5, -3);
}

TEST_CASE("format: oversized widths are clamped", "[format]")
{
    // Through vformat: GCC rightly refuses these formats at compile time
    // when it can see them.
    auto into = [](char* buf, size_t size, const char* fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        size_t n = vformat(buf, size, fmt, ap);
        va_end(ap);
        return n;
    };
    const auto max = static_cast<size_t>(menhir::format_max_field);
    char buf[16];
    CHECK(into(buf, sizeof buf, "%*d", INT_MAX, 1) == max);
    CHECK(into(buf, sizeof buf, "%*d", INT_MIN, 1) == max);   // INT_MIN cannot be negated as an int
    CHECK(buf[0] == '1');
    CHECK(into(buf, sizeof buf, "%999999999999999999999d", 1) == max);   // no int overflow while parsing
    CHECK(into(buf, sizeof buf, "%.99999999999d", 1) == max);
    CHECK(into(buf, sizeof buf, "%.*d", INT_MAX, 1) == max);
    CHECK(into(buf, sizeof buf, "%4096d", 1) == max);
    CHECK(into(buf, sizeof buf, "%4095d", 1) == max - 1);
}

TEST_CASE("format: unknown and incomplete conversions are copied", "[format]")
{
    CHECK(mine("%q") == "%q");
    CHECK(mine("a%-08.3qz") == "a%-08.3qz");
    CHECK(mine("%f", 1) == "%f");    // no floating point in the hypervisor
    int target = 7;
    CHECK(mine("%n", &target) == "%n");   // never writes through the argument
    CHECK(target == 7);
    CHECK(mine("abc%") == "abc%");
    CHECK(mine("abc%-5") == "abc%-5");
    CHECK(mine("abc%ll") == "abc%ll");
    CHECK(mine("%q%d", 5) == "%q5");   // an unknown conversion consumes nothing
}

TEST_CASE("format: truncation and the return value", "[format]")
{
    char buf[8];
    std::memset(buf, 'X', sizeof buf);
    CHECK(format(buf, sizeof buf, "%s", "0123456789") == 10);
    CHECK(std::string(buf) == "0123456");

    std::memset(buf, 'X', sizeof buf);
    CHECK(format(buf, 1, "%d", 12345) == 5);
    CHECK(buf[0] == '\0');
    CHECK(buf[1] == 'X');   // nothing written past size

    std::memset(buf, 'X', sizeof buf);
    CHECK(format(buf, 0, "%d", 12345) == 5);
    CHECK(buf[0] == 'X');   // size 0: nothing written at all

    CHECK(format(nullptr, 0, "%s-%d", "abc", 42) == 6);   // measuring only
    CHECK(format(nullptr, 100, "abc") == 3);              // no buffer: still only measures

    std::memset(buf, 'X', sizeof buf);
    CHECK(format(buf, sizeof buf, "1234567") == 7);   // exactly fits
    CHECK(std::string(buf) == "1234567");
    CHECK(format(buf, sizeof buf, "12345678") == 8);  // one too many
    CHECK(std::string(buf) == "1234567");

    CHECK(format(buf, sizeof buf, "%08x", 0xabu) == 8);
    CHECK(std::string(buf) == "000000a");
}

TEST_CASE("format: nullptr format", "[format]")
{
    CHECK(mine(nullptr) == "");
}

TEST_CASE("format: vformat leaves the caller's va_list usable for va_end", "[format]")
{
    auto twice = [](const char* fmt, ...) {
        char a[32];
        char b[32];
        va_list ap;
        va_start(ap, fmt);
        va_list copy;
        va_copy(copy, ap);
        vformat(a, sizeof a, fmt, ap);
        vformat(b, sizeof b, fmt, copy);
        va_end(copy);
        va_end(ap);
        return std::string(a) + "|" + b;
    };
    CHECK(twice("%d-%s", 7, "x") == "7-x|7-x");
}

TEST_CASE("format: exhaustive integer combinations match vsnprintf", "[format]")
{
    // Every flag set x width x precision x conversion x a spread of values:
    // the corners of C 7.21.6.1 (zero value with zero precision, '0' with a
    // precision, '#' with o and x, sign flags) all occur.
    const char* flag_sets[] = {"", "-", "0", " ", "+", "#", "-0", "+ ", "#0", "-#", "0+", "-+ #0"};
    const char* widths[] = {"", "1", "5", "12"};
    const char* precisions[] = {"", ".", ".0", ".1", ".4", ".15"};
    const char convs[] = {'d', 'i', 'u', 'x', 'X', 'o'};
    const long long values[] = {0, 1, -1, 7, -7, 8, 255, -256, 4096, 65535, INT_MAX, INT_MIN,
                                LLONG_MAX, LLONG_MIN, 0x123456789abcLL};
    size_t checked = 0;
    for (const char* flags : flag_sets) {
        for (const char* width : widths) {
            for (const char* precision : precisions) {
                for (char conv : convs) {
                    for (long long v : values) {
                        char fmt[32];
                        std::snprintf(fmt, sizeof fmt, "[%%%s%s%sll%c]", flags, width, precision, conv);
                        INFO("format " << fmt << " value " << v);
                        if (conv == 'd' || conv == 'i') {
                            REQUIRE(mine(fmt, v) == libc(fmt, v));
                        } else {
                            auto u = static_cast<unsigned long long>(v);
                            REQUIRE(mine(fmt, u) == libc(fmt, u));
                        }
                        // And the same through int-sized arguments.
                        std::snprintf(fmt, sizeof fmt, "[%%%s%s%s%c]", flags, width, precision, conv);
                        if (conv == 'd' || conv == 'i') {
                            auto i = static_cast<int>(v);
                            REQUIRE(mine(fmt, i) == libc(fmt, i));
                        } else {
                            auto u = static_cast<unsigned>(v);
                            REQUIRE(mine(fmt, u) == libc(fmt, u));
                        }
                        ++checked;
                    }
                }
            }
        }
    }
    CHECK(checked == 12 * 4 * 6 * 6 * 15);
}

TEST_CASE("format: exhaustive string and char combinations match vsnprintf", "[format]")
{
    const char* flag_sets[] = {"", "-"};
    const char* widths[] = {"", "1", "3", "9"};
    const char* precisions[] = {"", ".", ".0", ".2", ".5", ".20"};
    const char* strings[] = {"", "a", "abc", "hello world"};
    for (const char* flags : flag_sets) {
        for (const char* width : widths) {
            for (const char* s : strings) {
                for (const char* precision : precisions) {
                    char fmt[32];
                    std::snprintf(fmt, sizeof fmt, "[%%%s%s%ss]", flags, width, precision);
                    INFO("format " << fmt << " value " << s);
                    REQUIRE(mine(fmt, s) == libc(fmt, s));
                }
                char fmt[32];
                std::snprintf(fmt, sizeof fmt, "[%%%s%sc]", flags, width);
                REQUIRE(mine(fmt, s[0] != '\0' ? s[0] : 'z') == libc(fmt, s[0] != '\0' ? s[0] : 'z'));
            }
        }
    }
}

TEST_CASE("format: a typical log line", "[format]")
{
    char buf[128];
    size_t n = format(buf, sizeof buf, "(d%u) %s: rip=%#llx cr0=%08x err=%d", 3u, "vcpu0", 0xffffffff81000000ULL,
                      0x80050033u, -22);
    CHECK(std::string(buf) == "(d3) vcpu0: rip=0xffffffff81000000 cr0=80050033 err=-22");
    CHECK(n == std::strlen(buf));
}
