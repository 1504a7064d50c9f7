// The slice of Xen's public guest ABI that the test guests and dom0 use:
// hypercall numbers, sub-op numbers, errno values and the structures passed
// through guest memory. Values and layouts follow Xen's public headers
// (xen.h, version.h, sched.h, memory.h, vcpu.h, event_channel.h,
// grant_table.h, hvm/hvm_op.h, hvm/params.h, hvm/hvm_vcpu.h, arch-x86/xen.h,
// arch-x86/cpuid.h, elfnote.h, arch-x86/hvm/start_info.h); the code is ours.
// The structures passed by pointer that contain guest handles or
// xen_ulong_t have the 64-bit layout only: they sit in the section for
// x86-64 at the end (the 32-bit test guest does not use them).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace xen {

// Hypercall numbers (xen.h).
inline constexpr unsigned long HYPERVISOR_set_trap_table = 0;  // PV only
inline constexpr unsigned long HYPERVISOR_memory_op = 12;
inline constexpr unsigned long HYPERVISOR_xen_version = 17;
inline constexpr unsigned long HYPERVISOR_console_io = 18;
inline constexpr unsigned long HYPERVISOR_grant_table_op = 20;
inline constexpr unsigned long HYPERVISOR_vcpu_op = 24;
inline constexpr unsigned long HYPERVISOR_sched_op = 29;
inline constexpr unsigned long HYPERVISOR_event_channel_op = 32;
inline constexpr unsigned long HYPERVISOR_hvm_op = 34;
inline constexpr unsigned long HYPERVISOR_sysctl = 35;
inline constexpr unsigned long HYPERVISOR_domctl = 36;

// Errno values Xen returns (negated) from hypercalls (errno.h).
inline constexpr long XEN_EPERM = 1;
inline constexpr long XEN_ENOENT = 2;
inline constexpr long XEN_ESRCH = 3;
inline constexpr long XEN_ENOMEM = 12;
inline constexpr long XEN_EFAULT = 14;
inline constexpr long XEN_EBUSY = 16;
inline constexpr long XEN_EEXIST = 17;
inline constexpr long XEN_EINVAL = 22;
inline constexpr long XEN_ENOSPC = 28;
inline constexpr long XEN_ENOSYS = 38;
inline constexpr long XEN_ETIME = 62;
inline constexpr long XEN_EOPNOTSUPP = 95;

// console_io commands.
inline constexpr unsigned CONSOLEIO_write = 0;
inline constexpr unsigned CONSOLEIO_read = 1;

// xen_version commands (version.h). XENVER_version returns major << 16 | minor.
inline constexpr int XENVER_version = 0;
inline constexpr int XENVER_extraversion = 1;  // fills a char[16]
inline constexpr size_t XEN_EXTRAVERSION_LEN = 16;

// sched_op commands and shutdown reasons (sched.h).
inline constexpr int SCHEDOP_yield = 0;
inline constexpr int SCHEDOP_block = 1;
inline constexpr int SCHEDOP_shutdown = 2;
inline constexpr int SCHEDOP_poll = 3;
inline constexpr unsigned SHUTDOWN_poweroff = 0;
inline constexpr unsigned SHUTDOWN_reboot = 1;
inline constexpr unsigned SHUTDOWN_suspend = 2;
inline constexpr unsigned SHUTDOWN_crash = 3;
inline constexpr unsigned SHUTDOWN_watchdog = 4;

struct sched_shutdown {
    uint32_t reason;
};

// memory_op (memory.h). Xen reads the sub-op from the low 6 bits of cmd (the
// rest carries a continuation's start extent).
inline constexpr unsigned XENMEM_decrease_reservation = 1;
inline constexpr unsigned XENMEM_current_reservation = 3;
inline constexpr unsigned XENMEM_maximum_reservation = 4;
inline constexpr unsigned XENMEM_populate_physmap = 6;
inline constexpr unsigned XENMEM_add_to_physmap = 7;
inline constexpr unsigned XENMEM_memory_map = 9;
inline constexpr unsigned XENMEM_remove_from_physmap = 15;
inline constexpr unsigned XENMEM_add_to_physmap_batch = 23;

// Spaces for XENMEM_add_to_physmap(_batch).
inline constexpr unsigned XENMAPSPACE_shared_info = 0;
inline constexpr unsigned XENMAPSPACE_grant_table = 1;
inline constexpr unsigned XENMAPSPACE_gmfn = 2;
inline constexpr unsigned XENMAPSPACE_gmfn_range = 3;
inline constexpr unsigned XENMAPSPACE_gmfn_foreign = 4;
// idx bit for XENMAPSPACE_grant_table: a status frame (v2) instead of a shared one.
inline constexpr uint64_t XENMAPIDX_grant_table_status = 1u << 31;
inline constexpr unsigned MEMOP_CMD_MASK = (1u << 6) - 1;

// XENMEM_increase/decrease_reservation, XENMEM_populate_physmap: extents of
// 2^extent_order pages; for an auto-translated guest extent_start lists gfns
// (xen_pfn_t, an unsigned long). The call returns the extents done.
struct xen_memory_reservation {
    uintptr_t extent_start;
    unsigned long nr_extents;
    uint32_t extent_order;
    uint32_t mem_flags;
    uint16_t domid;
};

// XENMEM_memory_map argument: nr_entries in (capacity) / out (count), and a
// guest handle (a pointer the width of the guest's mode) to e820 entries.
struct xen_memory_map {
    uint32_t nr_entries;
    uintptr_t buffer;
};

struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));
static_assert(sizeof(e820_entry) == 20);

// vcpu_op commands (vcpu.h); args are (cmd, vcpuid, extra).
inline constexpr int VCPUOP_initialise = 0;
inline constexpr int VCPUOP_up = 1;
inline constexpr int VCPUOP_down = 2;
inline constexpr int VCPUOP_is_up = 3;
inline constexpr int VCPUOP_set_periodic_timer = 6;
inline constexpr int VCPUOP_stop_periodic_timer = 7;
inline constexpr int VCPUOP_set_singleshot_timer = 8;
inline constexpr int VCPUOP_stop_singleshot_timer = 9;
inline constexpr int VCPUOP_register_vcpu_info = 10;
// A second copy of the vCPU's vcpu_time_info; the argument is its address (vcpu.h).
inline constexpr int VCPUOP_register_vcpu_time_memory_area = 13;
// VCPUOP_register_vcpu_info's argument (vcpu.h): the frame and the offset
// in it where the vCPU's vcpu_info is to live from now on.
struct vcpu_register_vcpu_info {
    uint64_t mfn;  // a guest frame number for PVH guests
    uint32_t offset;
    uint32_t rsvd;
};

struct vcpu_set_singleshot_timer {
    uint64_t timeout_abs_ns;  // absolute system time
    uint32_t flags;           // VCPU_SSHOTTMR_future (ignored by Xen >= 4.15)
    uint32_t pad;
};
static_assert(sizeof(vcpu_set_singleshot_timer) == 16);
inline constexpr uint32_t VCPU_SSHOTTMR_future = 1u << 0;

// VCPUOP_initialise for HVM/PVH vCPUs (hvm/hvm_vcpu.h). In 64B mode the vCPU
// starts in long mode with flat 64-bit CS, flat data segments and a busy
// 64-bit TR; selectors, GDTR and IDTR are the guest's to load.
inline constexpr uint32_t VCPU_HVM_MODE_32B = 0;
inline constexpr uint32_t VCPU_HVM_MODE_64B = 1;
struct vcpu_hvm_x86_32 {
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi, eip, eflags;
    uint32_t cr0, cr3, cr4, pad1;
    uint64_t efer;
    uint32_t cs_base, ds_base, ss_base, es_base, tr_base;
    uint32_t cs_limit, ds_limit, ss_limit, es_limit, tr_limit;
    uint16_t cs_ar, ds_ar, ss_ar, es_ar, tr_ar;
    uint16_t pad2[3];
};
struct vcpu_hvm_x86_64 {
    uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, rip, rflags;
    uint64_t cr0, cr3, cr4, efer;
};
struct vcpu_hvm_context {
    uint32_t mode;  // VCPU_HVM_MODE_*
    uint32_t pad;
    union {
        vcpu_hvm_x86_32 x86_32;
        vcpu_hvm_x86_64 x86_64;
    } cpu_regs;
};
static_assert(sizeof(vcpu_hvm_x86_32) == 120 && sizeof(vcpu_hvm_x86_64) == 112);
static_assert(sizeof(vcpu_hvm_context) == 128);

// hvm_op (hvm/hvm_op.h) and parameters (hvm/params.h).
inline constexpr unsigned HVMOP_set_param = 0;
inline constexpr unsigned HVMOP_get_param = 1;
inline constexpr uint16_t DOMID_FIRST_RESERVED = 0x7ff0;
inline constexpr uint16_t DOMID_SELF = 0x7ff0;
inline constexpr uint16_t DOMID_INVALID = 0x7ff4;
inline constexpr uint32_t HVM_PARAM_CALLBACK_IRQ = 0;
inline constexpr uint32_t HVM_PARAM_STORE_PFN = 1;
inline constexpr uint32_t HVM_PARAM_STORE_EVTCHN = 2;
inline constexpr uint32_t HVM_PARAM_CONSOLE_PFN = 17;
inline constexpr uint32_t HVM_PARAM_CONSOLE_EVTCHN = 18;

// HVM_PARAM_CALLBACK_IRQ value: delivery type in bits 63:56; type 2 (vector)
// has the vector in bits 7:0, injected while evtchn_upcall_pending is set.
inline constexpr unsigned HVM_PARAM_CALLBACK_TYPE_SHIFT = 56;
inline constexpr uint64_t HVM_PARAM_CALLBACK_TYPE_VECTOR = 2;

struct xen_hvm_param {
    uint16_t domid;
    uint16_t pad;
    uint32_t index;
    uint64_t value;
};
static_assert(sizeof(xen_hvm_param) == 16);

// CPUID leaves (arch-x86/cpuid.h): base + 0 signature and max leaf,
// base + 1 version (major << 16 | minor), base + 2 hypercall pages in EAX and
// the MSR that installs them in EBX.
inline constexpr uint32_t CPUID_LEAF_FIRST = 0x40000000;
inline constexpr uint32_t CPUID_LEAF_LAST = 0x40010000;
inline constexpr uint32_t CPUID_LEAF_STEP = 0x100;
// base + 4 (HVM leaf): EAX flags; EBX = vCPU id, ECX = domain id when flagged.
inline constexpr uint32_t XEN_HVM_CPUID_VCPU_ID_PRESENT = 1u << 3;
inline constexpr uint32_t XEN_HVM_CPUID_DOMID_PRESENT = 1u << 4;

// ELF note type of the 32-bit physical entry point (elfnote.h).
inline constexpr uint32_t XEN_ELFNOTE_PHYS32_ENTRY = 18;

// PVH start of day (arch-x86/hvm/start_info.h). Every field is little endian;
// an address of 0 means "not present". memmap_* exist from version 1.
inline constexpr uint32_t HVM_START_MAGIC = 0x336ec578;

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};
static_assert(sizeof(hvm_start_info) == 56);

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};
static_assert(sizeof(hvm_modlist_entry) == 32);

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};
static_assert(sizeof(hvm_memmap_table_entry) == 24);

// The console ring page (io/console.h, struct xencons_interface): the guest
// writes out[] and advances out_prod, reads in[] and advances in_cons; the
// back end does the rest. Indices run freely, masked with the ring size.
struct xencons_interface {
    char in[1024];
    char out[2048];
    uint32_t in_cons, in_prod;
    uint32_t out_cons, out_prod;
};
static_assert(__builtin_offsetof(xencons_interface, out) == 1024);
static_assert(__builtin_offsetof(xencons_interface, in_cons) == 3072);
static_assert(__builtin_offsetof(xencons_interface, out_prod) == 3084);
static_assert(sizeof(xencons_interface) == 3088);

// Memory map types (the e820 ones).
inline constexpr uint32_t MEMMAP_TYPE_RAM = 1;
inline constexpr uint32_t MEMMAP_TYPE_RESERVED = 2;
inline constexpr uint32_t MEMMAP_TYPE_ACPI = 3;
inline constexpr uint32_t MEMMAP_TYPE_NVS = 4;

// ---------------------------------------------------------------------------
// Events, time and grants. Fixed-size structures first (same layout in both
// modes), then the ones holding guest handles (64-bit layout only).

// Event channels (event_channel.h).
inline constexpr int EVTCHNOP_bind_interdomain = 0;
inline constexpr int EVTCHNOP_bind_virq = 1;
inline constexpr int EVTCHNOP_bind_pirq = 2;
inline constexpr int EVTCHNOP_close = 3;
inline constexpr int EVTCHNOP_send = 4;
inline constexpr int EVTCHNOP_status = 5;
inline constexpr int EVTCHNOP_alloc_unbound = 6;
inline constexpr int EVTCHNOP_bind_ipi = 7;
inline constexpr int EVTCHNOP_bind_vcpu = 8;
inline constexpr int EVTCHNOP_unmask = 9;
inline constexpr int EVTCHNOP_init_control = 11;   // the FIFO ABI's set-up

struct evtchn_alloc_unbound {
    uint16_t dom, remote_dom;  // IN
    uint32_t port;             // OUT
};
struct evtchn_bind_interdomain {
    uint16_t remote_dom;
    uint16_t pad;
    uint32_t remote_port;  // IN
    uint32_t local_port;   // OUT
};
struct evtchn_bind_virq {
    uint32_t virq, vcpu;  // IN
    uint32_t port;        // OUT
};
struct evtchn_bind_ipi {
    uint32_t vcpu;  // IN
    uint32_t port;  // OUT
};
struct evtchn_port_op {  // evtchn_close, evtchn_send, evtchn_unmask
    uint32_t port;
};
struct evtchn_bind_vcpu {
    uint32_t port, vcpu;
};
struct evtchn_init_control {
    uint64_t control_gfn;  // IN
    uint32_t offset;       // IN
    uint32_t vcpu;         // IN
    uint8_t link_bits;     // OUT
    uint8_t pad[7];
};
static_assert(sizeof(evtchn_init_control) == 24);
struct evtchn_status {
    uint16_t dom;  // IN
    uint16_t pad;
    uint32_t port;    // IN
    uint32_t status;  // OUT: EVTCHNSTAT_*
    uint32_t vcpu;    // OUT: the vCPU notified
    union {
        struct {
            uint16_t dom;
        } unbound;
        struct {
            uint16_t dom;
            uint16_t pad;
            uint32_t port;
        } interdomain;
        uint32_t pirq;
        uint32_t virq;
    } u;
};
static_assert(sizeof(evtchn_alloc_unbound) == 8 && sizeof(evtchn_bind_interdomain) == 12);
static_assert(sizeof(evtchn_bind_virq) == 12 && sizeof(evtchn_bind_ipi) == 8 && sizeof(evtchn_status) == 24);
inline constexpr uint32_t EVTCHNSTAT_closed = 0;
inline constexpr uint32_t EVTCHNSTAT_unbound = 1;
inline constexpr uint32_t EVTCHNSTAT_interdomain = 2;
inline constexpr uint32_t EVTCHNSTAT_pirq = 3;
inline constexpr uint32_t EVTCHNSTAT_virq = 4;
inline constexpr uint32_t EVTCHNSTAT_ipi = 5;

// VIRQs (xen.h). VIRQ_TIMER and VIRQ_DEBUG are per vCPU, the rest global
// (bindable on vCPU 0 only).
inline constexpr uint32_t VIRQ_TIMER = 0;
inline constexpr uint32_t VIRQ_DEBUG = 1;
inline constexpr uint32_t VIRQ_CONSOLE = 2;
inline constexpr uint32_t VIRQ_DOM_EXC = 3;
inline constexpr uint32_t NR_VIRQS = 24;

// The two-level ABI for 64-bit guests: 64 words of 64 bits.
inline constexpr uint32_t EVTCHN_2L_NR_CHANNELS = 64 * 64;

// Time (xen.h): pvclock. ns = system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32
// (a right shift for a negative shift); version is odd while being updated.
struct vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad1[2];
};
static_assert(sizeof(vcpu_time_info) == 32);

// Grant tables, version 1 (grant_table.h).
inline constexpr unsigned GNTTABOP_map_grant_ref = 0;
inline constexpr unsigned GNTTABOP_unmap_grant_ref = 1;
inline constexpr unsigned GNTTABOP_setup_table = 2;
inline constexpr unsigned GNTTABOP_copy = 5;
inline constexpr unsigned GNTTABOP_query_size = 6;
inline constexpr unsigned GNTTABOP_set_version = 8;   // struct gnttab_set_version { uint32_t version; } (IN/OUT)
inline constexpr unsigned GNTTABOP_get_version = 10;
struct gnttab_get_version {
    uint16_t dom;  // IN
    uint16_t pad;
    uint32_t version;  // OUT
};

struct grant_entry_v1 {
    uint16_t flags;  // GTF_*
    uint16_t domid;  // who may map / copy
    uint32_t frame;  // the granted frame (a gfn for auto-translated granters)
};
static_assert(sizeof(grant_entry_v1) == 8);
inline constexpr uint16_t GTF_invalid = 0;
inline constexpr uint16_t GTF_permit_access = 1;
inline constexpr uint16_t GTF_type_mask = 3;
inline constexpr uint16_t GTF_readonly = 1u << 2;
inline constexpr uint16_t GTF_reading = 1u << 3;  // set by the hypervisor while mapped/used
inline constexpr uint16_t GTF_writing = 1u << 4;

inline constexpr uint32_t GNTMAP_device_map = 1u << 0;
inline constexpr uint32_t GNTMAP_host_map = 1u << 1;
inline constexpr uint32_t GNTMAP_readonly = 1u << 2;

inline constexpr int16_t GNTST_okay = 0;
inline constexpr int16_t GNTST_general_error = -1;
inline constexpr int16_t GNTST_bad_domain = -2;
inline constexpr int16_t GNTST_bad_gntref = -3;
inline constexpr int16_t GNTST_bad_handle = -4;
inline constexpr int16_t GNTST_bad_virt_addr = -5;
inline constexpr int16_t GNTST_bad_dev_addr = -6;
inline constexpr int16_t GNTST_no_device_space = -7;
inline constexpr int16_t GNTST_permission_denied = -8;
inline constexpr int16_t GNTST_bad_page = -9;
inline constexpr int16_t GNTST_bad_copy_arg = -10;

inline constexpr uint16_t GNTCOPY_source_gref = 1u << 0;
inline constexpr uint16_t GNTCOPY_dest_gref = 1u << 1;

// Guest-physical page size; grant entries per page.
inline constexpr uint64_t PAGE_SIZE = 4096;
inline constexpr uint32_t GRANT_ENTRIES_PER_FRAME = PAGE_SIZE / sizeof(grant_entry_v1);

#if defined(__x86_64__)
// shared_info and vcpu_info, x86-64 layout (xen.h, arch-x86/xen.h).
struct vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    uint8_t pad0[6];
    uint64_t evtchn_pending_sel;  // which words of evtchn_pending to look at
    uint64_t cr2;                 // struct arch_vcpu_info
    uint64_t arch_pad;
    vcpu_time_info time;
};
static_assert(sizeof(vcpu_info) == 64);

inline constexpr unsigned XEN_LEGACY_MAX_VCPUS = 32;
struct shared_info {
    vcpu_info vcpu[XEN_LEGACY_MAX_VCPUS];
    uint64_t evtchn_pending[64];
    uint64_t evtchn_mask[64];
    uint32_t wc_version;  // wallclock at system time 0; odd while updated
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
static_assert(__builtin_offsetof(shared_info, evtchn_pending) == 2048);
static_assert(__builtin_offsetof(shared_info, evtchn_mask) == 2560);
static_assert(__builtin_offsetof(shared_info, wc_version) == 3072);
static_assert(__builtin_offsetof(shared_info, max_pfn) == 3088);
static_assert(sizeof(shared_info) <= 4096);

// XENMEM_add_to_physmap (memory.h).
struct xen_add_to_physmap {
    uint16_t domid;
    uint16_t size;   // XENMAPSPACE_gmfn_range only
    uint32_t space;  // XENMAPSPACE_*
    uint64_t idx;    // xen_ulong_t: index into the space
    uint64_t gpfn;   // xen_pfn_t: where it appears
};
static_assert(sizeof(xen_add_to_physmap) == 24);

// XENMEM_remove_from_physmap.
struct xen_remove_from_physmap {
    uint16_t domid;
    uint16_t pad[3];
    uint64_t gpfn;
};
static_assert(sizeof(xen_remove_from_physmap) == 16);

// XENMEM_add_to_physmap_batch: size entries; errs[i] gets each entry's result.
struct xen_add_to_physmap_batch {
    uint16_t domid;
    uint16_t space;          // XENMAPSPACE_*
    uint16_t size;           // number of entries
    uint16_t foreign_domid;  // union xen_add_to_physmap_batch_extra (gmfn_foreign)
    uint64_t idxs;           // XEN_GUEST_HANDLE(xen_ulong_t)
    uint64_t gpfns;          // XEN_GUEST_HANDLE(xen_pfn_t)
    uint64_t errs;           // XEN_GUEST_HANDLE(int)
};
static_assert(sizeof(xen_add_to_physmap_batch) == 32);
static_assert(__builtin_offsetof(xen_add_to_physmap_batch, idxs) == 8);

// SCHEDOP_poll (sched.h): returns when one of the ports is pending or at the
// absolute system time `timeout` (0: no timeout).
struct sched_poll {
    uint64_t ports;  // XEN_GUEST_HANDLE(evtchn_port_t)
    uint32_t nr_ports;
    uint32_t pad;
    uint64_t timeout;
};
static_assert(sizeof(sched_poll) == 24);

// Grant table operations.
struct gnttab_map_grant_ref {
    uint64_t host_addr;  // IN: guest-physical address for an auto-translated caller
    uint32_t flags;      // IN: GNTMAP_*
    uint32_t ref;        // IN
    uint16_t dom;        // IN: the granting domain
    int16_t status;      // OUT: GNTST_*
    uint32_t handle;     // OUT
    uint64_t dev_bus_addr;
};
struct gnttab_unmap_grant_ref {
    uint64_t host_addr;
    uint64_t dev_bus_addr;
    uint32_t handle;
    int16_t status;  // OUT
    uint16_t pad;
};
struct gnttab_setup_table {
    uint16_t dom;
    uint16_t pad;
    uint32_t nr_frames;
    int16_t status;  // OUT
    uint16_t pad2[3];
    uint64_t frame_list;  // XEN_GUEST_HANDLE(xen_pfn_t), OUT
};
struct gnttab_query_size {
    uint16_t dom;
    uint16_t pad;
    uint32_t nr_frames;      // OUT
    uint32_t max_nr_frames;  // OUT
    int16_t status;          // OUT
    uint16_t pad2;
};
struct gnttab_copy_ptr {
    uint64_t ref_or_gmfn;  // union { grant_ref_t ref; xen_pfn_t gmfn; }
    uint16_t domid;
    uint16_t offset;
    uint32_t pad;
};
struct gnttab_copy {
    gnttab_copy_ptr source, dest;
    uint16_t len;
    uint16_t flags;  // GNTCOPY_*
    int16_t status;  // OUT
    uint16_t pad;
};
static_assert(sizeof(gnttab_map_grant_ref) == 32 && sizeof(gnttab_unmap_grant_ref) == 24);
static_assert(sizeof(gnttab_setup_table) == 24 && __builtin_offsetof(gnttab_setup_table, frame_list) == 16);
static_assert(sizeof(gnttab_query_size) == 16 && sizeof(gnttab_copy) == 40);
#endif  // __x86_64__

}  // namespace xen
