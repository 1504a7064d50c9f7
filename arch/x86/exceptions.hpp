// Handlers for the CPU's exceptions while the hypervisor itself runs.
#pragma once

namespace menhir::exceptions {
void init();   // installs the handlers in the IDT's table (once)
} // namespace menhir::exceptions
