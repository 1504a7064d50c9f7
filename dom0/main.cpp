// dom0, first form: a privileged PVH guest that announces itself and sleeps.
// With `test=build` on its command line it first builds a domain from the
// kernel in its initramfs module, runs it to its end and destroys it
// (builder.cpp); with `test=devices` it checks that the ATA controller's
// interrupt reaches it as an event and that VIRQ_DOM_EXC arrives
// (device_test.cpp); with `test=console` it takes a domU's console ring over
// from the hypervisor when told so on the serial line (console_test.cpp). Later it grows into the toolstack (domain builder, xl
// shell, backends, xenstored); it is built from the same guest runtime as
// the test guests.
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "builder.hpp"
#include "console_test.hpp"
#include "device_test.hpp"
#include "block/disk_test.hpp"

using namespace guest;

extern "C" const char guest_name[] = "dom0";

extern "C" void guest_main(const xen::hvm_start_info*) {
    print("dom0: Menhir dom0 started\n");
    print("dom0: cmdline \"%s\"\n", cmdline());
    char test[16];
    if (cmdline_option(cmdline(), "test", test, sizeof(test))) {
        if (str_eq(test, "build")) dom0::test_build();
        if (str_eq(test, "devices")) dom0::test_devices();
        if (str_eq(test, "console")) dom0::test_console();
        if (str_eq(test, "disk")) dom0::block::test_disk();
    }
    // Nothing to serve yet: block until an event, and block again.
    for (;;) sched_block();
}
