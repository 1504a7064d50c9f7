// The multiboot2 parser against well-formed information laid out as GRUB
// does, and against truncated, inconsistent and random tag lists. Each
// structure is copied into a heap block of exactly `available` bytes, so
// AddressSanitizer reports any read past what the parser was allowed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "boot/multiboot2.hpp"

namespace mb2 = menhir::mb2;
using mb2::ParseError;

namespace {

// Lays out tags the way the spec (3.6) and GRUB do: 8-byte header, each tag
// {type, size} with size excluding padding, the next tag at the next 8-byte
// boundary, and total_size filled in at the end.
class Builder {
public:
    Builder() { bytes_.resize(8); }

    Builder& raw(uint32_t type, uint32_t size_field, const std::vector<uint8_t>& payload)
    {
        align();
        put32(type);
        put32(size_field);
        bytes_.insert(bytes_.end(), payload.begin(), payload.end());
        return *this;
    }
    Builder& tag(uint32_t type, const std::vector<uint8_t>& payload)
    {
        return raw(type, static_cast<uint32_t>(8 + payload.size()), payload);
    }
    Builder& string_tag(uint32_t type, const std::string& s) { return tag(type, with_nul(s)); }
    Builder& cmdline(const std::string& s) { return string_tag(1, s); }
    Builder& loader_name(const std::string& s) { return string_tag(2, s); }
    Builder& module(uint32_t start, uint32_t end, const std::string& s)
    {
        std::vector<uint8_t> p;
        append32(p, start);
        append32(p, end);
        auto str = with_nul(s);
        p.insert(p.end(), str.begin(), str.end());
        return tag(3, p);
    }
    Builder& meminfo(uint32_t lower, uint32_t upper)
    {
        std::vector<uint8_t> p;
        append32(p, lower);
        append32(p, upper);
        return tag(4, p);
    }
    struct Entry {
        uint64_t base;
        uint64_t length;
        uint32_t type;
    };
    Builder& mmap(const std::vector<Entry>& entries, uint32_t entry_size = 24, uint32_t version = 0)
    {
        std::vector<uint8_t> p;
        append32(p, entry_size);
        append32(p, version);
        for (const Entry& e : entries) {
            size_t start = p.size();
            append64(p, e.base);
            append64(p, e.length);
            append32(p, e.type);
            append32(p, 0);
            p.resize(start + entry_size, 0xee);   // later entry versions append fields
        }
        return tag(6, p);
    }
    Builder& end() { return tag(0, {}); }
    Builder& pad_to_8()
    {
        align();
        return *this;
    }

    // total_size defaults to the bytes laid out so far.
    std::vector<uint8_t> bytes(uint32_t total_override = 0) const
    {
        std::vector<uint8_t> b = bytes_;
        uint32_t total = total_override != 0 ? total_override : static_cast<uint32_t>(b.size());
        std::memcpy(b.data(), &total, 4);
        return b;
    }
    size_t offset() const { return bytes_.size(); }

    static std::vector<uint8_t> with_nul(const std::string& s)
    {
        std::vector<uint8_t> v(s.begin(), s.end());
        v.push_back(0);
        return v;
    }
    static void append32(std::vector<uint8_t>& v, uint32_t x)
    {
        for (int i = 0; i < 4; ++i) {
            v.push_back(static_cast<uint8_t>(x >> (8 * i)));
        }
    }
    static void append64(std::vector<uint8_t>& v, uint64_t x)
    {
        append32(v, static_cast<uint32_t>(x));
        append32(v, static_cast<uint32_t>(x >> 32));
    }

private:
    void put32(uint32_t x) { append32(bytes_, x); }
    void align()
    {
        while (bytes_.size() % 8 != 0) {
            bytes_.push_back(0);
        }
    }
    std::vector<uint8_t> bytes_;
};

// Exactly `available` readable bytes, 8-byte aligned (operator new[]
// returns memory aligned for any fundamental type).
struct Blob {
    std::unique_ptr<uint8_t[]> mem;
    size_t available;

    explicit Blob(const std::vector<uint8_t>& b, size_t avail = SIZE_MAX)
        : mem{new uint8_t[std::max<size_t>(1, avail == SIZE_MAX ? b.size() : avail)]},
          available{avail == SIZE_MAX ? b.size() : avail}
    {
        REQUIRE(reinterpret_cast<uintptr_t>(mem.get()) % 8 == 0);
        std::memcpy(mem.get(), b.data(), std::min(available, b.size()));
    }
    const uint8_t* data() const { return mem.get(); }
};

// BootInfo is 4 KiB; a static keeps it off the test stack and lets tests
// check that a failed parse leaves nothing from an earlier one.
mb2::BootInfo& info_out()
{
    static mb2::BootInfo out;
    return out;
}

// The parsed BootInfo points into the structure, so the last one is kept
// alive until the next parse.
ParseError parse(const std::vector<uint8_t>& bytes, size_t available = SIZE_MAX)
{
    static std::unique_ptr<Blob> last;
    last = std::make_unique<Blob>(bytes, available);
    return mb2::parse(last->data(), last->available, info_out());
}

void require_empty(const mb2::BootInfo& b)
{
    CHECK(b.total_size == 0);
    CHECK(b.cmdline == nullptr);
    CHECK(b.bootloader_name == nullptr);
    CHECK(b.module_count == 0);
    CHECK(b.region_count == 0);
    CHECK_FALSE(b.has_basic_meminfo);
    CHECK(b.mem_lower_kib == 0);
    CHECK(b.mem_upper_kib == 0);
    CHECK(b.rsdp_old == nullptr);
    CHECK(b.rsdp_old_len == 0);
    CHECK(b.rsdp_new == nullptr);
    CHECK(b.rsdp_new_len == 0);
}

// Parses a good structure first, so an error must actively clear it.
ParseError parse_after_good(const std::vector<uint8_t>& bytes, size_t available = SIZE_MAX)
{
    Blob good{Builder{}.cmdline("x").module(0x1000, 0x2000, "m").meminfo(1, 2).end().bytes()};
    REQUIRE(mb2::parse(good.data(), good.available, info_out()) == ParseError::none);
    REQUIRE(info_out().module_count == 1);
    ParseError e = parse(bytes, available);
    if (e != ParseError::none) {
        require_empty(info_out());
    }
    return e;
}

std::vector<uint8_t> rsdp_v1()
{
    std::vector<uint8_t> r = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};
    r.resize(20, 0x11);
    return r;
}

std::vector<uint8_t> rsdp_v2()
{
    std::vector<uint8_t> r = rsdp_v1();
    r.resize(36, 0x22);
    return r;
}

} // namespace

TEST_CASE("mb2: a hand-assembled minimal structure", "[multiboot2]")
{
    // Written out byte by byte so the Builder is checked too.
    alignas(8) const uint8_t raw[] = {
        56, 0, 0, 0, 0, 0, 0, 0,                   // total_size 56, reserved
        1, 0, 0, 0, 11, 0, 0, 0, 'a', 'b', 0,      // cmdline "ab": size 11...
        0, 0, 0, 0, 0,                             // ...padded to 16
        3, 0, 0, 0, 17, 0, 0, 0,                   // module: size 17 (empty string)
        0x00, 0x10, 0, 0, 0x00, 0x20, 0, 0,        // mod_start 0x1000, mod_end 0x2000
        0,                                         // the string's NUL...
        0, 0, 0, 0, 0, 0, 0,                       // ...padded to 24
        0, 0, 0, 0, 8, 0, 0, 0,                    // end tag
    };
    static_assert(sizeof raw == 56);
    std::vector<uint8_t> bytes(raw, raw + sizeof raw);
    REQUIRE(parse(bytes) == ParseError::none);
    const auto& b = info_out();
    CHECK(b.total_size == 56);
    CHECK(std::string(b.cmdline) == "ab");
    REQUIRE(b.module_count == 1);
    CHECK(b.modules[0].start.value() == 0x1000);
    CHECK(b.modules[0].end.value() == 0x2000);
    CHECK(std::string(b.modules[0].cmdline).empty());

    Builder builder;
    builder.cmdline("ab").module(0x1000, 0x2000, "").end();
    CHECK(builder.bytes() == bytes);
}

TEST_CASE("mb2: a structure laid out as GRUB 2 on BIOS does", "[multiboot2]")
{
    // Tags and sizes as GRUB's multiboot2 loader produces them for a
    // relocatable image with two modules under QEMU: the load base address
    // tag (size 12), strings with odd lengths, the boot device (size 20),
    // an EGA text framebuffer, APM, both ACPI copies and the end tag.
    std::vector<uint8_t> base_addr;
    Builder::append32(base_addr, 0x200000);
    std::vector<uint8_t> bootdev;
    for (uint32_t v : {0x80u, 0xffffffffu, 0xffffffffu}) {
        Builder::append32(bootdev, v);
    }
    std::vector<uint8_t> framebuffer;
    Builder::append64(framebuffer, 0xb8000);
    for (uint32_t v : {160u, 80u, 25u}) {
        Builder::append32(framebuffer, v);
    }
    framebuffer.insert(framebuffer.end(), {16, 2, 0, 0});   // bpp, type EGA text, reserved
    std::vector<uint8_t> apm(20, 0x5a);

    Builder builder;
    builder.tag(21, base_addr)
        .cmdline("loglvl=all console=com1 com1=115200,8n1")
        .loader_name("GRUB 2.06-13+deb12u1")
        .module(0x0010b000, 0x0062f1a0, "/boot/dom0.elf console=hvc0")
        .module(0x00630000, 0x00a31400, "/boot/dom0.cpio")
        .meminfo(639, 523136)
        .tag(5, bootdev)
        .mmap({{0x0, 0x9fc00, 1},
               {0x9fc00, 0x400, 2},
               {0xf0000, 0x10000, 2},
               {0x100000, 0x1fee0000, 1},
               {0x1ffe0000, 0x20000, 2},
               {0xfffc0000, 0x40000, 2},
               {0xfd00000000, 0x300000000, 2}})
        .tag(8, framebuffer)
        .tag(10, apm)
        .tag(14, rsdp_v1())
        .tag(15, rsdp_v2())
        .end();
    auto bytes = builder.bytes();
    REQUIRE(bytes.size() % 8 == 0);

    Blob blob{bytes};
    mb2::BootInfo& b = info_out();
    REQUIRE(mb2::parse(blob.data(), blob.available, b) == ParseError::none);
    CHECK(b.total_size == bytes.size());
    CHECK(std::string(b.cmdline) == "loglvl=all console=com1 com1=115200,8n1");
    CHECK(std::string(b.bootloader_name) == "GRUB 2.06-13+deb12u1");

    REQUIRE(b.module_count == 2);
    CHECK(b.modules[0].start == menhir::HostPhys{0x0010b000});
    CHECK(b.modules[0].end == menhir::HostPhys{0x0062f1a0});
    CHECK(std::string(b.modules[0].cmdline) == "/boot/dom0.elf console=hvc0");
    CHECK(b.modules[1].start == menhir::HostPhys{0x00630000});
    CHECK(std::string(b.modules[1].cmdline) == "/boot/dom0.cpio");

    CHECK(b.has_basic_meminfo);
    CHECK(b.mem_lower_kib == 639);
    CHECK(b.mem_upper_kib == 523136);

    REQUIRE(b.region_count == 7);
    CHECK(b.regions[0].base == 0);
    CHECK(b.regions[0].length == 0x9fc00);
    CHECK(b.regions[0].type == mb2::MemType::available);
    CHECK(b.regions[3].base == 0x100000);
    CHECK(b.regions[3].length == 0x1fee0000);
    CHECK(b.regions[6].base == 0xfd00000000);
    CHECK(b.regions[6].type == mb2::MemType::reserved);

    REQUIRE(b.rsdp_old != nullptr);
    CHECK(b.rsdp_old_len == 20);
    CHECK(std::memcmp(b.rsdp_old, "RSD PTR ", 8) == 0);
    REQUIRE(b.rsdp_new != nullptr);
    CHECK(b.rsdp_new_len == 36);

    // Every pointer handed out lies inside the structure.
    auto inside = [&](const void* p, size_t len) {
        auto* q = static_cast<const uint8_t*>(p);
        return q >= blob.data() && q + len <= blob.data() + bytes.size();
    };
    CHECK(inside(b.cmdline, std::strlen(b.cmdline) + 1));
    CHECK(inside(b.bootloader_name, std::strlen(b.bootloader_name) + 1));
    CHECK(inside(b.modules[1].cmdline, std::strlen(b.modules[1].cmdline) + 1));
    CHECK(inside(b.rsdp_old, b.rsdp_old_len));
    CHECK(inside(b.rsdp_new, b.rsdp_new_len));

    SECTION("a reserved field that is not zero is ignored, as spec 3.6 (Basic tags structure) says")
    {
        auto copy = bytes;
        copy[4] = 0xff;
        CHECK(parse(copy) == ParseError::none);
    }
    SECTION("bytes after the end tag are ignored")
    {
        auto copy = bytes;
        copy.insert(copy.end(), 32, 0xcc);
        CHECK(parse(copy) == ParseError::none);
        CHECK(info_out().module_count == 2);
    }
    SECTION("available may exceed total_size")
    {
        auto copy = bytes;
        copy.resize(copy.size() + 100, 0xcc);
        CHECK(parse(copy, copy.size()) == ParseError::none);
        CHECK(info_out().total_size == bytes.size());
    }
    SECTION("every truncation of available is refused without reading past it")
    {
        for (size_t avail = 0; avail < bytes.size(); ++avail) {
            INFO("available " << avail);
            ParseError e = parse_after_good(bytes, avail);
            CHECK((e == ParseError::too_small || e == ParseError::total_size_exceeds_available));
        }
    }
    SECTION("every smaller total_size is refused or stops cleanly")
    {
        for (uint32_t total = 1; total < bytes.size(); ++total) {
            INFO("total_size " << total);
            ParseError e = parse_after_good(builder.bytes(total));
            CHECK(e != ParseError::none);
        }
    }
}

TEST_CASE("mb2: the structure itself", "[multiboot2]")
{
    mb2::BootInfo& out = info_out();
    CHECK(mb2::parse(nullptr, 4096, out) == ParseError::null_info);
    require_empty(out);

    auto good = Builder{}.end().bytes();
    REQUIRE(good.size() == 16);
    CHECK(parse(good) == ParseError::none);   // the smallest valid structure
    CHECK(out.total_size == 16);
    CHECK(out.cmdline == nullptr);
    CHECK(out.module_count == 0);

    alignas(8) uint8_t buf[40] = {};
    std::memcpy(buf + 8, good.data(), good.size());
    for (size_t off = 1; off < 8; ++off) {
        INFO("offset " << off);
        CHECK(mb2::parse(buf + off, 16, out) == ParseError::misaligned);
    }
    CHECK(mb2::parse(buf + 8, 16, out) == ParseError::none);

    for (size_t avail = 0; avail < 8; ++avail) {
        CHECK(parse(good, avail) == ParseError::too_small);
    }
    for (uint32_t total : {0u, 1u, 8u, 15u}) {
        INFO("total " << total);
        auto b = Builder{}.end().bytes();
        std::memcpy(b.data(), &total, 4);
        CHECK(parse_after_good(b) == ParseError::too_small);
    }
    CHECK(parse_after_good(Builder{}.end().bytes(24), 16) == ParseError::total_size_exceeds_available);
    CHECK(parse_after_good(Builder{}.end().bytes(0xffffffff)) == ParseError::total_size_exceeds_available);
}

TEST_CASE("mb2: tag headers", "[multiboot2]")
{
    SECTION("a size below 8 cannot even cover the header (and would loop forever)")
    {
        for (uint32_t size : {0u, 1u, 4u, 7u}) {
            INFO("size " << size);
            CHECK(parse_after_good(Builder{}.raw(1, size, {}).pad_to_8().end().bytes()) == ParseError::tag_too_small);
            CHECK(parse_after_good(Builder{}.raw(0, size, {}).pad_to_8().bytes()) == ParseError::tag_too_small);
        }
    }
    SECTION("a tag running past total_size")
    {
        // cmdline claims 40 bytes, but total_size ends 16 bytes in.
        auto b = Builder{}.raw(1, 40, Builder::with_nul("abcdefg")).pad_to_8().end().bytes();
        CHECK(b.size() == 32);
        CHECK(parse_after_good(b) == ParseError::tag_overflows);
        // One byte too long.
        b = Builder{}.raw(1, 25, Builder::with_nul("abcdefghijklmnopq")).bytes();
        CHECK(b.size() == 8 + 8 + 18);
        b.resize(40);
        uint32_t total = 32;
        std::memcpy(b.data(), &total, 4);
        CHECK(parse_after_good(b) == ParseError::tag_overflows);
        // Huge sizes must not wrap any arithmetic.
        for (uint32_t size : {0xffffffffu, 0xfffffff8u, 0x80000000u}) {
            CHECK(parse_after_good(Builder{}.raw(1, size, {0}).pad_to_8().end().bytes()) == ParseError::tag_overflows);
            CHECK(parse_after_good(Builder{}.raw(0, size, {}).bytes()) == ParseError::tag_overflows);
        }
    }
    SECTION("no end tag")
    {
        CHECK(parse_after_good(Builder{}.cmdline("abc").pad_to_8().bytes()) == ParseError::missing_end_tag);
        // total_size cuts the end tag in half.
        auto b = Builder{}.cmdline("abc").end().bytes();
        CHECK(parse_after_good(b, b.size()) == ParseError::none);
        CHECK(parse_after_good(Builder{}.cmdline("abc").end().bytes(static_cast<uint32_t>(b.size() - 4))) ==
              ParseError::missing_end_tag);
        // total_size ends inside the last tag's padding.
        auto c = Builder{}.cmdline("abc").bytes();   // 8 + 12 bytes, no padding yet
        CHECK(parse_after_good(c) == ParseError::missing_end_tag);
        // Only unknown tags.
        CHECK(parse_after_good(Builder{}.tag(77, {1, 2, 3, 4, 5, 6, 7, 8}).bytes()) == ParseError::missing_end_tag);
    }
    SECTION("end tag larger than 8 is still the end")
    {
        CHECK(parse(Builder{}.cmdline("a").tag(0, {0, 0, 0, 0, 0, 0, 0, 0}).bytes()) == ParseError::none);
        CHECK(std::string(info_out().cmdline) == "a");
    }
    SECTION("unknown tags are skipped, whatever their size")
    {
        auto b = Builder{}
                     .tag(0xdeadbeef, {1, 2, 3})
                     .tag(7, {})
                     .tag(9, std::vector<uint8_t>(100, 9))
                     .cmdline("after")
                     .tag(16, {})
                     .end()
                     .bytes();
        REQUIRE(parse(b) == ParseError::none);
        CHECK(std::string(info_out().cmdline) == "after");
    }
    SECTION("tags after the end tag are not read")
    {
        auto b = Builder{}.end().cmdline("late").raw(3, 2, {}).bytes();
        REQUIRE(parse(b) == ParseError::none);
        CHECK(info_out().cmdline == nullptr);
    }
}

TEST_CASE("mb2: strings", "[multiboot2]")
{
    CHECK(parse(Builder{}.cmdline("").end().bytes()) == ParseError::none);
    CHECK(std::string(info_out().cmdline).empty());
    CHECK(parse(Builder{}.loader_name("GRUB").cmdline("one").cmdline("two").end().bytes()) == ParseError::none);
    CHECK(std::string(info_out().cmdline) == "two");   // a later tag wins
    CHECK(std::string(info_out().bootloader_name) == "GRUB");

    // No NUL inside the tag, even if the padding after it holds one.
    CHECK(parse_after_good(Builder{}.tag(1, {'a', 'b', 'c'}).end().bytes()) == ParseError::string_not_terminated);
    CHECK(parse_after_good(Builder{}.tag(2, {'a', 'b', 'c'}).end().bytes()) == ParseError::string_not_terminated);
    CHECK(parse_after_good(Builder{}.tag(1, {}).end().bytes()) == ParseError::string_not_terminated);
    CHECK(parse_after_good(Builder{}.tag(2, {}).end().bytes()) == ParseError::string_not_terminated);
    // The NUL just past the declared size does not count.
    auto b = Builder{}.tag(1, {'a', 'b', 'c', 0}).end().bytes();
    b[12] = 11;   // size 11: the NUL is outside
    CHECK(parse_after_good(b) == ParseError::string_not_terminated);
    // An embedded NUL ends the string early; that is fine.
    CHECK(parse(Builder{}.tag(1, {'a', 0, 'b', 'c'}).end().bytes()) == ParseError::none);
    CHECK(std::string(info_out().cmdline) == "a");
}

TEST_CASE("mb2: modules", "[multiboot2]")
{
    CHECK(parse(Builder{}.module(0x5000, 0x5000, "empty").end().bytes()) == ParseError::none);
    CHECK(info_out().module_count == 1);   // a zero-length module is allowed
    CHECK(parse(Builder{}.module(0, 0xffffffff, "").end().bytes()) == ParseError::none);
    CHECK(info_out().modules[0].end.value() == 0xffffffff);

    CHECK(parse_after_good(Builder{}.module(0x5000, 0x4fff, "x").end().bytes()) == ParseError::bad_module_range);

    // Shorter than mod_start + mod_end.
    CHECK(parse_after_good(Builder{}.tag(3, {}).end().bytes()) == ParseError::tag_too_small);
    CHECK(parse_after_good(Builder{}.tag(3, {0, 0x10, 0, 0}).end().bytes()) == ParseError::tag_too_small);
    CHECK(parse_after_good(Builder{}.tag(3, {0, 0x10, 0, 0, 0, 0x20, 0}).end().bytes()) == ParseError::tag_too_small);
    // Both addresses but no string at all, or no NUL.
    CHECK(parse_after_good(Builder{}.tag(3, {0, 0x10, 0, 0, 0, 0x20, 0, 0}).end().bytes()) ==
          ParseError::string_not_terminated);
    CHECK(parse_after_good(Builder{}.tag(3, {0, 0x10, 0, 0, 0, 0x20, 0, 0, 'x'}).end().bytes()) ==
          ParseError::string_not_terminated);

    Builder full;
    for (size_t i = 0; i < mb2::max_modules; ++i) {
        full.module(static_cast<uint32_t>(i * 0x1000), static_cast<uint32_t>(i * 0x1000 + 0x800),
                    "m" + std::to_string(i));
    }
    Builder over = full;
    REQUIRE(parse(full.end().bytes()) == ParseError::none);
    CHECK(info_out().module_count == mb2::max_modules);
    CHECK(std::string(info_out().modules[mb2::max_modules - 1].cmdline) == "m" + std::to_string(mb2::max_modules - 1));
    CHECK(parse_after_good(over.module(0x100000, 0x100001, "one too many").end().bytes()) ==
          ParseError::too_many_modules);
}

TEST_CASE("mb2: basic meminfo", "[multiboot2]")
{
    CHECK(parse(Builder{}.meminfo(640, 0x7fc00).end().bytes()) == ParseError::none);
    CHECK(info_out().has_basic_meminfo);
    CHECK(info_out().mem_lower_kib == 640);
    CHECK(info_out().mem_upper_kib == 0x7fc00);
    CHECK(parse_after_good(Builder{}.tag(4, {}).end().bytes()) == ParseError::bad_meminfo_size);
    CHECK(parse_after_good(Builder{}.tag(4, {1, 2, 3, 4}).end().bytes()) == ParseError::bad_meminfo_size);
    CHECK(parse_after_good(Builder{}.tag(4, {1, 2, 3, 4, 5, 6, 7}).end().bytes()) == ParseError::bad_meminfo_size);
    CHECK(parse(Builder{}.tag(4, std::vector<uint8_t>(12, 1)).end().bytes()) == ParseError::none);   // longer is fine
}

TEST_CASE("mb2: memory map", "[multiboot2]")
{
    SECTION("entry sizes")
    {
        for (uint32_t size : {0u, 8u, 16u, 20u, 23u, 25u, 28u, 31u}) {
            INFO("entry_size " << size);
            auto b = Builder{}.mmap({}, 24).end().bytes();
            std::memcpy(b.data() + 16, &size, 4);
            CHECK(parse_after_good(b) == ParseError::bad_mmap_entry_size);
        }
        // Larger multiples of 8 are future versions with more fields.
        REQUIRE(parse(Builder{}.mmap({{0x1000, 0x2000, 1}, {0x3000, 0x4000, 3}}, 32, 1).end().bytes()) ==
                ParseError::none);
        REQUIRE(info_out().region_count == 2);
        CHECK(info_out().regions[1].base == 0x3000);
        CHECK(info_out().regions[1].length == 0x4000);
        CHECK(info_out().regions[1].type == mb2::MemType::acpi_reclaimable);
    }
    SECTION("the entries must fill the tag exactly")
    {
        auto b = Builder{}.mmap({{0, 0x1000, 1}}).bytes();
        b.push_back(0);   // one stray byte inside the tag
        uint32_t size = 8 + 8 + 24 + 1;
        std::memcpy(b.data() + 12, &size, 4);
        b.resize(b.size() + 7, 0);
        auto end = Builder{}.end().bytes();
        b.insert(b.end(), end.begin() + 8, end.end());
        uint32_t total = static_cast<uint32_t>(b.size());
        std::memcpy(b.data(), &total, 4);
        CHECK(parse_after_good(b) == ParseError::bad_mmap_entry_size);
    }
    SECTION("too short for entry_size and entry_version")
    {
        CHECK(parse_after_good(Builder{}.tag(6, {}).end().bytes()) == ParseError::tag_too_small);
        CHECK(parse_after_good(Builder{}.tag(6, {24, 0, 0, 0}).end().bytes()) == ParseError::tag_too_small);
    }
    SECTION("an empty map")
    {
        CHECK(parse(Builder{}.mmap({}).end().bytes()) == ParseError::none);
        CHECK(info_out().region_count == 0);
    }
    SECTION("limits, across several tags")
    {
        std::vector<Builder::Entry> half(mb2::max_regions / 2);
        for (size_t i = 0; i < half.size(); ++i) {
            half[i] = {i * 0x1000, 0x1000, 1};
        }
        REQUIRE(parse(Builder{}.mmap(half).mmap(half).end().bytes()) == ParseError::none);
        CHECK(info_out().region_count == mb2::max_regions);
        CHECK(parse_after_good(Builder{}.mmap(half).mmap(half).mmap({{0, 1, 1}}).end().bytes()) ==
              ParseError::too_many_regions);
        std::vector<Builder::Entry> too_many(mb2::max_regions + 1, Builder::Entry{0, 1, 1});
        CHECK(parse_after_good(Builder{}.mmap(too_many).end().bytes()) == ParseError::too_many_regions);
    }
    SECTION("ranges that would wrap are clamped")
    {
        REQUIRE(parse(Builder{}.mmap({{0xfffffffffffff000, 0x2000, 2}, {0, UINT64_MAX, 2}, {5, 0, 1}}).end().bytes()) ==
                ParseError::none);
        const auto& r = info_out().regions;
        CHECK(r[0].length == 0xfff);
        CHECK(r[0].base + r[0].length == UINT64_MAX);
        CHECK(r[1].length == UINT64_MAX);
        CHECK(r[2].length == 0);   // zero-length entries are passed on as they are
    }
    SECTION("unknown types are kept raw and read as reserved")
    {
        REQUIRE(parse(Builder{}.mmap({{0, 0x1000, 0}, {0x1000, 0x1000, 6}, {0x2000, 0x1000, 0xffffffff}}).end().bytes()) ==
                ParseError::none);
        CHECK(static_cast<uint32_t>(info_out().regions[1].type) == 6);
        CHECK(std::string(mb2::to_string(info_out().regions[0].type)) == "reserved");
        CHECK(std::string(mb2::to_string(info_out().regions[1].type)) == "reserved");
        CHECK(std::string(mb2::to_string(info_out().regions[2].type)) == "reserved");
    }
}

TEST_CASE("mb2: ACPI RSDP tags", "[multiboot2]")
{
    REQUIRE(parse(Builder{}.tag(14, rsdp_v1()).end().bytes()) == ParseError::none);
    CHECK(info_out().rsdp_old_len == 20);
    CHECK(info_out().rsdp_new == nullptr);
    REQUIRE(parse(Builder{}.tag(15, rsdp_v2()).end().bytes()) == ParseError::none);
    CHECK(info_out().rsdp_new_len == 36);
    CHECK(info_out().rsdp_old == nullptr);
    // Empty payloads are passed on; acpi.cpp judges RSDP contents.
    REQUIRE(parse(Builder{}.tag(14, {}).end().bytes()) == ParseError::none);
    CHECK(info_out().rsdp_old != nullptr);
    CHECK(info_out().rsdp_old_len == 0);
}

TEST_CASE("mb2: to_string", "[multiboot2]")
{
    CHECK(std::string(mb2::to_string(mb2::MemType::available)) == "available");
    CHECK(std::string(mb2::to_string(mb2::MemType::reserved)) == "reserved");
    CHECK(std::string(mb2::to_string(mb2::MemType::acpi_reclaimable)) == "ACPI data");
    CHECK(std::string(mb2::to_string(mb2::MemType::nvs)) == "ACPI NVS");
    CHECK(std::string(mb2::to_string(mb2::MemType::bad)) == "bad RAM");
    CHECK(std::string(mb2::to_string(static_cast<mb2::MemType>(0))) == "reserved");

    std::vector<std::string> names;
    for (int e = static_cast<int>(ParseError::none); e <= static_cast<int>(ParseError::bad_meminfo_size); ++e) {
        names.emplace_back(mb2::to_string(static_cast<ParseError>(e)));
    }
    CHECK(names.size() == 15);
    for (size_t i = 0; i < names.size(); ++i) {
        CHECK(names[i] != "unknown error");
        for (size_t j = i + 1; j < names.size(); ++j) {
            CHECK(names[i] != names[j]);
        }
    }
    CHECK(std::string(mb2::to_string(static_cast<ParseError>(1000))) == "unknown error");
}

TEST_CASE("mb2: random corruption never reads out of bounds", "[multiboot2]")
{
    auto base = Builder{}
                    .cmdline("loglvl=all")
                    .loader_name("GRUB")
                    .module(0x100000, 0x200000, "/dom0")
                    .meminfo(639, 1000)
                    .mmap({{0, 0x9fc00, 1}, {0x100000, 0x100000, 1}})
                    .tag(14, rsdp_v1())
                    .end()
                    .bytes();
    std::mt19937 rng{12345};
    size_t ok = 0;
    for (int round = 0; round < 20000; ++round) {
        auto b = base;
        int mutations = 1 + static_cast<int>(rng() % 4);
        for (int m = 0; m < mutations; ++m) {
            size_t at = rng() % b.size();
            switch (rng() % 4) {
            case 0: b[at] = static_cast<uint8_t>(rng()); break;
            case 1: b[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
            case 2: {   // a plausible but wrong size or type field
                uint32_t v = rng() % 64;
                if ((at & ~size_t{3}) + 4 <= b.size()) {
                    std::memcpy(b.data() + (at & ~size_t{3}), &v, 4);
                }
                break;
            }
            default: b.resize(8 + rng() % (b.size() - 7)); break;
            }
        }
        size_t avail = b.size();
        if (rng() % 4 == 0) {
            avail = rng() % (b.size() + 1);
        }
        Blob blob{b, avail};
        mb2::BootInfo& out = info_out();
        ParseError e = mb2::parse(blob.data(), blob.available, out);
        if (e == ParseError::none) {
            ++ok;
            // Whatever was accepted stays inside the structure.
            const uint8_t* lo = blob.data();
            const uint8_t* hi = blob.data() + out.total_size;
            REQUIRE(out.total_size <= blob.available);
            auto in = [&](const void* p) {
                auto* q = static_cast<const uint8_t*>(p);
                return p == nullptr || (q >= lo && q < hi);
            };
            REQUIRE(in(out.cmdline));
            REQUIRE(in(out.bootloader_name));
            for (size_t i = 0; i < out.module_count; ++i) {
                REQUIRE(in(out.modules[i].cmdline));
                REQUIRE(out.modules[i].start <= out.modules[i].end);
            }
            for (size_t i = 0; i < out.region_count; ++i) {
                REQUIRE(out.regions[i].length <= UINT64_MAX - out.regions[i].base);
            }
            REQUIRE(in(out.rsdp_old));
        } else {
            require_empty(out);
        }
    }
    CHECK(ok > 0);   // some mutations land in harmless places
}
