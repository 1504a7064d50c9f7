// A guest's own console ring (Xen's io/console.h, the page in HVM_PARAM_CONSOLE_PFN): what Linux calls hvc0.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace guest::hvc {

// Finds the ring and its port in the HVM parameters and binds the port's
// handler. False if the domain has none. Needs ev::init() first; events
// arrive once interrupts are on.
[[nodiscard]] bool open();
// Writes through out[] and notifies the back end; waits (up to 10 s a
// time) while the ring is full. False if nobody drains it.
bool write(const char* s, size_t n);
bool print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Something was typed and not read yet (a wait_until() condition).
[[nodiscard]] bool input_ready();
// Takes what was typed into `line` (`*len` bytes so far; CR or LF ends it,
// backspace erases, each character is echoed): true when a whole line is
// there (NUL-terminated, *len reset for the next one).
[[nodiscard]] bool poll_line(char* line, size_t size, size_t* len);

}  // namespace guest::hvc
