// xl's subcommands in dom0's shell: a table of entries (name, handler,
// usage, summary) that `xl` dispatches on. Entries without a handler are
// hooks for commands other parts of dom0 provide (xl create, console,
// shutdown, reboot): until they are set, they say they are not available.
#pragma once
#include <cstddef>

namespace dom0::xl {

using Handler = int (*)(size_t argc, const char* const* argv);   // argv[0] is the subcommand

struct Command {
    const char* name;
    Handler handler;
    const char* usage;
    const char* summary;
};

// Runs `xl ARGS...` (argv[0] is "xl"); returns its exit status.
int run(size_t argc, const char* const* argv);
// Installs the handler of a hook entry (create, console, shutdown, reboot).
bool set_handler(const char* name, Handler handler);

// Output for commands: bytes to dom0's terminal as they are.
void out(const char* s);
void out(const char* s, size_t n);

} // namespace dom0::xl
