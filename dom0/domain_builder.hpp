// dom0's PVH domain builder: a paused domain from an xl.cfg, a kernel and a ramdisk, all through hypercalls.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "xl/domain_config.hpp"

namespace dom0 {

struct Blob {
    const uint8_t* data = nullptr;
    uint64_t size = 0;
};

// What the new domain was given, for the console back end and xenstore.
struct BuiltDomain {
    uint16_t domid = 0;
    uint32_t entry = 0;          // XEN_ELFNOTE_PHYS32_ENTRY
    uint64_t start_info = 0;     // guest-physical, in %ebx at entry
    unsigned segments = 0;
    uint64_t console_gfn = 0;
    uint32_t console_port = 0;   // unbound in the new domain, for dom0
    uint64_t store_gfn = 0;
    uint32_t store_port = 0;
};

// Builds the domain `cfg` describes (ELF32 or ELF64 kernel with the PVH
// note; the ramdisk, if any, as start_info module 0; the command line; a
// memory map of RAM plus Xen's special pages; console and xenstore pages
// with unbound event channels for dom0 in HVM_PARAM_CONSOLE_* / STORE_*;
// vCPU 0's start state) and leaves it paused. On failure it destroys what
// it created, so free memory is where it was, puts the reason in `why` and
// returns false.
[[nodiscard]] bool build_domain(const xl::DomainConfig& cfg, Blob kernel, Blob ramdisk, BuiltDomain& out,
                                char* why, size_t why_size);

// domctl wrappers the toolstack uses around a build; 0 or Xen's -errno.
// destroy_domain returns once the domain has left the domain list (it is
// freed), or after a bounded wait if something still maps it.
long unpause_domain(uint16_t domid);
long destroy_domain(uint16_t domid);

}  // namespace dom0
