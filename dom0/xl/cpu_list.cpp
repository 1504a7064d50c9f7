// See cpu_list.hpp.
#include "cpu_list.hpp"
#include "text.hpp"

namespace dom0::xl {
namespace {

bool parse_number(const char*& p, uint64_t& out)
{
    if (*p < '0' || *p > '9') return false;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + static_cast<uint64_t>(*p - '0');
        if (v > 1000000) return false;
        ++p;
    }
    out = v;
    return true;
}

uint64_t all_of(uint32_t nr_cpus) { return nr_cpus >= 64 ? ~0ull : (1ull << nr_cpus) - 1; }

} // namespace

const char* to_string(CpuListError e)
{
    switch (e) {
    case CpuListError::none: return "ok";
    case CpuListError::empty: return "no CPU in the list";
    case CpuListError::syntax: return "not a CPU list";
    case CpuListError::out_of_range: return "no such CPU";
    }
    return "?";
}

CpuListError parse_cpu_list(const char* text, uint32_t nr_cpus, uint64_t& mask)
{
    uint64_t m = 0;
    const char* p = text;
    if (*p == '\0') return CpuListError::syntax;
    for (;;) {
        const bool exclude = *p == '^';
        if (exclude) ++p;
        uint64_t part = 0;
        if (p[0] == 'a' && p[1] == 'l' && p[2] == 'l' && (p[3] == ',' || p[3] == '\0')) {
            part = all_of(nr_cpus);
            p += 3;
        } else {
            uint64_t first = 0, last = 0;
            if (!parse_number(p, first)) return CpuListError::syntax;
            last = first;
            if (*p == '-') {
                ++p;
                if (!parse_number(p, last)) return CpuListError::syntax;
            }
            if (last < first) return CpuListError::syntax;
            if (last >= nr_cpus || last >= 64) return CpuListError::out_of_range;
            for (uint64_t c = first; c <= last; ++c) part |= 1ull << c;
        }
        m = exclude ? (m & ~part) : (m | part);
        if (*p == '\0') break;
        if (*p != ',') return CpuListError::syntax;
        ++p;
    }
    if (m == 0) return CpuListError::empty;
    mask = m;
    return CpuListError::none;
}

size_t format_cpu_list(uint64_t mask, uint32_t nr_cpus, char* out, size_t size)
{
    Text t{out, size};
    const uint32_t n = nr_cpus > 64 ? 64 : nr_cpus;
    mask &= all_of(n);
    if (mask == 0) return t.str("none").size();
    if (mask == all_of(n)) return t.str("all").size();
    bool first = true;
    for (uint32_t c = 0; c < n;) {
        if (!((mask >> c) & 1)) {
            ++c;
            continue;
        }
        uint32_t end = c;
        while (end + 1 < n && ((mask >> (end + 1)) & 1)) ++end;
        if (!first) t.put(',');
        first = false;
        t.num(c);
        if (end > c) t.put('-').num(end);
        c = end + 1;
    }
    return t.size();
}

} // namespace dom0::xl
