// xl create, console, shutdown and reboot: see lifecycle_commands.hpp.
#include "lifecycle_commands.hpp"

#include "commands.hpp"
#include "create_command.hpp"
#include "domain_lookup.hpp"
#include "hypervisor.hpp"
#include "dom0/console_backend.hpp"
#include "dom0/xenstored.hpp"
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using guest::print;
namespace abi = menhir::abi;

namespace dom0::xl {
namespace {

toolstack::FileReader g_read = nullptr;

// The domain `arg` names (an id or a name), or -1 after xl's message.
long resolve(const char* arg) {
    static abi::DomainInfo doms[hv::max_domains];
    const long n = hv::list_domains(doms, hv::max_domains);
    const long i = n < 0 ? -1 : find_domain(arg, doms, static_cast<size_t>(n));
    if (i < 0) {
        print("%s is an invalid domain identifier (rc=-6)\n", arg);
        return -1;
    }
    return doms[i].domain;
}

bool attach(uint16_t domid) {
    if (!consoles::terminal_attach(domid)) {
        print("xl: domain %u has no console that dom0 serves\n", domid);
        return false;
    }
    return true;
}

int cmd_create(size_t argc, const char* const* argv) {
    bool console = false;
    const long id = create_command(static_cast<int>(argc), argv, g_read, &console);
    if (id < 0) return 1;
    if (console && !attach(static_cast<uint16_t>(id))) return 1;
    return 0;
}

int cmd_console(size_t argc, const char* const* argv) {
    if (argc != 2) {
        print("'xl console' requires at least 1 argument.\n\nUsage: xl console <Domain>\n");
        return 2;
    }
    const long id = resolve(argv[1]);
    if (id < 0) return 1;
    if (id == 0) {
        print("xl: dom0's console is this terminal\n");
        return 1;
    }
    return attach(static_cast<uint16_t>(id)) ? 0 : 1;
}

bool exists(uint16_t domid) {
    abi::DomainInfo d{};
    if (hv::domain_info(domid, d) != 0) return false;
    return d.state != static_cast<uint8_t>(abi::DomainStateAbi::dying);
}

// xl shutdown / xl reboot: as xl does for a guest with Xen's PV control
// interface, write the request in control/shutdown, where the guest watches
// (Linux's drivers/xen/manage.c); a guest that never wrote
// "1" in control/feature-poweroff (or -reboot) gets xl's refusal without -F.
int request(size_t argc, const char* const* argv, const char* what, const char* feature) {
    bool wait = false;
    const char* dom = nullptr;
    for (size_t i = 1; i < argc; ++i) {
        if (guest::str_eq(argv[i], "-w"))
            wait = true;
        else if (!dom && argv[i][0] != '-')
            dom = argv[i];
        else {
            print("Usage: xl %s [-w] <Domain>\n", argv[0]);
            return 2;
        }
    }
    if (!dom) {
        print("'xl %s' requires at least 1 argument.\n\nUsage: xl %s [-w] <Domain>\n", argv[0], argv[0]);
        return 2;
    }
    const long id = resolve(dom);
    if (id < 0) return 1;
    if (id == 0) {
        print("xl: dom0 is shut down with dom0's own 'poweroff' or 'reboot'\n");
        return 1;
    }
    char path[64], value[16];
    uint32_t len = 0;
    guest::format(path, sizeof path, "/local/domain/%ld/control/%s", id, feature);
    // The node exists from the start (xl's layout); a guest with the
    // interface writes "1" there, as libxl's pvcontrol check wants.
    const bool offered = xenstored::read(path, value, sizeof value - 1, len) == xenstore::Err::none && len == 1 &&
                         value[0] == '1';
    if (!offered) {
        print("PV control interface not available: external graceful %s not possible.\n"
              "Use \"-F\" to fallback to ACPI power event.\n", what);
        print("xl: domain %ld is left running\n", id);
        return 1;
    }
    guest::format(path, sizeof path, "/local/domain/%ld/control/shutdown", id);
    const char* req = guest::str_eq(argv[0], "reboot") ? "reboot" : "poweroff";
    if (xenstored::write(path, req) != xenstore::Err::none) {
        print("xl: cannot write %s\n", path);
        return 1;
    }
    xenstored::poll();   // the guest's watch fires now
    if (!wait) return 0;
    print("Waiting for 1 domains\n");
    // dom0's other work goes on meanwhile (the watch, the guest's console).
    const uint64_t deadline = guest::ev::now_ns() + 60000 * guest::ev::MS;
    while (exists(static_cast<uint16_t>(id)) && guest::ev::now_ns() < deadline) {
        guest::ev::wait_until([] { return toolstack::work_pending(); }, 100 * guest::ev::MS);
        toolstack::poll();
    }
    if (exists(static_cast<uint16_t>(id))) {
        print("xl: domain %ld did not shut down within 60 s: it is left running\n", id);
        return 1;
    }
    print("Domain %ld has been shut down, reason code %d\n", id, guest::str_eq(req, "reboot") ? 1 : 0);
    print("All domains have been shut down\n");
    return 0;
}

int cmd_shutdown(size_t argc, const char* const* argv) { return request(argc, argv, "shutdown", "feature-poweroff"); }
int cmd_reboot(size_t argc, const char* const* argv) { return request(argc, argv, "reboot", "feature-reboot"); }

}  // namespace

void install_lifecycle_commands(toolstack::FileReader read) {
    g_read = read;
    (void)set_handler("create", cmd_create);
    (void)set_handler("console", cmd_console);
    (void)set_handler("shutdown", cmd_shutdown);
    (void)set_handler("reboot", cmd_reboot);
}

}  // namespace dom0::xl
