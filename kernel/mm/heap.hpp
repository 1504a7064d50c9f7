// Kernel heap: power-of-two size classes (16..2048 bytes) carved from single
// pages, and whole-page blocks for anything larger. Pages come from a grow
// callback and go back through a release callback, so the heap itself never
// touches the frame allocator or the page tables and is host-testable.
//
// Every page the heap hands out starts with a header, and every pointer it
// returns lies more than zero bytes past the header of its page: the header
// of any block is therefore at align_down(p - 1, 4096). Small-class pages
// keep their blocks at multiples of the class size, which gives alignment
// for free (class = max(size, align) rounded up to a power of two). Large
// blocks put a 16-byte header (or one whole page, for 4096 alignment) before
// the data.
//
// Not thread safe: locking is the caller's job.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir {

class Heap final {
public:
    using GrowFn = void* (*)(void* ctx, size_t pages);   // page-aligned zeroed memory, or nullptr
    using ReleaseFn = void (*)(void* ctx, void* p, size_t pages);

    static constexpr size_t min_class = 16;
    static constexpr size_t max_class = 2048;
    static constexpr size_t class_count = 8;   // 16, 32, ..., 2048
    static constexpr size_t max_align = 4096;

    void init(GrowFn grow, ReleaseFn release, void* ctx);

    // nullptr on failure, on size 0, and when align is not a power of two or
    // exceeds 4096. The memory is not zeroed.
    [[nodiscard]] void* alloc(size_t size, size_t align = 16);

    // nullptr is ignored. A pointer whose page header is not one of ours is
    // ignored too and counted in bad_frees(): the heap cannot panic, and
    // corrupting its lists would be worse than leaking.
    void free(void* p);

    // Bytes held by live allocations: the class size for small blocks, the
    // whole pages for large ones. Zero again once everything is freed.
    [[nodiscard]] size_t bytes_in_use() const { return bytes_in_use_; }
    // Pages obtained from grow and not yet released.
    [[nodiscard]] size_t pages_held() const { return pages_held_; }
    [[nodiscard]] size_t bad_frees() const { return bad_frees_; }

    // Usable size of a live allocation (at least the size asked for).
    [[nodiscard]] size_t usable_size(const void* p) const;

private:
    struct SlabPage;
    struct LargeHeader;

    [[nodiscard]] void* alloc_small(size_t class_index);
    [[nodiscard]] void* alloc_large(size_t size, size_t align);
    void free_small(SlabPage* page, void* p);
    void unlink(SlabPage* page);
    void push_front(SlabPage* page);

    GrowFn grow_{nullptr};
    ReleaseFn release_{nullptr};
    void* ctx_{nullptr};
    SlabPage* partial_[class_count]{};   // pages of each class that have a free block
    size_t bytes_in_use_{0};
    size_t pages_held_{0};
    size_t bad_frees_{0};
};

} // namespace menhir
