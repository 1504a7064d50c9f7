// Who gets serial input, and the order Ctrl-A three times cycles through:
// dom0, then Menhir's debug keys, then each boot-time domU whose console
// ring the hypervisor serves (by id), then dom0 again; as Xen rotates
// input among itself, dom0 and its dom0less domains.
//
// Pure logic: the caller supplies the domUs that take input now.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::console_input {

enum class Kind : uint8_t { dom0, menhir, domain };

struct Target {
    Kind kind{Kind::dom0};
    uint16_t domid{0};   // Kind::domain only
    constexpr bool operator==(const Target&) const = default;
};

// The target after `current`. `ids` lists the domUs that take input, in
// any order (duplicates allowed): a domU target moves to the next larger id
// among them, and after the last one (or when there is none) to dom0. A
// domain that stopped taking input is simply no longer in `ids`.
[[nodiscard]] Target next(Target current, const uint16_t* ids, size_t count);

} // namespace menhir::console_input
