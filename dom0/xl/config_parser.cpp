// The xl.cfg parser: see config_parser.hpp. Two passes over the text: the first checks the syntax
// and remembers where each known key's last value starts; the second reads those values, so a value
// that a later line or an override replaces is never judged (as xl only looks at the last one).
#include "dom0/xl/config_parser.hpp"

namespace dom0::xl {
namespace {

// --- small freestanding helpers ----------------------------------------------

size_t length(const char* s) {
    size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

bool same(const char* a, size_t alen, const char* b) {
    size_t i = 0;
    for (; i < alen; ++i)
        if (b[i] == '\0' || a[i] != b[i]) return false;
    return b[i] == '\0';
}

bool equal(const char* a, const char* b) { return same(a, length(a), b); }

// One diagnostic line being put together; cut at DIAGNOSTIC_MAX_LEN.
class Line {
public:
    Line& add(const char* s, size_t n) {
        for (size_t i = 0; i < n && len_ < DIAGNOSTIC_MAX_LEN; ++i) buf_[len_++] = s[i];
        buf_[len_] = '\0';
        return *this;
    }
    Line& add(const char* s) { return add(s, length(s)); }
    Line& num(uint64_t v) {
        char digits[24];
        size_t n = 0;
        do {
            digits[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n > 0) add(&digits[--n], 1);
        return *this;
    }
    const char* text() const { return buf_; }

private:
    char buf_[DIAGNOSTIC_MAX_LEN + 1] = "";
    size_t len_ = 0;
};

// --- the lexer ----------------------------------------------------------------

enum class Tok : uint8_t { ident, number, string, eq, comma, lbracket, rbracket, semicolon, newline, end, bad };

struct Source {
    const char* text;
    size_t len;
};

struct Token {
    Tok kind = Tok::end;
    unsigned src = 0;
    size_t pos = 0;     // in its source
    size_t len = 0;     // 0 for a newline that ends a source without one
    unsigned line = 0;
    const char* why = nullptr;  // Tok::bad: what is wrong
};

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
int hex_digit(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Reads a quoted string's body (between the quotes) into out[0..cap-1] with xl's escapes.
// Returns null, or why the body is bad; *n gets the decoded length even past cap.
const char* dequote(const char* body, size_t len, char* out, size_t cap, size_t* n) {
    size_t o = 0;
    auto put = [&](char c) {
        if (o + 1 < cap) out[o] = c;
        ++o;
    };
    for (size_t i = 0; i < len;) {
        const char c = body[i++];
        if (c != '\\') {
            put(c);
            continue;
        }
        const char e = body[i++];  // the lexer never ends a body on a lone backslash
        switch (e) {
            case '"': case '\'': case '\\': put(e); break;
            case 'a': put('\a'); break;
            case 'b': put('\b'); break;
            case 'f': put('\f'); break;
            case 'n': put('\n'); break;
            case 'r': put('\r'); break;
            case 't': put('\t'); break;
            case 'v': put('\v'); break;
            case 'x': {
                if (i + 2 > len || hex_digit(body[i]) < 0 || hex_digit(body[i + 1]) < 0)
                    return "invalid digit after backslash hex numerical character escape in quoted string";
                put(static_cast<char>(hex_digit(body[i]) * 16 + hex_digit(body[i + 1])));
                i += 2;
                break;
            }
            default: {
                if (e < '0' || e > '7') return "unknown backslash escape in quoted string";
                unsigned v = static_cast<unsigned>(e - '0');
                for (int k = 0; k < 2 && i < len && body[i] >= '0' && body[i] <= '7'; ++k)
                    v = v * 8 + static_cast<unsigned>(body[i++] - '0');
                if (v > 0xff) return "octal character escape above \\377 in quoted string";
                put(static_cast<char>(v));
                break;
            }
        }
    }
    if (cap > 0) out[o < cap ? o : cap - 1] = '\0';
    *n = o;
    return nullptr;
}

// Tokens over the file and then each override; every source ends in a newline (a virtual one
// when its text has none), and the line count runs on from one source to the next.
class Lexer {
public:
    Lexer(const Source* srcs, unsigned count) : srcs_{srcs}, count_{count} {}

    Token next() {
        for (;;) {
            if (src_ == count_) return make(Tok::end, pos_, 0);
            const Source& s = srcs_[src_];
            if (pos_ == s.len) {
                const bool needs_newline = s.len > 0 && s.text[s.len - 1] != '\n';
                const Token t = make(Tok::newline, pos_, 0);
                ++src_;
                pos_ = 0;
                if (needs_newline) {
                    ++line_;
                    return t;
                }
                continue;
            }
            const char c = s.text[pos_];
            if (c == ' ' || c == '\t' || c == '\r') {
                ++pos_;
                continue;
            }
            if (c == '#') {
                while (pos_ < s.len && s.text[pos_] != '\n') ++pos_;
                continue;
            }
            const size_t start = pos_;
            if (c == '\n') {
                ++pos_;
                const Token t = make(Tok::newline, start, 1);
                ++line_;
                return t;
            }
            if (is_lower(c)) {
                while (pos_ < s.len && (is_lower(s.text[pos_]) || is_digit(s.text[pos_]) || s.text[pos_] == '_'))
                    ++pos_;
                return make(Tok::ident, start, pos_ - start);
            }
            if (is_digit(c)) {
                while (pos_ < s.len &&
                       (is_digit(s.text[pos_]) || (s.text[pos_] >= 'a' && s.text[pos_] <= 'f') || s.text[pos_] == 'x'))
                    ++pos_;
                return make(Tok::number, start, pos_ - start);
            }
            if (c == '\'' || c == '"') {
                ++pos_;
                for (;;) {
                    if (pos_ == s.len || s.text[pos_] == '\n') {
                        Token t = make(Tok::bad, start, pos_ - start);
                        t.why = "unterminated quoted string";
                        return t;
                    }
                    const char d = s.text[pos_++];
                    if (d == c) break;
                    if (d == '\\') {
                        if (pos_ == s.len || s.text[pos_] == '\n') continue;  // reported as unterminated
                        ++pos_;
                    }
                }
                Token t = make(Tok::string, start, pos_ - start);
                size_t n = 0;
                if (const char* why = dequote(s.text + start + 1, t.len - 2, nullptr, 0, &n)) {
                    t.kind = Tok::bad;
                    t.why = why;
                }
                return t;
            }
            ++pos_;
            switch (c) {
                case '=': return make(Tok::eq, start, 1);
                case ',': return make(Tok::comma, start, 1);
                case '[': return make(Tok::lbracket, start, 1);
                case ']': return make(Tok::rbracket, start, 1);
                case ';': return make(Tok::semicolon, start, 1);
                default: break;
            }
            // Like xl, take the rest of the word into the token the message quotes.
            while (pos_ < s.len && s.text[pos_] != ' ' && s.text[pos_] != '\t' && s.text[pos_] != '\n') ++pos_;
            Token t = make(Tok::bad, start, pos_ - start);
            t.why = "lexical error";
            return t;
        }
    }

    const char* text(const Token& t) const { return srcs_[t.src].text + t.pos; }

private:
    Token make(Tok kind, size_t pos, size_t len) const {
        Token t;
        t.kind = kind;
        t.src = src_;
        t.pos = pos;
        t.len = len;
        t.line = line_;
        return t;
    }

    const Source* srcs_;
    unsigned count_;
    unsigned src_ = 0;
    size_t pos_ = 0;
    unsigned line_ = 1;
};

// --- the keys -----------------------------------------------------------------

enum class Key : uint8_t {
    name, type, builder, kernel, ramdisk, cmdline, extra, root, memory, maxmem, vcpus, maxvcpus, cpus,
    cpu_weight, cap, disk, on_poweroff, on_reboot, on_crash, count
};
constexpr const char* KEY_NAMES[] = {"name", "type", "builder", "kernel", "ramdisk", "cmdline", "extra",
                                     "root", "memory", "maxmem", "vcpus", "maxvcpus", "cpus", "cpu_weight",
                                     "cap", "disk", "on_poweroff", "on_reboot", "on_crash"};
constexpr unsigned NR_KEYS = static_cast<unsigned>(Key::count);
static_assert(sizeof(KEY_NAMES) / sizeof(KEY_NAMES[0]) == NR_KEYS);

// Where a key's last value starts: a lexer positioned just before it.
struct Setting {
    bool present = false;
    Lexer at{nullptr, 0};
    unsigned line = 0;
};

// Value atoms (a number's text or a string's decoded text) longer than this are refused
// wherever they go; the longest field is the command line.
constexpr size_t ATOM_MAX = CMDLINE_MAX_LEN + 1;

class Parser {
public:
    Parser(const Source* srcs, unsigned count, const char* file, DiagnosticSink sink, void* ctx)
        : srcs_{srcs}, count_{count}, file_{file}, sink_{sink}, ctx_{ctx} {}

    bool run(DomainConfig& out);
    ParseStats stats() const { return stats_; }

private:
    // Pass 1.
    void statement(Lexer& lx, const Token& first);
    bool value(Lexer& lx, Token& t);
    void syntax_error(Lexer& lx, const Token& at, const char* why);

    // Pass 2.
    void apply(Key k, const Setting& s, DomainConfig& out);
    bool single(Key k, const Setting& s, Token& atom);
    bool atom_text(const Token& t, char* out, size_t cap, size_t* n) const;
    bool string_value(Key k, const Setting& s, char* out, size_t max_len, const char* what);
    bool number_value(Key k, const Setting& s, uint64_t lo, uint64_t hi, uint64_t* v);
    bool action_value(Key k, const Setting& s, Action* a);
    void finish(DomainConfig& out);

    Line& start(unsigned line, bool warning) {
        line_ = Line{};
        line_.add(file_);
        if (line != 0) line_.add(":").num(line);
        line_.add(warning ? ": warning: " : ": ");
        return line_;
    }
    void emit(bool warning) {
        if (warning)
            ++stats_.warnings;
        else
            ++stats_.errors;
        if (sink_ != nullptr) sink_(ctx_, line_.text());
    }
    void error(unsigned line, const char* key, const char* msg) {
        Line& l = start(line, false);
        if (key != nullptr) l.add(key).add(": ");
        l.add(msg);
        emit(false);
    }

    const Source* srcs_;
    unsigned count_;
    const char* file_;
    DiagnosticSink sink_;
    void* ctx_;
    ParseStats stats_{};
    Line line_{};
    unsigned last_error_line_ = 0;
    Setting settings_[NR_KEYS]{};
    bool refused_[NR_KEYS] = {};
    char atom_[ATOM_MAX + 1] = "";
};

// The token as xl quotes it after "near".
void quote_token(Line& l, const Lexer& lx, const Token& t) {
    if (t.kind == Tok::newline) {
        l.add("<newline>");
    } else if (t.kind == Tok::end) {
        l.add("<end of file>");
    } else {
        l.add("`").add(lx.text(t), t.len > 40 ? 40 : t.len).add(t.len > 40 ? "...'" : "'");
    }
}

void Parser::syntax_error(Lexer& lx, const Token& at, const char* why) {
    // One message per line, as xl gives (a lexical error and the syntax error it causes are one).
    if (at.line != last_error_line_) {
        last_error_line_ = at.line;
        Line& l = start(at.line, false);
        l.add("config parsing error near ");
        quote_token(l, lx, at);
        l.add(": ").add(at.kind == Tok::bad ? at.why : why);
        emit(false);
    }
    // Like xl's `error NEWLINE` rule: resume after the end of the line.
    Token t = at;
    while (t.kind != Tok::newline && t.kind != Tok::end) t = lx.next();
}

// VALUE: atom | '[' nl* ( ']' | atom nl* (',' nl* atom nl*)* (',' nl*)? ']' ). t: its first token;
// on return t is the token after it. False after a reported error.
bool Parser::value(Lexer& lx, Token& t) {
    auto is_atom = [](const Token& x) { return x.kind == Tok::string || x.kind == Tok::number; };
    auto skip_newlines = [&] {
        while (t.kind == Tok::newline) t = lx.next();
    };
    if (is_atom(t)) {
        t = lx.next();
        return true;
    }
    if (t.kind != Tok::lbracket) {
        syntax_error(lx, t, "syntax error, expecting a string, a number or '['");
        return false;
    }
    t = lx.next();
    skip_newlines();
    if (t.kind == Tok::rbracket) {
        t = lx.next();
        return true;
    }
    for (;;) {
        if (!is_atom(t)) {
            syntax_error(lx, t, "syntax error, expecting a string or a number in the list");
            return false;
        }
        t = lx.next();
        skip_newlines();
        if (t.kind == Tok::rbracket) break;
        if (t.kind != Tok::comma) {
            syntax_error(lx, t, "syntax error, expecting ',' or ']'");
            return false;
        }
        t = lx.next();
        skip_newlines();
        if (t.kind == Tok::rbracket) break;
    }
    t = lx.next();
    return true;
}

void Parser::statement(Lexer& lx, const Token& first) {
    if (first.kind != Tok::ident) {
        syntax_error(lx, first, "syntax error, expecting KEY = VALUE");
        return;
    }
    Token t = lx.next();
    if (t.kind != Tok::eq) {
        syntax_error(lx, t, "syntax error, expecting '='");
        return;
    }
    const Lexer before_value = lx;
    t = lx.next();
    const unsigned value_line = t.line;
    if (!value(lx, t)) return;
    if (t.kind != Tok::newline && t.kind != Tok::semicolon && t.kind != Tok::end) {
        syntax_error(lx, t, "syntax error, expecting a newline or ';' after the value");
        return;
    }
    const char* key = lx.text(first);
    for (unsigned k = 0; k < NR_KEYS; ++k) {
        if (same(key, first.len, KEY_NAMES[k])) {
            settings_[k].present = true;
            settings_[k].at = before_value;
            settings_[k].line = value_line;
            return;
        }
    }
    Line& l = start(first.line, true);
    l.add("unknown key '").add(key, first.len > 40 ? 40 : first.len).add("' ignored");
    emit(true);
}

// The atom's text into out (cap bytes with the NUL); false if it does not fit (*n: its length).
bool Parser::atom_text(const Token& t, char* out, size_t cap, size_t* n) const {
    const char* p = srcs_[t.src].text + t.pos;
    if (t.kind == Tok::number) {
        *n = t.len;
        const size_t c = t.len < cap ? t.len : cap - 1;
        for (size_t i = 0; i < c; ++i) out[i] = p[i];
        out[c] = '\0';
    } else {
        (void)dequote(p + 1, t.len - 2, out, cap, n);  // checked in pass 1
    }
    return *n < cap;
}

bool Parser::single(Key k, const Setting& s, Token& atom) {
    Lexer lx = s.at;
    atom = lx.next();
    if (atom.kind == Tok::lbracket) {
        error(s.line, KEY_NAMES[static_cast<unsigned>(k)], "is a list but should be a single value");
        return false;
    }
    if (!atom_text(atom, atom_, sizeof(atom_), &atom.len)) {
        error(s.line, KEY_NAMES[static_cast<unsigned>(k)], "value too long");
        return false;
    }
    return true;
}

bool Parser::string_value(Key k, const Setting& s, char* out, size_t max_len, const char* what) {
    Token t;
    if (!single(k, s, t)) return false;
    if (t.len > max_len) {
        Line& l = start(s.line, false);
        l.add(KEY_NAMES[static_cast<unsigned>(k)]).add(": ").add(what).add(" longer than ").num(max_len).add(
            " characters");
        emit(false);
        return false;
    }
    for (size_t i = 0; i <= t.len; ++i) out[i] = atom_[i];
    return true;
}

// strtol(..., 0) forms: 0x hex, 0-prefixed octal, decimal; nothing else (no sign, no spaces).
bool parse_number(const char* s, uint64_t* out) {
    unsigned base = 10;
    size_t i = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    } else if (s[0] == '0' && s[1] != '\0') {
        base = 8;
        i = 1;
    }
    if (s[i] == '\0') return false;
    uint64_t v = 0;
    for (; s[i] != '\0'; ++i) {
        const int d = hex_digit(s[i]);
        if (d < 0 || static_cast<unsigned>(d) >= base) return false;
        if (v > (~0ull - static_cast<unsigned>(d)) / base) return false;
        v = v * base + static_cast<unsigned>(d);
    }
    *out = v;
    return true;
}

bool Parser::number_value(Key k, const Setting& s, uint64_t lo, uint64_t hi, uint64_t* v) {
    Token t;
    if (!single(k, s, t)) return false;
    const char* key = KEY_NAMES[static_cast<unsigned>(k)];
    if (!parse_number(atom_, v)) {
        start(s.line, false).add(key).add(": '").add(atom_, t.len > 40 ? 40 : t.len).add("' is not a valid number");
        emit(false);
        return false;
    }
    if (*v < lo || *v > hi) {
        start(s.line, false).add(key).add(": ").add(atom_).add(" is out of range (").num(lo).add("-").num(hi).add(")");
        emit(false);
        return false;
    }
    return true;
}

bool Parser::action_value(Key k, const Setting& s, Action* a) {
    Token t;
    if (!single(k, s, t)) return false;
    if (equal(atom_, "destroy")) {
        *a = Action::destroy;
    } else if (equal(atom_, "restart")) {
        *a = Action::restart;
    } else if (equal(atom_, "preserve")) {
        *a = Action::preserve;
    } else {
        const bool xl_knows = equal(atom_, "rename-restart") || equal(atom_, "coredump-destroy") ||
                              equal(atom_, "coredump-restart") || equal(atom_, "soft-reset");
        start(s.line, false)
            .add(KEY_NAMES[static_cast<unsigned>(k)])
            .add(xl_knows ? ": action \"" : ": unknown action \"")
            .add(atom_, t.len > 40 ? 40 : t.len)
            .add(xl_knows ? "\" is not supported (destroy, restart, preserve)" : "\" (destroy, restart, preserve)");
        emit(false);
        return false;
    }
    return true;
}

void Parser::apply(Key k, const Setting& s, DomainConfig& out) {
    const char* key = KEY_NAMES[static_cast<unsigned>(k)];
    uint64_t v = 0;
    switch (k) {
        case Key::name: (void)string_value(k, s, out.name, NAME_MAX_LEN, "name"); return;
        case Key::kernel: (void)string_value(k, s, out.kernel, PATH_MAX_LEN, "path"); return;
        case Key::ramdisk: (void)string_value(k, s, out.ramdisk, PATH_MAX_LEN, "path"); return;
        case Key::type:
        case Key::builder: {
            Token t;
            if (!single(k, s, t)) return;
            // builder= is xl's older spelling: "hvm", or "generic" for PV.
            if (k == Key::builder && settings_[static_cast<unsigned>(Key::type)].present) {
                start(s.line, true).add("builder ignored, type is given");
                emit(true);
                return;
            }
            if (k == Key::type && equal(atom_, "pvh")) return;
            const bool other_type = k == Key::type ? equal(atom_, "pv") || equal(atom_, "hvm")
                                                   : equal(atom_, "hvm") || equal(atom_, "generic");
            start(s.line, false)
                .add(key)
                .add(other_type ? ": \"" : ": unknown guest type \"")
                .add(atom_, t.len > 40 ? 40 : t.len)
                .add(other_type ? "\" is not supported: Menhir runs PVH domains only (type=\"pvh\")"
                                : "\" (Menhir runs PVH domains only: type=\"pvh\")");
            emit(false);
            return;
        }
        case Key::memory:
            if (number_value(k, s, 1, 1u << 20, &v)) out.memory_mib = static_cast<uint32_t>(v);
            return;
        case Key::maxmem:
            if (number_value(k, s, 1, 1u << 20, &v)) out.maxmem_mib = static_cast<uint32_t>(v);
            return;
        case Key::vcpus:
            if (number_value(k, s, 1, MAX_VCPUS, &v)) out.vcpus = static_cast<uint32_t>(v);
            return;
        case Key::maxvcpus:
            if (number_value(k, s, 1, MAX_VCPUS, &v)) out.maxvcpus = static_cast<uint32_t>(v);
            return;
        case Key::cpu_weight:
            if (number_value(k, s, 1, 65535, &v)) out.cpu_weight = static_cast<uint32_t>(v);
            return;
        case Key::cap:
            // A percentage of one pCPU; the mask (and so Menhir's reach) ends at 64 pCPUs.
            if (number_value(k, s, 0, 6400, &v)) out.cap = static_cast<uint32_t>(v);
            return;
        case Key::on_poweroff: (void)action_value(k, s, &out.on_poweroff); return;
        case Key::on_reboot: (void)action_value(k, s, &out.on_reboot); return;
        case Key::on_crash: (void)action_value(k, s, &out.on_crash); return;
        case Key::cmdline:
        case Key::extra:
        case Key::root: return;  // composed in finish()
        case Key::cpus:
        case Key::disk: {
            Lexer lx = s.at;
            Token t = lx.next();
            if (t.kind != Tok::lbracket) {
                if (k == Key::disk) {
                    error(s.line, key, "is a single value but should be a list");
                    return;
                }
                size_t n = 0;
                if (!atom_text(t, atom_, sizeof(atom_), &n)) {
                    error(s.line, key, "value too long");
                    return;
                }
                if (const char* why = parse_cpu_list(atom_, &out.cpus_mask)) error(s.line, key, why);
                return;
            }
            unsigned count = 0;
            for (t = lx.next(); t.kind != Tok::rbracket && t.kind != Tok::end; t = lx.next()) {
                if (t.kind != Tok::string && t.kind != Tok::number) continue;  // newlines, commas
                const unsigned max = k == Key::disk ? MAX_DISKS : MAX_VCPUS;
                if (count == max) {
                    start(t.line, false).add(key).add(": more than ").num(max).add(
                        k == Key::disk ? " disks" : " entries (one per vCPU)");
                    emit(false);
                    return;
                }
                size_t n = 0;
                const bool fits = atom_text(t, atom_, sizeof(atom_), &n);
                if (k == Key::disk) {
                    if (!fits || n > DISK_SPEC_MAX_LEN) {
                        start(t.line, false).add(key).add(": disk spec longer than ").num(DISK_SPEC_MAX_LEN).add(
                            " characters");
                        emit(false);
                        return;
                    }
                    // Judged now, so a bad entry is FILE:LINE and nothing is created.
                    block::DiskSpec& d = out.disks[count];
                    char why[160];
                    if (!block::parse_disk_spec(atom_, d, why, sizeof why)) {
                        start(t.line, false).add(key).add(": '").add(atom_).add("': ").add(why);
                        emit(false);
                        return;
                    }
                    for (unsigned i = 0; i < count; ++i)
                        if (out.disks[i].devid == d.devid) {
                            start(t.line, false).add(key).add(": '").add(atom_).add("': vdev ").add(d.vdev).add(
                                " is already this domain's ").add(out.disks[i].vdev);
                            emit(false);
                            return;
                        }
                    out.nr_disks = ++count;
                } else {
                    const char* why = fits ? parse_cpu_list(atom_, &out.vcpu_cpus[count]) : "value too long";
                    if (why != nullptr) {
                        start(t.line, false).add(key).add(" (vCPU ").num(count).add("): ").add(why);
                        emit(false);
                        return;
                    }
                    out.nr_vcpu_cpus = ++count;
                }
            }
            return;
        }
        case Key::count: return;
    }
}

// The kernel command line as xl builds it: `cmdline`, else "root=ROOT EXTRA", "root=ROOT" or EXTRA.
void Parser::finish(DomainConfig& out) {
    const Setting& cmd = settings_[static_cast<unsigned>(Key::cmdline)];
    const Setting& root = settings_[static_cast<unsigned>(Key::root)];
    const Setting& extra = settings_[static_cast<unsigned>(Key::extra)];
    if (cmd.present) {
        if (root.present || extra.present) {
            start(cmd.line, true).add("ignoring root= and extra= in favour of cmdline=");
            emit(true);
        }
        (void)string_value(Key::cmdline, cmd, out.cmdline, CMDLINE_MAX_LEN, "command line");
    } else if (root.present || extra.present) {
        char* p = out.cmdline;
        size_t room = CMDLINE_MAX_LEN;
        bool ok = true;
        auto append = [&](const char* s, size_t n) {
            if (n > room) {
                ok = false;
                return;
            }
            for (size_t i = 0; i < n; ++i) *p++ = s[i];
            *p = '\0';
            room -= n;
        };
        Token t;
        if (root.present) {
            if (!single(Key::root, root, t)) return;
            append("root=", 5);
            append(atom_, t.len);
        }
        if (extra.present) {
            if (!single(Key::extra, extra, t)) return;
            if (root.present) append(" ", 1);
            append(atom_, t.len);
        }
        if (!ok) {
            start(extra.present ? extra.line : root.line, false)
                .add("kernel command line longer than ")
                .num(CMDLINE_MAX_LEN)
                .add(" characters");
            emit(false);
        }
    }

    const Setting& maxmem = settings_[static_cast<unsigned>(Key::maxmem)];
    if (maxmem.present && out.maxmem_mib != 0 && out.maxmem_mib < out.memory_mib) {
        start(maxmem.line, false).add("maxmem (").num(out.maxmem_mib).add(" MiB) is less than memory (").num(
            out.memory_mib).add(" MiB)");
        emit(false);
    }
    const Setting& maxvcpus = settings_[static_cast<unsigned>(Key::maxvcpus)];
    if (maxvcpus.present && out.maxvcpus != 0 && out.maxvcpus < out.vcpus) {
        start(maxvcpus.line, false).add("maxvcpus (").num(out.maxvcpus).add(") is less than vcpus (").num(
            out.vcpus).add(")");
        emit(false);
    }
    // A name or kernel whose value was refused has had its message already.
    if (out.name[0] == '\0' && !refused_[static_cast<unsigned>(Key::name)]) {
        start(0, false).add("Domain name must be specified.");
        emit(false);
    }
    if (out.kernel[0] == '\0' && !refused_[static_cast<unsigned>(Key::kernel)]) {
        start(0, false).add("kernel must be specified (a PVH domain boots the kernel file it names).");
        emit(false);
    }
}

bool Parser::run(DomainConfig& out) {
    out = DomainConfig{};
    Lexer lx{srcs_, count_};
    for (Token t = lx.next(); t.kind != Tok::end; t = lx.next()) {
        if (t.kind == Tok::newline || t.kind == Tok::semicolon) continue;
        statement(lx, t);
    }
    if (stats_.errors != 0) return false;  // as xl: a file that does not parse creates nothing

    // Pass 2 in the order the values appear, so diagnostics come in line order.
    bool done[NR_KEYS] = {};
    for (;;) {
        unsigned best = NR_KEYS;
        for (unsigned k = 0; k < NR_KEYS; ++k)
            if (settings_[k].present && !done[k] && (best == NR_KEYS || settings_[k].line < settings_[best].line))
                best = k;
        if (best == NR_KEYS) break;
        done[best] = true;
        const unsigned errors = stats_.errors;
        apply(static_cast<Key>(best), settings_[best], out);
        refused_[best] = stats_.errors != errors;
    }
    finish(out);
    return stats_.errors == 0;
}

}  // namespace

const char* parse_cpu_list(const char* spec, uint64_t* mask) {
    uint64_t m = 0;
    const char* p = spec;
    if (*p == '\0') return "empty CPU list";
    for (;;) {
        const char* item = p;
        while (*p != '\0' && *p != ',') ++p;
        const size_t n = static_cast<size_t>(p - item);
        if (same(item, n, "all")) {
            m = ~0ull;
        } else if (n >= 6 && same(item, 6, "nodes:")) {
            return "NUMA node lists (nodes:) are not supported";
        } else {
            const bool exclude = n > 0 && item[0] == '^';
            size_t i = exclude ? 1 : 0;
            uint64_t lo = 0, hi = 0;
            auto number = [&](uint64_t* v) {
                const size_t first = i;
                *v = 0;
                while (i < n && is_digit(item[i]) && *v < 1000) *v = *v * 10 + static_cast<unsigned>(item[i++] - '0');
                return i > first;
            };
            if (!number(&lo)) return "bad CPU list (want e.g. \"all\", \"2\", \"0-3\", \"0,2-3\", \"0-7,^5\")";
            hi = lo;
            if (i < n && item[i] == '-') {
                ++i;
                if (!number(&hi)) return "bad CPU range (want N-M)";
            }
            if (i != n) return "bad CPU list (want e.g. \"all\", \"2\", \"0-3\", \"0,2-3\", \"0-7,^5\")";
            if (hi < lo) return "bad CPU range: its end is below its start";
            if (hi > 63) return "CPU number above 63";
            const uint64_t bits = (hi == 63 ? ~0ull : (1ull << (hi + 1)) - 1) & ~((1ull << lo) - 1);
            m = exclude ? m & ~bits : m | bits;
        }
        if (*p == '\0') break;
        ++p;
    }
    if (m == 0) return "the CPU list selects no CPU";
    *mask = m;
    return nullptr;
}

bool parse_config(const char* text, size_t len, const char* file, const char* const* overrides,
                  unsigned nr_overrides, DomainConfig& out, DiagnosticSink sink, void* ctx, ParseStats* stats) {
    Source srcs[1 + MAX_OVERRIDES];
    srcs[0] = Source{text, len};
    unsigned count = 1;
    bool too_many = false;
    for (unsigned i = 0; i < nr_overrides; ++i) {
        if (count == 1 + MAX_OVERRIDES) {
            too_many = true;
            break;
        }
        srcs[count++] = Source{overrides[i], length(overrides[i])};
    }
    Parser p{srcs, count, file, sink, ctx};
    bool ok = p.run(out);
    ParseStats st = p.stats();
    if (too_many) {
        Line l;
        l.add(file).add(": more than ").num(MAX_OVERRIDES).add(" KEY=VALUE overrides");
        ++st.errors;
        if (sink != nullptr) sink(ctx, l.text());
        ok = false;
    }
    if (stats != nullptr) *stats = st;
    return ok;
}

}  // namespace dom0::xl
