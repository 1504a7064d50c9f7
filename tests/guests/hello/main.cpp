// hello: the smallest useful guest. Proves the PVH entry, console_io, port
// 0xE9, the Xen CPUID leaves, xen_version and start_info, then powers off.
// With `hypercall_page` on its command line it also installs the hypercall
// page and repeats xen_version through it.
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

using namespace guest;

extern "C" const char guest_name[] = "hello";

extern "C" void guest_main(const xen::hvm_start_info* si) {
    print("hello: started\n");

    const char e9_line[] = "hello: port e9 works\n";
    e9_write(e9_line, sizeof(e9_line) - 1);

    uint32_t base = xen_cpuid_base();
    if (base != 0) {
        CpuidRegs r = cpuid(base);
        char sig[13];
        for (int i = 0; i < 4; ++i) {
            sig[i] = static_cast<char>(r.ebx >> (8 * i));
            sig[4 + i] = static_cast<char>(r.ecx >> (8 * i));
            sig[8 + i] = static_cast<char>(r.edx >> (8 * i));
        }
        sig[12] = '\0';
        print("hello: Xen signature %s\n", sig);
        print("hello: Xen CPUID base 0x%x, max leaf 0x%x\n", base, r.eax);
    } else {
        print("hello: Xen signature not found\n");
    }

    long ver = xen_version(xen::XENVER_version, nullptr);
    if (ver < 0)
        print("hello: xen_version failed: %ld\n", ver);
    else
        print("hello: Xen version %ld.%ld\n", ver >> 16, ver & 0xffff);

    print("hello: start_info version %u flags 0x%x\n", si->version, si->flags);
    print("hello: cmdline \"%s\"\n", cmdline());
    print("hello: nr_modules %u\n", si->nr_modules);
    MemoryRange map[32];
    size_t n = memory_map(map, 32);
    print("hello: memmap %zu entries\n", n);
    for (size_t i = 0; i < n; ++i)
        print("hello: memmap[%zu] 0x%llx-0x%llx type %u\n", i, static_cast<unsigned long long>(map[i].addr),
              static_cast<unsigned long long>(map[i].addr + map[i].size), map[i].type);

    char unused[2];
    if (cmdline_option(cmdline(), "hypercall_page", unused, sizeof(unused))) {
        if (hypercall_page_install()) {
            long v = hypercall_via_page(xen::HYPERVISOR_xen_version, xen::XENVER_version);
            print("hello: hypercall page Xen version %ld.%ld\n", v >> 16, v & 0xffff);
        } else {
            print("hello: hypercall page not offered\n");
        }
    }

    print("hello: done\n");
    poweroff();
}
