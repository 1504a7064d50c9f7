// A console back end's side of one xencons_interface ring (vmm/abi/xen_console.hpp),
// against a guest that may write anything into the page at any moment.
//
// Pure logic. The indices the guest writes are read once per call; a ring
// whose producer is further ahead of its consumer than the ring holds can
// only be a broken or hostile guest: the call reports `hostile` and touches
// nothing, and the caller drops the connection. Data bytes are copied out
// of the page before anyone looks at them.
#pragma once
#include <cstddef>
#include <cstdint>

#include "vmm/abi/xen_console.hpp"

namespace menhir::conring {

enum class Status : uint8_t { ok, hostile };

struct Drained {
    Status status;
    uint32_t bytes;   // copied to dst (0 when hostile)
};

// Copies at most `max` bytes of what the guest produced in out[] (from
// out_cons to out_prod) into dst and advances out_cons past them.
[[nodiscard]] Drained drain_out(xen::XenconsInterface& ring, char* dst, uint32_t max);

enum class Put : uint8_t { stored, full, hostile };

// Appends one byte to in[] and advances in_prod; `full` (nothing written)
// when the guest has not consumed enough.
[[nodiscard]] Put put_in(xen::XenconsInterface& ring, char c);

} // namespace menhir::conring
