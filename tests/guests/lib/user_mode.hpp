// Ring-3 excursions (lib/user_mode.S): run `entry` at CPL 3 on `user_stack_top`
// until it executes `int $0x80` (vector 0x80 must be a DPL-3 gate to
// user_return_gate); returns the %rax it had then.
#pragma once

extern "C" {
long enter_user(void (*entry)(), void* user_stack_top);
void user_return_gate();
}
