// dom0's terminal line: see terminal.hpp.
#include "terminal.hpp"

#include "runtime/print.hpp"

namespace dom0::terminal {
namespace {

bool g_prompt_shown = false;
bool g_redraw = false;

}  // namespace

void set_prompt_shown(bool shown) { g_prompt_shown = shown; }

void async_output() {
    if (!g_prompt_shown || g_redraw) return;
    guest::print("\n");
    g_redraw = true;
}

bool take_redraw() {
    const bool r = g_redraw;
    g_redraw = false;
    return r;
}

}  // namespace dom0::terminal
