// See list_format.hpp. Column widths are xl's (tools/xl/xl_info.c).
#include "list_format.hpp"

namespace dom0::xl {

namespace abi = menhir::abi;

void name_of(const abi::DomainInfo& d, char (&out)[33])
{
    size_t i = 0;
    for (; i < sizeof d.name && d.name[i] != '\0'; ++i) out[i] = d.name[i];
    out[i] = '\0';
}

void state_letters(const abi::DomainInfo& d, char (&out)[7])
{
    const auto state = static_cast<abi::DomainStateAbi>(d.state);
    const bool shut = state == abi::DomainStateAbi::shutdown || state == abi::DomainStateAbi::crashed;
    // SHUTDOWN_poweroff, reboot, suspend, crash, watchdog, soft_reset.
    static constexpr char reasons[] = "-rscwS";
    const uint8_t reason = state == abi::DomainStateAbi::crashed ? 3 : d.shutdown_reason;
    out[0] = (d.flags & abi::dominf_running) ? 'r' : '-';
    out[1] = (d.flags & abi::dominf_blocked) ? 'b' : '-';
    out[2] = state == abi::DomainStateAbi::paused ? 'p' : '-';
    out[3] = shut ? 's' : '-';
    out[4] = !shut ? '-' : (reason < sizeof reasons - 1 ? reasons[reason] : '?');
    out[5] = state == abi::DomainStateAbi::dying ? 'd' : '-';
    out[6] = '\0';
}

void list_header(Text& t)
{
    t.str("Name                                        ID   Mem VCPUs\tState\tTime(s)\n");
}

void list_row(Text& t, const abi::DomainInfo& d)
{
    char name[33];
    char state[7];
    name_of(d, name);
    state_letters(d, state);
    t.left(name, 40).put(' ').num(d.domain, 5).put(' ').num(d.memory_kb / 1024, 5).put(' ');
    t.num(d.vcpus_online, 5).str("     ").str(state).str("  ").seconds1(d.cpu_time_ns, 8).put('\n');
}

namespace {

void json_string(Text& t, const char* s)
{
    static constexpr char hex[] = "0123456789abcdef";
    t.put('"');
    for (; *s != '\0'; ++s) {
        const auto c = static_cast<unsigned char>(*s);
        if (c == '"' || c == '\\') {
            t.put('\\').put(static_cast<char>(c));
        } else if (c < 0x20) {
            t.str("\\u00").put(hex[c >> 4]).put(hex[c & 15]);
        } else {
            t.put(static_cast<char>(c));
        }
    }
    t.put('"');
}

// A new line's indentation, as xl's JSON generator does it (4 spaces a level).
Text& at(Text& t, int level)
{
    for (int i = 0; i < level; ++i) t.str("    ");
    return t;
}

} // namespace

void list_json(Text& t, const abi::DomainInfo* doms, size_t count)
{
    t.str("[\n");
    for (size_t i = 0; i < count; ++i) {
        const abi::DomainInfo& d = doms[i];
        char name[33];
        name_of(d, name);
        at(t, 1).str("{\n");
        at(t, 2).str("\"domid\": ").num(d.domain).str(",\n");
        at(t, 2).str("\"config\": {\n");
        at(t, 3).str("\"c_info\": {\n");
        at(t, 4).str("\"type\": \"pvh\",\n");
        at(t, 4).str("\"name\": ");
        json_string(t, name);
        t.put('\n');
        at(t, 3).str("},\n");
        at(t, 3).str("\"b_info\": {\n");
        at(t, 4).str("\"max_vcpus\": ").num(d.vcpus).str(",\n");
        at(t, 4).str("\"avail_vcpus\": [\n");
        for (uint32_t v = 0; v < d.vcpus_online; ++v)
            at(t, 5).num(v).str(v + 1 < d.vcpus_online ? ",\n" : "\n");
        at(t, 4).str("],\n");
        at(t, 4).str("\"max_memkb\": ").num(d.memory_kb).str(",\n");
        at(t, 4).str("\"target_memkb\": ").num(d.memory_kb).str(",\n");
        at(t, 4).str("\"sched_params\": {\n");
        at(t, 5).str("\"sched\": \"credit\",\n");
        at(t, 5).str("\"weight\": ").num(d.weight).str(",\n");
        at(t, 5).str("\"cap\": ").num(d.cap).put('\n');
        at(t, 4).str("},\n");
        at(t, 4).str("\"type.pvh\": {\n");
        at(t, 4).str("}\n");
        at(t, 3).str("}\n");
        at(t, 2).str("}\n");
        at(t, 1).str(i + 1 < count ? "},\n" : "}\n");
    }
    t.str("]\n");
}

void uptime_string(Text& t, uint64_t seconds)
{
    const uint64_t days = seconds / 86400;
    seconds %= 86400;
    if (days != 0) t.num(days).str(days == 1 ? " day, " : " days, ");
    t.num(seconds / 3600, 2).put(':').zeros(seconds / 60 % 60, 2).put(':').zeros(seconds % 60, 2);
}

void uptime_header(Text& t)
{
    t.left("Name", 33).put(' ').right("ID", 4).str(" Uptime\n");
}

void uptime_row(Text& t, const abi::DomainInfo& d, uint64_t seconds)
{
    char name[33];
    name_of(d, name);
    t.left(name, 33).put(' ').num(d.domain, 4).put(' ');
    uptime_string(t, seconds);
    t.put('\n');
}

namespace {
// xl's "%-Nd": a signed number left-aligned in `width` columns.
void left_num(Text& t, int64_t v, size_t width)
{
    char digits[24];
    size_t n = 0;
    if (v < 0) digits[n++] = '-';
    n += decimal(v < 0 ? static_cast<uint64_t>(-v) : static_cast<uint64_t>(v), digits + n);
    digits[n] = '\0';
    t.left(digits, width);
}
} // namespace

void block_list_header(Text& t)
{
    t.left("Vdev", 5).put(' ').left("BE", 3).put(' ').left("handle", 6).put(' ').left("state", 5).put(' ');
    t.left("evt-ch", 6).put(' ').left("ring-ref", 8).put(' ').left("BE-path", 30).put('\n');
}

void block_list_row(Text& t, const BlockRow& r)
{
    left_num(t, r.devid, 5);
    t.put(' ');
    left_num(t, r.backend_id, 3);
    t.put(' ');
    left_num(t, r.frontend_id, 6);
    t.put(' ');
    left_num(t, r.state, 5);
    t.put(' ');
    left_num(t, r.evtch, 6);
    t.put(' ');
    left_num(t, r.ring_ref, 8);
    t.put(' ').left(r.be_path, 30).put('\n');
}

} // namespace dom0::xl
