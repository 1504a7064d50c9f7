// Xen's public guest ABI, the parts Menhir implements: hypercall numbers,
// errno values, sub-operation numbers and the structures guests pass.
// Numbers and layouts are facts of the ABI (xen/include/public/*.h); this
// file is Menhir's own rendering of them. Host-testable.
#pragma once
#include <cstdint>

namespace menhir::xen {

// Hypercall numbers (xen.h, __HYPERVISOR_*).
enum class Hypercall : uint32_t {
    memory_op = 12, xen_version = 17, console_io = 18, grant_table_op = 20, vm_assist = 21, vcpu_op = 24,
    sched_op = 29, event_channel_op = 32, hvm_op = 34, sysctl = 35, domctl = 36,
};
inline constexpr uint32_t hypercall_count = 64;   // table size; numbers >= this are -ENOSYS

// Errno values Xen returns, negated (errno.h in Xen's public headers).
namespace err {
inline constexpr int64_t eperm = -1, enoent = -2, esrch = -3, eintr = -4, eio = -5, e2big = -7,
                         ebadf = -9, eagain = -11, enomem = -12, eacces = -13, efault = -14,
                         ebusy = -16, eexist = -17, enodev = -19, einval = -22, enospc = -28, erange = -34,
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
inline constexpr uint32_t memop_extent_shift = 6;  // MEMOP_EXTENT_SHIFT: the continuation's start extent
inline constexpr uint32_t xenmem_populate_physmap = 6;
struct MemoryReservation {       // struct xen_memory_reservation
    uint64_t extent_start;       // guest handle of xen_pfn_t (gfns, for a translated guest)
    uint64_t nr_extents;
    uint32_t extent_order;
    uint32_t mem_flags;
    uint16_t domid;
    uint16_t pad[3];
};
static_assert(sizeof(MemoryReservation) == 32);
inline constexpr uint32_t domu_max_order = 9;      // CONFIG_DOMU_MAX_ORDER on x86 (memop-max-order)
struct RemoveFromPhysmap { uint16_t domid; uint16_t pad[3]; uint64_t gpfn; };   // XENMEM_remove_from_physmap (15)
inline constexpr uint32_t xenmem_remove_from_physmap = 15;
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
                          vcpuop_register_vcpu_info = 10, vcpuop_get_physid = 12,
                          vcpuop_register_vcpu_time_memory_area = 13;
// HYPERVISOR_vm_assist (xen.h): the one assist an HVM guest may enable.
inline constexpr uint32_t vmasst_cmd_enable = 0, vmasst_cmd_disable = 1, vmasst_type_runstate_update_flag = 5;

// CPUID leaves (arch-x86/cpuid.h): base 0x40000000, "XenVMMXenVMM".
inline constexpr uint32_t cpuid_base = 0x40000000;
inline constexpr uint32_t hypercall_msr = 0x40000000;   // reported in leaf base+2, EBX
inline constexpr uint32_t cpuid_hvm_apic_access_virt = 1u << 0;   // leaf base+4 EAX: xAPIC accesses virtualised
inline constexpr uint32_t cpuid_hvm_x2apic_virt = 1u << 1;        // x2APIC MSR accesses virtualised
inline constexpr uint32_t cpuid_hvm_vcpu_id_present = 1u << 3;   // leaf base+4 EAX: EBX holds the vCPU id
inline constexpr uint32_t cpuid_hvm_domid_present = 1u << 4;     // ECX holds the domain id

// shared_info and vcpu_info, 64-bit layout (xen.h, arch-x86/xen.h).
struct VcpuTimeInfo {            // struct vcpu_time_info (pvclock)
    uint32_t version;            // odd while the hypervisor updates the rest
    uint32_t pad0;
    uint64_t tsc_timestamp;      // TSC when system_time was taken
    uint64_t system_time;        // ns since boot at tsc_timestamp
    uint32_t tsc_to_system_mul;  // ns = ((tsc delta << shift) * mul) >> 32
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad1[2];
};
static_assert(sizeof(VcpuTimeInfo) == 32);
inline constexpr uint8_t xen_pvclock_tsc_stable_bit = 1u << 0;

struct VcpuInfo {                // struct vcpu_info
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    uint8_t pad[6];
    uint64_t evtchn_pending_sel;
    uint64_t arch_cr2;           // struct arch_vcpu_info
    uint64_t arch_pad;
    VcpuTimeInfo time;
};
static_assert(sizeof(VcpuInfo) == 64);
static_assert(__builtin_offsetof(VcpuInfo, time) == 32);

inline constexpr uint32_t legacy_max_vcpus = 32;   // XEN_LEGACY_MAX_VCPUS
inline constexpr uint32_t evtchn_2l_ports = 64 * 64;   // two-level ABI, 64-bit guests
struct SharedInfo {              // struct shared_info
    VcpuInfo vcpu_info[legacy_max_vcpus];
    uint64_t evtchn_pending[64];
    uint64_t evtchn_mask[64];
    uint32_t wc_version;
    uint32_t wc_sec;
    uint32_t wc_nsec;
    uint32_t wc_sec_hi;
    // struct arch_shared_info
    uint64_t max_pfn;
    uint64_t pfn_to_mfn_frame_list_list;
    uint64_t nmi_reason;
    uint64_t p2m_cr3;
    uint64_t p2m_vaddr;
    uint64_t p2m_generation;
};
static_assert(__builtin_offsetof(SharedInfo, evtchn_pending) == 2048);
static_assert(__builtin_offsetof(SharedInfo, evtchn_mask) == 2560);
static_assert(__builtin_offsetof(SharedInfo, wc_version) == 3072);
static_assert(sizeof(SharedInfo) <= 4096);

// Event channels (event_channel.h).
using EvtchnPort = uint32_t;
inline constexpr uint32_t evtchnop_bind_interdomain = 0, evtchnop_bind_virq = 1, evtchnop_bind_pirq = 2,
                          evtchnop_close = 3, evtchnop_send = 4, evtchnop_status = 5,
                          evtchnop_alloc_unbound = 6, evtchnop_bind_ipi = 7, evtchnop_bind_vcpu = 8,
                          evtchnop_unmask = 9, evtchnop_reset = 10, evtchnop_init_control = 11,
                          evtchnop_expand_array = 12, evtchnop_set_priority = 13;
inline constexpr uint32_t evtchnstat_closed = 0, evtchnstat_unbound = 1, evtchnstat_interdomain = 2,
                          evtchnstat_pirq = 3, evtchnstat_virq = 4, evtchnstat_ipi = 5;
struct EvtchnAllocUnbound { uint16_t dom; uint16_t remote_dom; EvtchnPort port; };
struct EvtchnBindInterdomain { uint16_t remote_dom; uint16_t pad; EvtchnPort remote_port; EvtchnPort local_port; };
struct EvtchnBindVirq { uint32_t virq; uint32_t vcpu; EvtchnPort port; };
struct EvtchnBindPirq { uint32_t pirq; uint32_t flags; EvtchnPort port; };
struct EvtchnBindIpi { uint32_t vcpu; EvtchnPort port; };
struct EvtchnPortOnly { EvtchnPort port; };   // close, send, unmask
struct EvtchnBindVcpu { EvtchnPort port; uint32_t vcpu; };

struct EvtchnInitControl {       // struct evtchn_init_control (FIFO ABI)
    uint64_t control_gfn;
    uint32_t offset;
    uint32_t vcpu;
    uint8_t link_bits;           // OUT
    uint8_t pad[7];
};
static_assert(sizeof(EvtchnInitControl) == 24);
// struct evtchn_fifo_control_block: ready, _rsvd, head[EVTCHN_FIFO_MAX_QUEUES = 16].
inline constexpr uint32_t evtchn_fifo_control_block_size = 72;
struct EvtchnStatus {
    uint16_t dom;
    uint16_t pad;
    EvtchnPort port;
    uint32_t status;
    uint32_t vcpu;
    union {
        struct { uint16_t dom; } unbound;
        struct { uint16_t dom; uint16_t pad; EvtchnPort port; } interdomain;
        uint32_t pirq;
        uint32_t virq;
    } u;
};
static_assert(sizeof(EvtchnAllocUnbound) == 8 && sizeof(EvtchnBindInterdomain) == 12);
static_assert(sizeof(EvtchnBindVirq) == 12 && sizeof(EvtchnBindIpi) == 8 && sizeof(EvtchnStatus) == 24);
// VIRQs (xen.h).
inline constexpr uint32_t virq_timer = 0, virq_debug = 1, virq_console = 2, virq_dom_exc = 3, nr_virqs = 24;
[[nodiscard]] constexpr bool virq_is_global(uint32_t virq) { return virq != virq_timer && virq != virq_debug; }

// SCHEDOP_poll (sched.h): struct sched_poll { guest handle ports; unsigned int nr_ports; uint64_t timeout; }.
struct SchedPoll { uint64_t ports; uint32_t nr_ports; uint32_t pad; uint64_t timeout; };
static_assert(sizeof(SchedPoll) == 24);

// HVM_PARAM_CALLBACK_IRQ's top byte says how events are delivered (params.h).
inline constexpr uint64_t hvm_param_callback_type_vector = 2;
[[nodiscard]] constexpr uint64_t callback_type(uint64_t value) { return value >> 56; }

// VCPUOP_* arguments (vcpu.h).
struct VcpuSetSingleshotTimer { uint64_t timeout_abs_ns; uint32_t flags; uint32_t pad; };
inline constexpr uint32_t vcpu_sshottmr_future = 1u << 0;
struct VcpuRegisterVcpuInfo { uint64_t mfn; uint32_t offset; uint32_t rsvd; };
// struct vcpu_runstate_info (vcpu.h), 64-bit layout, and its RUNSTATE_* states.
enum class Runstate : int32_t { running = 0, runnable = 1, blocked = 2, offline = 3 };
struct VcpuRunstateInfo { Runstate state; uint32_t pad; uint64_t state_entry_time; uint64_t time[4]; };
static_assert(sizeof(VcpuRunstateInfo) == 48 && __builtin_offsetof(VcpuRunstateInfo, state_entry_time) == 8);
// XEN_RUNSTATE_UPDATE: set in state_entry_time while the hypervisor writes the
// area, for a guest that enabled VMASST_TYPE_runstate_update_flag.
inline constexpr uint64_t runstate_update = 1ull << 63;
// VCPUOP_initialise for HVM-type guests: struct vcpu_hvm_context (hvm/hvm_vcpu.h).
inline constexpr uint32_t vcpu_hvm_mode_32b = 0, vcpu_hvm_mode_64b = 1;
struct VcpuHvmX86_32 {
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi, eip, eflags;
    uint32_t cr0, cr3, cr4, pad1;
    uint64_t efer;
    uint32_t cs_base, ds_base, ss_base, es_base, tr_base;
    uint32_t cs_limit, ds_limit, ss_limit, es_limit, tr_limit;
    uint16_t cs_ar, ds_ar, ss_ar, es_ar, tr_ar;
    uint16_t pad2[3];
};
struct VcpuHvmX86_64 {
    uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, rip, rflags;
    uint64_t cr0, cr3, cr4, efer;
};
struct VcpuHvmContext {
    uint32_t mode;
    uint32_t pad;
    union { VcpuHvmX86_32 x86_32; VcpuHvmX86_64 x86_64; } cpu_regs;
};
static_assert(sizeof(VcpuHvmX86_32) == 120 && sizeof(VcpuHvmX86_64) == 112 && sizeof(VcpuHvmContext) == 128);

// Grant tables v1 (grant_table.h).
inline constexpr uint32_t gnttabop_map_grant_ref = 0, gnttabop_unmap_grant_ref = 1, gnttabop_setup_table = 2,
                          gnttabop_dump_table = 3, gnttabop_transfer = 4, gnttabop_copy = 5,
                          gnttabop_query_size = 6, gnttabop_unmap_and_replace = 7, gnttabop_set_version = 8,
                          gnttabop_get_status_frames = 9, gnttabop_get_version = 10;
using GrantRef = uint32_t;
using GrantHandle = uint32_t;
struct GrantEntryV1 { uint16_t flags; uint16_t domid; uint32_t frame; };
static_assert(sizeof(GrantEntryV1) == 8);
inline constexpr uint16_t gtf_invalid = 0, gtf_permit_access = 1, gtf_accept_transfer = 2, gtf_type_mask = 3,
                          gtf_readonly = 1u << 2, gtf_reading = 1u << 3, gtf_writing = 1u << 4;
inline constexpr uint32_t gntmap_device_map = 1u << 0, gntmap_host_map = 1u << 1, gntmap_readonly = 1u << 2,
                          gntmap_application_map = 1u << 3, gntmap_contains_pte = 1u << 4;
inline constexpr int16_t gntst_okay = 0, gntst_general_error = -1, gntst_bad_domain = -2, gntst_bad_gntref = -3,
                         gntst_bad_handle = -4, gntst_bad_virt_addr = -5, gntst_bad_dev_addr = -6,
                         gntst_no_device_space = -7, gntst_permission_denied = -8, gntst_bad_page = -9,
                         gntst_bad_copy_arg = -10, gntst_address_too_big = -11, gntst_eagain = -12;
struct GnttabMapGrantRef {
    uint64_t host_addr;          // guest-physical address for auto-translated (PVH) callers
    uint32_t flags;
    GrantRef ref;
    uint16_t dom;
    int16_t status;
    GrantHandle handle;
    uint64_t dev_bus_addr;
};
struct GnttabUnmapGrantRef { uint64_t host_addr; uint64_t dev_bus_addr; GrantHandle handle; int16_t status; uint16_t pad; };
struct GnttabSetupTable { uint16_t dom; uint16_t pad; uint32_t nr_frames; int16_t status; uint16_t pad2; uint32_t pad3; uint64_t frame_list; };
struct GnttabQuerySize { uint16_t dom; uint16_t pad; uint32_t nr_frames; uint32_t max_nr_frames; int16_t status; uint16_t pad2; };
struct GnttabCopyPtr { uint64_t ref_or_gmfn; uint16_t domid; uint16_t offset; uint32_t pad; };
struct GnttabCopy { GnttabCopyPtr source, dest; uint16_t len; uint16_t flags; int16_t status; uint16_t pad; };
inline constexpr uint16_t gntcopy_source_gref = 1u << 0, gntcopy_dest_gref = 1u << 1;
static_assert(sizeof(GnttabMapGrantRef) == 32 && sizeof(GnttabUnmapGrantRef) == 24);
static_assert(sizeof(GnttabSetupTable) == 24 && sizeof(GnttabQuerySize) == 16 && sizeof(GnttabCopy) == 40);
static_assert(__builtin_offsetof(GnttabSetupTable, frame_list) == 16);

// XENMEM_add_to_physmap_batch (memory.h).
struct AddToPhysmapBatch {
    uint16_t domid;
    uint16_t space;
    uint16_t size;
    uint16_t foreign_domid;      // union xen_add_to_physmap_batch_extra
    uint64_t idxs;               // guest handles
    uint64_t gpfns;
    uint64_t errs;
};
static_assert(sizeof(AddToPhysmapBatch) == 32 && __builtin_offsetof(AddToPhysmapBatch, idxs) == 8);

// The version Menhir reports: it implements a subset of Xen 4.17's ABI.
inline constexpr uint32_t version_major = 4, version_minor = 17;

} // namespace menhir::xen
