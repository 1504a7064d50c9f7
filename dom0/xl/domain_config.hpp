// What an xl.cfg file (plus KEY=VALUE overrides) asks for: the parser's output, the builder's input.
#pragma once

#include <stdint.h>

#include "dom0/block/disk_spec.hpp"

namespace dom0::xl {

// xl.cfg's on_poweroff / on_reboot / on_crash actions (xl.cfg(5)); only these three are offered.
enum class Action : uint8_t { destroy, restart, preserve };

inline constexpr unsigned NAME_MAX_LEN = 63;      // xenstore's /local/domain/N/name, as xl limits it in practice
inline constexpr unsigned PATH_MAX_LEN = 127;
inline constexpr unsigned CMDLINE_MAX_LEN = 1023;
inline constexpr unsigned MAX_DISKS = 8;
inline constexpr unsigned DISK_SPEC_MAX_LEN = 127;
inline constexpr unsigned MAX_VCPUS = 8;          // Menhir's max_vcpus_per_domain (vmm/domain.hpp)

struct DomainConfig {
    char name[NAME_MAX_LEN + 1] = "";
    char kernel[PATH_MAX_LEN + 1] = "";
    char ramdisk[PATH_MAX_LEN + 1] = "";    // empty: none
    // The kernel command line as xl builds it: `root=` value first (as "root=VALUE"), then `extra`;
    // `cmdline` replaces both when given.
    char cmdline[CMDLINE_MAX_LEN + 1] = "";
    uint32_t memory_mib = 128;              // xl's default
    uint32_t maxmem_mib = 0;                // 0: same as memory
    uint32_t vcpus = 1;
    uint32_t maxvcpus = 0;                  // 0: same as vcpus (xl: vCPUs the domain may bring up later)
    uint64_t cpus_mask = ~0ull;             // `cpus`: hard affinity of every vCPU, bit N = pCPU N
    // `cpus` given as a list (xl.cfg(5)): entry i is vCPU i's hard affinity; vCPUs from
    // nr_vcpu_cpus on keep cpus_mask (then ~0: any pCPU), as xl leaves them unpinned.
    unsigned nr_vcpu_cpus = 0;
    uint64_t vcpu_cpus[MAX_VCPUS] = {};
    uint32_t cpu_weight = 256;              // credit scheduler defaults
    uint32_t cap = 0;                       // 0: no cap
    unsigned nr_disks = 0;
    block::DiskSpec disks[MAX_DISKS] = {};  // `disk` entries, parsed and checked (not yet opened)
    Action on_poweroff = Action::destroy;
    Action on_reboot = Action::restart;
    Action on_crash = Action::destroy;
};

}  // namespace dom0::xl
