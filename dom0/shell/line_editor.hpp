// dom0's line editor for the serial console: bytes in, the line and what to
// echo out. Printable characters are echoed and kept; backspace (0x08) and
// DEL (0x7f) take the last one back ("\b \b"); Ctrl-U clears the line,
// Ctrl-C abandons it ("^C"); CR, LF or CR LF end it. Escape sequences (arrow
// keys) and other control characters are ignored. Pure: builds on the host.
#pragma once
#include <cstddef>

namespace dom0::shell {

class LineEditor {
public:
    static constexpr size_t max_line = 255;
    static constexpr size_t max_echo = 3 * max_line + 8;

    enum class Result { more, line, cancelled };

    // One byte typed. Bytes to echo are appended to echo_out (room for
    // max_echo), echo_len is advanced. On Result::line, line() is the line.
    Result feed(char c, char* echo_out, size_t& echo_len);

    [[nodiscard]] const char* line() const { return text_; }
    [[nodiscard]] size_t length() const { return len_; }
    void clear();

private:
    enum class Escape { none, started, csi };
    char text_[max_line + 1]{};
    size_t len_{0};
    bool done_{false};       // the last call ended a line: start afresh
    bool after_cr_{false};   // an LF right after a CR is the same line end
    Escape esc_{Escape::none};
};

} // namespace dom0::shell
