// Splits a shell line into words as a POSIX shell does for a simple
// command: blanks separate words; '...' keeps everything literally; "..."
// keeps everything but lets \ escape " \ $ ` and a newline; a \ outside
// quotes escapes the next character; adjacent parts join into one word
// (a"b c"'d' is one word); "" is an empty word; # at a word's start begins a
// comment. No expansions. Pure: builds on the host.
#pragma once
#include <cstddef>

namespace dom0::shell {

struct Words {
    static constexpr size_t max_words = 24;
    static constexpr size_t storage_size = 512;
    const char* argv[max_words + 1];   // argv[argc] is nullptr
    size_t argc;
    char storage[storage_size];
};

enum class TokenizeError { none, unterminated_quote, trailing_backslash, too_many_words, too_long };

[[nodiscard]] TokenizeError tokenize(const char* line, Words& out);
[[nodiscard]] const char* to_string(TokenizeError e);

} // namespace dom0::shell
