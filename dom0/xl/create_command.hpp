// `xl create FILE [-c] [KEY=VALUE...]`: the config read from dom0's initramfs, parsed, and the domain built.
#pragma once

#include "dom0/toolstack.hpp"

namespace dom0::xl {

// Runs the command (argv[0] is "create"). Prints as xl does: `Parsing config
// from FILE`, the parser's `FILE:LINE: ...` lines, and why a domain could not
// be made. Returns the new domain's id, or -1 when nothing was created; with
// `-c`, *console is set so that the shell attaches to it.
long create_command(int argc, const char* const* argv, toolstack::FileReader read, bool* console);

}  // namespace dom0::xl
