// A record a guest registers in its own memory for the hypervisor to keep current (its runstate, the second copy of its time info): the frames behind it, pinned at registration.
#pragma once
#include "kernel/lib/types.hpp"
#include <cstddef>
#include <cstdint>

namespace menhir {

struct Vcpu;

// Frames are pinned when the guest registers the record (Xen translates the
// address again at every update, which fails while a KPTI guest runs on its
// user page tables). [1] is used only when the record crosses a page.
struct GuestArea {
    HostPhys frames[2];
    uint16_t offset;   // of the record in frames[0]
    [[nodiscard]] bool registered() const { return frames[0].value() != 0; }
};

namespace guest_area {
// The `bytes`-long record at `linear` in the caller's address space, 8-byte
// aligned (its quadwords are then written whole) and in the domain's own
// RAM, writable. 0 and `out` holding it, or Xen's -EINVAL (misaligned) or
// -EFAULT (not mapped so); `linear` 0 gives an unregistered area.
[[nodiscard]] int64_t pin(Vcpu& caller, uint64_t linear, size_t bytes, GuestArea& out);
// The n bytes at `piece` as bytes [from, from + n) of the record; each
// naturally aligned 4 or 8 bytes in one store, so that a field the guest
// polls (a version, an entry time) never reads half written.
void write(const GuestArea& a, size_t from, const void* piece, size_t n);
// Drops the pins: the area is unregistered.
void release(GuestArea& a);
} // namespace guest_area

} // namespace menhir
