// A domctl request header in Menhir's layout (vmm/abi/menhir.hpp), ready
// for the command's own fields: what every dom0 tool starts a domctl with.
#pragma once
#include "../vmm/abi/menhir.hpp"

namespace dom0 {

inline menhir::abi::Domctl domctl_op(menhir::abi::DomctlCmd cmd, uint16_t domain)
{
    menhir::abi::Domctl d{};
    d.cmd = static_cast<uint32_t>(cmd);
    d.interface_version = menhir::abi::domctl_interface_version;
    d.domain = domain;
    return d;
}

} // namespace dom0
