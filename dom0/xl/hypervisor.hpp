// The hypercalls xl's commands make (domctl, sysctl, xen_version), each a
// small typed call returning 0 or a negative Xen errno. Effectful: dom0 only.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../../vmm/abi/menhir.hpp"

namespace dom0::xl::hv {

namespace abi = menhir::abi;

inline constexpr size_t max_domains = 128;

// All domains, by id (Domain-0 first); returns how many (or a negative errno).
long list_domains(abi::DomainInfo* out, size_t max);
long domain_info(uint16_t dom, abi::DomainInfo& out);
// Whether `dom` is still in the domain list (dying domains are, until freed).
bool listed(uint16_t dom);
long vcpu_info(uint16_t dom, uint32_t vcpu, abi::DomctlVcpuInfo& out);
long set_affinity(uint16_t dom, uint32_t vcpu, uint32_t flags, uint64_t hard, uint64_t soft);
long get_credit(uint16_t dom, abi::DomctlCredit& out);
long set_credit(uint16_t dom, uint32_t weight, uint32_t cap);
long pause(uint16_t dom);
long unpause(uint16_t dom);
long destroy(uint16_t dom);
long physinfo(abi::SysctlPhysinfo& out);
// Up to `count` bytes of the console log from *index on; *index moves on.
long read_console(char* buf, uint32_t count, uint64_t& index, bool clear, uint32_t& got);
long console_interactive(bool on);

} // namespace dom0::xl::hv
