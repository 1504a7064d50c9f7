// `xl vcpu-list`'s table from the hypervisor's vCPU records. Pure: builds
// on the host.
#pragma once
#include <cstdint>
#include "../../vmm/abi/menhir.hpp"
#include "text.hpp"

namespace dom0::xl {

void vcpu_list_header(Text& t);
// One vCPU of domain `domid` called `name`, on a machine of nr_cpus CPUs.
void vcpu_list_row(Text& t, const char* name, uint16_t domid, const menhir::abi::DomctlVcpuInfo& v, uint32_t nr_cpus);

} // namespace dom0::xl
