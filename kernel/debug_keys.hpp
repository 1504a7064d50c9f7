// Debug keys, as in Xen: each subsystem registers a key, a description and
// a handler; serial input reaches them after Ctrl-A three times.
#pragma once

namespace menhir::debug_keys {
using Handler = void (*)(char key);
void register_key(char key, const char* description, Handler handler);
void handle(char key);
} // namespace menhir::debug_keys
