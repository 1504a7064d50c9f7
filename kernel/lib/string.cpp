// The C memory primitives the compiler may call on its own, even in
// freestanding code (GCC requires memcpy, memmove, memset and memcmp), plus
// the string functions the __builtin_ forms fall back to. -mgeneral-regs-only rules out SSE versions.
#include <cstddef>
#include <cstdint>

extern "C" {

// Eight bytes per iteration where both ends allow it: clearing and copying
// guest memory (whole pages) dominates the cost of building a domain.
void* memcpy(void* dst, const void* src, size_t n)
{
    void* d = dst;
    if (((reinterpret_cast<uintptr_t>(dst) | reinterpret_cast<uintptr_t>(src) | n) & 7) == 0) {
        size_t q = n / 8;
        asm volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) :: "memory");
        return dst;
    }
    asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) :: "memory");
    return dst;
}

void* memmove(void* dst, const void* src, size_t n)
{
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    if (d <= s || d >= s + n) return memcpy(dst, src, n);
    while (n--) d[n] = s[n];   // overlapping with dst above src: copy backwards
    return dst;
}

void* memset(void* dst, int c, size_t n)
{
    void* d = dst;
    if (((reinterpret_cast<uintptr_t>(dst) | n) & 7) == 0) {
        size_t q = n / 8;
        const uint64_t pattern = 0x0101010101010101ull * static_cast<uint8_t>(c);
        asm volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(pattern) : "memory");
        return dst;
    }
    asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

int memcmp(const void* a, const void* b, size_t n)
{
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < n; ++i)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char* s)
{
    size_t n = 0;
    while (s[n]) ++n;
    return n;
}

int strncmp(const char* a, const char* b, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
        if (x != y) return x < y ? -1 : 1;
        if (!x) return 0;
    }
    return 0;
}

char* strchr(const char* s, int c)
{
    for (;; ++s) {
        if (*s == static_cast<char>(c)) return const_cast<char*>(s);
        if (!*s) return nullptr;
    }
}

} // extern "C"
