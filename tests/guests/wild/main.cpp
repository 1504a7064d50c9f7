// wild: writes to guest-physical memory just past its RAM, reads it back,
// then jumps there. The address is in the guest's own identity map, so each
// access reaches the hypervisor's second stage (EPT), which has nothing
// there. As in Xen for a PVH domU, the write is dropped and the read gives
// all ones; the instruction fetch must crash this domain alone. Reaching the
// line after the jump is a hypervisor bug.
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

extern "C" const char guest_name[] = "wild";

extern "C" void guest_main(const xen::hvm_start_info*) {
    print("wild: writing past my RAM\n");
    uint64_t end = ram_end();
    if (end == 0) {
        print("wild: no RAM in the memory map (BUG)\n");
        poweroff();  // not a crash: the test must not pass
    }
    uint64_t target = unbacked_paddr();
    print("wild: RAM ends at 0x%llx, writing to 0x%llx\n", static_cast<unsigned long long>(end),
          static_cast<unsigned long long>(target));
#if defined(__x86_64__)
    if (target + 8 > IDENTITY_MAP_END) {
        print("wild: 0x%llx is beyond my identity map, cannot test\n", static_cast<unsigned long long>(target));
        poweroff();
    }
#endif
    auto* p = reinterpret_cast<volatile uint64_t*>(static_cast<uintptr_t>(target));
    *p = 0x57494c4457494c44ull;  // "DLIWDLIW"
    const uint64_t back = *p;
    print("wild: read back 0x%llx\n", static_cast<unsigned long long>(back));
    print("wild: jumping to 0x%llx\n", static_cast<unsigned long long>(target));
    reinterpret_cast<void (*)()>(static_cast<uintptr_t>(target))();
    print("wild: jump succeeded (BUG)\n");
    poweroff();
}
