// Physical memory, the direct map and the kernel heap, for the hypervisor.
#pragma once
#include "boot/multiboot2.hpp"
#include "kernel/lib/result.hpp"
#include "kernel/lib/types.hpp"
#include <cstddef>
#include <cstdint>

namespace menhir {

// All physical memory is mapped at direct_map_base; the image is linked at kernel_vma.
inline constexpr uint64_t direct_map_base = 0xffff800000000000;
inline constexpr uint64_t kernel_vma = 0xffffffff80000000;

template <typename T = void>
[[nodiscard]] inline T* phys_to_virt(HostPhys p)
{
    return reinterpret_cast<T*>(direct_map_base + p.value());
}
[[nodiscard]] HostPhys virt_to_phys(const void* p);

[[nodiscard]] void* kmalloc(size_t size, size_t align = 16);
void kfree(void* p);

namespace memory {
struct Stats { uint64_t total_frames; uint64_t free_frames; uint64_t used_frames; };

// Builds the frame allocator from the memory map (minus the image, the boot
// information, the modules and the first MiB), the kernel's own page tables
// and the heap.
void init(const mb2::BootInfo& boot, HostPhys boot_info, size_t boot_info_size);
[[nodiscard]] Optional<HostPhys> alloc_frames(size_t count, size_t align_frames = 1,
                                              HostPhys below = HostPhys{~0ull});
[[nodiscard]] bool free_frames(HostPhys base, size_t count);
[[nodiscard]] Stats stats();
[[nodiscard]] HostPhys kernel_cr3();
// Maps device registers uncached into the direct map (4 KiB granularity).
[[nodiscard]] void* map_mmio(HostPhys base, size_t size);
} // namespace memory
} // namespace menhir
