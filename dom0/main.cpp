// dom0: the privileged PVH guest that runs the machine. With `test=build` on its command line it first builds a domain from the
// kernel in its initramfs module, runs it to its end and destroys it
// (builder.cpp); with `test=devices` it checks that the ATA controller's
// interrupt reaches it as an event and that VIRQ_DOM_EXC arrives
// (device_test.cpp); with `test=console` it takes a domU's console ring over
// from the hypervisor when told so on the serial line (console_test.cpp).
// Then it starts its toolstack (toolstack.cpp: the console back end, which
// takes the boot-time domUs' consoles over unless a test mode keeps them with
// the hypervisor, and xl's lifecycle) and runs the shell on the serial
// console (shell/shell.cpp). It is built on the same runtime as the test guests.
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "builder.hpp"
#include "console_test.hpp"
#include "device_test.hpp"
#include "initramfs_module.hpp"
#include "shell/shell.hpp"
#include "toolstack.hpp"
#include "xl/lifecycle_commands.hpp"
#include "block/disk_test.hpp"

using namespace guest;

extern "C" const char guest_name[] = "dom0";

namespace {

dom0::initramfs::Archive g_initramfs;
bool g_have_initramfs = false;

// xl's files: dom0's initramfs (configs, kernels, ramdisks).
bool read_file(const char* path, dom0::Blob& out) {
    dom0::initramfs::Entry e;
    if (!g_have_initramfs || !g_initramfs.find(path, &e) || e.type() != dom0::initramfs::Type::regular) return false;
    out = dom0::Blob{e.data, e.size};
    return true;
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    print("dom0: Menhir dom0 started\n");
    print("dom0: cmdline \"%s\"\n", cmdline());
    char test[16];
    const bool test_mode = cmdline_option(cmdline(), "test", test, sizeof(test));
    if (test_mode) {
        if (str_eq(test, "build")) dom0::test_build();
        if (str_eq(test, "devices")) dom0::test_devices();
        if (str_eq(test, "console")) dom0::test_console();
        if (str_eq(test, "initramfs")) dom0::test_initramfs();
        if (str_eq(test, "disk")) dom0::block::test_disk();
    }
    if (!ev::init()) {
        print("dom0: FAIL cannot set up events: no shell\n");
        for (;;) sched_block();
    }
    g_have_initramfs = dom0::open_initramfs(&g_initramfs);
    (void)dom0::toolstack::start(read_file, !test_mode);
    dom0::xl::install_lifecycle_commands(read_file);
    dom0::shell::run(dom0::shell::Background{dom0::toolstack::work_pending, dom0::toolstack::poll});
}
