// The xl subcommands that go through dom0's toolstack: create, console, shutdown, reboot.
#pragma once

#include "dom0/toolstack.hpp"

namespace dom0::xl {

// Installs their handlers in xl's command table (xl/commands.hpp).
void install_lifecycle_commands(toolstack::FileReader read);

}  // namespace dom0::xl
