// The guest runtime shared by the test guests, the benchmark and dom0.
//
// pvh_entry.S receives control from the PVH loader (32-bit protected mode,
// paging off, %ebx = hvm_start_info), loads a flat GDT, clears .bss, and in
// the 64-bit build identity-maps the first 4 GiB with 2 MiB pages and enters
// long mode. It then calls guest_start() below (runtime.cpp), which installs
// an IDT whose exception handlers print the fault and shut the domain down
// with SHUTDOWN_crash, and calls the guest's own guest_main().
//
// Each guest provides:
//   extern "C" const char guest_name[] = "NAME";   // prefix of runtime messages
//   extern "C" void guest_main(const xen::hvm_start_info* si);
// Returning from guest_main powers the domain off.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "xen.hpp"

extern "C" const char guest_name[];
extern "C" void guest_main(const xen::hvm_start_info* si);

namespace guest {

// GDT selectors (pvh_entry.S). The 32-bit build runs on KERNEL_CS32.
inline constexpr uint16_t KERNEL_CS64 = 0x08;
inline constexpr uint16_t KERNEL_DS = 0x10;
inline constexpr uint16_t KERNEL_CS32 = 0x18;
inline constexpr uint16_t USER_DS = 0x20 | 3;
inline constexpr uint16_t USER_CS64 = 0x28 | 3;
inline constexpr uint16_t TSS_SEL = 0x30;

// Exception vectors 0..31 get the runtime's crash handler. A guest can point
// any vector at its own entry stub (dpl 3 lets ring 3 reach it with `int`).
void idt_set_gate(unsigned vector, void (*entry)(), unsigned dpl);
// Loads the (shared) IDT on the calling CPU; secondary vCPUs call it once.
void idt_load();

// The vCPU we run on. 64-bit build: read from a per-vCPU block found through
// GS base (MSR 0xc0000101), set by percpu_init() (guest_start does vCPU 0;
// secondary vCPUs started with lib/smp.hpp do their own). 32-bit build: 0.
inline constexpr unsigned MAX_VCPUS = 8;
unsigned this_vcpu();
void percpu_init(unsigned vcpu);

// 64-bit build only: the page tables (identity map of 0..4 GiB, 2 MiB pages
// in four page directories). The upper levels allow user access; leaves do
// not until a guest sets PTE_USER on one.
#if defined(__x86_64__)
inline constexpr uint64_t PTE_PRESENT = 1u << 0;
inline constexpr uint64_t PTE_WRITE = 1u << 1;
inline constexpr uint64_t PTE_USER = 1u << 2;
inline constexpr uint64_t IDENTITY_MAP_END = 4ull << 30;
// The page-directory entry that maps the 2 MiB page holding `paddr`.
uint64_t* identity_pde(uint64_t paddr);
#endif

// Shut the domain down; if the hypervisor returns, say so and halt.
[[noreturn]] void shutdown(unsigned reason);
[[noreturn]] inline void poweroff() { shutdown(xen::SHUTDOWN_poweroff); }
[[noreturn]] inline void crash() { shutdown(xen::SHUTDOWN_crash); }

// The start_info the loader passed (also given to guest_main).
const xen::hvm_start_info* start_info();

// Command line from start_info, "" when there is none.
const char* cmdline();

// Looks up `key=value` among the space-separated words of `line`; copies the
// value (or, for a bare `key`, the empty string) into out. False if absent.
bool cmdline_option(const char* line, const char* key, char* out, size_t out_size);
// Same, parsed as a decimal or 0x-prefixed hex number.
bool cmdline_number(const char* line, const char* key, uint64_t* out);

// The memory map: from start_info (version >= 1), else from XENMEM_memory_map.
// Returns the number of entries stored (at most max).
struct MemoryRange {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};
size_t memory_map(MemoryRange* out, size_t max);
// End (exclusive) of the highest RAM range; 0 if none is known.
uint64_t ram_end();
// A guest-physical address with nothing behind it: RAM end + 1 MiB, moved
// past any memory-map range that covers it (reserved ranges may be backed).
uint64_t unbacked_paddr();

// Guest-physical frames with nothing behind them, for the hypervisor to
// map things at (shared_info, grant frames, other domains' pages): `count`
// consecutive frames from a window that starts at the first 2 MiB boundary
// at or above the end of RAM, below 4 GiB, outside every memory-map range.
// Frames are never reused. Returns the first frame number, 0 when the
// window is exhausted.
uint64_t alloc_unused_gfn(unsigned count = 1);

// The PVH modules (start_info's module list); *count gets their number.
const xen::hvm_modlist_entry* modules(unsigned* count);

// Xen's CPUID base (0x40000000 + k * 0x100 whose signature is
// "XenVMMXenVMM"), or 0 if no such leaf is found.
uint32_t xen_cpuid_base();
// Our domain id from the HVM CPUID leaf (base + 4), DOMID_INVALID if absent.
uint16_t xen_domid();

// Small freestanding string helpers.
size_t str_len(const char* s);
bool str_eq(const char* a, const char* b);
bool str_starts_with(const char* s, const char* prefix);

}  // namespace guest
