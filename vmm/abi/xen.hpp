// Xen's public guest ABI, the parts Menhir implements: hypercall numbers,
// errno values, sub-operation numbers and the structures guests pass.
// Numbers and layouts are facts of the ABI (xen/include/public/*.h); this
// file is Menhir's own rendering of them. Host-testable.
#pragma once
#include <cstdint>

namespace menhir::xen {

// Hypercall numbers (xen.h, __HYPERVISOR_*).
enum class Hypercall : uint32_t {
    memory_op = 12, xen_version = 17, console_io = 18, grant_table_op = 20, vcpu_op = 24,
    sched_op = 29, event_channel_op = 32, hvm_op = 34, sysctl = 35, domctl = 36,
};
inline constexpr uint32_t hypercall_count = 64;   // table size; numbers >= this are -ENOSYS

// Errno values Xen returns, negated (errno.h in Xen's public headers).
namespace err {
inline constexpr int64_t eperm = -1, enoent = -2, esrch = -3, eintr = -4, eio = -5, e2big = -7,
                         ebadf = -9, eagain = -11, enomem = -12, eacces = -13, efault = -14,
                         ebusy = -16, eexist = -17, einval = -22, enospc = -28, erange = -34,
                         enosys = -38, eopnotsupp = -95;
} // namespace err

// CONSOLEIO_* (xen.h).
inline constexpr uint32_t consoleio_write = 0, consoleio_read = 1;

// XENVER_* (version.h).
inline constexpr uint32_t xenver_version = 0, xenver_extraversion = 1, xenver_compile_info = 2,
                          xenver_capabilities = 3, xenver_changeset = 4, xenver_platform_parameters = 5,
                          xenver_get_features = 6, xenver_pagesize = 7, xenver_guest_handle = 8,
                          xenver_commandline = 9, xenver_build_id = 10;
inline constexpr uint32_t xen_extraversion_len = 16, xen_capabilities_len = 1024, xen_changeset_len = 64;
struct FeatureInfo { uint32_t submap_idx; uint32_t submap; };
static_assert(sizeof(FeatureInfo) == 8);
// XENFEAT_* bits (features.h) Menhir reports for PVH guests.
inline constexpr uint32_t xenfeat_writable_page_tables = 0, xenfeat_auto_translated_physmap = 2,
                          xenfeat_supervisor_mode_kernel = 3, xenfeat_hvm_callback_vector = 8,
                          xenfeat_hvm_safe_pvclock = 9, xenfeat_hvm_pirqs = 10, xenfeat_dom0 = 11;

// SCHEDOP_* and SHUTDOWN_* (sched.h).
inline constexpr uint32_t schedop_yield = 0, schedop_block = 1, schedop_shutdown = 2, schedop_poll = 3,
                          schedop_remote_shutdown = 4, schedop_shutdown_code = 5, schedop_watchdog = 6;
enum class ShutdownReason : uint32_t { poweroff = 0, reboot = 1, suspend = 2, crash = 3, watchdog = 4 };
struct SchedShutdown { uint32_t reason; };
static_assert(sizeof(SchedShutdown) == 4);

// XENMEM_* (memory.h).
inline constexpr uint32_t xenmem_increase_reservation = 0, xenmem_decrease_reservation = 1,
                          xenmem_maximum_ram_page = 2, xenmem_current_reservation = 3,
                          xenmem_maximum_reservation = 4, xenmem_add_to_physmap = 7, xenmem_memory_map = 9,
                          xenmem_machine_memory_map = 10, xenmem_add_to_physmap_batch = 23,
                          xenmem_get_sharing_freed_pages = 18;
inline constexpr uint32_t memop_cmd_mask = 0x3f;   // MEMOP_CMD_MASK: higher bits carry a continuation
inline constexpr uint32_t xenmapspace_shared_info = 0, xenmapspace_grant_table = 1,
                          xenmapspace_gmfn = 2, xenmapspace_gmfn_range = 3, xenmapspace_gmfn_foreign = 4;
inline constexpr uint16_t domid_self = 0x7ff0;   // DOMID_SELF
struct AddToPhysmap {            // struct xen_add_to_physmap
    uint16_t domid;
    uint16_t size;
    uint32_t space;
    uint64_t idx;
    uint64_t gpfn;
};
static_assert(sizeof(AddToPhysmap) == 24);
struct MemoryMap {               // struct xen_memory_map
    uint32_t nr_entries;
    uint32_t pad;
    uint64_t buffer;             // guest handle of e820 entries
};
static_assert(sizeof(MemoryMap) == 16);
struct E820Entry { uint64_t addr; uint64_t size; uint32_t type; } __attribute__((packed));
static_assert(sizeof(E820Entry) == 20);

// HVMOP_* and HVM_PARAM_* (hvm/hvm_op.h, hvm/params.h).
inline constexpr uint32_t hvmop_set_param = 0, hvmop_get_param = 1;
struct HvmParam { uint16_t domid; uint16_t pad; uint32_t index; uint64_t value; };
static_assert(sizeof(HvmParam) == 16);
inline constexpr uint32_t hvm_param_callback_irq = 0, hvm_param_store_pfn = 1, hvm_param_store_evtchn = 2,
                          hvm_param_pae_enabled = 4, hvm_param_console_pfn = 17,
                          hvm_param_console_evtchn = 18, hvm_nr_params = 39;

// VCPUOP_* (vcpu.h).
inline constexpr uint32_t vcpuop_initialise = 0, vcpuop_up = 1, vcpuop_down = 2, vcpuop_is_up = 3,
                          vcpuop_get_runstate_info = 4, vcpuop_register_runstate_memory_area = 5,
                          vcpuop_set_periodic_timer = 6, vcpuop_stop_periodic_timer = 7,
                          vcpuop_set_singleshot_timer = 8, vcpuop_stop_singleshot_timer = 9,
                          vcpuop_register_vcpu_info = 10, vcpuop_get_physid = 12;

// CPUID leaves (arch-x86/cpuid.h): base 0x40000000, "XenVMMXenVMM".
inline constexpr uint32_t cpuid_base = 0x40000000;
inline constexpr uint32_t hypercall_msr = 0x40000000;   // reported in leaf base+2, EBX
inline constexpr uint32_t cpuid_hvm_vcpu_id_present = 1u << 3;   // leaf base+4 EAX: EBX holds the vCPU id
inline constexpr uint32_t cpuid_hvm_domid_present = 1u << 4;     // ECX holds the domain id

// The version Menhir reports: it implements a subset of Xen 4.17's ABI.
inline constexpr uint32_t version_major = 4, version_minor = 17;

} // namespace menhir::xen
