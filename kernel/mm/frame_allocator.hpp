// Physical frame allocator: one bit per 4 KiB frame (set = not free), plus
// a second bitmap of the same size that says which frames are usable RAM.
// The second bitmap is what lets free() refuse frames that were never RAM
// and lets overlapping add_usable() calls count a frame once. Pure logic:
// the caller provides the bitmap storage and does the locking.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.hpp"
#include "kernel/lib/types.hpp"

namespace menhir {

class FrameAllocator final {
public:
    // Bytes of storage init() needs to cover [0, max_phys): both bitmaps,
    // a multiple of 8 so the storage can be an array of uint64_t.
    [[nodiscard]] static size_t bitmap_bytes(HostPhys max_phys);

    // `bitmap` must hold bitmap_bytes(max_phys) bytes. Every frame starts
    // not usable and not free. Frames at or above max_phys do not exist.
    void init(uint64_t* bitmap, HostPhys max_phys);

    // Frames lying wholly inside [base, base+length) become usable and free.
    // A frame that is already usable keeps its state (so adding the same RAM
    // twice neither double-counts it nor frees what was reserved).
    void add_usable(HostPhys base, uint64_t length);

    // Usable frames touching [base, base+length) become used (they stay in
    // total_frames()). Frames that are not usable are left alone.
    void reserve(HostPhys base, uint64_t length);

    // `count` contiguous free frames whose first frame number is a multiple
    // of `align_frames` and whose end is at or below `below`. First fit,
    // starting after the previous allocation so repeated small allocations
    // do not rescan the used bottom of memory. Empty on failure, on count 0
    // and on align_frames 0.
    [[nodiscard]] Optional<HostPhys> alloc(size_t count = 1, size_t align_frames = 1,
                                           HostPhys below = HostPhys{~0ull});

    // Frees [base, base + count frames). Refuses (returns false, changes
    // nothing) if base is not page aligned, count is 0, or any frame in the
    // run is not usable or not allocated: a double free never corrupts the
    // counters. Frames taken by reserve() count as allocated, so boot-time
    // reservations (modules, early tables) can be handed back later.
    [[nodiscard]] bool free(HostPhys base, size_t count = 1);

    [[nodiscard]] bool is_free(HostPhys frame) const;
    [[nodiscard]] bool is_usable(HostPhys frame) const;

    [[nodiscard]] uint64_t total_frames() const { return total_; }
    [[nodiscard]] uint64_t free_frames() const { return free_; }
    [[nodiscard]] uint64_t used_frames() const { return total_ - free_; }
    [[nodiscard]] uint64_t frame_limit() const { return frames_; }   // frames covered by the bitmap

private:
    // Which bitmap a range operation works on and what it does there.
    enum class RangeOp { add_usable, reserve, mark_free };

    void apply(uint64_t first, uint64_t end, RangeOp op);
    [[nodiscard]] bool test(const uint64_t* map, uint64_t frame) const;
    [[nodiscard]] uint64_t next_clear(uint64_t from, uint64_t limit) const;
    [[nodiscard]] bool run_is_free(uint64_t first, uint64_t count, uint64_t& busy) const;
    [[nodiscard]] Optional<uint64_t> find(uint64_t start, uint64_t start_limit, uint64_t end_limit,
                                          uint64_t count, uint64_t align) const;

    uint64_t* used_{nullptr};     // bit set: frame not free (also for non-usable frames)
    uint64_t* usable_{nullptr};   // bit set: frame is RAM handed to add_usable
    uint64_t frames_{0};
    uint64_t words_{0};
    uint64_t total_{0};
    uint64_t free_{0};
    uint64_t hint_{0};            // frame after the last allocation: where the next search starts
};

} // namespace menhir
