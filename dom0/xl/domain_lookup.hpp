// xl's DOM argument: a domain id (all digits) or a domain name, looked up
// in the domain list. Pure: builds on the host.
#pragma once
#include <cstddef>
#include "../../vmm/abi/menhir.hpp"

namespace dom0::xl {

// Index in `doms` of the domain `arg` names, or -1 if none.
[[nodiscard]] long find_domain(const char* arg, const menhir::abi::DomainInfo* doms, size_t count);

} // namespace dom0::xl
