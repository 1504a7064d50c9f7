// Per-frame reference counts (see frame_refs.hpp), one 32-bit word a frame.
#include "kernel/mm/frame_refs.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/panic.hpp"

namespace menhir::frame_refs {
namespace {

// Per frame: bits 0-30 the count, bit 31 "released by its owner".
constexpr uint32_t released_bit = 0x8000'0000u;
constexpr uint32_t count_mask = max_count;
uint32_t* refs = nullptr;
uint64_t frame_count = 0;
Spinlock lock;

uint32_t* slot(HostPhys f)
{
    const uint64_t n = f.value() / page_size;
    return n < frame_count ? &refs[n] : nullptr;
}

} // namespace

void init(uint64_t frames)
{
    const uint64_t bytes = align_up(frames * sizeof(uint32_t), page_size);
    auto mem = memory::alloc_frames(bytes / page_size);
    if (!mem) panic("no memory for frame reference counts");
    refs = phys_to_virt<uint32_t>(*mem);
    __builtin_memset(refs, 0, bytes);
    frame_count = frames;
}

bool get(HostPhys f)
{
    IrqSpinGuard g{lock};
    if (uint32_t* s = slot(f)) {
        if ((*s & count_mask) == count_mask) return false;
        ++*s;
    }
    return true;
}

void put(HostPhys f)
{
    bool free_it = false;
    {
        IrqSpinGuard g{lock};
        uint32_t* s = slot(f);
        if (!s || !(*s & count_mask)) return;
        --*s;
        if (*s == released_bit) {
            *s = 0;
            free_it = true;
        }
    }
    if (free_it) (void)memory::free_frames(f, 1);
}

void release(HostPhys f)
{
    {
        IrqSpinGuard g{lock};
        uint32_t* s = slot(f);
        if (s && (*s & count_mask)) {
            *s |= released_bit;
            return;
        }
    }
    (void)memory::free_frames(f, 1);
}

uint32_t count(HostPhys f)
{
    IrqSpinGuard g{lock};
    const uint32_t* s = slot(f);
    return s ? (*s & count_mask) : 0;
}

} // namespace menhir::frame_refs
