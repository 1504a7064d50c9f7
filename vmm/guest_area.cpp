// A record a guest registers in its own memory: see guest_area.hpp.
#include "vmm/guest_area.hpp"
#include "kernel/mm/frame_refs.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/guest_memory.hpp"

namespace menhir::guest_area {

int64_t pin(Vcpu& caller, uint64_t linear, size_t bytes, GuestArea& out)
{
    out = GuestArea{};
    if (!linear) return 0;
    if (linear & 7) return xen::err::einval;
    const auto offset = static_cast<uint16_t>(linear & (page_size - 1));
    const uint32_t pages = offset + bytes > page_size ? 2 : 1;
    for (uint32_t i = 0; i < pages; ++i) {
        uint64_t gpa = 0;
        Optional<HostPhys> f;
        if (guest::writable_gpa(caller, (linear & ~(page_size - 1)) + i * page_size, gpa))
            f = caller.domain->get_own_frame(gpa / page_size, true);
        if (!f) {
            release(out);
            return xen::err::efault;
        }
        out.frames[i] = *f;
    }
    out.offset = offset;
    return 0;
}

void write(const GuestArea& a, size_t from, const void* piece, size_t n)
{
    const size_t first = page_size - a.offset;   // bytes of the record in frame 0
    const auto* bytes = static_cast<const uint8_t*>(piece);
    for (size_t i = 0; i < n;) {
        const size_t at = from + i;
        uint8_t* dst = at < first ? phys_to_virt<uint8_t>(a.frames[0]) + a.offset + at
                                  : phys_to_virt<uint8_t>(a.frames[1]) + (at - first);
        // The record is 8-aligned, so an aligned piece never crosses a page.
        const auto addr = reinterpret_cast<uintptr_t>(dst);
        if (n - i >= 8 && !(addr & 7)) {
            uint64_t q;
            __builtin_memcpy(&q, bytes + i, 8);
            *reinterpret_cast<volatile uint64_t*>(dst) = q;
            i += 8;
        } else if (n - i >= 4 && !(addr & 3)) {
            uint32_t d;
            __builtin_memcpy(&d, bytes + i, 4);
            *reinterpret_cast<volatile uint32_t*>(dst) = d;
            i += 4;
        } else {
            *reinterpret_cast<volatile uint8_t*>(dst) = bytes[i];
            ++i;
        }
    }
}

void release(GuestArea& a)
{
    for (HostPhys& f : a.frames) {
        if (f.value()) frame_refs::put(f);
        f = HostPhys{};
    }
}

} // namespace menhir::guest_area
