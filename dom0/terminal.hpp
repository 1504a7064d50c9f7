// Who has dom0's terminal line: the shell's prompt, or output that arrives on its own (guest lines, domain events).
#pragma once

namespace dom0::terminal {

// The shell says whether its prompt (and a line being typed) is on the
// terminal's last line.
void set_prompt_shown(bool shown);

// Before output that does not answer a command (a domU's console line, a
// domain that stopped): ends the prompt's line first, so the output starts
// on a line of its own, and asks the shell to draw the prompt again.
void async_output();

// The shell, after such output: true once if the prompt must be redrawn.
[[nodiscard]] bool take_redraw();

}  // namespace dom0::terminal
