// The slice of Xen's public guest ABI that the test guests and dom0 use:
// hypercall numbers, sub-op numbers, errno values and the structures passed
// through guest memory. Values and layouts follow Xen's public headers
// (xen.h, version.h, sched.h, memory.h, vcpu.h, hvm/hvm_op.h, hvm/params.h,
// arch-x86/cpuid.h, elfnote.h, arch-x86/hvm/start_info.h); the code is ours.
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
inline constexpr long XEN_EFAULT = 14;
inline constexpr long XEN_EINVAL = 22;
inline constexpr long XEN_ENOSYS = 38;

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
inline constexpr unsigned XENMEM_memory_map = 9;
inline constexpr unsigned MEMOP_CMD_MASK = (1u << 6) - 1;

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
inline constexpr int VCPUOP_is_up = 3;

// hvm_op (hvm/hvm_op.h) and parameters (hvm/params.h).
inline constexpr unsigned HVMOP_set_param = 0;
inline constexpr unsigned HVMOP_get_param = 1;
inline constexpr uint16_t DOMID_SELF = 0x7ff0;
inline constexpr uint32_t HVM_PARAM_CALLBACK_IRQ = 0;
inline constexpr uint32_t HVM_PARAM_STORE_PFN = 1;
inline constexpr uint32_t HVM_PARAM_STORE_EVTCHN = 2;
inline constexpr uint32_t HVM_PARAM_CONSOLE_PFN = 17;
inline constexpr uint32_t HVM_PARAM_CONSOLE_EVTCHN = 18;

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

// Memory map types (the e820 ones).
inline constexpr uint32_t MEMMAP_TYPE_RAM = 1;
inline constexpr uint32_t MEMMAP_TYPE_RESERVED = 2;
inline constexpr uint32_t MEMMAP_TYPE_ACPI = 3;
inline constexpr uint32_t MEMMAP_TYPE_NVS = 4;

}  // namespace xen
