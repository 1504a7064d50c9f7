// See shell.hpp. Editing (line_editor) and word splitting (tokenizer) are
// pure; this file moves bytes and runs commands.
#include "shell.hpp"
#include "line_editor.hpp"
#include "tokenizer.hpp"
#include "../xl/commands.hpp"
#include "../xl/hypervisor.hpp"
#include "dom0/block/disks.hpp"
#include "dom0/console_backend.hpp"
#include "dom0/terminal.hpp"
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

namespace dom0::shell {
namespace {

using guest::print;

constexpr char prompt[] = "dom0# ";
constexpr char detach_key = 0x1d;   // Ctrl-], as xl console's escape

volatile uint64_t input_events = 0;
uint64_t seen_events = 0;
LineEditor editor;

void on_input(uint32_t, void*) { input_events = input_events + 1; }

void machine(unsigned reason, const char* what)
{
    print("dom0: %s the machine\n", what);
    guest::sched_shutdown(reason);
}

void run_line(const char* line)
{
    static Words words;
    const TokenizeError err = tokenize(line, words);
    if (err != TokenizeError::none) {
        print("dom0: %s\n", to_string(err));
        return;
    }
    if (words.argc == 0) return;
    const char* cmd = words.argv[0];
    if (guest::str_eq(cmd, "xl")) {
        (void)xl::run(words.argc, words.argv);
    } else if (guest::str_eq(cmd, "help")) {
        print("dom0's shell: xl <subcommand> [args] (try 'xl help'), disks, poweroff, reboot\n");
    } else if (guest::str_eq(cmd, "disks") && words.argc == 1) {
        block::list_disks();   // what a disk = [...] target may name
    } else if (guest::str_eq(cmd, "poweroff") && words.argc == 1) {
        machine(xen::SHUTDOWN_poweroff, "powering off");
    } else if (guest::str_eq(cmd, "reboot") && words.argc == 1) {
        machine(xen::SHUTDOWN_reboot, "rebooting");
    } else {
        print("dom0: unknown command '%s' (try 'xl help')\n", cmd);
    }
}

} // namespace

bool start()
{
    if (xl::hv::console_interactive(true) != 0) return false;
    const long port = guest::ev::bind_virq(xen::VIRQ_CONSOLE, 0);
    if (port <= 0) {
        (void)xl::hv::console_interactive(false);
        return false;
    }
    guest::ev::set_handler(static_cast<uint32_t>(port), on_input);
    guest::irq_enable();
    xl::out(prompt);
    return true;
}

bool input_pending() { return input_events != seen_events; }

void poll()
{
    seen_events = input_events;
    for (;;) {
        char buf[64];
        const long n = guest::console_io(xen::CONSOLEIO_read, sizeof buf, buf);
        if (n <= 0) return;
        for (long i = 0; i < n; ++i) {
            if (consoles::terminal_domain() >= 0) {
                if (buf[i] == detach_key) {
                    consoles::terminal_detach();
                    xl::out("\n");
                    xl::out(prompt);
                } else {
                    consoles::terminal_input(&buf[i], 1);
                }
                continue;
            }
            static char echo[LineEditor::max_echo];
            size_t echo_len = 0;
            const LineEditor::Result r = editor.feed(buf[i], echo, echo_len);
            if (echo_len) xl::out(echo, echo_len);
            if (r == LineEditor::Result::line) {
                run_line(editor.line());
                editor.clear();   // a redraw of the prompt shows only what is typed next
            }
            // `xl console` took the terminal: no prompt until it is given back.
            if (r != LineEditor::Result::more && consoles::terminal_domain() < 0) xl::out(prompt);
        }
    }
}

void run(Background bg)
{
    if (!start()) {
        print("dom0: FAIL cannot start the shell (console_mode or VIRQ_CONSOLE)\n");
        for (;;) guest::sched_block();
    }
    static Background g;
    g = bg;
    for (;;) {
        guest::ev::wait_until([] { return input_pending() || g.pending(); }, guest::ev::FOREVER);
        const bool attached = consoles::terminal_domain() >= 0;
        terminal::set_prompt_shown(!attached);
        g.poll();
        terminal::set_prompt_shown(false);
        // As xl console ends when its domain goes, the shell comes back.
        if (attached && consoles::terminal_domain() < 0) {
            xl::out("\n");
            xl::out(prompt);
        }
        if (terminal::take_redraw()) {
            xl::out(prompt);
            xl::out(editor.line(), editor.length());
        }
        poll();
    }
}

} // namespace dom0::shell
