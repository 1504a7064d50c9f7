// badcall: feeds the hypervisor invalid hypercalls and checks each returns
// the errno Xen returns, without harming anything else: unknown hypercall
// numbers, unknown sub-ops, bad guest pointers (unmapped linear addresses,
// guest-physical addresses past RAM, buffers running off the end of RAM),
// and hypercalls made from ring 3.
//
// One line per case: `badcall: CASE -> RESULT (expected EXPECTED) ok|FAIL`,
// then `badcall: N passed, M failed`, then power off.
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"
#include "../lib/user_mode.hpp"

using namespace guest;
using namespace xen;

extern "C" const char guest_name[] = "badcall";

extern "C" {
void user_xen_version();
void user_sched_shutdown();
void user_console_write();
}

namespace {

unsigned passed = 0;
unsigned failed = 0;

void check(const char* what, long got, long expected) {
    bool ok = got == expected;
    (ok ? passed : failed)++;
    print("badcall: %s -> %ld (expected %ld) %s\n", what, got, expected, ok ? "ok" : "FAIL");
}

// Canonical, but PML4 entry 1 is not present in our page tables.
constexpr uintptr_t UNMAPPED = 0x0000008000000000ull;


void ring3_cases() {
    // The ring-3 code and stack are in our image, in the low identity map:
    // allow user access to the 2 MiB pages holding them, then flush.
    const void* code[] = {reinterpret_cast<const void*>(user_xen_version),
                          reinterpret_cast<const void*>(user_console_write)};
    void* top = prepare_user_mode(code, 2);
    check("cpl3 xen_version(version)", enter_user(user_xen_version, top), -XEN_EPERM);
    check("cpl3 sched_op(shutdown poweroff)", enter_user(user_sched_shutdown, top), -XEN_EPERM);
    check("cpl3 console_io(write)", enter_user(user_console_write, top), -XEN_EPERM);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    print("badcall: started\n");
    // Everything we need from start_info, before we scribble at the top of
    // RAM (where a loader may have put start_info itself).
    // The end of what is backed: RAM, or a domU's ACPI page right above it
    // (docs/abi.md 1.6), which is memory too.
    uint64_t end = ram_end();
    {
        MemoryRange map[16];
        const size_t n = memory_map(map, 16);
        for (size_t i = 0; i < n; ++i)
            if (map[i].type == xen::MEMMAP_TYPE_ACPI && map[i].addr == end) end += map[i].size;
    }
    const uint64_t beyond = unbacked_paddr();
    const bool ram_edge_ok = end >= (4u << 20) && beyond + 4096 <= IDENTITY_MAP_END;

    // Unknown hypercall numbers.
    check("hypercall 999", hypercall_vmcall(999), -XEN_ENOSYS);
    check("hypercall 64", hypercall_vmcall(64), -XEN_ENOSYS);
    check("hypercall -1", hypercall_vmcall(~0ul), -XEN_ENOSYS);
    check("hypercall 0 (set_trap_table, PV only)", hypercall_vmcall(HYPERVISOR_set_trap_table), -XEN_ENOSYS);

    // Unknown sub-ops: every one of these is -ENOSYS in Xen.
    check("console_io cmd 99", console_io(99, 0, nullptr), -XEN_ENOSYS);
    check("xen_version cmd 999", xen_version(999, nullptr), -XEN_ENOSYS);
    check("sched_op cmd 99", sched_op(99, nullptr), -XEN_ENOSYS);
    // Xen decodes cmd & MEMOP_CMD_MASK: 999 is sub-op 39, also unknown.
    check("memory_op cmd 999", memory_op(999, nullptr), -XEN_ENOSYS);
    check("hvm_op op 99", hvm_op(99, nullptr), -XEN_ENOSYS);
    check("vcpu_op cmd 99", vcpu_op(99, 0, nullptr), -XEN_ENOSYS);
    check("vcpu_op is_up vcpu 999", vcpu_op(VCPUOP_is_up, 999, nullptr), -XEN_ENOENT);

    // Bad pointers: the hypervisor must fail the copy, not fault or leak.
    auto* unmapped = reinterpret_cast<void*>(UNMAPPED);
    check("console_io write from unmapped address", console_io(CONSOLEIO_write, 16, unmapped), -XEN_EFAULT);
    check("xen_version extraversion to unmapped address", xen_version(XENVER_extraversion, unmapped), -XEN_EFAULT);
    check("sched_op shutdown from unmapped address", sched_op(SCHEDOP_shutdown, unmapped), -XEN_EFAULT);
    check("memory_op memory_map from unmapped address", memory_op(XENMEM_memory_map, unmapped), -XEN_EFAULT);
    check("hvm_op get_param from unmapped address", hvm_op(HVMOP_get_param, unmapped), -XEN_EFAULT);

    if (ram_edge_ok) {
        // Mapped in our page tables, but no RAM behind the guest-physical address.
        auto* past_ram = reinterpret_cast<char*>(static_cast<uintptr_t>(beyond));
        check("console_io write from beyond RAM", console_io(CONSOLEIO_write, 16, past_ram), -XEN_EFAULT);
        check("xen_version extraversion to beyond RAM", xen_version(XENVER_extraversion, past_ram), -XEN_EFAULT);

        // Buffers that start in RAM and run off its end. The console text is a
        // whole line in case a hypervisor prints the readable part first.
        static const char probe[] = "badcall: (huge length probe)\n";
        auto* tail = reinterpret_cast<char*>(static_cast<uintptr_t>(end - (sizeof(probe) - 1)));
        for (size_t i = 0; i < sizeof(probe) - 1; ++i) tail[i] = probe[i];
        check("console_io write huge length", console_io(CONSOLEIO_write, 0x7fffffff, tail), -XEN_EFAULT);
        auto* straddle = reinterpret_cast<char*>(static_cast<uintptr_t>(end - 8));
        check("xen_version extraversion across RAM end", xen_version(XENVER_extraversion, straddle), -XEN_EFAULT);
    } else {
        print("badcall: RAM end 0x%llx not testable, RAM-edge cases skipped\n", static_cast<unsigned long long>(end));
    }

    // Hypercalls are for the guest kernel only.
    ring3_cases();

    print("badcall: %u passed, %u failed\n", passed, failed);
    poweroff();
}
