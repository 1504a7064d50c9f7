#include "kernel/mm/heap.hpp"

#include "kernel/lib/types.hpp"

namespace menhir {

namespace {

constexpr uint32_t slab_magic = 0x534c4142;    // "SLAB"
constexpr uint32_t large_magic = 0x4c415247;   // "LARG"
constexpr size_t max_blocks_per_page = page_size / Heap::min_class;

[[nodiscard]] constexpr bool is_pow2(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

[[nodiscard]] constexpr size_t round_pow2(size_t v)
{
    size_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

[[nodiscard]] constexpr size_t class_size(size_t index) { return Heap::min_class << index; }

[[nodiscard]] inline uintptr_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

} // namespace

// Sits at offset 0 of every small-class page.
struct Heap::SlabPage {
    uint32_t magic;
    uint16_t block_size;
    uint16_t in_use;
    uint16_t capacity;
    uint16_t carve;         // offset of the first block never handed out yet
    uint16_t first;         // offset of the first block
    uint8_t class_index;
    void* free_list;        // blocks freed back; each holds the next pointer
    SlabPage* next;
    SlabPage* prev;
    uint64_t live[max_blocks_per_page / 64];   // bit per block index: catches double and wild frees
};

// Sits at offset 0 of the first page of every large block.
struct Heap::LargeHeader {
    uint32_t magic;
    uint32_t data_offset;   // the block starts this far past the header
    uint64_t pages;
};

static_assert(class_size(Heap::class_count - 1) == Heap::max_class);

void Heap::init(GrowFn grow, ReleaseFn release, void* ctx)
{
    static_assert(sizeof(LargeHeader) == 16, "large blocks keep 16-byte alignment with a 16-byte header");
    static_assert(sizeof(SlabPage) <= max_class, "the header must leave room for one block of every class");
    grow_ = grow;
    release_ = release;
    ctx_ = ctx;
    for (auto& p : partial_)
        p = nullptr;
    bytes_in_use_ = pages_held_ = bad_frees_ = 0;
}

void* Heap::alloc(size_t size, size_t align)
{
    if (size == 0 || !is_pow2(align) || align > max_align || grow_ == nullptr)
        return nullptr;
    size_t need = size > align ? size : align;
    if (need <= max_class) {
        need = round_pow2(need < min_class ? min_class : need);
        size_t index = 0;
        while (class_size(index) < need)
            ++index;
        return alloc_small(index);
    }
    return alloc_large(size, align);
}

void Heap::push_front(SlabPage* page)
{
    SlabPage*& head = partial_[page->class_index];
    page->prev = nullptr;
    page->next = head;
    if (head != nullptr)
        head->prev = page;
    head = page;
}

void Heap::unlink(SlabPage* page)
{
    if (page->prev != nullptr)
        page->prev->next = page->next;
    else
        partial_[page->class_index] = page->next;
    if (page->next != nullptr)
        page->next->prev = page->prev;
    page->next = page->prev = nullptr;
}

void* Heap::alloc_small(size_t index)
{
    SlabPage* page = partial_[index];
    if (page == nullptr) {
        void* mem = grow_(ctx_, 1);
        if (mem == nullptr)
            return nullptr;
        if (addr(mem) % page_size != 0) {   // broken grow callback: do not build on it
            if (release_ != nullptr)
                release_(ctx_, mem, 1);
            return nullptr;
        }
        ++pages_held_;
        page = static_cast<SlabPage*>(mem);
        __builtin_memset(page, 0, sizeof(SlabPage));
        const size_t block = class_size(index);
        const size_t first = align_up(sizeof(SlabPage), block);
        page->magic = slab_magic;
        page->block_size = static_cast<uint16_t>(block);
        page->first = static_cast<uint16_t>(first);
        page->carve = static_cast<uint16_t>(first);
        page->capacity = static_cast<uint16_t>((page_size - first) / block);
        page->class_index = static_cast<uint8_t>(index);
        push_front(page);
    }

    char* const base = reinterpret_cast<char*>(page);
    char* block = nullptr;
    if (page->free_list != nullptr) {
        block = static_cast<char*>(page->free_list);
        void* next = nullptr;
        __builtin_memcpy(&next, block, sizeof(next));
        page->free_list = next;
    } else {
        block = base + page->carve;
        page->carve = static_cast<uint16_t>(page->carve + page->block_size);
    }
    const size_t slot = static_cast<size_t>(block - base) / page->block_size;
    page->live[slot / 64] |= 1ull << (slot % 64);
    ++page->in_use;
    if (page->in_use == page->capacity)
        unlink(page);
    bytes_in_use_ += page->block_size;
    return block;
}

void* Heap::alloc_large(size_t size, size_t align)
{
    // The header needs 16 bytes in front of the data; larger alignments
    // push the data to the next multiple of the alignment.
    const size_t offset = align > sizeof(LargeHeader) ? align : sizeof(LargeHeader);
    if (size > ~size_t{0} - offset - (page_size - 1))
        return nullptr;
    const size_t pages = (offset + size + page_size - 1) / page_size;
    void* mem = grow_(ctx_, pages);
    if (mem == nullptr)
        return nullptr;
    if (addr(mem) % page_size != 0) {
        if (release_ != nullptr)
            release_(ctx_, mem, pages);
        return nullptr;
    }
    auto* header = static_cast<LargeHeader*>(mem);
    header->magic = large_magic;
    header->data_offset = static_cast<uint32_t>(offset);
    header->pages = pages;
    pages_held_ += pages;
    bytes_in_use_ += pages * page_size;
    return static_cast<char*>(mem) + offset;
}

void Heap::free(void* p)
{
    if (p == nullptr)
        return;
    const uintptr_t a = addr(p);
    void* const header_at = reinterpret_cast<void*>(align_down(a - 1, page_size));
    uint32_t magic = 0;
    __builtin_memcpy(&magic, header_at, sizeof(magic));

    if (magic == slab_magic) {
        free_small(static_cast<SlabPage*>(header_at), p);
        return;
    }
    if (magic == large_magic) {
        auto* header = static_cast<LargeHeader*>(header_at);
        if (a != addr(header) + header->data_offset) {
            ++bad_frees_;
            return;
        }
        const size_t pages = header->pages;
        header->magic = 0;   // a second free of the same block is caught while we still hold it
        pages_held_ -= pages;
        bytes_in_use_ -= pages * page_size;
        if (release_ != nullptr)
            release_(ctx_, header, pages);
        return;
    }
    ++bad_frees_;
}

void Heap::free_small(SlabPage* page, void* p)
{
    const size_t offset = static_cast<size_t>(addr(p) - addr(page));
    const size_t block = page->block_size;
    if (offset < page->first || offset % block != 0 || offset >= page->carve) {
        ++bad_frees_;
        return;
    }
    const size_t slot = offset / block;
    const uint64_t bit = 1ull << (slot % 64);
    if ((page->live[slot / 64] & bit) == 0) {   // double free
        ++bad_frees_;
        return;
    }
    page->live[slot / 64] &= ~bit;

    const bool was_full = page->in_use == page->capacity;
    void* next = page->free_list;
    __builtin_memcpy(p, &next, sizeof(next));
    page->free_list = p;
    --page->in_use;
    bytes_in_use_ -= block;
    if (was_full)
        push_front(page);

    // Keep one empty page per class so an alloc/free loop around a page
    // boundary does not call grow and release every time.
    if (page->in_use == 0 && (page->next != nullptr || page->prev != nullptr)) {
        unlink(page);
        page->magic = 0;
        --pages_held_;
        if (release_ != nullptr)
            release_(ctx_, page, 1);
    }
}

size_t Heap::usable_size(const void* p) const
{
    if (p == nullptr)
        return 0;
    const void* header_at = reinterpret_cast<const void*>(align_down(addr(p) - 1, page_size));
    uint32_t magic = 0;
    __builtin_memcpy(&magic, header_at, sizeof(magic));
    if (magic == slab_magic)
        return static_cast<const SlabPage*>(header_at)->block_size;
    if (magic == large_magic) {
        const auto* header = static_cast<const LargeHeader*>(header_at);
        return header->pages * page_size - header->data_offset;
    }
    return 0;
}

} // namespace menhir
