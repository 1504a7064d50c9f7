// See sched_credit.hpp. Messages and widths are xl's (tools/xl/xl_sched.c).
#include "sched_credit.hpp"

namespace dom0::xl {
namespace {

bool starts(const char* s, const char* prefix, const char*& rest)
{
    size_t i = 0;
    for (; prefix[i] != '\0'; ++i)
        if (s[i] != prefix[i]) return false;
    rest = s + i;
    return true;
}

} // namespace

bool parse_u32(const char* s, uint32_t& out)
{
    if (*s < '0' || *s > '9') return false;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; ++s) {
        v = v * 10 + static_cast<uint64_t>(*s - '0');
        if (v > 0xffffffffull) return false;
    }
    if (*s != '\0') return false;
    out = static_cast<uint32_t>(v);
    return true;
}

const char* parse_sched_credit(size_t argc, const char* const* argv, SchedCreditArgs& out)
{
    out = SchedCreditArgs{};
    for (size_t i = 1; i < argc; ++i) {
        const char* a = argv[i];
        const char* value = nullptr;
        char opt = 0;
        if (a[0] == '-' && a[1] != '\0' && a[1] != '-') {
            opt = a[1];
            value = a[2] != '\0' ? a + 2 : nullptr;   // -w512 or -w 512
        } else if (starts(a, "--domain", value) || starts(a, "--weight", value) || starts(a, "--cap", value)) {
            opt = a[2];
            if (*value == '=') ++value;
            else if (*value == '\0') value = nullptr;
            else return "option not supported.";
        } else {
            return "unexpected argument.";
        }
        if (opt != 'd' && opt != 'w' && opt != 'c') return "option not supported.";
        if (value == nullptr) {
            if (i + 1 >= argc) return "option requires an argument.";
            value = argv[++i];
        }
        if (opt == 'd') {
            out.domain = value;
        } else if (opt == 'w') {
            if (!parse_u32(value, out.weight)) return "Invalid weight.";
            out.set_weight = true;
        } else {
            if (!parse_u32(value, out.cap)) return "Invalid cap.";
            out.set_cap = true;
        }
    }
    if (!out.domain && (out.set_weight || out.set_cap)) return "Must specify a domain.";
    return nullptr;
}

void sched_credit_header(Text& t, uint64_t tslice_ms)
{
    t.str("Cpupool Pool-0: tslice=").num(tslice_ms).str("ms ratelimit=0us migration-delay=0us\n");
    t.left("Name", 33).put(' ').right("ID", 4).put(' ').right("Weight", 6).put(' ').right("Cap", 4).put('\n');
}

void sched_credit_row(Text& t, const char* name, uint16_t domid, uint32_t weight, uint32_t cap)
{
    t.left(name, 33).put(' ').num(domid, 4).put(' ').num(weight, 6).put(' ').num(cap, 4).put('\n');
}

} // namespace dom0::xl
