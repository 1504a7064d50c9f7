#include "kernel/cmdline.hpp"

#include <limits>

namespace menhir::cmdline {
namespace {

// GRUB's command line is one line, but a CR from a config file edited on
// another system must not end up inside a word.
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Inside double quotes a backslash keeps its meaning only before these
// (XCU 2.2.3); before anything else it is an ordinary character.
bool escapable_in_double_quotes(char c) { return c == '"' || c == '\\' || c == '$' || c == '`'; }

class WordWriter final {
public:
    explicit WordWriter(Words& out) : out_{out} {}

    [[nodiscard]] bool put(char c)
    {
        if (used_ == max_text) {
            return false;
        }
        out_.storage[used_++] = c;
        return true;
    }
    [[nodiscard]] SplitError begin()
    {
        if (out_.count == max_words) {
            return SplitError::too_many_words;
        }
        start_ = used_;
        return SplitError::none;
    }
    [[nodiscard]] bool end()
    {
        if (!put('\0')) {
            return false;
        }
        out_.word[out_.count++] = &out_.storage[start_];
        return true;
    }

private:
    Words& out_;
    size_t used_{0};
    size_t start_{0};
};

enum class Quote : uint8_t { none, single, dbl };

SplitError split_words(const char* p, Words& out)
{
    WordWriter writer{out};
    for (;;) {
        // A line continuation between words must not start an empty word.
        while (is_blank(*p) || (p[0] == '\\' && p[1] == '\n')) {
            p += is_blank(*p) ? 1 : 2;
        }
        if (*p == '\0') {
            return SplitError::none;
        }
        if (SplitError e = writer.begin(); e != SplitError::none) {
            return e;
        }
        Quote quote = Quote::none;
        for (; *p != '\0'; ++p) {
            char c = *p;
            if (quote == Quote::single) {
                if (c == '\'') {
                    quote = Quote::none;
                } else if (!writer.put(c)) {
                    return SplitError::too_long;
                }
                continue;
            }
            if (quote == Quote::none && is_blank(c)) {
                break;
            }
            if (c == '\\') {
                char next = p[1];
                if (next == '\0') {
                    return quote == Quote::none ? SplitError::trailing_backslash : SplitError::unterminated_quote;
                }
                if (next == '\n') {   // line continuation: both characters vanish
                    ++p;
                    continue;
                }
                if (quote == Quote::none || escapable_in_double_quotes(next)) {
                    ++p;
                    c = next;
                }
                if (!writer.put(c)) {
                    return SplitError::too_long;
                }
                continue;
            }
            if (quote == Quote::none && c == '\'') {
                quote = Quote::single;
            } else if (c == '"') {
                quote = quote == Quote::dbl ? Quote::none : Quote::dbl;
            } else if (!writer.put(c)) {
                return SplitError::too_long;
            }
        }
        if (quote != Quote::none) {
            return SplitError::unterminated_quote;
        }
        if (!writer.end()) {
            return SplitError::too_long;
        }
    }
}

// ---------------------------------------------------------------------------
// Small string helpers (no libc here).

// Written out because the kernel provides only memcpy, memset, memcmp and
// strlen; __builtin_strcmp could become a call to a missing strcmp.
bool equal(const char* a, const char* b)
{
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

// Xen compares option names treating '-' and '_' as the same character, so
// both console-timestamps and console_timestamps work.
bool same_name(const char* a, size_t alen, const char* b)
{
    size_t i = 0;
    for (; i < alen && b[i] != '\0'; ++i) {
        char x = a[i] == '-' ? '_' : a[i];
        char y = b[i] == '-' ? '_' : b[i];
        if (x != y) {
            return false;
        }
    }
    return i == alen && b[i] == '\0';
}

bool starts_with(const char* s, const char* prefix)
{
    for (; *prefix != '\0'; ++s, ++prefix) {
        if (*s != *prefix) {
            return false;
        }
    }
    return true;
}

const char* find_char(const char* s, char c)
{
    for (; *s != '\0'; ++s) {
        if (*s == c) {
            return s;
        }
    }
    return nullptr;
}

// A field of a comma (or other) separated value, not NUL-terminated.
struct Field {
    const char* text{nullptr};
    size_t length{0};

    [[nodiscard]] bool empty() const { return length == 0; }
    [[nodiscard]] bool is(const char* s) const
    {
        return __builtin_strlen(s) == length && __builtin_memcmp(text, s, length) == 0;
    }
    [[nodiscard]] bool starts_with(const char* prefix) const
    {
        size_t n = __builtin_strlen(prefix);
        return n <= length && __builtin_memcmp(text, prefix, n) == 0;
    }
};

// Splits `s` at `sep` into up to max fields; returns the number found, or
// max + 1 if there were more.
template <size_t Max>
size_t split_fields(const char* s, char sep, Field (&fields)[Max])
{
    size_t n = 0;
    for (;;) {
        const char* end = s;
        while (*end != '\0' && *end != sep) {
            ++end;
        }
        if (n == Max) {
            return Max + 1;
        }
        fields[n++] = Field{s, static_cast<size_t>(end - s)};
        if (*end == '\0') {
            return n;
        }
        s = end + 1;
    }
}

// Fields are not NUL-terminated; numbers in them are short, so copy out.
template <typename Parse>
auto parse_field(const Field& f, Parse parse) -> decltype(parse(""))
{
    char tmp[32];
    if (f.length >= sizeof tmp) {
        return {};
    }
    __builtin_memcpy(tmp, f.text, f.length);
    tmp[f.length] = '\0';
    return parse(tmp);
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Reads a decimal or 0x-hex number from the front of *s, greedily, and
// advances *s past it. False on no digits or overflow.
bool parse_number_prefix(const char*& s, uint64_t& out)
{
    unsigned base = 10;
    const char* p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    uint64_t v = 0;
    const char* digits = p;
    for (;; ++p) {
        int d = hex_value(*p);
        if (d < 0 || static_cast<unsigned>(d) >= base) {
            break;
        }
        if (v > (std::numeric_limits<uint64_t>::max() - static_cast<unsigned>(d)) / base) {
            return false;
        }
        v = v * base + static_cast<unsigned>(d);
    }
    if (p == digits) {
        return false;
    }
    s = p;
    out = v;
    return true;
}

// ---------------------------------------------------------------------------
// Options.

class Reporter final {
public:
    Reporter(WarnFn warn, void* ctx, const char* word) : warn_{warn}, ctx_{ctx}, word_{word} {}
    void operator()(const char* reason) const
    {
        if (warn_ != nullptr) {
            warn_(ctx_, word_, reason);
        }
    }

private:
    WarnFn warn_;
    void* ctx_;
    const char* word_;
};

// Xen's boolean spellings (xen-command-line.pandoc, "Boolean").
Optional<bool> parse_bool(const char* s)
{
    static constexpr const char* yes[] = {"yes", "on", "true", "enable", "1"};
    static constexpr const char* no[] = {"no", "off", "false", "disable", "0"};
    for (const char* t : yes) {
        if (equal(s, t)) {
            return true;
        }
    }
    for (const char* f : no) {
        if (equal(s, f)) {
            return false;
        }
    }
    return {};
}

Optional<LogLevel> parse_level(const Field& f)
{
    static constexpr struct {
        const char* name;
        LogLevel level;
    } levels[] = {
        {"none", LogLevel::none}, {"error", LogLevel::error}, {"warning", LogLevel::warning},
        {"info", LogLevel::info}, {"debug", LogLevel::debug}, {"all", LogLevel::all},
    };
    for (const auto& l : levels) {
        if (f.is(l.name)) {
            return l.level;
        }
    }
    return {};
}

// Handlers get the text after '=' (nullptr for a bare name; a "no-" prefix
// arrives as the value "no"). They change opts only for a valid value.
using Handler = void (*)(Options& opts, const char* value, const Reporter& warn);

void handle_console(Options& opts, const char* value, const Reporter& warn)
{
    if (value == nullptr || *value == '\0') {
        warn("missing value, want a list such as com1");
        return;
    }
    Field entries[8];
    size_t n = split_fields(value, ',', entries);
    if (n > 8) {
        warn("too many console entries, option ignored");
        return;
    }
    bool com1 = false;
    for (size_t i = 0; i < n; ++i) {
        if (entries[i].is("com1")) {
            com1 = true;
        } else if (!entries[i].is("none") && !entries[i].empty()) {
            // vga, com2, com1H, dbgp, ... : the hypervisor drives COM1 only.
            warn("only com1 is supported as a console; other entries ignored");
        }
    }
    opts.console_com1 = com1;
}

void handle_com1(Options& opts, const char* value, const Reporter& warn)
{
    if (value == nullptr || *value == '\0') {
        warn("missing value, want <baud>[,DPS[,<io-base>[,<irq>]]]");
        return;
    }
    // Xen allows up to six positional fields plus name=value pairs; only the
    // first four mean anything for a legacy ISA UART.
    Field f[4];
    size_t n = split_fields(value, ',', f);
    if (n > 4) {
        warn("only <baud>,DPS,<io-base>,<irq> are supported; option ignored");
        return;
    }
    if (find_char(value, '=') != nullptr) {
        warn("name=value serial settings are not supported; option ignored");
        return;
    }
    SerialConfig cfg{};

    // A 16550 divides a 1.8432 MHz clock by 16, so 115200 (divisor 1) is the
    // fastest rate; "auto" means the firmware already set the rate up.
    if (!f[0].is("auto")) {
        auto baud = parse_field(f[0], parse_uint);
        if (!baud || *baud == 0 || *baud > 115200) {
            warn("bad baud rate (want 1..115200 or auto); option ignored");
            return;
        }
        cfg.baud = static_cast<uint32_t>(*baud);
    }
    if (n > 1 && !f[1].empty()) {
        const char* dps = f[1].text;
        bool ok = f[1].length == 3 && dps[0] >= '5' && dps[0] <= '8' && find_char("noems", dps[1]) != nullptr &&
                  (dps[2] == '1' || dps[2] == '2');
        if (!ok) {
            warn("bad DPS (want data bits 5-8, parity n/o/e/m/s, stop bits 1-2, e.g. 8n1); option ignored");
            return;
        }
        cfg.data_bits = static_cast<uint8_t>(dps[0] - '0');
        cfg.parity = dps[1];
        cfg.stop_bits = static_cast<uint8_t>(dps[2] - '0');
    }
    if (n > 2 && !f[2].empty()) {
        if (f[2].is("pci") || f[2].is("amt")) {
            warn("PCI serial ports are not supported; option ignored");
            return;
        }
        auto base = parse_field(f[2], parse_uint);
        if (!base || *base == 0 || *base > 0xffff) {
            warn("bad I/O base (want 0x1..0xffff); option ignored");
            return;
        }
        cfg.io_base = static_cast<uint16_t>(*base);
    }
    if (n > 3 && !f[3].empty()) {
        if (f[3].is("msi")) {
            warn("MSI serial interrupts are not supported; option ignored");
            return;
        }
        // A legacy UART raises an ISA IRQ, 0..15; 0 means polling (Xen).
        auto irq = parse_field(f[3], parse_uint);
        if (!irq || *irq > 15) {
            warn("bad IRQ (want 0..15, 0 to poll); option ignored");
            return;
        }
        cfg.irq = static_cast<uint8_t>(*irq);
    }
    opts.com1 = cfg;
}

void handle_loglvl(Options& opts, const char* value, const Reporter& warn)
{
    if (value == nullptr || *value == '\0') {
        warn("missing value, want none|error|warning|info|debug|all");
        return;
    }
    Field parts[2];
    size_t n = split_fields(value, '/', parts);
    auto level = parse_level(parts[0]);
    if (n > 2 || !level || (n == 2 && !parse_level(parts[1]))) {
        warn("bad log level (want none|error|warning|info|debug|all); option ignored");
        return;
    }
    if (n == 2) {
        warn("rate-limited log level is not supported and is ignored");
    }
    opts.loglvl = *level;
}

void handle_console_timestamps(Options& opts, const char* value, const Reporter& warn)
{
    // The bare name is the older boolean form (Xen maps it to "date").
    if (value == nullptr) {
        opts.console_timestamps = true;
        return;
    }
    if (equal(value, "none")) {
        opts.console_timestamps = false;
        return;
    }
    if (equal(value, "boot")) {
        opts.console_timestamps = true;
        return;
    }
    if (auto b = parse_bool(value)) {
        opts.console_timestamps = *b;
        return;
    }
    // date, datems and raw need a wall clock or raw ticks we do not keep.
    warn("only none and boot timestamps are supported; using boot");
    opts.console_timestamps = true;
}

void handle_maxcpus(Options& opts, const char* value, const Reporter& warn)
{
    auto n = value != nullptr ? parse_uint(value) : Optional<uint64_t>{};
    if (!n || *n > std::numeric_limits<uint32_t>::max()) {
        warn("bad CPU count; option ignored");
        return;
    }
    opts.maxcpus = static_cast<uint32_t>(*n);
}

void handle_dom0_mem(Options& opts, const char* value, const Reporter& warn)
{
    if (value == nullptr || *value == '\0') {
        warn("missing value, want a size such as 512M");
        return;
    }
    // Xen: dom0_mem = List of ( min:<sz> | max:<sz> | <sz> ), where <sz> may
    // also be negative or a percentage. Only a plain positive size is kept.
    Field items[4];
    size_t n = split_fields(value, ',', items);
    if (n > 4) {
        warn("too many dom0_mem entries; option ignored");
        return;
    }
    for (size_t i = 0; i < n; ++i) {
        const Field& item = items[i];
        if (item.starts_with("min:") || item.starts_with("max:")) {
            warn("dom0_mem min: and max: are not supported and are ignored");
            continue;
        }
        auto size = parse_field(item, parse_size);
        if (!size || *size == 0) {
            warn("bad dom0_mem size (want e.g. 512M; negative and % forms are not supported); entry ignored");
            continue;
        }
        opts.dom0_mem = *size;
    }
}

void handle_max_domid(Options& opts, const char* value, const Reporter& warn)
{
    auto n = value != nullptr ? parse_uint(value) : Optional<uint64_t>{};
    if (!n || *n == 0 || *n > max_domid_limit) {
        warn("bad domain id (want 1 to 32751); option ignored");
        return;
    }
    opts.max_domid = static_cast<uint32_t>(*n);
}

// A boolean option's value: the bare name is true; a bad value is reported
// and gives nothing.
Optional<bool> boolean_value(const char* value, const Reporter& warn)
{
    if (value == nullptr) return true;
    auto b = parse_bool(value);
    if (!b) warn("bad boolean (want yes/no, on/off, true/false, enable/disable, 1/0); option ignored");
    return b;
}

void handle_x2apic(Options& opts, const char* value, const Reporter& warn)
{
    if (auto b = boolean_value(value, warn)) opts.x2apic = *b ? 1 : 0;
}

void handle_apicv(Options& opts, const char* value, const Reporter& warn)
{
    if (auto b = boolean_value(value, warn)) opts.apicv = *b;
}

struct OptionDef {
    const char* name;
    Handler handle;
    bool boolean;   // accepts the bare name and the "no-" prefix
};

constexpr OptionDef option_table[] = {
    {"console", handle_console, false},
    {"com1", handle_com1, false},
    {"loglvl", handle_loglvl, false},
    {"console_timestamps", handle_console_timestamps, true},
    {"maxcpus", handle_maxcpus, false},
    {"dom0_mem", handle_dom0_mem, false},
    {"x2apic", handle_x2apic, true},
    {"apicv", handle_apicv, true},
    {"max_domid", handle_max_domid, false},
};

const OptionDef* find_option(const char* name, size_t len)
{
    for (const auto& def : option_table) {
        if (same_name(name, len, def.name)) {
            return &def;
        }
    }
    return nullptr;
}

void apply_word(Options& opts, const char* word, const Reporter& warn)
{
    const char* eq = find_char(word, '=');
    size_t name_len = eq != nullptr ? static_cast<size_t>(eq - word) : __builtin_strlen(word);
    const char* value = eq != nullptr ? eq + 1 : nullptr;

    if (const OptionDef* def = find_option(word, name_len)) {
        if (value == nullptr && !def->boolean) {
            warn("missing value");
            return;
        }
        def->handle(opts, value, warn);
        return;
    }
    if (starts_with(word, "no-") || starts_with(word, "no_")) {
        const OptionDef* def = find_option(word + 3, name_len - 3);
        if (def != nullptr && def->boolean) {
            if (value != nullptr) {
                // Xen leaves "no-" with an explicit value undefined.
                warn("a no- prefix cannot take a value; option ignored");
                return;
            }
            def->handle(opts, "no", warn);
            return;
        }
    }
    warn("unknown option, ignored");
}

} // namespace

SplitError split(const char* text, Words& out)
{
    out.count = 0;
    if (text == nullptr) {
        return SplitError::none;
    }
    SplitError e = split_words(text, out);
    if (e != SplitError::none) {
        out.count = 0;
    }
    return e;
}

const char* to_string(SplitError e)
{
    switch (e) {
    case SplitError::none: return "no error";
    case SplitError::too_many_words: return "too many words";
    case SplitError::too_long: return "command line too long";
    case SplitError::unterminated_quote: return "unterminated quote";
    case SplitError::trailing_backslash: return "trailing backslash";
    }
    return "unknown error";
}

const char* to_string(LogLevel l)
{
    switch (l) {
    case LogLevel::none: return "none";
    case LogLevel::error: return "error";
    case LogLevel::warning: return "warning";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
    case LogLevel::all: return "all";
    }
    return "unknown";
}

Options parse_options(const Words& words, WarnFn warn, void* ctx)
{
    Options opts{};
    size_t first = 0;
    // Some loaders put the image path first; options never contain '/'
    // without '='.
    if (words.count > 0 && find_char(words.word[0], '=') == nullptr && find_char(words.word[0], '/') != nullptr) {
        first = 1;
    }
    for (size_t i = first; i < words.count; ++i) {
        apply_word(opts, words.word[i], Reporter{warn, ctx, words.word[i]});
    }
    return opts;
}

Optional<uint64_t> parse_uint(const char* s)
{
    if (s == nullptr) {
        return {};
    }
    uint64_t v = 0;
    if (!parse_number_prefix(s, v) || *s != '\0') {
        return {};
    }
    return v;
}

Optional<uint64_t> parse_size(const char* s)
{
    if (s == nullptr) {
        return {};
    }
    uint64_t v = 0;
    if (!parse_number_prefix(s, v)) {
        return {};
    }
    unsigned shift = 10;   // no suffix: KiB (xen-command-line.pandoc, "Size")
    switch (*s) {
    case '\0': break;
    case 'b': case 'B': shift = 0; ++s; break;
    case 'k': case 'K': shift = 10; ++s; break;
    case 'm': case 'M': shift = 20; ++s; break;
    case 'g': case 'G': shift = 30; ++s; break;
    case 't': case 'T': shift = 40; ++s; break;
    default: return {};
    }
    if (*s != '\0' || v > (std::numeric_limits<uint64_t>::max() >> shift)) {
        return {};
    }
    return v << shift;
}

} // namespace menhir::cmdline
