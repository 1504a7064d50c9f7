// dom0's shell on the serial console: the `dom0# ` prompt, line editing,
// and the commands (xl ..., help, poweroff, reboot). Serial input comes by
// CONSOLEIO_read, announced by VIRQ_CONSOLE.
#pragma once

namespace dom0::shell {

// Takes the terminal (sysctl console_mode), binds VIRQ_CONSOLE and prints
// the first prompt; ev::init() must have run. False if that failed.
[[nodiscard]] bool start();
// Handles whatever serial input is queued; returns without waiting.
void poll();
// True once VIRQ_CONSOLE said input came since the last poll().
[[nodiscard]] bool input_pending();
// dom0's other work, done between lines of input: the back ends and the
// toolstack (an event handler marks it; `poll` does it).
struct Background {
    bool (*pending)();
    void (*poll)();
};
// start(), then poll() whenever input comes and bg.poll() whenever bg has
// work, for ever. While `xl console` has a domain attached, input goes to
// it, and Ctrl-] gives the terminal back to the shell.
[[noreturn]] void run(Background bg);

} // namespace dom0::shell
