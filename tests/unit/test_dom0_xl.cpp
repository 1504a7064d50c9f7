// dom0's xl: CPU lists, its tables (list, list -l, vcpu-list, sched-credit,
// uptime, info) in xl's formats, sched-credit's options, DOM lookup.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <string>

#include "dom0/xl/cpu_list.hpp"
#include "dom0/xl/domain_lookup.hpp"
#include "dom0/xl/info_format.hpp"
#include "dom0/xl/list_format.hpp"
#include "dom0/xl/sched_credit.hpp"
#include "dom0/xl/text.hpp"
#include "dom0/xl/vcpu_format.hpp"

using namespace dom0::xl;
namespace abi = menhir::abi;

namespace {

abi::DomainInfo dom(uint16_t id, const char* name, abi::DomainStateAbi state = abi::DomainStateAbi::running,
                    uint32_t flags = 0)
{
    abi::DomainInfo d{};
    d.domain = id;
    d.state = static_cast<uint8_t>(state);
    d.vcpus = d.vcpus_online = 1;
    d.weight = 256;
    d.memory_kb = 8192;
    d.flags = flags;
    std::snprintf(d.name, sizeof d.name, "%s", name);
    return d;
}

std::string cpus(const char* text, uint32_t n, CpuListError expect = CpuListError::none)
{
    uint64_t mask = 0xdead;
    REQUIRE(parse_cpu_list(text, n, mask) == expect);
    if (expect != CpuListError::none) {
        REQUIRE(mask == 0xdead);
        return "";
    }
    char out[200];
    format_cpu_list(mask, n, out, sizeof out);
    return out;
}

template <typename Fn>
std::string render(Fn&& fn)
{
    static char buf[8192];
    Text t{buf, sizeof buf};
    fn(t);
    REQUIRE(!t.truncated());
    return t.c_str();
}

} // namespace

TEST_CASE("cpu list: xl's forms parse and print back", "[xl]")
{
    CHECK(cpus("all", 2) == "all");
    CHECK(cpus("1", 2) == "1");
    CHECK(cpus("0-1", 2) == "all");
    CHECK(cpus("0,2-3", 8) == "0,2-3");
    CHECK(cpus("0-7,^3", 8) == "0-2,4-7");
    CHECK(cpus("all,^0", 4) == "1-3");
    CHECK(cpus("5,1,3", 8) == "1,3,5");
    CHECK(cpus("63", 64) == "63");
    CHECK(cpus("0-63", 64) == "all");
    cpus("2", 2, CpuListError::out_of_range);
    cpus("0-64", 80, CpuListError::out_of_range);
    cpus("", 2, CpuListError::syntax);
    cpus("x", 2, CpuListError::syntax);
    cpus("1-", 2, CpuListError::syntax);
    cpus("1-0", 2, CpuListError::syntax);
    cpus("0,", 2, CpuListError::syntax);
    cpus("0 1", 2, CpuListError::syntax);
    cpus("99999999999", 2, CpuListError::syntax);
    cpus("0,^0", 2, CpuListError::empty);
    char out[200];
    format_cpu_list(0, 4, out, sizeof out);
    CHECK(std::string(out) == "none");
    format_cpu_list(~0ull, 2, out, sizeof out);
    CHECK(std::string(out) == "all");
}

TEST_CASE("xl list: xl's header and row widths, Domain-0 first", "[xl]")
{
    abi::DomainInfo d0 = dom(0, "Domain-0", abi::DomainStateAbi::running, abi::dominf_running);
    d0.memory_kb = 65536;
    d0.cpu_time_ns = 12'345'000'000;
    const std::string s = render([&](Text& t) {
        list_header(t);
        list_row(t, d0);
        list_row(t, dom(3, "guest", abi::DomainStateAbi::running, abi::dominf_blocked));
    });
    char expect[512];
    std::snprintf(expect, sizeof expect,
                  "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
                  "%-40s %5d %5lu %5d     %s  %8.1f\n%-40s %5d %5lu %5d     %s  %8.1f\n",
                  "Domain-0", 0, 64ul, 1, "r-----", 12.3, "guest", 3, 8ul, 1, "-b----", 0.0);
    CHECK(s == expect);
}

TEST_CASE("xl list: state letters as xl shows them", "[xl]")
{
    auto letters = [](abi::DomainStateAbi st, uint8_t reason = 0, uint32_t flags = 0) {
        abi::DomainInfo d = dom(1, "x", st, flags);
        d.shutdown_reason = reason;
        char out[7];
        state_letters(d, out);
        return std::string(out);
    };
    CHECK(letters(abi::DomainStateAbi::running, 0, abi::dominf_running) == "r-----");
    CHECK(letters(abi::DomainStateAbi::running, 0, abi::dominf_blocked) == "-b----");
    CHECK(letters(abi::DomainStateAbi::paused) == "--p---");
    CHECK(letters(abi::DomainStateAbi::shutdown, 0) == "---s--");
    CHECK(letters(abi::DomainStateAbi::shutdown, 1) == "---sr-");
    CHECK(letters(abi::DomainStateAbi::crashed, 3) == "---sc-");
    CHECK(letters(abi::DomainStateAbi::dying) == "-----d");
}

TEST_CASE("xl list -l: JSON with xl's keys, names escaped", "[xl]")
{
    abi::DomainInfo ds[2] = {dom(0, "Domain-0"), dom(7, "we\"ird\\")};
    ds[1].vcpus = 2;
    ds[1].cap = 50;
    const std::string s = render([&](Text& t) { list_json(t, ds, 2); });
    CHECK(s.find("\"domid\": 7,") != std::string::npos);
    CHECK(s.find("\"name\": \"we\\\"ird\\\\\"") != std::string::npos);
    CHECK(s.find("\"max_vcpus\": 2,") != std::string::npos);
    CHECK(s.find("\"max_memkb\": 8192,") != std::string::npos);
    CHECK(s.find("\"cap\": 50") != std::string::npos);
    CHECK(s.front() == '[');
    CHECK(s.substr(s.size() - 2) == "]\n");
    // Balanced, and no trailing commas before a closing bracket.
    int depth = 0;
    for (char c : s) depth += (c == '{' || c == '[') - (c == '}' || c == ']');
    CHECK(depth == 0);
    CHECK(s.find(",\n    }") == std::string::npos);
    CHECK(s.find(",\n}") == std::string::npos);
    CHECK(render([&](Text& t) { list_json(t, ds, 0); }) == "[\n]\n");
}

TEST_CASE("xl vcpu-list: xl's columns, affinities as CPU lists", "[xl]")
{
    abi::DomctlVcpuInfo v{};
    v.vcpu = 0;
    v.online = 1;
    v.running = 1;
    v.cpu = 1;
    v.cpu_time_ns = 1'500'000'000;
    v.hard_affinity = 0b10;
    v.soft_affinity = 0b11;
    abi::DomctlVcpuInfo off{};
    off.vcpu = 1;
    off.hard_affinity = off.soft_affinity = 0b11;
    const std::string s = render([&](Text& t) {
        vcpu_list_header(t);
        vcpu_list_row(t, "spin1", 1, v, 2);
        vcpu_list_row(t, "spin1", 1, off, 2);
    });
    char expect[512];
    std::snprintf(expect, sizeof expect,
                  "%-32s %5s %5s %5s %5s %9s %s\n"
                  "%-32s %5u %5u%5u %3c%c- %9.1f  1 / all\n"
                  "%-32s %5u %5u%5c %3c%cp %9.1f  all / all\n",
                  "Name", "ID", "VCPU", "CPU", "State", "Time(s)", "Affinity (Hard / Soft)",
                  "spin1", 1u, 0u, 1u, 'r', '-', 1.5, "spin1", 1u, 1u, '-', '-', '-', 0.0);
    CHECK(s == expect);
}

TEST_CASE("xl sched-credit: options and table", "[xl]")
{
    SchedCreditArgs a;
    const char* list[] = {"sched-credit"};
    CHECK(parse_sched_credit(1, list, a) == nullptr);
    CHECK(a.domain == nullptr);
    const char* set[] = {"sched-credit", "-d", "spin2", "-w", "512"};
    CHECK(parse_sched_credit(5, set, a) == nullptr);
    CHECK(std::string(a.domain) == "spin2");
    CHECK(a.set_weight);
    CHECK(a.weight == 512);
    CHECK(!a.set_cap);
    const char* joined[] = {"sched-credit", "-dx", "-c50", "--weight=7"};
    CHECK(parse_sched_credit(4, joined, a) == nullptr);
    CHECK(std::string(a.domain) == "x");
    CHECK((a.set_cap && a.cap == 50 && a.weight == 7));
    const char* longs[] = {"sched-credit", "--domain", "y", "--cap", "0"};
    CHECK(parse_sched_credit(5, longs, a) == nullptr);
    CHECK((std::string(a.domain) == "y" && a.set_cap && a.cap == 0));
    const char* nodom[] = {"sched-credit", "-w", "5"};
    CHECK(std::string(parse_sched_credit(3, nodom, a)) == "Must specify a domain.");
    const char* badw[] = {"sched-credit", "-d", "x", "-w", "lots"};
    CHECK(parse_sched_credit(5, badw, a) != nullptr);
    const char* missing[] = {"sched-credit", "-d"};
    CHECK(parse_sched_credit(2, missing, a) != nullptr);
    const char* unknown[] = {"sched-credit", "-z"};
    CHECK(parse_sched_credit(2, unknown, a) != nullptr);

    const std::string s = render([&](Text& t) {
        sched_credit_header(t, 30);
        sched_credit_row(t, "Domain-0", 0, 256, 0);
    });
    char expect[256];
    std::snprintf(expect, sizeof expect,
                  "Cpupool Pool-0: tslice=30ms ratelimit=0us migration-delay=0us\n%-33s %4s %6s %4s\n%-33s %4d %6d %4d\n",
                  "Name", "ID", "Weight", "Cap", "Domain-0", 0, 256, 0);
    CHECK(s == expect);
}

TEST_CASE("xl uptime: xl's table and time format", "[xl]")
{
    auto up = [](uint64_t s) { return render([&](Text& t) { uptime_string(t, s); }); };
    CHECK(up(0) == " 0:00:00");
    CHECK(up(3 * 3600 + 4 * 60 + 5) == " 3:04:05");
    CHECK(up(86400 + 61) == "1 day,  0:01:01");
    CHECK(up(3 * 86400 + 12 * 3600) == "3 days, 12:00:00");
    const std::string s = render([&](Text& t) {
        uptime_header(t);
        uptime_row(t, dom(0, "Domain-0"), 75);
    });
    char expect[256];
    std::snprintf(expect, sizeof expect, "%-33s %4s %s\n%-33s %4d %s\n", "Name", "ID", "Uptime", "Domain-0", 0,
                  " 0:01:15");
    CHECK(s == expect);
}

TEST_CASE("xl info: key : value lines, memory in MiB", "[xl]")
{
    const HostInfo h{2, 65536, 30000, 2'500'123, 4, 17, ".0-menhir", "hvm-3.0-x86_64", "menhir", "loglvl=debug",
                     "g++", "today"};
    const std::string s = render([&](Text& t) { info_lines(t, h); });
    CHECK(s.find("host                   : dom0\n") == 0);
    CHECK(s.find("\nnr_cpus                : 2\n") != std::string::npos);
    CHECK(s.find("\ncpu_mhz                : 2500.123\n") != std::string::npos);
    CHECK(s.find("\ntotal_memory           : 256\n") != std::string::npos);
    CHECK(s.find("\nfree_memory            : 117\n") != std::string::npos);
    CHECK(s.find("\nxen_version            : 4.17.0-menhir\n") != std::string::npos);
    CHECK(s.find("\nxen_scheduler          : credit\n") != std::string::npos);
    CHECK(s.find("\nxen_commandline        : loglvl=debug\n") != std::string::npos);
}

TEST_CASE("xl DOM: an id or a name", "[xl]")
{
    const abi::DomainInfo ds[3] = {dom(0, "Domain-0"), dom(4, "web"), dom(12, "4")};
    CHECK(find_domain("0", ds, 3) == 0);
    CHECK(find_domain("Domain-0", ds, 3) == 0);
    CHECK(find_domain("web", ds, 3) == 1);
    CHECK(find_domain("4", ds, 3) == 1);     // digits are an id, as in xl
    CHECK(find_domain("12", ds, 3) == 2);
    CHECK(find_domain("we", ds, 3) == -1);
    CHECK(find_domain("webs", ds, 3) == -1);
    CHECK(find_domain("99", ds, 3) == -1);
    CHECK(find_domain("", ds, 3) == -1);
    CHECK(find_domain("999999999999", ds, 3) == -1);
}

TEST_CASE("text: full buffers truncate and say so", "[xl]")
{
    char buf[8];
    Text t{buf, sizeof buf};
    CHECK(std::string(t.c_str()).empty());
    t.str("0123456789");
    CHECK(t.truncated());
    CHECK(std::string(t.c_str()) == "0123456");
    char b2[64];
    Text u{b2, sizeof b2};
    u.snum(-42, 5).put('|').seconds1(49'999'999, 4).put('|').seconds1(50'000'000, 4);
    CHECK(std::string(u.c_str()) == "  -42| 0.0| 0.1");
}

TEST_CASE("xl block-list: xl's header and \"%-5d %-3d %-6d %-5d %-6d %-8d %-30s\" rows", "[xl]")
{
    const std::string s = render([&](Text& t) {
        block_list_header(t);
        block_list_row(t, BlockRow{51712, 0, 3, 4, 13, 8, "/local/domain/0/backend/vbd/3/51712"});
        block_list_row(t, BlockRow{51728, 0, 3, 1, -1, -1, "/local/domain/0/backend/vbd/3/51728"});
        block_list_row(t, BlockRow{268439552, 0, 12, 4, 9, 4294967295ll, "/b"});
    });
    CHECK(s ==
          "Vdev  BE  handle state evt-ch ring-ref BE-path                       \n"
          "51712 0   3      4     13     8        /local/domain/0/backend/vbd/3/51712\n"
          "51728 0   3      1     -1     -1       /local/domain/0/backend/vbd/3/51728\n"
          "268439552 0   12     4     9      4294967295 /b                            \n");
}
