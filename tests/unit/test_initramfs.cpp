// Unit tests for dom0's initramfs reader (dom0/initramfs) and the CRC-32 dom0 prints (dom0/crc32).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dom0/crc32.hpp"
#include "dom0/initramfs.hpp"

using namespace dom0::initramfs;

namespace {

struct File {
    std::string name;
    uint32_t mode;
    std::string data;
};

void pad(std::vector<uint8_t>& out) {
    while (out.size() % 4 != 0) out.push_back(0);
}

// A newc archive as the kernel's gen_init_cpio or `cpio -H newc` writes it.
std::vector<uint8_t> cpio(const std::vector<File>& files, bool trailer = true, const char* magic = "070701") {
    std::vector<uint8_t> out;
    std::vector<File> all = files;
    if (trailer) all.push_back({"TRAILER!!!", 0, ""});
    uint32_t ino = 1;
    for (const auto& f : all) {
        char h[111];
        std::snprintf(h, sizeof h, "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", magic, ino++, f.mode, 0,
                      0, 1, 0, static_cast<unsigned>(f.data.size()), 0, 0, 0, 0,
                      static_cast<unsigned>(f.name.size() + 1), 0);
        out.insert(out.end(), h, h + 110);
        out.insert(out.end(), f.name.begin(), f.name.end());
        out.push_back(0);
        pad(out);
        out.insert(out.end(), f.data.begin(), f.data.end());
        pad(out);
    }
    return out;
}

// The bytes in a buffer of exactly their size (ASan sees any read past the end).
struct Exact {
    explicit Exact(const std::vector<uint8_t>& v) : p(new uint8_t[v.size() ? v.size() : 1]), n(v.size()) {
        std::copy(v.begin(), v.end(), p);
    }
    ~Exact() { delete[] p; }
    Exact(const Exact&) = delete;
    Exact& operator=(const Exact&) = delete;
    uint8_t* p;
    size_t n;
};

std::string text(const Entry& e) { return std::string(reinterpret_cast<const char*>(e.data), e.size); }

const std::vector<File> SAMPLE = {
    {".", 0040755, ""},
    {"etc", 0040755, ""},
    {"etc/xen", 0040755, ""},
    {"etc/xen/demo.cfg", 0100644, "name = \"demo\"\n"},
    {"boot/hello.elf", 0100755, "\x7f" "ELF..."},
    {"boot/link", 0120777, "hello.elf"},
    {"empty", 0100644, ""},
};

}  // namespace

TEST_CASE("initramfs: list and find", "[initramfs]") {
    Exact a{cpio(SAMPLE)};
    REQUIRE(looks_like_cpio(a.p, a.n));
    Archive ar;
    REQUIRE(ar.open(a.p, a.n));
    CHECK(ar.error() == nullptr);
    CHECK(ar.count() == SAMPLE.size());

    uint64_t cursor = 0;
    Entry e;
    size_t i = 0;
    while (ar.next(&cursor, &e)) {
        REQUIRE(i < SAMPLE.size());
        CHECK(std::string(e.name) == SAMPLE[i].name);
        CHECK(e.mode == SAMPLE[i].mode);
        CHECK(text(e) == SAMPLE[i].data);
        ++i;
    }
    CHECK(i == SAMPLE.size());
    CHECK_FALSE(ar.next(&cursor, &e));

    REQUIRE(ar.find("/etc/xen/demo.cfg", &e));
    CHECK(text(e) == "name = \"demo\"\n");
    CHECK(e.type() == Type::regular);
    REQUIRE(ar.find("etc/xen/demo.cfg", &e));
    REQUIRE(ar.find("./etc/xen/demo.cfg", &e));
    REQUIRE(ar.find("/etc/xen", &e));
    CHECK(e.type() == Type::directory);
    REQUIRE(ar.find("/boot/link", &e));
    CHECK(e.type() == Type::symlink);
    REQUIRE(ar.find("/empty", &e));
    CHECK(e.size == 0);
    CHECK_FALSE(ar.find("/etc/xen/demo", &e));
    CHECK_FALSE(ar.find("/etc/xen/demo.cfg/", &e));
    CHECK_FALSE(ar.find("hello.elf", &e));
    CHECK_FALSE(ar.find("TRAILER!!!", &e));
}

TEST_CASE("initramfs: names with ./ and /, duplicates, 070702, data after the trailer", "[initramfs]") {
    std::vector<uint8_t> v = cpio({{"./a", 0100644, "one"}, {"/b", 0100644, "two"}, {"a", 0100644, "three"}},
                                  true, "070702");
    v.insert(v.end(), 512, 0);  // padding, or a second archive, after TRAILER!!!
    Exact a{v};
    Archive ar;
    REQUIRE(ar.open(a.p, a.n));
    Entry e;
    REQUIRE(ar.find("/a", &e));
    CHECK(text(e) == "three");  // the later one wins
    REQUIRE(ar.find("b", &e));
    CHECK(text(e) == "two");
    CHECK(std::string(strip_root("./././x/y")) == "x/y");
    CHECK(std::string(strip_root("//x")) == "x");
    CHECK(std::string(strip_root(".")) == "");
    CHECK(std::string(strip_root(".hidden")) == ".hidden");
}

TEST_CASE("initramfs: malformed archives are refused", "[initramfs]") {
    Archive ar;
    auto refuse = [&](const std::vector<uint8_t>& v, const char* why) {
        Exact a{v};
        INFO(why);
        CHECK_FALSE(ar.open(a.p, a.n));
        REQUIRE(ar.error() != nullptr);
        CHECK(std::string(ar.error()) == why);
        uint64_t cursor = 0;
        Entry e;
        CHECK_FALSE(ar.next(&cursor, &e));
        CHECK_FALSE(ar.find("a", &e));
    };
    const std::vector<uint8_t> good = cpio({{"a", 0100644, "hello"}});

    refuse({}, "truncated header");
    refuse(cpio({{"a", 0100644, "x"}}, false), "truncated header");  // no TRAILER!!!
    std::vector<uint8_t> v = good;
    v[0] = 'x';
    refuse(v, "bad magic (not a cpio newc header)");
    v = good;
    v[5] = '7';  // "070707": the old binary-compatible ASCII format
    refuse(v, "bad magic (not a cpio newc header)");
    v = good;
    v[6 + 8 * 3 + 2] = 'g';  // gid
    refuse(v, "bad hex field in header");
    v = good;
    std::memcpy(&v[6 + 8 * 11], "00000000", 8);  // namesize 0
    refuse(v, "empty name");
    v = good;
    std::memcpy(&v[6 + 8 * 11], "FFFFFFFF", 8);
    refuse(v, "name runs past the end of the archive");
    v = good;
    std::memcpy(&v[6 + 8 * 11], "00000001", 8);  // "a" without its NUL
    refuse(v, "name not NUL-terminated");
    v = cpio({{std::string("a\0b", 3), 0100644, "x"}});
    refuse(v, "NUL inside a name");
    v = good;
    std::memcpy(&v[6 + 8 * 6], "FFFFFFFF", 8);  // filesize
    refuse(v, "file data runs past the end of the archive");
    v = good;
    std::memcpy(&v[6 + 8 * 6], "00000100", 8);  // 256 bytes: past the end
    refuse(v, "file data runs past the end of the archive");

    // Every truncation of a good archive is refused without reading past it.
    const std::vector<uint8_t> big = cpio(SAMPLE);
    for (size_t n = 0; n < big.size(); ++n) {
        Exact a{std::vector<uint8_t>(big.begin(), big.begin() + static_cast<long>(n))};
        CHECK_FALSE(ar.open(a.p, a.n));
    }
    // A bad header after good ones names its offset.
    // Cut the trailer's padding: its name no longer fits.
    Exact a{std::vector<uint8_t>(good.begin(), good.end() - 4)};
    CHECK_FALSE(ar.open(a.p, a.n));
    CHECK(std::string(ar.error()) == "name runs past the end of the archive");
    CHECK(ar.error_offset() == 120);  // header 110 + "a\0" = 112, + "hello" padded to 8: the trailer's header
}

TEST_CASE("initramfs: ELF files are not archives", "[initramfs]") {
    const uint8_t elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    CHECK_FALSE(looks_like_cpio(elf, sizeof elf));
    const uint8_t shortm[] = {'0', '7', '0', '7', '0'};
    CHECK_FALSE(looks_like_cpio(shortm, sizeof shortm));
    const uint8_t m2[] = {'0', '7', '0', '7', '0', '2'};
    CHECK(looks_like_cpio(m2, sizeof m2));
}

TEST_CASE("crc32 as zlib computes it", "[initramfs]") {
    const char* check = "123456789";
    CHECK(dom0::crc32(0, reinterpret_cast<const uint8_t*>(check), 9) == 0xCBF43926u);
    CHECK(dom0::crc32(0, nullptr, 0) == 0);
    // In pieces, the same.
    uint32_t c = dom0::crc32(0, reinterpret_cast<const uint8_t*>(check), 4);
    c = dom0::crc32(c, reinterpret_cast<const uint8_t*>(check) + 4, 5);
    CHECK(c == 0xCBF43926u);
    const std::string fox = "The quick brown fox jumps over the lazy dog";
    CHECK(dom0::crc32(0, reinterpret_cast<const uint8_t*>(fox.data()), fox.size()) == 0x414FA339u);
}
