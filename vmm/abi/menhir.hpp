// Menhir's privileged interface: domctl (36) and sysctl (35), dom0 only.
// No stock Xen toolstack runs in dom0, so these layouts are Menhir's own
// (documented in docs/abi.md); the hypercall numbers are Xen's. Shared by the
// hypervisor and dom0, host-testable.
#pragma once
#include <cstdint>

namespace menhir::abi {

inline constexpr uint32_t domctl_interface_version = 0x4d480001;   // "MH", version 1

enum class DomctlCmd : uint32_t {
    create = 1,            // u.create -> header.domain = the new id
    populate = 2,          // allocate the domain's RAM [0, memory)
    set_vcpu_context = 3,  // u.vcpu: PVH initial state of a vCPU
    unpause = 4,
    pause = 5,
    shutdown = 6,          // u.shutdown.reason
    destroy = 7,
    get_info = 8,          // u.info
    set_credit = 9,        // u.credit
    get_credit = 10,       // u.credit
    ioport_permission = 11,  // u.ioport
    irq_permission = 12,     // u.irq
    console_handover = 13,   // u.console (out): the hypervisor stops serving the domain's console ring
    store_info = 14,         // u.store (out): the domain's xenstore page and port, for dom0's xenstored
    get_vcpu_info = 15,      // u.vcpu_info: vcpu in, the rest out (xl vcpu-list)
    set_vcpu_affinity = 16,  // u.affinity (xl vcpu-pin); the scheduler honours the hard mask
};

struct DomctlCreate {
    uint64_t memory_kb;
    uint32_t vcpus;
    uint32_t weight;     // 0 = default (256)
    uint32_t cap;        // percent of one CPU, 0 = none
    uint32_t flags;      // create_*
    char name[32];
};
// The builder puts ACPI tables in the last page of RAM below 4 GiB
// (vmm/pvh_start_info): XENMEM_memory_map marks that page ACPI, as the
// start_info memory map does.
inline constexpr uint32_t create_acpi_tables = 1u << 0;
struct DomctlVcpuContext { uint32_t vcpu; uint32_t entry; uint32_t ebx; uint32_t pad; };
struct DomctlShutdown { uint32_t reason; };   // xen::ShutdownReason
struct DomctlCredit { uint32_t weight; uint32_t cap; };
struct DomctlIoport { uint32_t first_port; uint32_t nr_ports; uint32_t allow; };
struct DomctlIrq { uint32_t irq; uint32_t allow; };
// The console ring page (guest frame in the domain's physical space) and the
// domain's unbound port for dom0 (EVTCHNOP_bind_interdomain), as in
// HVM_PARAM_CONSOLE_PFN / CONSOLE_EVTCHN.
struct DomctlConsole { uint64_t gfn; uint32_t port; uint32_t pad; };
// Bit i of a CPU mask is physical CPU i (at most 64, sched::max_cpus).
struct DomctlVcpuInfo {
    uint32_t vcpu;
    uint8_t online;     // brought up (vCPU 0 at build, others by VCPUOP_up)
    uint8_t blocked;    // waiting for an event
    uint8_t running;    // on a CPU now
    uint8_t pad;
    uint32_t cpu;       // the CPU it runs on or last ran on (run queue)
    uint32_t pad2;
    uint64_t cpu_time_ns;
    uint64_t hard_affinity;   // CPUs it may run on
    uint64_t soft_affinity;   // CPUs it prefers among those
};
static_assert(sizeof(DomctlVcpuInfo) == 40);
inline constexpr uint32_t affinity_set_hard = 1u << 0;
inline constexpr uint32_t affinity_set_soft = 1u << 1;
struct DomctlAffinity {
    uint32_t vcpu;
    uint32_t flags;     // affinity_set_hard | affinity_set_soft: which masks to change
    uint64_t hard;      // out: the masks now in force (online CPUs only)
    uint64_t soft;
};
static_assert(sizeof(DomctlAffinity) == 24);
// The xenstore ring page and the domain's unbound port for dom0, as in
// HVM_PARAM_STORE_PFN / STORE_EVTCHN.
using DomctlStore = DomctlConsole;

enum class DomainStateAbi : uint8_t { running = 0, paused = 1, shutdown = 2, crashed = 3, dying = 4 };
// DomainInfo::flags, as Xen's XEN_DOMINF_running / XEN_DOMINF_blocked.
inline constexpr uint32_t dominf_running = 1u << 0;   // a vCPU of it is on a CPU now
inline constexpr uint32_t dominf_blocked = 1u << 1;   // every online vCPU waits for an event
struct DomainInfo {
    uint16_t domain;
    uint8_t state;           // DomainStateAbi
    uint8_t shutdown_reason; // xen::ShutdownReason when shut down or crashed
    uint32_t vcpus;
    uint32_t vcpus_online;
    uint32_t weight;
    uint32_t cap;
    uint32_t flags;          // dominf_*
    uint64_t memory_kb;
    uint64_t cpu_time_ns;
    char name[32];
    uint64_t created_ns;     // hypervisor time (ns since boot) when it was created (xl uptime)
};
static_assert(sizeof(DomainInfo) == 80);

struct Domctl {
    uint32_t cmd;                // DomctlCmd
    uint32_t interface_version;  // domctl_interface_version
    uint16_t domain;
    uint16_t pad[3];
    union {
        DomctlCreate create;
        DomctlVcpuContext vcpu;
        DomctlShutdown shutdown;
        DomctlCredit credit;
        DomctlIoport ioport;
        DomctlIrq irq;
        DomctlConsole console;
        DomctlStore store;
        DomainInfo info;
        DomctlVcpuInfo vcpu_info;
        DomctlAffinity affinity;
        uint8_t raw[112];
    } u;
};
static_assert(sizeof(Domctl) == 128);

enum class SysctlCmd : uint32_t {
    domain_list = 1,    // u.list
    read_console = 2,   // u.console
    physinfo = 3,       // u.physinfo
    console_mode = 4,   // u.console_mode
};
struct SysctlDomainList { uint16_t first_domain; uint16_t pad; uint32_t max_domains; uint64_t buffer; uint32_t num_domains; uint32_t pad2; };
// count in/out; index = offset in the log, in/out; flags: read_console_clear
// empties the log once this read is done (xl dmesg -c).
inline constexpr uint32_t read_console_clear = 1u << 0;
struct SysctlReadConsole { uint64_t buffer; uint32_t count; uint32_t flags; uint64_t index; };
// uptime_ns: hypervisor time now, the clock of DomainInfo::created_ns.
struct SysctlPhysinfo { uint32_t nr_cpus; uint32_t pad; uint64_t total_pages; uint64_t free_pages; uint64_t cpu_khz; uint64_t uptime_ns; };
// interactive = 1: dom0 has the serial terminal, as Xen's hardware domain:
// its console_io output goes out as written (no "(d0) " prefix, no line
// buffering, no rate limit), for a shell's prompt and echo. 0: lines again.
struct SysctlConsoleMode { uint32_t interactive; uint32_t pad; };
struct Sysctl {
    uint32_t cmd;
    uint32_t interface_version;
    union {
        SysctlDomainList list;
        SysctlReadConsole console;
        SysctlPhysinfo physinfo;
        SysctlConsoleMode console_mode;
        uint8_t raw[56];
    } u;
};
static_assert(sizeof(Sysctl) == 64);

} // namespace menhir::abi
