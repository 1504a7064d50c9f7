#include "kernel/console_input.hpp"

namespace menhir::console_input {

Target next(Target current, const uint16_t* ids, size_t count)
{
    if (current.kind == Kind::dom0) return Target{Kind::menhir, 0};
    // From Menhir the first domU; from domU N the smallest id above N.
    const bool any = current.kind == Kind::menhir;
    bool found = false;
    uint16_t best = 0;
    for (size_t i = 0; i < count; ++i) {
        const uint16_t id = ids[i];
        if (id == 0 || (!any && id <= current.domid)) continue;
        if (!found || id < best) {
            best = id;
            found = true;
        }
    }
    return found ? Target{Kind::domain, best} : Target{Kind::dom0, 0};
}

} // namespace menhir::console_input
