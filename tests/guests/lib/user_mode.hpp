// Ring-3 excursions (lib/user_mode.S): run `entry` at CPL 3 on `user_stack_top`
// until it executes `int $0x80` (vector 0x80 must be a DPL-3 gate to
// user_return_gate); returns the %rax it had then.
#pragma once
#include <cstddef>

extern "C" {
long enter_user(void (*entry)(), void* user_stack_top);
void user_return_gate();
}

namespace guest {
// Lets ring 3 run the code at each of code[0..count) (the 2 MiB pages that
// hold them) on a stack of the runtime's, installs the DPL-3 gate 0x80 to
// user_return_gate, and returns that stack's top for enter_user.
void* prepare_user_mode(const void* const* code, size_t count);
} // namespace guest
