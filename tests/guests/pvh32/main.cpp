// pvh32: a PVH guest that stays in 32-bit protected mode and uses the 32-bit
// hypercall convention (number in eax, arguments in ebx ecx edx esi edi).
// Shipped as ELFCLASS32 with e_machine EM_X86_64.
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

extern "C" const char guest_name[] = "pvh32";

static_assert(sizeof(void*) == 4, "pvh32 must be built with -m32");

extern "C" void guest_main(const xen::hvm_start_info*) {
    print("pvh32: hello from 32-bit\n");
    long ver = xen_version(xen::XENVER_version, nullptr);
    if (ver < 0)
        print("pvh32: xen_version failed: %ld\n", ver);
    else
        print("pvh32: Xen version %ld.%ld\n", ver >> 16, ver & 0xffff);
    poweroff();
}
