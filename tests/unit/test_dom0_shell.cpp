// dom0's shell: the line editor and the shell-style word splitter.
#include <catch2/catch.hpp>

#include <string>

#include "dom0/shell/line_editor.hpp"
#include "dom0/shell/tokenizer.hpp"

using namespace dom0::shell;

namespace {

struct Typed {
    std::string echo;
    std::string line;
    int lines = 0;
    int cancels = 0;
};

Typed type(LineEditor& e, const std::string& keys)
{
    Typed t;
    for (char c : keys) {
        char echo[LineEditor::max_echo];
        size_t n = 0;
        const auto r = e.feed(c, echo, n);
        REQUIRE(n <= LineEditor::max_echo);
        t.echo.append(echo, n);
        if (r == LineEditor::Result::line) {
            t.line = e.line();
            t.lines++;
        }
        if (r == LineEditor::Result::cancelled) t.cancels++;
    }
    return t;
}

std::string words(const char* line, TokenizeError expect = TokenizeError::none)
{
    Words w;
    REQUIRE(tokenize(line, w) == expect);
    std::string out;
    for (size_t i = 0; i < w.argc; ++i) out += "[" + std::string(w.argv[i]) + "]";
    if (expect == TokenizeError::none) REQUIRE(w.argv[w.argc] == nullptr);
    return out;
}

} // namespace

TEST_CASE("line editor: typed characters are echoed and kept", "[shell]")
{
    LineEditor e;
    const Typed t = type(e, "xl list\r");
    CHECK(t.lines == 1);
    CHECK(t.line == "xl list");
    CHECK(t.echo == "xl list\n");
}

TEST_CASE("line editor: backspace and DEL take the last character back", "[shell]")
{
    LineEditor e;
    Typed t = type(e, "xl lisx\x7ft\r");
    CHECK(t.line == "xl list");
    CHECK(t.echo == "xl lisx\b \bt\n");
    t = type(e, "ab\b\b\bc\n");   // one too many: nothing to erase, nothing echoed
    CHECK(t.line == "c");
    CHECK(t.echo == "ab\b \b\b \bc\n");
}

TEST_CASE("line editor: CR LF ends one line, not two; an empty line is a line", "[shell]")
{
    LineEditor e;
    Typed t = type(e, "a\r\nb\n\n");
    CHECK(t.lines == 3);
    CHECK(t.line.empty());
    t = type(e, "\r\r");
    CHECK(t.lines == 2);
}

TEST_CASE("line editor: Ctrl-U clears, Ctrl-C abandons the line", "[shell]")
{
    LineEditor e;
    Typed t = type(e, "abc\x15xy\r");
    CHECK(t.line == "xy");
    CHECK(t.echo == "abc\b \b\b \b\b \bxy\n");
    t = type(e, "junk\x03");
    CHECK(t.cancels == 1);
    CHECK(t.lines == 0);
    CHECK(t.echo == "junk^C\n");
    t = type(e, "ok\r");
    CHECK(t.line == "ok");
}

TEST_CASE("line editor: escape sequences and control characters are ignored", "[shell]")
{
    LineEditor e;
    const Typed t = type(e, "a\x1b[A\x1b[1;5Cb\x1bOPc\x01\x02\td\r");
    CHECK(t.line == "abc d");
    CHECK(t.echo == "abc d\n");
}

TEST_CASE("line editor: a line longer than the limit is cut, never overflows", "[shell]")
{
    LineEditor e;
    const Typed t = type(e, std::string(1000, 'x') + "\x15" + std::string(300, 'y') + "\r");
    CHECK(t.line == std::string(LineEditor::max_line, 'y'));
}

TEST_CASE("tokenizer: words, quotes and escapes as a shell splits them", "[shell]")
{
    CHECK(words("  xl   list  -l ") == "[xl][list][-l]");
    CHECK(words("") == "");
    CHECK(words("   ") == "");
    CHECK(words("xl create '/etc/xen/my vm.cfg'") == "[xl][create][/etc/xen/my vm.cfg]");
    CHECK(words("a\"b c\"'d'e") == "[ab cde]");
    CHECK(words("\"\" x ''") == "[][x][]");
    CHECK(words("say \"a \\\"q\\\" \\\\ \\n\"") == "[say][a \"q\" \\ \\n]");
    CHECK(words("'no \\escape'") == "[no \\escape]");
    CHECK(words("a\\ b c") == "[a b][c]");
    CHECK(words("xl list # comment") == "[xl][list]");
    CHECK(words("a#b") == "[a#b]");
    CHECK(words("tab\tsep") == "[tab][sep]");
}

TEST_CASE("tokenizer: errors", "[shell]")
{
    words("xl 'open", TokenizeError::unterminated_quote);
    words("xl \"open", TokenizeError::unterminated_quote);
    words("xl \\", TokenizeError::trailing_backslash);
    std::string many;
    for (int i = 0; i < 30; ++i) many += "w ";
    words(many.c_str(), TokenizeError::too_many_words);
    const std::string huge(600, 'z');
    words(huge.c_str(), TokenizeError::too_long);
    std::string fill;
    for (int i = 0; i < 22; ++i) fill += std::string(24, 'q') + " ";
    words(fill.c_str(), TokenizeError::too_long);
}
