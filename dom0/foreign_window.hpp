// A window of dom0's physical space through which dom0 writes another domain's frames, a stretch at a time.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace dom0 {

// Maps frames of domain `domid` (XENMAPSPACE_gmfn_foreign) into one fixed
// range of dom0's physical space, remapping as writes move on, and unmaps
// them when it goes. dom0's physical frames for mappings are never handed
// out twice (runtime's alloc_unused_gfn), so the range is taken once and
// reused by every window: dom0 is single-threaded, one window lives at a time.
class ForeignWindow {
public:
    // Frames from `ram_end_gfn` on are mapped one write at a time (they are
    // the domain's special pages, not a run of RAM).
    ForeignWindow(uint16_t domid, uint64_t ram_end_gfn);
    ~ForeignWindow();
    ForeignWindow(const ForeignWindow&) = delete;
    ForeignWindow& operator=(const ForeignWindow&) = delete;

    // Writes [gpa, gpa + len) of the domain; src == nullptr zero-fills.
    // False (with the reason in error()) if a frame cannot be mapped.
    [[nodiscard]] bool write(uint64_t gpa, const void* src, size_t len);
    // The same, in the shape of elf::WriteFn and pvh::WriteFn.
    static bool write_fn(void* ctx, uint64_t gpa, const void* src, size_t len);
    // False if an unmap failed (dom0 would keep a stale mapping).
    [[nodiscard]] bool close();
    const char* error() const { return error_; }

private:
    [[nodiscard]] bool map(uint64_t first_gfn, unsigned count);
    [[nodiscard]] bool unmap();

    uint16_t domid_;
    uint64_t ram_end_gfn_;
    uint64_t first_ = 0;      // the domain's first mapped gfn
    unsigned count_ = 0;      // frames mapped now
    const char* error_ = "";
};

// One frame of domain `domid` at dom0's frame `local_gfn` (a back end's
// ring page), and its removal; 0 or Xen's -errno.
long map_foreign_frame(uint16_t domid, uint64_t gfn, uint64_t local_gfn);
long unmap_frame(uint64_t local_gfn);

}  // namespace dom0
