// The hypervisor's own command line (the multiboot2 cmdline tag): split into
// words the way GRUB and a POSIX shell do, then read Xen's option names so
// that an existing Xen GRUB entry boots Menhir unchanged.
// Reference for option syntax: Xen's docs/misc/xen-command-line.pandoc.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernel/lib/result.hpp"

namespace menhir::cmdline {

inline constexpr size_t max_words = 64;
inline constexpr size_t max_text = 2048;   // all words with their terminators

// word[i] points into storage, so a Words must not be copied: the copy's
// pointers would still refer to the original's storage.
struct Words {
    Words() = default;
    Words(const Words&) = delete;
    Words& operator=(const Words&) = delete;

    size_t count{0};
    const char* word[max_words]{};
    char storage[max_text]{};
};

enum class SplitError { none, too_many_words, too_long, unterminated_quote, trailing_backslash };

// Splits like a POSIX shell (XCU 2.2 Quoting): blanks separate words;
// "..." groups, and inside it a backslash escapes only " \ $ ` and newline;
// '...' groups literally; a backslash outside quotes escapes the next
// character; backslash-newline is removed. Quotes may appear mid-word
// (ab"c d"e gives `abc de`), and "" is an empty word. GRUB turns a module
// argument with spaces into "cmdline=a b" with inner quotes escaped, so
// `"cmdline=say \"hi\" now"` gives the one word `cmdline=say "hi" now`.
// nullptr splits to no words. On error out.count is 0: a half-split line
// is never acted on.
[[nodiscard]] SplitError split(const char* text, Words& out);
const char* to_string(SplitError);

enum class LogLevel : uint8_t { none, error, warning, info, debug, all };   // Xen's loglvl names
const char* to_string(LogLevel);

struct SerialConfig {
    uint32_t baud{115200};
    uint8_t data_bits{8};
    char parity{'n'};
    uint8_t stop_bits{1};
    uint16_t io_base{0x3f8};
    uint8_t irq{4};   // 0: poll, as in Xen
};

struct Options {
    bool console_com1{true};          // console=<list>: true iff the list names com1, as in Xen
    SerialConfig com1{};              // com1=<baud>[,DPS[,<io-base>[,<irq>]]]; baud may be "auto"
    LogLevel loglvl{LogLevel::info};  // loglvl=<level>[/<rate-limited level>]
    bool console_timestamps{false};   // console_timestamps=none|boot
    uint32_t maxcpus{0};              // 0 = no limit
    uint64_t dom0_mem{0};             // bytes, 0 = unset
    int x2apic{-1};                   // -1 auto, else 0/1 from a Xen boolean
    bool apicv{true};                 // apicv=<boolean>: the CPU's APIC virtualisation for guests, as Xen's
    // max_domid=N (Menhir's, a testing aid): no domain gets an id above N,
    // so a test reaches a reused id in a few creations. 0 = unset.
    uint32_t max_domid{0};
};

// The highest id max_domid may name: Xen's DOMID_FIRST_RESERVED - 1.
inline constexpr uint32_t max_domid_limit = 0x7fef;

// Every problem (unknown option, bad value) is reported through warn and is
// never fatal: the option keeps its default (or its earlier value when it
// was given twice; the last good one wins, as in Xen). Option names treat
// '-' and '_' alike, as Xen's parser does. Booleans take Xen's forms:
// yes/on/true/enable/1, no/off/false/disable/0, the bare name for true and a
// "no-" prefix for false. A first word without '=' that contains '/' is
// taken to be an image path and skipped. warn may be nullptr.
using WarnFn = void (*)(void* ctx, const char* word, const char* reason);
Options parse_options(const Words& words, WarnFn warn, void* ctx);

// Xen's <size>: a number (decimal or 0x hex) with at most one suffix
// B/K/M/G/T, either case; no suffix means KiB. Hex digits are read greedily,
// as Xen does, so "0x1b" is 0x1b KiB, not 1 byte. Overflow gives empty.
Optional<uint64_t> parse_size(const char* s);
// Unsigned integer, decimal or 0x hex; the whole string must be consumed.
// A leading 0 is decimal (unlike Xen's octal), since nobody means octal.
Optional<uint64_t> parse_uint(const char* s);

} // namespace menhir::cmdline
