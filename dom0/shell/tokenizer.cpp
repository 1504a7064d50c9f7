// See tokenizer.hpp.
#include "tokenizer.hpp"

namespace dom0::shell {

const char* to_string(TokenizeError e)
{
    switch (e) {
    case TokenizeError::none: return "ok";
    case TokenizeError::unterminated_quote: return "unterminated quote";
    case TokenizeError::trailing_backslash: return "line ends with a backslash";
    case TokenizeError::too_many_words: return "too many words";
    case TokenizeError::too_long: return "line too long";
    }
    return "?";
}

TokenizeError tokenize(const char* line, Words& out)
{
    out.argc = 0;
    out.argv[0] = nullptr;
    size_t used = 0;
    const char* p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
        if (*p == '\0' || *p == '#') break;
        if (out.argc == Words::max_words) return TokenizeError::too_many_words;
        if (used >= Words::storage_size) return TokenizeError::too_long;
        char* word = out.storage + used;
        size_t len = 0;
        auto add = [&](char c) {
            if (used + len + 1 >= Words::storage_size) return false;
            word[len++] = c;
            return true;
        };
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (*p == '\'') {
                for (++p; *p != '\''; ++p) {
                    if (*p == '\0') return TokenizeError::unterminated_quote;
                    if (!add(*p)) return TokenizeError::too_long;
                }
                ++p;
            } else if (*p == '"') {
                for (++p; *p != '"'; ++p) {
                    if (*p == '\0') return TokenizeError::unterminated_quote;
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`' || p[1] == '\n'))
                        ++p;
                    if (!add(*p)) return TokenizeError::too_long;
                }
                ++p;
            } else if (*p == '\\') {
                if (p[1] == '\0') return TokenizeError::trailing_backslash;
                if (!add(p[1])) return TokenizeError::too_long;
                p += 2;
            } else {
                if (!add(*p)) return TokenizeError::too_long;
                ++p;
            }
        }
        word[len] = '\0';
        used += len + 1;
        out.argv[out.argc++] = word;
        out.argv[out.argc] = nullptr;
    }
    return TokenizeError::none;
}

} // namespace dom0::shell
