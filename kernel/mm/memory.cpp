#include "kernel/mm/memory.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/paging/page_table.hpp"
#include "kernel/console.hpp"
#include "kernel/debug_keys.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/mm/frame_allocator.hpp"
#include "kernel/mm/frame_refs.hpp"
#include "kernel/mm/heap.hpp"
#include "kernel/panic.hpp"

extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __data_end[];
extern "C" char __image_phys_start[], __image_phys_end[];

namespace menhir {
namespace {

constexpr uint64_t four_gib = 4ull << 30;
constexpr uint64_t low_reserved = 1ull << 20;   // BIOS data, EBDA, option ROMs, the AP trampoline

FrameAllocator frames;
Spinlock frames_lock;
Heap heap;
Spinlock heap_lock;

// The boot page tables only map the first 4 GiB, so every table frame comes
// from there until the kernel's own tables are live (and after, for the AP
// trampoline's sake, which briefly runs on the boot tables too).
struct KernelTableMemory {
    Optional<HostPhys> alloc_table()
    {
        auto f = memory::alloc_frames(1, 1, HostPhys{four_gib});
        if (f) __builtin_memset(phys_to_virt(*f), 0, page_size);
        return f;
    }
    uint64_t* table(HostPhys p) { return phys_to_virt<uint64_t>(p); }
};
KernelTableMemory table_memory;
Optional<paging::PageTable<KernelTableMemory>> kernel_tables;
Spinlock tables_lock;

struct Range { uint64_t base; uint64_t end; };

bool overlaps(const Range& a, const Range& b) { return a.base < b.end && b.base < a.end; }

// First page-aligned spot of `size` bytes below 4 GiB in available memory
// that avoids every range the boot still needs.
Optional<uint64_t> find_spot(const mb2::BootInfo& boot, const Range* avoid, size_t n_avoid, uint64_t size)
{
    for (size_t i = 0; i < boot.region_count; ++i) {
        const auto& r = boot.regions[i];
        if (r.type != mb2::MemType::available) continue;
        const uint64_t hi = r.base + r.length < four_gib ? r.base + r.length : four_gib;
        uint64_t cand = align_up(r.base < low_reserved ? low_reserved : r.base, page_size);
        for (bool moved = true; moved && cand + size <= hi;) {
            moved = false;
            for (size_t j = 0; j < n_avoid; ++j) {
                if (overlaps(Range{cand, cand + size}, avoid[j])) {
                    cand = align_up(avoid[j].end, page_size);
                    moved = true;
                }
            }
        }
        if (cand + size <= hi) return cand;
    }
    return {};
}

void map_or_panic(HostVirt va, HostPhys pa, uint64_t size, paging::Flags flags, bool allow_1g)
{
    const auto err = kernel_tables->map(va, pa, size, flags, true, allow_1g);
    if (err != paging::MapError::none)
        panic("cannot map 0x%lx bytes at 0x%lx for the kernel (error %d)", size, va.value(), static_cast<int>(err));
}

void build_kernel_tables(uint64_t direct_top)
{
    kernel_tables = paging::PageTable<KernelTableMemory>::create(table_memory);
    if (!kernel_tables) panic("out of memory for the kernel page tables");
    const bool gib_pages = (cpu::cpuid(0x80000001).edx >> 26) & 1;
    auto image = [](char* start, char* end, paging::Flags f) {
        const auto va = reinterpret_cast<uint64_t>(start);
        map_or_panic(HostVirt{va}, HostPhys{va - kernel_vma}, reinterpret_cast<uint64_t>(end) - va, f, false);
    };
    // W^X: text is read-only and executable, everything else never executable.
    image(__text_start, __text_end, paging::Flags{.writable = false, .executable = true, .global = true});
    image(__rodata_start, __rodata_end, paging::Flags{.writable = false, .executable = false, .global = true});
    image(__data_start, __data_end, paging::Flags{.writable = true, .executable = false, .global = true});
    map_or_panic(HostVirt{direct_map_base}, HostPhys{0}, direct_top,
                 paging::Flags{.writable = true, .executable = false, .global = true}, gib_pages);
    cpu::write_cr3(kernel_tables->root().value());
}

void* heap_grow(void*, size_t pages)
{
    auto f = memory::alloc_frames(pages);
    if (!f) return nullptr;
    void* p = phys_to_virt(*f);
    __builtin_memset(p, 0, pages * page_size);
    return p;
}

void heap_release(void*, void* p, size_t pages) { (void)memory::free_frames(virt_to_phys(p), pages); }

void dump_memory(char)
{
    const auto s = memory::stats();
    info("'m' pressed -> dumping memory statistics");
    info("frames: total %lu, free %lu, used %lu", s.total_frames, s.free_frames, s.used_frames);
    info("heap: %zu bytes in use, %zu pages held", heap.bytes_in_use(), heap.pages_held());
}

struct KeyRegistrar {
    KeyRegistrar() { debug_keys::register_key('m', "dump memory statistics", dump_memory); }
} key_registrar;

} // namespace

HostPhys virt_to_phys(const void* p)
{
    const auto v = reinterpret_cast<uint64_t>(p);
    return HostPhys{v >= kernel_vma ? v - kernel_vma : v - direct_map_base};
}

void* kmalloc(size_t size, size_t align)
{
    SpinGuard g{heap_lock};
    return heap.alloc(size, align);
}

void kfree(void* p)
{
    SpinGuard g{heap_lock};
    heap.free(p);
}

namespace memory {

void init(const mb2::BootInfo& boot, HostPhys boot_info, size_t boot_info_size)
{
    uint64_t max_available = 0;
    uint64_t direct_top = 0;
    for (size_t i = 0; i < boot.region_count; ++i) {
        const auto& r = boot.regions[i];
        const uint64_t end = r.base + r.length;
        if (r.type == mb2::MemType::available && end > max_available) max_available = end;
        if ((r.type == mb2::MemType::available || r.type == mb2::MemType::acpi_reclaimable ||
             r.type == mb2::MemType::nvs) && end > direct_top)
            direct_top = end;
    }
    if (max_available == 0) panic("the memory map has no available memory");
    if (direct_top < low_reserved) direct_top = low_reserved;
    direct_top = align_up(direct_top, large_page);

    Range avoid[3 + mb2::max_modules];
    size_t n = 0;
    avoid[n++] = Range{0, low_reserved};
    avoid[n++] = Range{reinterpret_cast<uint64_t>(__image_phys_start), reinterpret_cast<uint64_t>(__image_phys_end)};
    avoid[n++] = Range{boot_info.value(), boot_info.value() + boot_info_size};
    for (size_t i = 0; i < boot.module_count; ++i)
        avoid[n++] = Range{boot.modules[i].start.value(), boot.modules[i].end.value()};

    const uint64_t bitmap_size = align_up(FrameAllocator::bitmap_bytes(HostPhys{max_available}), page_size);
    auto spot = find_spot(boot, avoid, n, bitmap_size);
    if (!spot) panic("no room below 4 GiB for the frame bitmap (%lu bytes)", bitmap_size);
    frames.init(phys_to_virt<uint64_t>(HostPhys{*spot}), HostPhys{max_available});
    for (size_t i = 0; i < boot.region_count; ++i)
        if (boot.regions[i].type == mb2::MemType::available)
            frames.add_usable(HostPhys{boot.regions[i].base}, boot.regions[i].length);
    for (size_t i = 0; i < n; ++i) frames.reserve(HostPhys{avoid[i].base}, avoid[i].end - avoid[i].base);
    frames.reserve(HostPhys{*spot}, bitmap_size);

    build_kernel_tables(direct_top);
    heap.init(heap_grow, heap_release, nullptr);
    frame_refs::init(max_available / page_size);
    const auto s = stats();
    info("memory: %lu MiB usable, %lu frames free, direct map up to 0x%lx", s.total_frames >> 8,
         s.free_frames, direct_top);
}

Optional<HostPhys> alloc_frames(size_t count, size_t align_frames, HostPhys below)
{
    IrqSpinGuard g{frames_lock};
    return frames.alloc(count, align_frames, below);
}

bool free_frames(HostPhys base, size_t count)
{
    IrqSpinGuard g{frames_lock};
    return frames.free(base, count);
}

Stats stats()
{
    IrqSpinGuard g{frames_lock};
    return Stats{frames.total_frames(), frames.free_frames(), frames.used_frames()};
}

HostPhys kernel_cr3() { return kernel_tables->root(); }

void* map_mmio(HostPhys base, size_t size)
{
    SpinGuard g{tables_lock};
    const HostPhys first = base.align_down(page_size);
    const uint64_t end = align_up(base.value() + size, page_size);
    for (uint64_t p = first.value(); p < end; p += page_size) {
        const HostVirt va{direct_map_base + p};
        if (kernel_tables->translate(va)) continue;   // already in the direct map
        map_or_panic(va, HostPhys{p}, page_size,
                     paging::Flags{.writable = true, .executable = false, .global = true,
                                   .write_through = true, .cache_disable = true},
                     false);
    }
    return phys_to_virt(base);
}

} // namespace memory
} // namespace menhir
