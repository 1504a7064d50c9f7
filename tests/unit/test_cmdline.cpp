#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kernel/cmdline.hpp"

namespace cl = menhir::cmdline;
using cl::LogLevel;
using cl::SplitError;

namespace {

std::vector<std::string> words_of(const char* text, SplitError expect = SplitError::none)
{
    static cl::Words w;   // 2.5 KiB: keep it off the test's stack
    SplitError e = cl::split(text, w);
    REQUIRE(e == expect);
    std::vector<std::string> v;
    for (size_t i = 0; i < w.count; ++i) {
        v.emplace_back(w.word[i]);
    }
    return v;
}

using Strings = std::vector<std::string>;

struct Warnings {
    std::vector<std::pair<std::string, std::string>> seen;

    static void record(void* ctx, const char* word, const char* reason)
    {
        REQUIRE(word != nullptr);
        REQUIRE(reason != nullptr);
        REQUIRE(reason[0] != '\0');
        static_cast<Warnings*>(ctx)->seen.emplace_back(word, reason);
    }
    [[nodiscard]] size_t count() const { return seen.size(); }
    [[nodiscard]] std::string word(size_t i) const { return seen.at(i).first; }
};

// Splits and parses a whole command line, as the boot code will.
cl::Options parse(const char* text, Warnings& warnings)
{
    static cl::Words w;
    REQUIRE(cl::split(text, w) == SplitError::none);
    return cl::parse_options(w, Warnings::record, &warnings);
}

cl::Options parse_clean(const char* text)
{
    Warnings w;
    cl::Options o = parse(text, w);
    INFO("command line: " << text);
    for (const auto& [word, reason] : w.seen) {
        INFO("unexpected warning: " << word << ": " << reason);
        CHECK(false);
    }
    return o;
}

void require_defaults(const cl::Options& o)
{
    const cl::Options d{};
    CHECK(o.console_com1 == d.console_com1);
    CHECK(o.com1.baud == d.com1.baud);
    CHECK(o.com1.data_bits == d.com1.data_bits);
    CHECK(o.com1.parity == d.com1.parity);
    CHECK(o.com1.stop_bits == d.com1.stop_bits);
    CHECK(o.com1.io_base == d.com1.io_base);
    CHECK(o.com1.irq == d.com1.irq);
    CHECK(o.loglvl == d.loglvl);
    CHECK(o.console_timestamps == d.console_timestamps);
    CHECK(o.maxcpus == d.maxcpus);
    CHECK(o.dom0_mem == d.dom0_mem);
    CHECK(o.x2apic == d.x2apic);
    CHECK(o.apicv == d.apicv);
    CHECK(o.max_domid == d.max_domid);
}

} // namespace

// ---------------------------------------------------------------------------
// split

TEST_CASE("cmdline::split: blanks separate words", "[cmdline]")
{
    CHECK(words_of(nullptr).empty());
    CHECK(words_of("").empty());
    CHECK(words_of(" \t\n\r ").empty());
    CHECK(words_of("a") == Strings{"a"});
    CHECK(words_of("a b  c") == Strings{"a", "b", "c"});
    CHECK(words_of("  lead and trail  ") == Strings{"lead", "and", "trail"});
    CHECK(words_of("tab\tnew\nline\r\ncr") == Strings{"tab", "new", "line", "cr"});
    CHECK(words_of("key=value other=1") == Strings{"key=value", "other=1"});
}

TEST_CASE("cmdline::split: single quotes are literal", "[cmdline]")
{
    CHECK(words_of("'a b'") == Strings{"a b"});
    CHECK(words_of(R"('a\b')") == Strings{R"(a\b)"});
    CHECK(words_of(R"('a\')") == Strings{R"(a\)"});   // no escape inside '...'
    CHECK(words_of(R"('say "hi"')") == Strings{R"(say "hi")"});
    CHECK(words_of("'$HOME `x`'") == Strings{"$HOME `x`"});
}

TEST_CASE("cmdline::split: double quotes and their escapes", "[cmdline]")
{
    CHECK(words_of(R"("a b")") == Strings{"a b"});
    CHECK(words_of(R"("a\"b")") == Strings{R"(a"b)"});
    CHECK(words_of(R"("a\\b")") == Strings{R"(a\b)"});
    CHECK(words_of(R"("a\$b")") == Strings{"a$b"});
    CHECK(words_of(R"("a\`b")") == Strings{"a`b"});
    CHECK(words_of(R"("a\nb")") == Strings{R"(a\nb)"});   // other escapes stay literal
    CHECK(words_of(R"("a\'b")") == Strings{R"(a\'b)"});
    CHECK(words_of("\"a\\\nb\"") == Strings{"ab"});        // backslash-newline vanishes
    CHECK(words_of(R"("it's")") == Strings{"it's"});
    CHECK(words_of("\"a\tb\nc\"") == Strings{"a\tb\nc"});  // blanks kept inside quotes
}

TEST_CASE("cmdline::split: backslash outside quotes", "[cmdline]")
{
    CHECK(words_of(R"(a\ b)") == Strings{"a b"});
    CHECK(words_of(R"(\"x\")") == Strings{R"("x")"});
    CHECK(words_of(R"(\\)") == Strings{R"(\)"});
    CHECK(words_of(R"(\')") == Strings{"'"});
    CHECK(words_of(R"(\a\b)") == Strings{"ab"});
    CHECK(words_of("a\\\nb c") == Strings{"ab", "c"});   // line continuation
    CHECK(words_of("a \\\n b") == Strings{"a", "b"});
}

TEST_CASE("cmdline::split: quotes mid-word join", "[cmdline]")
{
    CHECK(words_of(R"(ab"c d"e)") == Strings{"abc de"});
    CHECK(words_of(R"(a'b c'd)") == Strings{"ab cd"});
    CHECK(words_of(R"("a"'b'c\ d)") == Strings{"abc d"});
    CHECK(words_of(R"(x="1 2" y='3 4')") == Strings{"x=1 2", "y=3 4"});
    CHECK(words_of(R"('"'"'")") == Strings{R"("')"});
}

TEST_CASE("cmdline::split: empty quoted words are words", "[cmdline]")
{
    CHECK(words_of(R"("")") == Strings{""});
    CHECK(words_of("''") == Strings{""});
    CHECK(words_of(R"(a "" b '' c)") == Strings{"a", "", "b", "", "c"});
    CHECK(words_of(R"(a"")") == Strings{"a"});
}

TEST_CASE("cmdline::split: GRUB's quoting of a module argument with spaces", "[cmdline]")
{
    // multiboot2 /dom0 'cmdline=say "hi" now' reaches us as this.
    CHECK(words_of(R"(/boot/dom0 "cmdline=say \"hi\" now" extra)") ==
          Strings{"/boot/dom0", R"(cmdline=say "hi" now)", "extra"});
    CHECK(words_of(R"("cmdline=say \"hi\" now")") == Strings{R"(cmdline=say "hi" now)"});
    CHECK(words_of(R"("cmdline=a\\b")") == Strings{R"(cmdline=a\b)"});
}

TEST_CASE("cmdline::split: errors", "[cmdline]")
{
    cl::Words w;
    CHECK(cl::split(R"("abc)", w) == SplitError::unterminated_quote);
    CHECK(w.count == 0);
    CHECK(cl::split(R"(ok 'abc)", w) == SplitError::unterminated_quote);
    CHECK(w.count == 0);   // the word before the error is not kept
    CHECK(cl::split(R"(a"b"c"d)", w) == SplitError::unterminated_quote);
    CHECK(cl::split(R"(abc\)", w) == SplitError::trailing_backslash);
    CHECK(w.count == 0);
    CHECK(cl::split(R"(\)", w) == SplitError::trailing_backslash);
    CHECK(cl::split(R"("abc\)", w) == SplitError::unterminated_quote);
    CHECK(cl::split(R"('abc\)", w) == SplitError::unterminated_quote);
    CHECK(cl::split(R"(a "\")", w) == SplitError::unterminated_quote);
}

TEST_CASE("cmdline::split: word count limit", "[cmdline]")
{
    std::string text;
    for (size_t i = 0; i < cl::max_words; ++i) {
        text += "w" + std::to_string(i) + " ";
    }
    cl::Words w;
    REQUIRE(cl::split(text.c_str(), w) == SplitError::none);
    CHECK(w.count == cl::max_words);
    CHECK(std::string(w.word[0]) == "w0");
    CHECK(std::string(w.word[cl::max_words - 1]) == "w" + std::to_string(cl::max_words - 1));

    text += "   ";   // trailing blanks are not a word
    REQUIRE(cl::split(text.c_str(), w) == SplitError::none);
    CHECK(w.count == cl::max_words);

    text += "one-more";
    CHECK(cl::split(text.c_str(), w) == SplitError::too_many_words);
    CHECK(w.count == 0);

    text.resize(text.size() - 8);
    REQUIRE(cl::split(text.c_str(), w) == SplitError::none);
    text += "''";   // an empty word counts too
    CHECK(cl::split(text.c_str(), w) == SplitError::too_many_words);
}

TEST_CASE("cmdline::split: text length limit counts terminators", "[cmdline]")
{
    cl::Words w;
    std::string fits(cl::max_text - 1, 'x');   // plus its NUL: exactly max_text
    REQUIRE(cl::split(fits.c_str(), w) == SplitError::none);
    CHECK(w.count == 1);
    CHECK(std::string(w.word[0]).size() == cl::max_text - 1);

    std::string too_long(cl::max_text, 'x');
    CHECK(cl::split(too_long.c_str(), w) == SplitError::too_long);
    CHECK(w.count == 0);

    // Two words: 1000 + 1 + 1046 + 1 = 2048 fits; one byte more does not.
    std::string two = std::string(1000, 'a') + " " + std::string(1046, 'b');
    REQUIRE(cl::split(two.c_str(), w) == SplitError::none);
    CHECK(w.count == 2);
    two += "b";
    CHECK(cl::split(two.c_str(), w) == SplitError::too_long);

    // Escapes and quotes do not count; only what is stored does.
    std::string quoted = "\"" + std::string(cl::max_text - 1, 'q') + "\"";
    CHECK(cl::split(quoted.c_str(), w) == SplitError::none);
    std::string quoted_long = "'" + std::string(cl::max_text, 'q') + "'";
    CHECK(cl::split(quoted_long.c_str(), w) == SplitError::too_long);
    std::string escaped_long = std::string(cl::max_text - 1, 'e') + "\\x";
    CHECK(cl::split(escaped_long.c_str(), w) == SplitError::too_long);
    std::string dq_escaped_long = "\"" + std::string(cl::max_text - 1, 'e') + "\\\"\"";
    CHECK(cl::split(dq_escaped_long.c_str(), w) == SplitError::too_long);
    std::string dq_plain_long = "\"" + std::string(cl::max_text, 'e') + "\"";
    CHECK(cl::split(dq_plain_long.c_str(), w) == SplitError::too_long);
    // Many empty words: each still needs its terminator.
    std::string empties;
    for (size_t i = 0; i < cl::max_words; ++i) {
        empties += "'' ";
    }
    CHECK(cl::split(empties.c_str(), w) == SplitError::none);
    CHECK(w.count == cl::max_words);
}

TEST_CASE("cmdline::split: a second split replaces the first", "[cmdline]")
{
    cl::Words w;
    REQUIRE(cl::split("a b c", w) == SplitError::none);
    REQUIRE(cl::split("d", w) == SplitError::none);
    CHECK(w.count == 1);
    CHECK(std::string(w.word[0]) == "d");
    REQUIRE(cl::split(nullptr, w) == SplitError::none);
    CHECK(w.count == 0);
}

TEST_CASE("cmdline: to_string", "[cmdline]")
{
    std::vector<std::string> seen;
    for (auto e : {SplitError::none, SplitError::too_many_words, SplitError::too_long, SplitError::unterminated_quote,
                   SplitError::trailing_backslash}) {
        seen.emplace_back(cl::to_string(e));
    }
    for (size_t i = 0; i < seen.size(); ++i) {
        for (size_t j = i + 1; j < seen.size(); ++j) {
            CHECK(seen[i] != seen[j]);
        }
    }
    CHECK(std::string(cl::to_string(static_cast<SplitError>(99))) == "unknown error");
    CHECK(std::string(cl::to_string(LogLevel::none)) == "none");
    CHECK(std::string(cl::to_string(LogLevel::error)) == "error");
    CHECK(std::string(cl::to_string(LogLevel::warning)) == "warning");
    CHECK(std::string(cl::to_string(LogLevel::info)) == "info");
    CHECK(std::string(cl::to_string(LogLevel::debug)) == "debug");
    CHECK(std::string(cl::to_string(LogLevel::all)) == "all");
    CHECK(std::string(cl::to_string(static_cast<LogLevel>(42))) == "unknown");
}

// ---------------------------------------------------------------------------
// numbers

TEST_CASE("cmdline::parse_uint", "[cmdline]")
{
    CHECK(cl::parse_uint("0").value_or(99) == 0);
    CHECK(cl::parse_uint("42").value_or(0) == 42);
    CHECK(cl::parse_uint("010").value_or(0) == 10);   // decimal, not octal
    CHECK(cl::parse_uint("0x2f8").value_or(0) == 0x2f8);
    CHECK(cl::parse_uint("0X2F8").value_or(0) == 0x2f8);
    CHECK(cl::parse_uint("0x0").value_or(1) == 0);
    CHECK(cl::parse_uint("18446744073709551615").value_or(0) == UINT64_MAX);
    CHECK(cl::parse_uint("0xffffffffffffffff").value_or(0) == UINT64_MAX);
    CHECK(cl::parse_uint("000000000000000000000000042").value_or(0) == 42);

    CHECK_FALSE(cl::parse_uint("18446744073709551616"));
    CHECK_FALSE(cl::parse_uint("99999999999999999999"));
    CHECK_FALSE(cl::parse_uint("0x10000000000000000"));
    CHECK_FALSE(cl::parse_uint(nullptr));
    CHECK_FALSE(cl::parse_uint(""));
    CHECK_FALSE(cl::parse_uint("0x"));
    CHECK_FALSE(cl::parse_uint("x1"));
    CHECK_FALSE(cl::parse_uint("12a"));
    CHECK_FALSE(cl::parse_uint("0x1g"));
    CHECK_FALSE(cl::parse_uint("+1"));
    CHECK_FALSE(cl::parse_uint("-1"));
    CHECK_FALSE(cl::parse_uint(" 1"));
    CHECK_FALSE(cl::parse_uint("1 "));
    CHECK_FALSE(cl::parse_uint("1K"));
}

TEST_CASE("cmdline::parse_size", "[cmdline]")
{
    CHECK(cl::parse_size("0").value_or(1) == 0);
    CHECK(cl::parse_size("1").value_or(0) == 1024);   // no suffix: KiB
    CHECK(cl::parse_size("1b").value_or(0) == 1);
    CHECK(cl::parse_size("1B").value_or(0) == 1);
    CHECK(cl::parse_size("3k").value_or(0) == 3 * 1024);
    CHECK(cl::parse_size("3K").value_or(0) == 3 * 1024);
    CHECK(cl::parse_size("512m").value_or(0) == 512ULL << 20);
    CHECK(cl::parse_size("512M").value_or(0) == 512ULL << 20);
    CHECK(cl::parse_size("2g").value_or(0) == 2ULL << 30);
    CHECK(cl::parse_size("2G").value_or(0) == 2ULL << 30);
    CHECK(cl::parse_size("1t").value_or(0) == 1ULL << 40);
    CHECK(cl::parse_size("1T").value_or(0) == 1ULL << 40);
    CHECK(cl::parse_size("0x10M").value_or(0) == 16ULL << 20);
    CHECK(cl::parse_size("0x1b").value_or(0) == 0x1bULL << 10);   // hex digits are greedy
    CHECK(cl::parse_size("0x1bB").value_or(0) == 0x1bbULL << 10);  // so a hex size cannot end in B
    CHECK(cl::parse_size("18446744073709551615B").value_or(0) == UINT64_MAX);
    CHECK(cl::parse_size("16777215T").value_or(0) == 16777215ULL << 40);
    CHECK(cl::parse_size("18014398509481983").value_or(0) == 18014398509481983ULL << 10);

    CHECK_FALSE(cl::parse_size("16777216T"));            // 2^64: overflow
    CHECK_FALSE(cl::parse_size("18014398509481984"));    // 2^54 KiB
    CHECK_FALSE(cl::parse_size("18446744073709551616B"));
    CHECK_FALSE(cl::parse_size(nullptr));
    CHECK_FALSE(cl::parse_size(""));
    CHECK_FALSE(cl::parse_size("M"));
    CHECK_FALSE(cl::parse_size("1MB"));
    CHECK_FALSE(cl::parse_size("1X"));
    CHECK_FALSE(cl::parse_size("1 M"));
    CHECK_FALSE(cl::parse_size("-1M"));
    CHECK_FALSE(cl::parse_size("0xM"));
    CHECK_FALSE(cl::parse_size("25%"));
}

// ---------------------------------------------------------------------------
// parse_options

TEST_CASE("cmdline::parse_options: nothing given means defaults", "[cmdline]")
{
    cl::Options o = parse_clean("");
    require_defaults(o);
    CHECK(o.console_com1);
    CHECK(o.com1.baud == 115200);
    CHECK(o.com1.io_base == 0x3f8);
    CHECK(o.com1.irq == 4);
    CHECK(o.loglvl == LogLevel::info);
    CHECK(o.x2apic == -1);
}

TEST_CASE("cmdline::parse_options: a typical Xen GRUB line", "[cmdline]")
{
    Warnings w;
    cl::Options o = parse("com1=115200,8n1 console=com1 loglvl=all guest_loglvl=all dom0_mem=1024M,max:1024M", w);
    CHECK(o.console_com1);
    CHECK(o.com1.baud == 115200);
    CHECK(o.com1.data_bits == 8);
    CHECK(o.com1.parity == 'n');
    CHECK(o.com1.stop_bits == 1);
    CHECK(o.loglvl == LogLevel::all);
    CHECK(o.dom0_mem == 1024ULL << 20);
    REQUIRE(w.count() == 2);
    CHECK(w.word(0) == "guest_loglvl=all");
    CHECK(w.word(1) == "dom0_mem=1024M,max:1024M");
}

TEST_CASE("cmdline::parse_options: an image path first is skipped", "[cmdline]")
{
    CHECK(parse_clean("/boot/menhir.elf loglvl=debug").loglvl == LogLevel::debug);
    Warnings w;
    parse("menhir.elf loglvl=debug", w);   // no '/': not a path
    CHECK(w.count() == 1);
    Warnings w2;
    parse("loglvl=debug /boot/menhir.elf", w2);   // only the first word
    CHECK(w2.count() == 1);
    Warnings w3;
    parse("/a=b", w3);   // has '=': an (unknown) option, not a path
    CHECK(w3.count() == 1);
}

TEST_CASE("cmdline::parse_options: unknown options and odd words warn", "[cmdline]")
{
    for (const char* line : {"frobnicate", "frobnicate=1", "=", "=5", "no-", "no-maxcpus", "no-console=com1",
                             "LOGLVL=all", "loglvlx=all", "loglv=all", "no-no-x2apic", "x2apicx", "--"}) {
        INFO(line);
        Warnings w;
        cl::Options o = parse(line, w);
        require_defaults(o);
        REQUIRE(w.count() == 1);
        CHECK(w.word(0) == line);
    }
}

TEST_CASE("cmdline::parse_options: warn may be null, ctx is passed through", "[cmdline]")
{
    cl::Words words;
    REQUIRE(cl::split("bogus loglvl=error x2apic=maybe", words) == SplitError::none);
    cl::Options o = cl::parse_options(words, nullptr, nullptr);
    CHECK(o.loglvl == LogLevel::error);
    CHECK(o.x2apic == -1);

    int calls = 0;
    o = cl::parse_options(
        words, [](void* ctx, const char*, const char*) { ++*static_cast<int*>(ctx); }, &calls);
    CHECK(calls == 2);
}

TEST_CASE("cmdline::parse_options: '-' and '_' are the same in names", "[cmdline]")
{
    CHECK(parse_clean("console-timestamps=boot").console_timestamps);
    CHECK(parse_clean("dom0-mem=1G").dom0_mem == 1ULL << 30);
    CHECK(parse_clean("no_x2apic").x2apic == 0);
    CHECK(parse_clean("no-x2apic").x2apic == 0);
}

TEST_CASE("cmdline::parse_options: apicv is Xen's boolean, on by default", "[cmdline]")
{
    CHECK(cl::Options{}.apicv);
    CHECK_FALSE(parse_clean("apicv=0").apicv);
    CHECK_FALSE(parse_clean("no-apicv").apicv);
    CHECK(parse_clean("apicv=0 apicv").apicv);
    Warnings w;
    CHECK(parse("apicv=0 apicv=maybe", w).apicv == false);   // the last good value stays
    CHECK(w.count() == 1);
}

TEST_CASE("cmdline::parse_options: console", "[cmdline]")
{
    CHECK(parse_clean("console=com1").console_com1);
    CHECK_FALSE(parse_clean("console=none").console_com1);
    CHECK(parse_clean("console=com1,,").console_com1);   // empty entries are harmless

    Warnings w;
    cl::Options o = parse("console=vga,com1", w);
    CHECK(o.console_com1);
    CHECK(w.count() == 1);

    Warnings w2;
    o = parse("console=vga", w2);
    CHECK_FALSE(o.console_com1);   // as in Xen: only the consoles named
    CHECK(w2.count() == 1);

    Warnings w3;
    o = parse("console=com2,com1H,dbgp", w3);
    CHECK_FALSE(o.console_com1);
    CHECK(w3.count() == 3);

    for (const char* bad : {"console", "console=", "console=a,b,c,d,e,f,g,h,com1"}) {
        INFO(bad);
        Warnings wb;
        o = parse(bad, wb);
        CHECK(o.console_com1);   // kept the default
        CHECK(wb.count() == 1);
    }
    Warnings w4;
    o = parse("console=none console=com1,com1,com1,com1,com1,com1,com1,com1", w4);
    CHECK(o.console_com1);   // eight entries is the limit, and the last option wins
    CHECK(w4.count() == 0);
}

TEST_CASE("cmdline::parse_options: com1 accepted forms", "[cmdline]")
{
    cl::Options o = parse_clean("com1=9600");
    CHECK(o.com1.baud == 9600);
    CHECK(o.com1.data_bits == 8);
    CHECK(o.com1.io_base == 0x3f8);

    o = parse_clean("com1=auto");
    CHECK(o.com1.baud == 115200);

    o = parse_clean("com1=57600,7e2");
    CHECK(o.com1.baud == 57600);
    CHECK(o.com1.data_bits == 7);
    CHECK(o.com1.parity == 'e');
    CHECK(o.com1.stop_bits == 2);

    for (char p : {'n', 'o', 'e', 'm', 's'}) {
        std::string line = std::string("com1=115200,5") + p + "1";
        o = parse_clean(line.c_str());
        CHECK(o.com1.parity == p);
        CHECK(o.com1.data_bits == 5);
    }

    o = parse_clean("com1=38400,8n1,0x2f8,3");
    CHECK(o.com1.baud == 38400);
    CHECK(o.com1.io_base == 0x2f8);
    CHECK(o.com1.irq == 3);

    o = parse_clean("com1=115200,,0x2e8");   // empty fields keep their defaults
    CHECK(o.com1.data_bits == 8);
    CHECK(o.com1.io_base == 0x2e8);
    CHECK(o.com1.irq == 4);

    o = parse_clean("com1=auto,8n1,,0");   // IRQ 0: poll
    CHECK(o.com1.irq == 0);
    CHECK(o.com1.io_base == 0x3f8);

    o = parse_clean("com1=1,8n1,760,15");   // decimal I/O base, limits
    CHECK(o.com1.baud == 1);
    CHECK(o.com1.io_base == 760);
    CHECK(o.com1.irq == 15);

    o = parse_clean("com1=115200,8n1,0xffff");
    CHECK(o.com1.io_base == 0xffff);
}

TEST_CASE("cmdline::parse_options: bad com1 values keep the whole default", "[cmdline]")
{
    for (const char* bad : {"com1", "com1=", "com1=0", "com1=115201", "com1=230400", "com1=fast", "com1=115200/115200",
                            "com1=9600,9n1", "com1=9600,4n1", "com1=9600,8x1", "com1=9600,8n3", "com1=9600,8n0",
                            "com1=9600,8n", "com1=9600,8n11", "com1=9600,8N1", "com1=9600,8n1,0",
                            "com1=9600,8n1,0x10000", "com1=9600,8n1,pci", "com1=9600,8n1,amt", "com1=9600,8n1,zz",
                            "com1=9600,8n1,0x2f8,16", "com1=9600,8n1,0x2f8,msi", "com1=9600,8n1,0x2f8,x",
                            "com1=9600,8n1,0x2f8,3,0:1.0", "com1=baud=9600,parity=n", "com1=9600,8n1,io-base=0x2f8",
                            "com1=9600,8n1,0x2f8,99999999999999999999999999999999999"}) {
        INFO(bad);
        Warnings w;
        cl::Options o = parse(bad, w);
        require_defaults(o);   // 9600 in the first field must not leak through
        CHECK(w.count() == 1);
    }

    Warnings w;
    cl::Options o = parse("com1=9600 com1=bogus", w);
    CHECK(o.com1.baud == 9600);   // a bad later value keeps the earlier good one
    CHECK(w.count() == 1);
}

TEST_CASE("cmdline::parse_options: loglvl", "[cmdline]")
{
    CHECK(parse_clean("loglvl=none").loglvl == LogLevel::none);
    CHECK(parse_clean("loglvl=error").loglvl == LogLevel::error);
    CHECK(parse_clean("loglvl=warning").loglvl == LogLevel::warning);
    CHECK(parse_clean("loglvl=info").loglvl == LogLevel::info);
    CHECK(parse_clean("loglvl=debug").loglvl == LogLevel::debug);
    CHECK(parse_clean("loglvl=all").loglvl == LogLevel::all);
    CHECK(parse_clean("loglvl=all loglvl=error").loglvl == LogLevel::error);

    Warnings w;
    CHECK(parse("loglvl=debug/warning", w).loglvl == LogLevel::debug);   // rate limit ignored, said so
    CHECK(w.count() == 1);

    for (const char* bad : {"loglvl", "loglvl=", "loglvl=verbose", "loglvl=ALL", "loglvl=all/bogus",
                            "loglvl=/all", "loglvl=all/", "loglvl=all/all/all", "loglvl=al", "loglvl=alll"}) {
        INFO(bad);
        Warnings wb;
        CHECK(parse(bad, wb).loglvl == LogLevel::info);
        CHECK(wb.count() == 1);
    }
}

TEST_CASE("cmdline::parse_options: console_timestamps", "[cmdline]")
{
    CHECK(parse_clean("console_timestamps=boot").console_timestamps);
    CHECK_FALSE(parse_clean("console_timestamps=boot console_timestamps=none").console_timestamps);
    CHECK(parse_clean("console_timestamps").console_timestamps);   // old boolean form
    CHECK_FALSE(parse_clean("console_timestamps no-console_timestamps").console_timestamps);
    CHECK(parse_clean("console_timestamps=yes").console_timestamps);
    CHECK_FALSE(parse_clean("console_timestamps=boot console_timestamps=off").console_timestamps);

    for (const char* other : {"console_timestamps=date", "console_timestamps=datems", "console_timestamps=raw",
                              "console_timestamps=", "console_timestamps=whatever"}) {
        INFO(other);
        Warnings w;
        CHECK(parse(other, w).console_timestamps);   // treated as boot
        CHECK(w.count() == 1);
    }
    Warnings w;
    CHECK_FALSE(parse("no-console_timestamps=boot", w).console_timestamps);
    CHECK(w.count() == 1);
}

TEST_CASE("cmdline::parse_options: maxcpus", "[cmdline]")
{
    CHECK(parse_clean("maxcpus=4").maxcpus == 4);
    CHECK(parse_clean("maxcpus=0x10").maxcpus == 16);
    CHECK(parse_clean("maxcpus=4 maxcpus=0").maxcpus == 0);
    CHECK(parse_clean("maxcpus=4294967295").maxcpus == 4294967295u);
    for (const char* bad : {"maxcpus", "maxcpus=", "maxcpus=4294967296", "maxcpus=two", "maxcpus=-1", "maxcpus=4k"}) {
        INFO(bad);
        Warnings w;
        CHECK(parse(bad, w).maxcpus == 0);
        CHECK(w.count() == 1);
    }
}

TEST_CASE("cmdline::parse_options: max_domid", "[cmdline]")
{
    CHECK(parse_clean("max_domid=3").max_domid == 3);
    CHECK(parse_clean("max-domid=0x10").max_domid == 16);
    CHECK(parse_clean("max_domid=32751").max_domid == 32751);
    CHECK(parse_clean("max_domid=5 max_domid=2").max_domid == 2);
    for (const char* bad : {"max_domid", "max_domid=", "max_domid=0", "max_domid=32752", "max_domid=65535",
                            "max_domid=three", "max_domid=-1", "no-max_domid"}) {
        INFO(bad);
        Warnings w;
        CHECK(parse(bad, w).max_domid == 0);
        CHECK(w.count() == 1);
    }
    // A bad value keeps the earlier good one.
    Warnings w;
    CHECK(parse("max_domid=4 max_domid=0", w).max_domid == 4);
    CHECK(w.count() == 1);
}

TEST_CASE("cmdline::parse_options: dom0_mem", "[cmdline]")
{
    CHECK(parse_clean("dom0_mem=512M").dom0_mem == 512ULL << 20);
    CHECK(parse_clean("dom0_mem=524288").dom0_mem == 512ULL << 20);   // KiB by default
    CHECK(parse_clean("dom0_mem=1G,2G").dom0_mem == 2ULL << 30);       // the last size wins
    CHECK(parse_clean("dom0_mem=0x40000").dom0_mem == 256ULL << 20);
    CHECK(parse_clean("dom0_mem=0x10M").dom0_mem == 16ULL << 20);
    CHECK(parse_clean("dom0_mem=4096b").dom0_mem == 4096);

    Warnings w;
    CHECK(parse("dom0_mem=512M,max:1G", w).dom0_mem == 512ULL << 20);
    CHECK(w.count() == 1);

    Warnings w2;
    CHECK(parse("dom0_mem=min:128M,max:1G", w2).dom0_mem == 0);
    CHECK(w2.count() == 2);

    for (const char* bad : {"dom0_mem", "dom0_mem=", "dom0_mem=-512M", "dom0_mem=25%", "dom0_mem=1G+25%",
                            "dom0_mem=0", "dom0_mem=lots", "dom0_mem=16777216T", "dom0_mem=1,2,3,4,5",
                            "dom0_mem=123456789012345678901234567890123", "dom0_mem=,"}) {
        INFO(bad);
        Warnings wb;
        CHECK(parse(bad, wb).dom0_mem == 0);
        CHECK(wb.count() >= 1);
    }
    Warnings w3;
    CHECK(parse("dom0_mem=1G dom0_mem=bad", w3).dom0_mem == 1ULL << 30);
}

TEST_CASE("cmdline::parse_options: x2apic is a Xen boolean", "[cmdline]")
{
    for (const char* yes : {"x2apic", "x2apic=1", "x2apic=yes", "x2apic=on", "x2apic=true", "x2apic=enable"}) {
        INFO(yes);
        CHECK(parse_clean(yes).x2apic == 1);
    }
    for (const char* no : {"no-x2apic", "x2apic=0", "x2apic=no", "x2apic=off", "x2apic=false", "x2apic=disable"}) {
        INFO(no);
        CHECK(parse_clean(no).x2apic == 0);
    }
    for (const char* bad : {"x2apic=", "x2apic=2", "x2apic=maybe", "x2apic=YES", "no-x2apic=1", "no-x2apic=0"}) {
        INFO(bad);
        Warnings w;
        CHECK(parse(bad, w).x2apic == -1);
        CHECK(w.count() == 1);
    }
    CHECK(parse_clean("x2apic=1 no-x2apic").x2apic == 0);
}

TEST_CASE("cmdline::parse_options: quoted values reach the option parser", "[cmdline]")
{
    cl::Options o = parse_clean(R"(loglvl="debug" 'com1=9600,8n1' "maxcpus"=2)");
    CHECK(o.loglvl == LogLevel::debug);
    CHECK(o.com1.baud == 9600);
    CHECK(o.maxcpus == 2);
}
