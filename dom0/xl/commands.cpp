// xl's subcommands that need only the hypervisor (see commands.hpp). The
// tables and parsing are pure (list_format, vcpu_format, sched_credit,
// cpu_list, info_format); this file fetches, calls and prints. Messages
// follow xl's where xl has one.
#include "commands.hpp"
#include "cpu_list.hpp"
#include "domain_lookup.hpp"
#include "hypervisor.hpp"
#include "dom0/block/blkback.hpp"
#include "dom0/toolstack.hpp"
#include "dom0/xenstored.hpp"
#include "info_format.hpp"
#include "list_format.hpp"
#include "sched_credit.hpp"
#include "text.hpp"
#include "vcpu_format.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

namespace dom0::xl {
namespace {

namespace abi = menhir::abi;
using guest::format;
using guest::print;

// Room for the largest table: vcpu-list or list -l of 128 domains.
char out_storage[160 * 1024];
Text text{out_storage, sizeof out_storage};
abi::DomainInfo doms[hv::max_domains];
size_t dom_count = 0;

void flush()
{
    out(text.c_str(), text.size());
    if (text.truncated()) print("\nxl: output cut short\n");
    text.clear();
}

bool same(const char* a, const char* b) { return guest::str_eq(a, b); }

bool load_domains()
{
    const long n = hv::list_domains(doms, hv::max_domains);
    if (n < 0) {
        print("libxl_list_domain failed.\n");
        dom_count = 0;
        return false;
    }
    dom_count = static_cast<size_t>(n);
    return true;
}

// xl's find_domain(): the domain's index in doms, or the message and -1.
long find(const char* arg)
{
    const long i = find_domain(arg, doms, dom_count);
    if (i < 0) print("%s is an invalid domain identifier (rc=-6)\n", arg);
    return i;
}

uint32_t nr_cpus()
{
    abi::SysctlPhysinfo p{};
    return hv::physinfo(p) == 0 && p.nr_cpus ? p.nr_cpus : 1;
}

// ---------------------------------------------------------------------------

int cmd_list(size_t argc, const char* const* argv)
{
    bool details = false;
    const char* only = nullptr;
    for (size_t i = 1; i < argc; ++i) {
        if (same(argv[i], "-l") || same(argv[i], "--long")) details = true;
        else if (argv[i][0] == '-') { print("option `%s' not supported.\n", argv[i] + 1); return 2; }
        else if (only == nullptr) only = argv[i];
        else { print("Usage: xl list [-l] [Domain]\n"); return 1; }
    }
    if (!load_domains()) return 1;
    const abi::DomainInfo* shown = doms;
    size_t count = dom_count;
    if (only != nullptr) {
        const long i = find_domain(only, doms, dom_count);
        if (i < 0) {
            print("Error: Domain '%s' does not exist.\n", only);
            return 1;
        }
        shown = &doms[i];
        count = 1;
    }
    if (details) {
        list_json(text, shown, count);
    } else {
        list_header(text);
        for (size_t i = 0; i < count; ++i) list_row(text, shown[i]);
    }
    flush();
    return 0;
}

int cmd_info(size_t, const char* const*)
{
    abi::SysctlPhysinfo p{};
    if (hv::physinfo(p) != 0) {
        print("libxl_physinfo failed.\n");
        return 1;
    }
    // XENVER_compile_info 2, capabilities 3, changeset 4, commandline 9 (Xen's version.h).
    static char extra[16], caps[1024], changeset[64], cmdline[1024], compile[144];
    const long ver = guest::xen_version(xen::XENVER_version, nullptr);
    if (guest::xen_version(xen::XENVER_extraversion, extra) != 0) extra[0] = '\0';
    if (guest::xen_version(3, caps) != 0) caps[0] = '\0';
    if (guest::xen_version(4, changeset) != 0) changeset[0] = '\0';
    if (guest::xen_version(9, cmdline) != 0) cmdline[0] = '\0';
    if (guest::xen_version(2, compile) != 0) compile[0] = compile[112] = '\0';
    extra[sizeof extra - 1] = caps[sizeof caps - 1] = changeset[sizeof changeset - 1] = '\0';
    cmdline[sizeof cmdline - 1] = compile[63] = compile[143] = '\0';
    const HostInfo h{p.nr_cpus, p.total_pages, p.free_pages, p.cpu_khz,
                     static_cast<uint32_t>(ver >> 16), static_cast<uint32_t>(ver & 0xffff),
                     extra, caps, changeset, cmdline, compile, compile + 112};
    info_lines(text, h);
    flush();
    return 0;
}

int cmd_dmesg(size_t argc, const char* const* argv)
{
    bool clear = false;
    for (size_t i = 1; i < argc; ++i) {
        if (same(argv[i], "-c") || same(argv[i], "--clear")) clear = true;
        else { print("option `%s' not supported.\n", argv[i] + 1); return 2; }
    }
    static char chunk[1024];
    uint64_t index = 0;
    for (;;) {
        uint32_t got = 0;
        if (hv::read_console(chunk, sizeof chunk, index, false, got) != 0) {
            print("xl: cannot read the hypervisor console\n");
            return 1;
        }
        if (got == 0) break;
        out(chunk, got);
    }
    uint32_t none = 0;
    if (clear) (void)hv::read_console(chunk, 0, index, true, none);
    return 0;
}

void vcpus_of(const abi::DomainInfo& d, uint32_t cpus)
{
    char name[33];
    name_of(d, name);
    for (uint32_t v = 0; v < d.vcpus; ++v) {
        abi::DomctlVcpuInfo info{};
        if (hv::vcpu_info(d.domain, v, info) != 0) continue;
        vcpu_list_row(text, name, d.domain, info, cpus);
    }
}

int cmd_vcpu_list(size_t argc, const char* const* argv)
{
    if (!load_domains()) return 1;
    const uint32_t cpus = nr_cpus();
    vcpu_list_header(text);
    if (argc <= 1) {
        for (size_t i = 0; i < dom_count; ++i) vcpus_of(doms[i], cpus);
    } else {
        for (size_t a = 1; a < argc; ++a) {
            const long i = find(argv[a]);
            if (i < 0) {
                text.clear();
                return 1;
            }
            vcpus_of(doms[i], cpus);
        }
    }
    flush();
    return 0;
}

int cmd_vcpu_pin(size_t argc, const char* const* argv)
{
    if (argc < 4 || argc > 5) {
        print("'xl vcpu-pin' requires at least 3 arguments.\n\nUsage: xl vcpu-pin <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>\n");
        return 2;
    }
    if (!load_domains()) return 1;
    const long i = find(argv[1]);
    if (i < 0) return 1;
    const abi::DomainInfo& d = doms[i];
    uint32_t first = 0, last = d.vcpus ? d.vcpus - 1 : 0;
    if (!same(argv[2], "all")) {
        uint32_t v = 0;
        if (!parse_u32(argv[2], v)) {
            print("Error: Invalid argument %s as VCPU.\n", argv[2]);
            return 1;
        }
        first = last = v;
    }
    const uint32_t cpus = nr_cpus();
    uint32_t flags = 0;
    uint64_t hard = 0, soft = 0;
    for (int k = 0; k < 2 && 3 + static_cast<size_t>(k) < argc; ++k) {
        const char* arg = argv[3 + k];
        if (same(arg, "-")) continue;
        uint64_t& mask = k == 0 ? hard : soft;
        const CpuListError e = parse_cpu_list(arg, cpus, mask);
        if (e != CpuListError::none) {
            print("xl: invalid CPU list '%s': %s\n", arg, to_string(e));
            return 1;
        }
        flags |= k == 0 ? abi::affinity_set_hard : abi::affinity_set_soft;
    }
    if (flags == 0) return 0;
    for (uint32_t v = first; v <= last; ++v) {
        const long rc = hv::set_affinity(d.domain, v, flags, hard, soft);
        if (rc != 0) {
            print("Could not set affinity for vcpu `%u'.\n", v);
            return 1;
        }
    }
    return 0;
}

int cmd_sched_credit(size_t argc, const char* const* argv)
{
    SchedCreditArgs a;
    if (const char* err = parse_sched_credit(argc, argv, a)) {
        print("%s\n", err);
        return 1;
    }
    if (!load_domains()) return 1;
    if (a.domain == nullptr) {
        sched_credit_header(text, 30);
        for (size_t i = 0; i < dom_count; ++i) {
            char name[33];
            name_of(doms[i], name);
            sched_credit_row(text, name, doms[i].domain, doms[i].weight, doms[i].cap);
        }
        flush();
        return 0;
    }
    const long i = find(a.domain);
    if (i < 0) return 1;
    const abi::DomainInfo& d = doms[i];
    abi::DomctlCredit c{};
    if (hv::get_credit(d.domain, c) != 0) {
        print("libxl_domain_sched_params_get failed.\n");
        return 1;
    }
    if (!a.set_weight && !a.set_cap) {
        char name[33];
        name_of(d, name);
        text.left("Name", 33).put(' ').right("ID", 4).put(' ').right("Weight", 6).put(' ').right("Cap", 4).put('\n');
        sched_credit_row(text, name, d.domain, c.weight, c.cap);
        flush();
        return 0;
    }
    if (hv::set_credit(d.domain, a.set_weight ? a.weight : c.weight, a.set_cap ? a.cap : c.cap) != 0) {
        print("libxl_domain_sched_params_set failed.\n");
        return 1;
    }
    return 0;
}

// pause, unpause, destroy: one DOM each.
int one_domain(size_t argc, const char* const* argv, long (*op)(uint16_t), const char* what)
{
    if (argc != 2) {
        print("'xl %s' requires at least 1 argument.\n\nUsage: xl %s <Domain>\n", argv[0], argv[0]);
        return 2;
    }
    if (!load_domains()) return 1;
    const long i = find(argv[1]);
    if (i < 0) return 1;
    const uint16_t id = doms[i].domain;
    if (id == 0 && op == toolstack::destroy) {
        print("Cannot destroy privileged domain 0.\n\n");
        return 1;
    }
    const long rc = op(id);
    if (rc != 0) {
        print("libxl: error: %s domain %u failed (error %ld)\n", what, id, rc);
        return 1;
    }
    return 0;
}

int cmd_pause(size_t argc, const char* const* argv) { return one_domain(argc, argv, hv::pause, "pausing"); }
int cmd_unpause(size_t argc, const char* const* argv) { return one_domain(argc, argv, hv::unpause, "unpausing"); }

int cmd_destroy(size_t argc, const char* const* argv)
{
    // Through the toolstack: the domain's console and record go with it, and
    // it returns once the domain is gone (dom0/domain_builder's destroy_domain).
    const int rc = one_domain(argc, argv, toolstack::destroy, "destroying");
    if (rc != 0) return rc;
    // A domain something still maps (a foreign mapping of dom0's) stays
    // listed as dying: then say so rather than wait for ever.
    const long i = find_domain(argv[1], doms, dom_count);
    if (i >= 0 && hv::listed(doms[i].domain)) print("xl: domain %u is dying but not gone yet\n", doms[i].domain);
    return 0;
}

int cmd_uptime(size_t argc, const char* const* argv)
{
    abi::SysctlPhysinfo p{};
    if (hv::physinfo(p) != 0 || !load_domains()) return 1;
    uptime_header(text);
    auto row = [&](const abi::DomainInfo& d) {
        const uint64_t up = p.uptime_ns > d.created_ns ? p.uptime_ns - d.created_ns : 0;
        uptime_row(text, d, up / 1'000'000'000);
    };
    if (argc <= 1) {
        for (size_t i = 0; i < dom_count; ++i) row(doms[i]);
    } else {
        for (size_t a = 1; a < argc; ++a) {
            const long i = find(argv[a]);
            if (i < 0) {
                text.clear();
                return 1;
            }
            row(doms[i]);
        }
    }
    flush();
    return 0;
}

// A frontend key as libxl's diskinfo reads it: strtoul of the value, -1 when absent.
int64_t frontend_key(uint16_t domid, uint32_t devid, const char* key)
{
    char path[96], value[24];
    format(path, sizeof path, "/local/domain/%u/device/vbd/%u/%s", domid, devid, key);
    uint32_t len = 0;
    if (xenstored::read(path, value, sizeof value - 1, len) != xenstore::Err::none) return -1;
    value[len] = '\0';
    int64_t v = 0;
    for (uint32_t i = 0; i < len && value[i] >= '0' && value[i] <= '9'; ++i) v = v * 10 + (value[i] - '0');
    return v;
}

int cmd_block_list(size_t argc, const char* const* argv)
{
    if (argc < 2) {
        print("'xl block-list' requires at least 1 argument.\n\nUsage: xl block-list <Domain(s)>\n");
        return 2;
    }
    if (!load_domains()) return 1;
    block_list_header(text);
    static blkback::VbdInfo vbds[blkback::MAX_VBDS];
    for (size_t a = 1; a < argc; ++a) {
        const long i = find_domain(argv[a], doms, dom_count);
        if (i < 0) {   // xl goes on with the next one
            flush();
            print("%s is an invalid domain identifier\n", argv[a]);
            continue;
        }
        const uint16_t id = doms[i].domain;
        const unsigned n = blkback::list(id, vbds, blkback::MAX_VBDS);
        for (unsigned k = 0; k < n; ++k) {
            const uint32_t devid = vbds[k].devid;
            block_list_row(text, BlockRow{devid, 0, id, frontend_key(id, devid, "state"),
                                          frontend_key(id, devid, "event-channel"), frontend_key(id, devid, "ring-ref"),
                                          vbds[k].be_path});
        }
    }
    flush();
    return 0;
}

int cmd_help(size_t, const char* const*);

Command table[] = {
    {"create", nullptr, "xl create <ConfigFile> [options] [vars]", "Create a domain from config file <filename>"},
    {"list", cmd_list, "xl list [-l] [Domain]", "List information about all/some domains"},
    {"destroy", cmd_destroy, "xl destroy <Domain>", "Terminate a domain immediately"},
    {"shutdown", nullptr, "xl shutdown [-w] <Domain>", "Issue a shutdown signal to a domain"},
    {"reboot", nullptr, "xl reboot <Domain>", "Issue a reboot signal to a domain"},
    {"pause", cmd_pause, "xl pause <Domain>", "Pause execution of a domain"},
    {"unpause", cmd_unpause, "xl unpause <Domain>", "Unpause a paused domain"},
    {"console", nullptr, "xl console <Domain>", "Attach to domain's console"},
    {"info", cmd_info, "xl info", "Get information about Xen host"},
    {"dmesg", cmd_dmesg, "xl dmesg [-c]", "Read and/or clear dmesg buffer"},
    {"vcpu-list", cmd_vcpu_list, "xl vcpu-list [Domain, ...]", "List the VCPUs for all/some domains"},
    {"vcpu-pin", cmd_vcpu_pin, "xl vcpu-pin <Domain> <VCPU|all> <Hard affinity|-|all> [Soft affinity|-|all]",
     "Set which CPUs a VCPU can use"},
    {"sched-credit", cmd_sched_credit, "xl sched-credit [-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]",
     "Get/set credit scheduler parameters"},
    {"uptime", cmd_uptime, "xl uptime [Domain, ...]", "Print uptime for all/some domains"},
    {"block-list", cmd_block_list, "xl block-list <Domain(s)>", "List virtual block devices for a domain"},
    {"help", cmd_help, "xl help", "Print this help"},
};

int cmd_help(size_t, const char* const*)
{
    text.str("Usage xl <subcommand> [args]\n\nxl full list of subcommands:\n\n");
    for (const Command& c : table) text.put(' ').left(c.name, 19).put(' ').str(c.summary).put('\n');
    text.str("\nand, in dom0's shell: help, disks, poweroff, reboot\n");
    flush();
    return 0;
}

} // namespace

void out(const char* s) { out(s, guest::str_len(s)); }

void out(const char* s, size_t n)
{
    // The console takes at most a chunk per call; it continues by itself.
    while (n != 0) {
        const unsigned k = n > 4096 ? 4096 : static_cast<unsigned>(n);
        guest::console_io(xen::CONSOLEIO_write, k, s);
        s += k;
        n -= k;
    }
}

bool set_handler(const char* name, Handler handler)
{
    for (Command& c : table) {
        if (same(c.name, name)) {
            c.handler = handler;
            return true;
        }
    }
    return false;
}

int run(size_t argc, const char* const* argv)
{
    if (argc < 2) return cmd_help(argc, argv);
    for (const Command& c : table) {
        if (!same(c.name, argv[1])) continue;
        if (c.handler == nullptr) {
            print("xl: '%s' is not available in this dom0 yet\n", c.name);
            return 1;
        }
        if (argc == 3 && (same(argv[2], "-h") || same(argv[2], "--help"))) {
            print("Usage: %s\n\n%s.\n", c.usage, c.summary);
            return 0;
        }
        return c.handler(argc - 1, argv + 1);
    }
    print("xl: command '%s' not implemented\n", argv[1]);
    return 1;
}

} // namespace dom0::xl
