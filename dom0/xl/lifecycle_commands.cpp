// xl create, console, shutdown and reboot: see lifecycle_commands.hpp.
#include "lifecycle_commands.hpp"

#include "commands.hpp"
#include "create_command.hpp"
#include "domain_lookup.hpp"
#include "hypervisor.hpp"
#include "dom0/console_backend.hpp"
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

}  // namespace

void install_lifecycle_commands(toolstack::FileReader read) {
    g_read = read;
    (void)set_handler("create", cmd_create);
    (void)set_handler("console", cmd_console);
}

}  // namespace dom0::xl
