// The PVH ELF loader against ELF32 and ELF64 images built here byte by
// byte, and against truncated, inconsistent and randomly corrupted ones.
// Every image handed to parse() sits in a heap block of exactly its size,
// so AddressSanitizer reports any read past the end.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "vmm/elf_image.hpp"

namespace elf = menhir::elf;
using elf::Error;

namespace {

constexpr uint16_t ET_EXEC = 2, ET_DYN = 3, ET_REL = 1;
constexpr uint16_t EM_386 = 3, EM_X86_64 = 62, EM_ARM = 40;
constexpr uint32_t PT_LOAD = 1, PT_NOTE = 4, PT_PHDR = 6;
constexpr uint32_t SHT_PROGBITS = 1, SHT_NOTE = 7;
constexpr uint32_t PF_X = 1, PF_W = 2, PF_R = 4;

void put16(std::vector<uint8_t>& v, size_t off, uint16_t x) { std::memcpy(v.data() + off, &x, 2); }
void put32(std::vector<uint8_t>& v, size_t off, uint32_t x) { std::memcpy(v.data() + off, &x, 4); }
void put64(std::vector<uint8_t>& v, size_t off, uint64_t x) { std::memcpy(v.data() + off, &x, 8); }

void append32(std::vector<uint8_t>& v, uint32_t x)
{
    for (int i = 0; i < 4; ++i)
        v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

// One note: namesz, descsz, type, name (with NUL) and desc, each padded
// to `align`.
std::vector<uint8_t> note(const std::string& name, uint32_t type, const std::vector<uint8_t>& desc,
                          size_t align = 4)
{
    std::vector<uint8_t> v;
    append32(v, static_cast<uint32_t>(name.size() + 1));
    append32(v, static_cast<uint32_t>(desc.size()));
    append32(v, type);
    v.insert(v.end(), name.begin(), name.end());
    v.push_back(0);
    while (v.size() % align != 0)
        v.push_back(0);
    v.insert(v.end(), desc.begin(), desc.end());
    while (v.size() % align != 0)
        v.push_back(0);
    return v;
}

std::vector<uint8_t> le32(uint32_t x)
{
    std::vector<uint8_t> v;
    append32(v, x);
    return v;
}

std::vector<uint8_t> le64(uint64_t x)
{
    std::vector<uint8_t> v = le32(static_cast<uint32_t>(x));
    append32(v, static_cast<uint32_t>(x >> 32));
    return v;
}

std::vector<uint8_t> pvh_note(uint32_t entry, size_t align = 4)
{
    return note("Xen", elf::xen_elfnote_phys32_entry, le32(entry), align);
}

// Lays an image out as: ELF header, program headers, blobs (8-aligned),
// section headers (a null section first, as the gABI requires). Without
// sections the file ends with the last blob's last byte, so every
// truncation cuts something the parser needs. Needs at least one blob.
class ElfBuilder {
public:
    explicit ElfBuilder(bool is64) : is64_{is64} {}

    bool is64() const { return is64_; }
    size_t ehdr_size() const { return is64_ ? 64 : 52; }
    size_t phdr_size() const { return is64_ ? 56 : 32; }
    size_t shdr_size() const { return is64_ ? 64 : 40; }

    uint16_t machine = EM_X86_64;
    uint16_t type = ET_EXEC;
    uint64_t entry = 0xffffffff81000000ull;

    size_t blob(std::vector<uint8_t> bytes)
    {
        blobs_.push_back(std::move(bytes));
        return blobs_.size() - 1;
    }
    // A program header whose file range is blob `b` (offset filled in by build()).
    void segment(uint32_t ptype, size_t b, uint64_t paddr, uint64_t memsz, uint32_t flags, uint64_t align = 8)
    {
        phdrs_.push_back({ptype, flags, b, paddr, memsz, align});
    }
    void load(size_t b, uint64_t paddr, uint64_t memsz, uint32_t flags = PF_R | PF_X)
    {
        segment(PT_LOAD, b, paddr, memsz, flags, 0x1000);
    }
    void note_segment(size_t b, uint64_t align = 4) { segment(PT_NOTE, b, 0, 0, PF_R, align); }
    void section(uint32_t stype, size_t b, uint64_t align = 4) { shdrs_.push_back({stype, b, align}); }

    size_t phdr_offset(size_t i) const { return ehdr_size() + i * phdr_size(); }
    size_t blob_offset(size_t b) const
    {
        size_t off = align8(ehdr_size() + phdrs_.size() * phdr_size());
        for (size_t i = 0; i < b; ++i)
            off = align8(off + blobs_[i].size());
        return off;
    }
    size_t shdr_offset() const { return align8(blob_offset(blobs_.size())); }

    std::vector<uint8_t> build() const
    {
        const bool with_sections = !shdrs_.empty();
        const size_t total = with_sections ? shdr_offset() + (shdrs_.size() + 1) * shdr_size()
                                           : blob_offset(blobs_.size() - 1) + blobs_.back().size();
        std::vector<uint8_t> f(total, 0);
        f[0] = 0x7f;
        f[1] = 'E';
        f[2] = 'L';
        f[3] = 'F';
        f[4] = is64_ ? 2 : 1;
        f[5] = 1;   // little-endian
        f[6] = 1;   // EV_CURRENT
        put16(f, 16, type);
        put16(f, 18, machine);
        put32(f, 20, 1);
        const uint64_t phoff = phdrs_.empty() ? 0 : ehdr_size();
        const uint64_t shoff = with_sections ? shdr_offset() : 0;
        const auto shnum = static_cast<uint16_t>(with_sections ? shdrs_.size() + 1 : 0);
        if (is64_) {
            put64(f, 24, entry);
            put64(f, 32, phoff);
            put64(f, 40, shoff);
            put16(f, 52, 64);
            put16(f, 54, 56);
            put16(f, 56, static_cast<uint16_t>(phdrs_.size()));
            put16(f, 58, 64);
            put16(f, 60, shnum);
        } else {
            put32(f, 24, static_cast<uint32_t>(entry));
            put32(f, 28, static_cast<uint32_t>(phoff));
            put32(f, 32, static_cast<uint32_t>(shoff));
            put16(f, 40, 52);
            put16(f, 42, 32);
            put16(f, 44, static_cast<uint16_t>(phdrs_.size()));
            put16(f, 46, 40);
            put16(f, 48, shnum);
        }
        for (size_t i = 0; i < phdrs_.size(); ++i) {
            const Ph& p = phdrs_[i];
            const size_t o = phdr_offset(i);
            const uint64_t off = blob_offset(p.blob);
            const uint64_t filesz = blobs_[p.blob].size();
            if (is64_) {
                put32(f, o, p.type);
                put32(f, o + 4, p.flags);
                put64(f, o + 8, off);
                put64(f, o + 16, p.paddr + 0xffffffff80000000ull);   // vaddr: irrelevant to PVH
                put64(f, o + 24, p.paddr);
                put64(f, o + 32, filesz);
                put64(f, o + 40, p.memsz);
                put64(f, o + 48, p.align);
            } else {
                put32(f, o, p.type);
                put32(f, o + 4, static_cast<uint32_t>(off));
                put32(f, o + 8, static_cast<uint32_t>(p.paddr + 0xc0000000u));
                put32(f, o + 12, static_cast<uint32_t>(p.paddr));
                put32(f, o + 16, static_cast<uint32_t>(filesz));
                put32(f, o + 20, static_cast<uint32_t>(p.memsz));
                put32(f, o + 24, p.flags);
                put32(f, o + 28, static_cast<uint32_t>(p.align));
            }
        }
        for (size_t b = 0; b < blobs_.size(); ++b) {
            if (!blobs_[b].empty())
                std::memcpy(f.data() + blob_offset(b), blobs_[b].data(), blobs_[b].size());
        }
        for (size_t i = 0; i < shdrs_.size(); ++i) {
            const Sh& s = shdrs_[i];
            const size_t o = shdr_offset() + (i + 1) * shdr_size();
            const uint64_t off = blob_offset(s.blob);
            const uint64_t size = blobs_[s.blob].size();
            put32(f, o, 1);   // sh_name: not read
            put32(f, o + 4, s.type);
            if (is64_) {
                put64(f, o + 24, off);
                put64(f, o + 32, size);
                put64(f, o + 48, s.align);
            } else {
                put32(f, o + 16, static_cast<uint32_t>(off));
                put32(f, o + 20, static_cast<uint32_t>(size));
                put32(f, o + 32, static_cast<uint32_t>(s.align));
            }
        }
        return f;
    }

    // Offsets of program header fields, for patching a built image.
    size_t ph_offset_field(size_t i) const { return phdr_offset(i) + (is64_ ? 8 : 4); }
    size_t ph_paddr_field(size_t i) const { return phdr_offset(i) + (is64_ ? 24 : 12); }
    size_t ph_filesz_field(size_t i) const { return phdr_offset(i) + (is64_ ? 32 : 16); }
    size_t ph_memsz_field(size_t i) const { return phdr_offset(i) + (is64_ ? 40 : 20); }
    size_t phoff_field() const { return is64_ ? 32 : 28; }
    size_t shoff_field() const { return is64_ ? 40 : 32; }
    size_t phentsize_field() const { return is64_ ? 54 : 42; }
    size_t phnum_field() const { return is64_ ? 56 : 44; }
    size_t shnum_field() const { return is64_ ? 60 : 48; }
    size_t sh_offset_field(size_t i) const { return shdr_offset() + (i + 1) * shdr_size() + (is64_ ? 24 : 16); }

    void put_word(std::vector<uint8_t>& f, size_t off, uint64_t x) const
    {
        if (is64_)
            put64(f, off, x);
        else
            put32(f, off, static_cast<uint32_t>(x));
    }

private:
    struct Ph {
        uint32_t type;
        uint32_t flags;
        size_t blob;
        uint64_t paddr;
        uint64_t memsz;
        uint64_t align;
    };
    struct Sh {
        uint32_t type;
        size_t blob;
        uint64_t align;
    };
    static size_t align8(size_t x) { return (x + 7) & ~size_t{7}; }

    bool is64_;
    std::vector<std::vector<uint8_t>> blobs_;
    std::vector<Ph> phdrs_;
    std::vector<Sh> shdrs_;
};

std::vector<uint8_t> text_bytes() { return {0xf4, 0xeb, 0xfd, 0x90, 0x11, 0x22, 0x33, 0x44, 0x55}; }
std::vector<uint8_t> data_bytes() { return {1, 2, 3, 4, 5, 6, 7}; }

// A typical PVH kernel: text at 1 MiB, data + bss above it, the Xen note
// in its own PT_NOTE (as Linux and the test guests link it).
ElfBuilder typical(bool is64, bool note_in_segment = true, bool note_in_section = false)
{
    ElfBuilder b{is64};
    const size_t text = b.blob(text_bytes());
    const size_t data = b.blob(data_bytes());
    const size_t n = b.blob(pvh_note(0x100040));
    b.load(text, 0x100000, text_bytes().size());
    b.load(data, 0x200000, 0x3000, PF_R | PF_W);
    if (note_in_segment)
        b.note_segment(n);
    if (note_in_section) {
        b.section(SHT_PROGBITS, text);
        b.section(SHT_NOTE, n);
    }
    return b;
}

// parse() over a heap copy of exactly the given bytes.
Error parse_exact(const std::vector<uint8_t>& bytes, elf::Image& img)
{
    std::unique_ptr<uint8_t[]> copy{new uint8_t[bytes.size() == 0 ? 1 : bytes.size()]};
    if (!bytes.empty())
        std::memcpy(copy.get(), bytes.data(), bytes.size());
    return elf::parse(copy.get(), bytes.size(), img);
}

Error parse_exact(const std::vector<uint8_t>& bytes)
{
    elf::Image img;
    return parse_exact(bytes, img);
}

// Guest memory for load(): a map of written bytes, with a limit above
// which nothing is backed.
struct FakeGuest {
    std::map<uint64_t, uint8_t> bytes;
    uint64_t backed_end = 1ull << 32;
    int calls = 0;
    int fail_at_call = -1;

    static bool write(void* ctx, uint64_t gpa, const void* src, size_t len)
    {
        auto* g = static_cast<FakeGuest*>(ctx);
        if (g->calls++ == g->fail_at_call)
            return false;
        if (gpa > g->backed_end || len > g->backed_end - gpa)
            return false;
        for (size_t i = 0; i < len; ++i)
            g->bytes[gpa + i] = src != nullptr ? static_cast<const uint8_t*>(src)[i] : 0;
        return true;
    }
};

} // namespace

TEST_CASE("elf: ELF64 PVH kernel with the note in a PT_NOTE segment", "[elf]")
{
    const ElfBuilder b = typical(true);
    const std::vector<uint8_t> f = b.build();
    elf::Image img;
    REQUIRE(parse_exact(f, img) == Error::none);
    CHECK(img.is64);
    CHECK(img.machine == EM_X86_64);
    CHECK(img.entry == 0xffffffff81000000ull);
    CHECK(img.pvh_entry == 0x100040);
    REQUIRE(img.segment_count == 2);
    CHECK(img.segments[0].paddr == 0x100000);
    CHECK(img.segments[0].offset == b.blob_offset(0));
    CHECK(img.segments[0].file_size == text_bytes().size());
    CHECK(img.segments[0].mem_size == text_bytes().size());
    CHECK(img.segments[0].flags == (PF_R | PF_X));
    CHECK(img.segments[1].paddr == 0x200000);
    CHECK(img.segments[1].file_size == data_bytes().size());
    CHECK(img.segments[1].mem_size == 0x3000);
    CHECK(img.segments[1].flags == (PF_R | PF_W));
    CHECK(img.lowest == 0x100000);
    CHECK(img.highest == 0x203000);
}

TEST_CASE("elf: ELF32 PVH kernels, EM_386 and EM_X86_64", "[elf]")
{
    for (uint16_t machine : {EM_386, EM_X86_64}) {
        ElfBuilder b = typical(false);
        b.machine = machine;
        b.entry = 0xc0100000;
        elf::Image img;
        REQUIRE(parse_exact(b.build(), img) == Error::none);
        CHECK_FALSE(img.is64);
        CHECK(img.machine == machine);
        CHECK(img.entry == 0xc0100000);
        CHECK(img.pvh_entry == 0x100040);
        REQUIRE(img.segment_count == 2);
        CHECK(img.segments[0].offset == b.blob_offset(0));
        CHECK(img.segments[1].mem_size == 0x3000);
        CHECK(img.segments[1].flags == (PF_R | PF_W));
        CHECK(img.lowest == 0x100000);
        CHECK(img.highest == 0x203000);
    }
}

TEST_CASE("elf: the note found only in an SHT_NOTE section", "[elf]")
{
    for (bool is64 : {true, false}) {
        elf::Image img;
        REQUIRE(parse_exact(typical(is64, false, true).build(), img) == Error::none);
        CHECK(img.pvh_entry == 0x100040);
        // Both: the segment wins, the answer is the same.
        REQUIRE(parse_exact(typical(is64, true, true).build(), img) == Error::none);
        CHECK(img.pvh_entry == 0x100040);
        // Neither.
        CHECK(parse_exact(typical(is64, false, false).build(), img) == Error::no_pvh_entry);
        CHECK(img.segment_count == 0);   // reset on error
    }
}

TEST_CASE("elf: the section table is only a fallback", "[elf]")
{
    // With the note in a PT_NOTE, a section table pointing outside the file
    // is never looked at.
    ElfBuilder b = typical(true, true, true);
    std::vector<uint8_t> f = b.build();
    put64(f, b.shoff_field(), 0xfffffffffffff000ull);
    CHECK(parse_exact(f) == Error::none);
    // Without it the broken table is reported.
    ElfBuilder c = typical(true, false, true);
    f = c.build();
    put64(f, c.shoff_field(), 0xfffffffffffff000ull);
    CHECK(parse_exact(f) == Error::bad_note);
    // An SHT_NOTE section outside the file.
    f = c.build();
    put64(f, c.sh_offset_field(1), f.size() - 2);
    CHECK(parse_exact(f) == Error::bad_note);
    // e_shnum == 0: no sections, so no note.
    f = c.build();
    put16(f, c.shnum_field(), 0);
    CHECK(parse_exact(f) == Error::no_pvh_entry);
}

TEST_CASE("elf: note variants", "[elf]")
{
    SECTION("8-byte descriptor: low 32 bits")
    {
        ElfBuilder b{true};
        const size_t t = b.blob(text_bytes());
        const size_t n = b.blob(note("Xen", 18, le64(0xdeadbeef00123456ull)));
        b.load(t, 0x100000, 0x1000);
        b.note_segment(n);
        elf::Image img;
        REQUIRE(parse_exact(b.build(), img) == Error::none);
        CHECK(img.pvh_entry == 0x00123456);
    }
    SECTION("other notes first, several note segments, 8-aligned notes")
    {
        ElfBuilder b{true};
        const size_t t = b.blob(text_bytes());
        std::vector<uint8_t> gnu = note("GNU", 3, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20});
        std::vector<uint8_t> n1 = note("GNU", 5, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 8);
        std::vector<uint8_t> n2 = gnu;
        for (auto& x : {note("Xen", 6, {'l', 'i', 'n', 'u', 'x', 0}), note("Xenon", 18, le32(1)),
                        note("Xe", 18, le32(2)), pvh_note(0x1234), pvh_note(0x5678)})
            n2.insert(n2.end(), x.begin(), x.end());
        const size_t b1 = b.blob(n1);
        const size_t b2 = b.blob(n2);
        b.load(t, 0x100000, 0x1000);
        b.note_segment(b1, 8);
        b.note_segment(b2, 4);
        elf::Image img;
        REQUIRE(parse_exact(b.build(), img) == Error::none);
        CHECK(img.pvh_entry == 0x1234);   // the first match
    }
    SECTION("last note with its trailing padding cut off")
    {
        ElfBuilder b{false};
        const size_t t = b.blob(text_bytes());
        std::vector<uint8_t> n = note("GNU", 1, {9, 9});   // desc padded from 2 to 4
        std::vector<uint8_t> x = pvh_note(0x4000);
        x.insert(x.end(), n.begin(), n.end() - 2);
        const size_t nb = b.blob(x);
        b.load(t, 0x100000, 0x1000);
        b.note_segment(nb);
        elf::Image img;
        REQUIRE(parse_exact(b.build(), img) == Error::none);
        CHECK(img.pvh_entry == 0x4000);
    }
    SECTION("a last note cut off right after its name")
    {
        for (uint32_t descsz : {0u, 4u}) {
            ElfBuilder b{true};
            const size_t t = b.blob(text_bytes());
            std::vector<uint8_t> cut = note("AB", 1, {});   // namesz 3, padded to 4
            cut.pop_back();
            put32(cut, 4, descsz);
            const size_t c = b.blob(cut);
            const size_t n = b.blob(pvh_note(0x2000));
            b.load(t, 0x100000, 0x1000);
            b.note_segment(c);
            b.note_segment(n);
            elf::Image img;
            // With no descriptor only padding is missing; with one, the descriptor is.
            CHECK(parse_exact(b.build(), img) == (descsz == 0 ? Error::none : Error::bad_note));
            CHECK(img.pvh_entry == (descsz == 0 ? 0x2000u : 0u));
        }
    }
    SECTION("wrong descriptor size")
    {
        for (size_t size : {0u, 2u, 6u, 12u}) {
            ElfBuilder b{true};
            const size_t t = b.blob(text_bytes());
            const size_t nb = b.blob(note("Xen", 18, std::vector<uint8_t>(size, 0x11)));
            b.load(t, 0x100000, 0x1000);
            b.note_segment(nb);
            CHECK(parse_exact(b.build()) == Error::bad_note);
        }
    }
}

TEST_CASE("elf: hostile note sizes", "[elf]")
{
    for (bool is64 : {true, false}) {
        for (bool in_section : {false, true}) {
            const ElfBuilder b = typical(is64, !in_section, in_section);
            const size_t note_off = b.blob_offset(2);
            std::vector<uint8_t> f = b.build();
            // namesz wrapping the 32/64-bit sums.
            for (uint32_t namesz : {0xffffffffu, 0xfffffffdu, 0x80000000u, 0x100u}) {
                std::vector<uint8_t> g = f;
                put32(g, note_off, namesz);
                CHECK(parse_exact(g) == Error::bad_note);
            }
            for (uint32_t descsz : {0xffffffffu, 0xfffffffdu, 0x80000000u, 0x100u}) {
                std::vector<uint8_t> g = f;
                put32(g, note_off + 4, descsz);
                CHECK(parse_exact(g) == Error::bad_note);
            }
            // A non-matching note whose descsz runs past the area.
            std::vector<uint8_t> g = f;
            put32(g, note_off + 8, 17);
            put32(g, note_off + 4, 0xfffffff0u);
            CHECK(parse_exact(g) == Error::bad_note);
        }
    }
    // A PT_NOTE whose range leaves the file, or wraps.
    const ElfBuilder b = typical(true);
    for (uint64_t off : {uint64_t{0xfffffffffffffff8ull}, uint64_t{1} << 40}) {
        std::vector<uint8_t> f = b.build();
        put64(f, b.ph_offset_field(2), off);
        CHECK(parse_exact(f) == Error::bad_note);
    }
    std::vector<uint8_t> f = b.build();
    put64(f, b.ph_filesz_field(2), f.size());
    CHECK(parse_exact(f) == Error::bad_note);
}

TEST_CASE("elf: truncated at every length", "[elf]")
{
    for (bool is64 : {true, false}) {
        for (bool in_section : {false, true}) {
            const std::vector<uint8_t> f = typical(is64, !in_section, in_section).build();
            REQUIRE(parse_exact(f) == Error::none);
            for (size_t len = 0; len < f.size(); ++len) {
                elf::Image img;
                img.segment_count = 3;
                const std::vector<uint8_t> cut(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(len));
                INFO("is64 " << is64 << " section " << in_section << " length " << len);
                CHECK(parse_exact(cut, img) != Error::none);
                CHECK(img.segment_count == 0);
                CHECK(img.pvh_entry == 0);
            }
        }
    }
    CHECK(elf::parse(nullptr, 100, *std::make_unique<elf::Image>()) == Error::too_small);
}

TEST_CASE("elf: identification and header checks", "[elf]")
{
    const ElfBuilder b64 = typical(true);
    const std::vector<uint8_t> good = b64.build();
    auto patched = [&](size_t off, uint8_t v) {
        std::vector<uint8_t> f = good;
        f[off] = v;
        return parse_exact(f);
    };
    CHECK(patched(0, 0x7e) == Error::bad_magic);
    CHECK(patched(3, 'f') == Error::bad_magic);
    CHECK(patched(4, 0) == Error::bad_class);
    CHECK(patched(4, 3) == Error::bad_class);
    CHECK(patched(5, 2) == Error::bad_endianness);
    CHECK(patched(5, 0) == Error::bad_endianness);
    CHECK(patched(6, 0) == Error::bad_version);
    std::vector<uint8_t> f = good;
    put32(f, 20, 2);
    CHECK(parse_exact(f) == Error::bad_version);

    ElfBuilder b = typical(true);
    b.machine = EM_386;   // EM_386 is ELF32 only
    CHECK(parse_exact(b.build()) == Error::bad_machine);
    b.machine = EM_ARM;
    CHECK(parse_exact(b.build()) == Error::bad_machine);
    ElfBuilder b32 = typical(false);
    b32.machine = EM_ARM;
    CHECK(parse_exact(b32.build()) == Error::bad_machine);

    for (uint16_t t : {ET_DYN, ET_REL, uint16_t{0}, uint16_t{4}}) {
        ElfBuilder c = typical(true);
        c.type = t;
        CHECK(parse_exact(c.build()) == Error::bad_type);
    }

    // A 32-bit header claims 52 bytes; ELF64 needs 64.
    f = good;
    f.resize(60);
    CHECK(parse_exact(f) == Error::too_small);
    CHECK(parse_exact(std::vector<uint8_t>(good.begin(), good.begin() + 15)) == Error::too_small);
}

TEST_CASE("elf: hostile program header tables", "[elf]")
{
    for (bool is64 : {true, false}) {
        const ElfBuilder b = typical(is64);
        const std::vector<uint8_t> good = b.build();
        INFO("is64 " << is64);

        std::vector<uint8_t> f = good;
        b.put_word(f, b.phoff_field(), f.size());   // past the end
        CHECK(parse_exact(f) == Error::bad_program_headers);
        f = good;
        b.put_word(f, b.phoff_field(), f.size() - 8);   // starts inside, runs out
        CHECK(parse_exact(f) == Error::bad_program_headers);
        f = good;
        b.put_word(f, b.phoff_field(), is64 ? 0xfffffffffffffff0ull : 0xfffffff0u);
        CHECK(parse_exact(f) == Error::bad_program_headers);

        for (uint16_t phnum : {uint16_t{0xffff}, uint16_t{0xfff0}, uint16_t{100}}) {
            f = good;
            put16(f, b.phnum_field(), phnum);
            CHECK(parse_exact(f) == Error::bad_program_headers);
        }
        f = good;
        put16(f, b.phnum_field(), 0);
        CHECK(parse_exact(f) == Error::no_loadable_segment);

        f = good;
        put16(f, b.phentsize_field(), static_cast<uint16_t>(b.phdr_size() - 1));
        CHECK(parse_exact(f) == Error::bad_program_headers);
        f = good;
        put16(f, b.phentsize_field(), 0);
        CHECK(parse_exact(f) == Error::bad_program_headers);
    }
}

TEST_CASE("elf: hostile segments", "[elf]")
{
    for (bool is64 : {true, false}) {
        const ElfBuilder b = typical(is64);
        const std::vector<uint8_t> good = b.build();
        const uint64_t max = is64 ? ~uint64_t{0} : 0xffffffffu;
        INFO("is64 " << is64);

        // Offset + size wrapping, or just past the end.
        std::vector<uint8_t> f = good;
        b.put_word(f, b.ph_offset_field(1), max - 3);
        CHECK(parse_exact(f) == Error::segment_outside_file);
        f = good;
        b.put_word(f, b.ph_offset_field(1), f.size() - data_bytes().size() + 1);
        CHECK(parse_exact(f) == Error::segment_outside_file);
        f = good;
        b.put_word(f, b.ph_filesz_field(1), f.size());
        b.put_word(f, b.ph_memsz_field(1), max);
        CHECK(parse_exact(f) == Error::segment_outside_file);
        // Exactly to the end of the file is fine.
        f = good;
        b.put_word(f, b.ph_offset_field(1), f.size() - data_bytes().size());
        CHECK(parse_exact(f) == Error::none);

        // p_filesz > p_memsz.
        f = good;
        b.put_word(f, b.ph_memsz_field(0), text_bytes().size() - 1);
        CHECK(parse_exact(f) == Error::segment_overflow);

        // paddr + memsz wrapping (only possible for ELF64: 32-bit fields
        // cannot reach 2^64).
        if (is64) {
            f = good;
            b.put_word(f, b.ph_paddr_field(1), max - 0x1000);
            CHECK(parse_exact(f) == Error::segment_overflow);
            // Ending exactly at 2^64 is refused too: `highest` could not hold it.
            f = good;
            b.put_word(f, b.ph_paddr_field(1), max - 0x3000 + 1);
            CHECK(parse_exact(f) == Error::segment_overflow);
            f = good;
            b.put_word(f, b.ph_paddr_field(1), max - 0x3000);
            elf::Image top;
            REQUIRE(parse_exact(f, top) == Error::none);
            CHECK(top.highest == max);
        } else {
            f = good;
            b.put_word(f, b.ph_paddr_field(1), 0xfffff000u);
            elf::Image img;
            REQUIRE(parse_exact(f, img) == Error::none);
            CHECK(img.highest == 0x100002000ull);
        }

        // A bss-only segment may point anywhere in the file (or past it).
        f = good;
        b.put_word(f, b.ph_filesz_field(1), 0);
        b.put_word(f, b.ph_offset_field(1), max);
        elf::Image img;
        REQUIRE(parse_exact(f, img) == Error::none);
        CHECK(img.segments[1].file_size == 0);
        CHECK(img.segments[1].mem_size == 0x3000);
    }
}

TEST_CASE("elf: segment counts", "[elf]")
{
    auto with_loads = [](bool is64, size_t loads, uint64_t memsz) {
        ElfBuilder b{is64};
        const size_t t = b.blob(text_bytes());
        const size_t n = b.blob(pvh_note(0x100000));
        b.segment(PT_PHDR, t, 0, 0, PF_R);
        for (size_t i = 0; i < loads; ++i)
            b.segment(PT_LOAD, t, 0x100000 + i * 0x1000, memsz, PF_R);
        b.note_segment(n);
        return b.build();
    };
    for (bool is64 : {true, false}) {
        elf::Image img;
        REQUIRE(parse_exact(with_loads(is64, elf::max_segments, 0x1000), img) == Error::none);
        CHECK(img.segment_count == elf::max_segments);
        CHECK(img.lowest == 0x100000);
        CHECK(img.highest == 0x100000 + elf::max_segments * 0x1000);
        CHECK(parse_exact(with_loads(is64, elf::max_segments + 1, 0x1000)) == Error::too_many_segments);
        CHECK(parse_exact(with_loads(is64, 0, 0x1000)) == Error::no_loadable_segment);
        // Loads with p_memsz == 0 (and p_filesz == 0) are skipped, however many.
        ElfBuilder b{is64};
        const size_t e = b.blob({});
        const size_t n = b.blob(pvh_note(0x100000));
        for (size_t i = 0; i < 40; ++i)
            b.segment(PT_LOAD, e, 0x100000, 0, PF_R);
        b.note_segment(n);
        CHECK(parse_exact(b.build()) == Error::no_loadable_segment);
    }
}

TEST_CASE("elf: lowest and highest over unordered segments", "[elf]")
{
    ElfBuilder b{true};
    const size_t t = b.blob(text_bytes());
    const size_t n = b.blob(pvh_note(0x100000));
    b.load(t, 0x400000, 0x1000);
    b.load(t, 0x100000, 0x800);
    b.load(t, 0x300000, 0x200000);
    b.note_segment(n);
    elf::Image img;
    REQUIRE(parse_exact(b.build(), img) == Error::none);
    CHECK(img.lowest == 0x100000);
    CHECK(img.highest == 0x500000);
}

TEST_CASE("elf: load copies file bytes and zero-fills the rest", "[elf]")
{
    for (bool is64 : {true, false}) {
        const std::vector<uint8_t> f = typical(is64).build();
        elf::Image img;
        REQUIRE(parse_exact(f, img) == Error::none);
        FakeGuest g;
        REQUIRE(elf::load(img, f.data(), FakeGuest::write, &g));
        const std::vector<uint8_t> text = text_bytes();
        const std::vector<uint8_t> data = data_bytes();
        CHECK(g.bytes.size() == text.size() + 0x3000);
        for (size_t i = 0; i < text.size(); ++i)
            CHECK(g.bytes.at(0x100000 + i) == text[i]);
        for (size_t i = 0; i < data.size(); ++i)
            CHECK(g.bytes.at(0x200000 + i) == data[i]);
        bool zeros = true;
        for (uint64_t a = 0x200000 + data.size(); a < 0x203000; ++a)
            zeros = zeros && g.bytes.at(a) == 0;
        CHECK(zeros);
        CHECK(g.calls == 3);   // text; data; bss

        // Any failed write fails the load.
        for (int fail = 0; fail < 3; ++fail) {
            FakeGuest h;
            h.fail_at_call = fail;
            CHECK_FALSE(elf::load(img, f.data(), FakeGuest::write, &h));
            CHECK(h.calls == fail + 1);
        }
        // Memory not backed.
        FakeGuest small;
        small.backed_end = 0x201000;
        CHECK_FALSE(elf::load(img, f.data(), FakeGuest::write, &small));
    }
}

TEST_CASE("elf: random corruption never reads out of bounds", "[elf]")
{
    std::mt19937_64 rng{12345};
    for (bool is64 : {true, false}) {
        for (bool in_section : {false, true}) {
            const std::vector<uint8_t> good = typical(is64, !in_section, in_section).build();
            for (int round = 0; round < 4000; ++round) {
                std::vector<uint8_t> f = good;
                const int flips = 1 + static_cast<int>(rng() % 6);
                for (int i = 0; i < flips; ++i) {
                    const size_t at = rng() % f.size();
                    switch (rng() % 3) {
                    case 0: f[at] = static_cast<uint8_t>(rng()); break;
                    case 1: f[at] = 0xff; break;
                    default: f[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
                    }
                }
                if (rng() % 4 == 0)
                    f.resize(rng() % (f.size() + 1));
                elf::Image img;
                if (parse_exact(f, img) != Error::none)
                    continue;
                // Whatever passed must satisfy the documented invariants.
                REQUIRE(img.segment_count >= 1);
                REQUIRE(img.segment_count <= elf::max_segments);
                for (size_t i = 0; i < img.segment_count; ++i) {
                    const elf::Segment& s = img.segments[i];
                    REQUIRE(s.file_size <= s.mem_size);
                    REQUIRE(s.mem_size != 0);
                    if (s.file_size != 0) {
                        REQUIRE(s.offset <= f.size());
                        REQUIRE(s.file_size <= f.size() - s.offset);
                    }
                    REQUIRE(s.paddr + s.mem_size >= s.paddr);
                    REQUIRE(s.paddr >= img.lowest);
                    REQUIRE(s.paddr + s.mem_size <= img.highest);
                }
            }
        }
    }
}

TEST_CASE("elf: every error has a message", "[elf]")
{
    for (int e = 0; e <= static_cast<int>(Error::bad_note); ++e) {
        const char* s = elf::to_string(static_cast<Error>(e));
        REQUIRE(s != nullptr);
        CHECK(std::strlen(s) > 0);
    }
    CHECK(std::string{elf::to_string(Error::no_pvh_entry)}.find("XEN_ELFNOTE_PHYS32_ENTRY") != std::string::npos);
}
