// See info_format.hpp. Keys and their order are xl's (tools/xl/xl_info.c);
// the "host" part describes dom0, which is no Linux here.
#include "info_format.hpp"

namespace dom0::xl {

void info_line(Text& t, const char* key, const char* value)
{
    t.left(key, 23).str(": ").str(value).put('\n');
}

void info_line(Text& t, const char* key, uint64_t value)
{
    t.left(key, 23).str(": ").num(value).put('\n');
}

void info_lines(Text& t, const HostInfo& h)
{
    constexpr uint64_t pages_per_mib = (1u << 20) / 4096;
    info_line(t, "host", "dom0");
    info_line(t, "release", "menhir-dom0");
    info_line(t, "version", "1");
    info_line(t, "machine", "x86_64");
    info_line(t, "nr_cpus", h.nr_cpus);
    info_line(t, "max_cpu_id", h.nr_cpus ? h.nr_cpus - 1 : 0);
    info_line(t, "nr_nodes", 1);
    info_line(t, "cores_per_socket", h.nr_cpus);
    info_line(t, "threads_per_core", 1);
    t.left("cpu_mhz", 23).str(": ").num(h.cpu_khz / 1000).put('.').zeros(h.cpu_khz % 1000, 3).put('\n');
    info_line(t, "virt_caps", "hvm");
    info_line(t, "total_memory", h.total_pages / pages_per_mib);
    info_line(t, "free_memory", h.free_pages / pages_per_mib);
    info_line(t, "sharing_freed_memory", uint64_t{0});
    info_line(t, "sharing_used_memory", uint64_t{0});
    info_line(t, "outstanding_claims", uint64_t{0});
    info_line(t, "free_cpus", uint64_t{0});
    info_line(t, "xen_major", h.xen_major);
    info_line(t, "xen_minor", h.xen_minor);
    info_line(t, "xen_extra", h.xen_extra);
    t.left("xen_version", 23).str(": ").num(h.xen_major).put('.').num(h.xen_minor).str(h.xen_extra).put('\n');
    info_line(t, "xen_caps", h.xen_caps);
    info_line(t, "xen_scheduler", "credit");
    info_line(t, "xen_pagesize", 4096);
    info_line(t, "xen_changeset", h.xen_changeset);
    info_line(t, "xen_commandline", h.commandline);
    info_line(t, "cc_compiler", h.compiler);
    info_line(t, "cc_compile_date", h.compile_date);
    info_line(t, "xend_config_format", 4);
}

} // namespace dom0::xl
