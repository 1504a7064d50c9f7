// See line_editor.hpp.
#include "line_editor.hpp"

namespace dom0::shell {

void LineEditor::clear()
{
    len_ = 0;
    text_[0] = '\0';
    done_ = false;
}

LineEditor::Result LineEditor::feed(char c, char* echo, size_t& n)
{
    if (done_) clear();
    const bool after_cr = after_cr_;
    after_cr_ = false;
    const auto u = static_cast<unsigned char>(c);

    // ESC [ ... final byte (0x40-0x7e), or ESC O x: swallowed whole.
    if (esc_ == Escape::started) {
        esc_ = (c == '[' || c == 'O') ? Escape::csi : Escape::none;
        return Result::more;
    }
    if (esc_ == Escape::csi) {
        if (u >= 0x40 && u <= 0x7e) esc_ = Escape::none;
        return Result::more;
    }

    switch (c) {
    case '\r':
    case '\n':
        if (c == '\n' && after_cr) return Result::more;
        after_cr_ = c == '\r';
        echo[n++] = '\n';
        text_[len_] = '\0';
        done_ = true;
        return Result::line;
    case 0x08:
    case 0x7f:
        if (len_ != 0) {
            --len_;
            text_[len_] = '\0';
            echo[n++] = '\b';
            echo[n++] = ' ';
            echo[n++] = '\b';
        }
        return Result::more;
    case 0x15:   // Ctrl-U
        for (; len_ != 0; --len_) {
            echo[n++] = '\b';
            echo[n++] = ' ';
            echo[n++] = '\b';
        }
        text_[0] = '\0';
        return Result::more;
    case 0x03:   // Ctrl-C
        echo[n++] = '^';
        echo[n++] = 'C';
        echo[n++] = '\n';
        len_ = 0;
        text_[0] = '\0';
        done_ = true;
        return Result::cancelled;
    case 0x1b:
        esc_ = Escape::started;
        return Result::more;
    case '\t':
        c = ' ';
        break;
    default:
        if (u < 0x20) return Result::more;
        break;
    }
    if (len_ < max_line) {
        text_[len_++] = c;
        text_[len_] = '\0';
        echo[n++] = c;
    }
    return Result::more;
}

} // namespace dom0::shell
