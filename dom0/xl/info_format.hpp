// `xl info`'s "key : value" lines from what the hypervisor reports. Pure:
// builds on the host.
#pragma once
#include <cstdint>
#include "text.hpp"

namespace dom0::xl {

struct HostInfo {
    uint32_t nr_cpus;
    uint64_t total_pages;   // 4 KiB frames
    uint64_t free_pages;
    uint64_t cpu_khz;
    uint32_t xen_major;
    uint32_t xen_minor;
    const char* xen_extra;      // XENVER_extraversion
    const char* xen_caps;       // XENVER_capabilities
    const char* xen_changeset;  // XENVER_changeset
    const char* commandline;    // XENVER_commandline
    const char* compiler;       // XENVER_compile_info
    const char* compile_date;
};

// xl's key column: the key, then spaces to 23 characters, then ": ".
void info_line(Text& t, const char* key, const char* value);
void info_line(Text& t, const char* key, uint64_t value);
void info_lines(Text& t, const HostInfo& h);

} // namespace dom0::xl
