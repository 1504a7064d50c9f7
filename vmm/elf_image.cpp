#include "vmm/elf_image.hpp"
#include "kernel/lib/bytes.hpp"

namespace menhir::elf {
namespace {

using bytes::load16;
using bytes::load32;
using bytes::load64;


// Fields are read with memcpy into host integers, which is right only
// because both the host and every accepted image are little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ELF fields are read as host integers");
// load() hands 64-bit ELF sizes to a size_t parameter.
static_assert(sizeof(size_t) >= sizeof(uint64_t), "64-bit size_t expected");

// gABI "ELF Identification": indexes into e_ident and their values.
constexpr size_t ei_nident = 16;
constexpr size_t ei_class = 4;
constexpr size_t ei_data = 5;
constexpr size_t ei_version = 6;
constexpr uint8_t elfclass32 = 1;
constexpr uint8_t elfclass64 = 2;
constexpr uint8_t elfdata2lsb = 1;
constexpr uint32_t ev_current = 1;

constexpr uint16_t et_exec = 2;
constexpr uint16_t em_386 = 3;
constexpr uint16_t em_x86_64 = 62;
constexpr uint16_t pn_xnum = 0xffff;   // gABI: real e_phnum is in section 0's sh_info
constexpr uint32_t pt_load = 1;
constexpr uint32_t pt_note = 4;
constexpr uint32_t sht_note = 7;

// Sizes of Elf32_Ehdr/Elf64_Ehdr, Elf32_Phdr/Elf64_Phdr, Elf32_Shdr/Elf64_Shdr.
constexpr size_t ehdr32_size = 52;
constexpr size_t ehdr64_size = 64;
constexpr size_t phdr32_size = 32;
constexpr size_t phdr64_size = 56;
constexpr size_t shdr32_size = 40;
constexpr size_t shdr64_size = 64;

// gABI "Note Section": namesz, descsz, type, then name and desc, each
// padded to the note alignment.
constexpr uint64_t note_header_size = 12;

// The fields of the class-specific headers that parsing needs, widened.
struct Header {
    uint16_t type;
    uint16_t machine;
    uint32_t version;
    uint64_t entry;
    uint64_t phoff;
    uint64_t shoff;
    uint16_t phentsize;
    uint16_t phnum;
    uint16_t shentsize;
    uint16_t shnum;
};

struct ProgramHeader {
    uint32_t type;
    uint32_t flags;
    uint64_t offset;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
};

struct SectionHeader {
    uint32_t type;
    uint64_t offset;
    uint64_t size;
    uint64_t addralign;
};




// [offset, offset + len) lies inside a file of `size` bytes; written so
// that nothing can wrap.
bool in_file(uint64_t offset, uint64_t len, size_t size)
{
    return offset <= size && len <= size - offset;
}

// Caller has checked that the file holds the whole class-specific header.
Header read_header(const uint8_t* f, bool is64)
{
    Header h{};
    h.type = load16(f + 16);
    h.machine = load16(f + 18);
    h.version = load32(f + 20);
    if (is64) {
        h.entry = load64(f + 24);
        h.phoff = load64(f + 32);
        h.shoff = load64(f + 40);
        h.phentsize = load16(f + 54);
        h.phnum = load16(f + 56);
        h.shentsize = load16(f + 58);
        h.shnum = load16(f + 60);
    } else {
        h.entry = load32(f + 24);
        h.phoff = load32(f + 28);
        h.shoff = load32(f + 32);
        h.phentsize = load16(f + 42);
        h.phnum = load16(f + 44);
        h.shentsize = load16(f + 46);
        h.shnum = load16(f + 48);
    }
    return h;
}

// The two classes order the program header fields differently (Elf64
// moves p_flags up next to p_type for alignment).
ProgramHeader read_program_header(const uint8_t* p, bool is64)
{
    ProgramHeader ph{};
    ph.type = load32(p);
    if (is64) {
        ph.flags = load32(p + 4);
        ph.offset = load64(p + 8);
        ph.paddr = load64(p + 24);
        ph.filesz = load64(p + 32);
        ph.memsz = load64(p + 40);
        ph.align = load64(p + 48);
    } else {
        ph.offset = load32(p + 4);
        ph.paddr = load32(p + 12);
        ph.filesz = load32(p + 16);
        ph.memsz = load32(p + 20);
        ph.flags = load32(p + 24);
        ph.align = load32(p + 28);
    }
    return ph;
}

SectionHeader read_section_header(const uint8_t* p, bool is64)
{
    SectionHeader sh{};
    sh.type = load32(p + 4);
    if (is64) {
        sh.offset = load64(p + 24);
        sh.size = load64(p + 32);
        sh.addralign = load64(p + 48);
    } else {
        sh.offset = load32(p + 16);
        sh.size = load32(p + 20);
        sh.addralign = load32(p + 32);
    }
    return sh;
}

// Notes are padded to 4 bytes in both classes as Xen and Linux emit them;
// an 8-aligned note segment or section (as for GNU property notes) pads
// to 8, which is how readelf and the linkers read it too.
uint64_t note_alignment(uint64_t container_align)
{
    return container_align == 8 ? 8 : 4;
}

// Bytes of padding that bring offset `x` to a multiple of `align`.
uint64_t padding(uint64_t x, uint64_t align)
{
    return (align - (x & (align - 1))) & (align - 1);
}

// Looks through one note area `p[0, len)` for the PVH entry note. The
// descriptor and the next note start at the next multiple of the alignment
// counted from the start of the area, as the linkers lay them out. A name
// or descriptor running past the area is bad_note; a last note may lack
// its trailing padding, and fewer than 12 bytes left over at the end are
// taken as padding.
Error scan_notes(const uint8_t* p, uint64_t len, uint64_t align, bool& found, uint32_t& entry)
{
    uint64_t off = 0;
    while (len - off >= note_header_size) {
        const uint32_t namesz = load32(p + off);
        const uint32_t descsz = load32(p + off + 4);
        const uint32_t type = load32(p + off + 8);
        const uint64_t name_off = off + note_header_size;   // <= len by the loop condition
        if (namesz > len - name_off) {
            return Error::bad_note;
        }
        const uint64_t name_end = name_off + namesz;   // <= len
        const uint64_t name_pad = padding(name_end, align);
        if (name_pad > len - name_end) {
            // Only the padding after the name is cut off: fine for a last
            // note with no descriptor, broken otherwise.
            return descsz == 0 ? Error::none : Error::bad_note;
        }
        const uint64_t desc_off = name_end + name_pad;   // <= len
        if (descsz > len - desc_off) {
            return Error::bad_note;
        }
        // The name counts its NUL: namesz is 4 for "Xen".
        if (type == xen_elfnote_phys32_entry && namesz == 4 &&
            __builtin_memcmp(p + name_off, "Xen", 4) == 0) {
            // Xen's elfnote.h: numeric notes are 4 or 8 bytes.
            if (descsz != 4 && descsz != 8) {
                return Error::bad_note;
            }
            entry = load32(p + desc_off);   // little-endian: the low half comes first
            found = true;
            return Error::none;
        }
        const uint64_t desc_end = desc_off + descsz;   // <= len
        const uint64_t desc_pad = padding(desc_end, align);
        if (desc_pad >= len - desc_end) {
            return Error::none;   // the last note (its trailing padding may be cut off)
        }
        off = desc_end + desc_pad;
    }
    return Error::none;
}

Error find_note_in_segments(const uint8_t* f, size_t size, const Header& h, bool is64, bool& found,
                            uint32_t& entry)
{
    for (uint64_t i = 0; i < h.phnum && !found; ++i) {
        const ProgramHeader ph = read_program_header(f + h.phoff + i * h.phentsize, is64);
        if (ph.type != pt_note) {
            continue;
        }
        if (!in_file(ph.offset, ph.filesz, size)) {
            return Error::bad_note;
        }
        if (Error e = scan_notes(f + ph.offset, ph.filesz, note_alignment(ph.align), found, entry);
            e != Error::none) {
            return e;
        }
    }
    return Error::none;
}

Error find_note_in_sections(const uint8_t* f, size_t size, const Header& h, bool is64, bool& found,
                            uint32_t& entry)
{
    if (h.shoff == 0 || h.shnum == 0) {
        return Error::none;   // no section table
    }
    const size_t want = is64 ? shdr64_size : shdr32_size;
    if (h.shentsize < want || !in_file(h.shoff, uint64_t{h.shnum} * h.shentsize, size)) {
        return Error::bad_note;
    }
    for (uint64_t i = 0; i < h.shnum && !found; ++i) {
        const SectionHeader sh = read_section_header(f + h.shoff + i * h.shentsize, is64);
        if (sh.type != sht_note) {
            continue;
        }
        if (!in_file(sh.offset, sh.size, size)) {
            return Error::bad_note;
        }
        if (Error e = scan_notes(f + sh.offset, sh.size, note_alignment(sh.addralign), found, entry);
            e != Error::none) {
            return e;
        }
    }
    return Error::none;
}

Error add_segment(const ProgramHeader& ph, size_t size, Image& out)
{
    if (ph.filesz > ph.memsz) {
        return Error::segment_overflow;
    }
    if (ph.filesz != 0 && !in_file(ph.offset, ph.filesz, size)) {
        return Error::segment_outside_file;
    }
    uint64_t end;
    if (__builtin_add_overflow(ph.paddr, ph.memsz, &end)) {
        return Error::segment_overflow;
    }
    if (ph.memsz == 0) {
        return Error::none;   // nothing to load
    }
    if (out.segment_count == max_segments) {
        return Error::too_many_segments;
    }
    out.segments[out.segment_count++] = Segment{ph.paddr, ph.offset, ph.filesz, ph.memsz, ph.flags};
    if (out.segment_count == 1 || ph.paddr < out.lowest) {
        out.lowest = ph.paddr;
    }
    if (end > out.highest) {
        out.highest = end;
    }
    return Error::none;
}

Error parse_image(const uint8_t* f, size_t size, Image& out)
{
    if (f == nullptr || size < ei_nident) {
        return Error::too_small;
    }
    if (f[0] != 0x7f || f[1] != 'E' || f[2] != 'L' || f[3] != 'F') {
        return Error::bad_magic;
    }
    if (f[ei_class] != elfclass32 && f[ei_class] != elfclass64) {
        return Error::bad_class;
    }
    const bool is64 = f[ei_class] == elfclass64;
    if (f[ei_data] != elfdata2lsb) {
        return Error::bad_endianness;
    }
    if (f[ei_version] != ev_current) {
        return Error::bad_version;
    }
    if (size < (is64 ? ehdr64_size : ehdr32_size)) {
        return Error::too_small;
    }

    const Header h = read_header(f, is64);
    if (h.version != ev_current) {
        return Error::bad_version;
    }
    if (!(h.machine == em_x86_64 || (!is64 && h.machine == em_386))) {
        return Error::bad_machine;
    }
    if (h.type != et_exec) {
        return Error::bad_type;
    }
    if (h.phnum == 0) {
        return Error::no_loadable_segment;
    }
    const size_t phdr_size = is64 ? phdr64_size : phdr32_size;
    // u16 * u16 cannot wrap in 64 bits; in_file checks the rest.
    if (h.phnum == pn_xnum || h.phentsize < phdr_size ||
        !in_file(h.phoff, uint64_t{h.phnum} * h.phentsize, size)) {
        return Error::bad_program_headers;
    }

    out.is64 = is64;
    out.machine = h.machine;
    out.entry = h.entry;
    for (uint64_t i = 0; i < h.phnum; ++i) {
        const ProgramHeader ph = read_program_header(f + h.phoff + i * h.phentsize, is64);
        if (ph.type != pt_load) {
            continue;
        }
        if (Error e = add_segment(ph, size, out); e != Error::none) {
            return e;
        }
    }
    if (out.segment_count == 0) {
        return Error::no_loadable_segment;
    }

    bool found = false;
    uint32_t entry = 0;
    if (Error e = find_note_in_segments(f, size, h, is64, found, entry); e != Error::none) {
        return e;
    }
    if (!found) {
        if (Error e = find_note_in_sections(f, size, h, is64, found, entry); e != Error::none) {
            return e;
        }
    }
    if (!found) {
        return Error::no_pvh_entry;
    }
    out.pvh_entry = entry;
    return Error::none;
}

} // namespace

const char* to_string(Error e)
{
    switch (e) {
    case Error::none: return "no error";
    case Error::too_small: return "file too small for an ELF header";
    case Error::bad_magic: return "not an ELF file (bad magic)";
    case Error::bad_class: return "unknown ELF class (neither ELF32 nor ELF64)";
    case Error::bad_endianness: return "not a little-endian ELF file";
    case Error::bad_version: return "unknown ELF version";
    case Error::bad_machine: return "not an x86 ELF file";
    case Error::bad_type: return "not an executable ELF file (ET_EXEC)";
    case Error::bad_program_headers: return "program header table malformed or outside the file";
    case Error::segment_outside_file: return "loadable segment extends past the end of the file";
    case Error::segment_overflow: return "loadable segment file size exceeds its memory size, or its address range wraps";
    case Error::too_many_segments: return "too many loadable segments";
    case Error::no_loadable_segment: return "no loadable segment";
    case Error::no_pvh_entry: return "no XEN_ELFNOTE_PHYS32_ENTRY note (not a PVH kernel)";
    case Error::bad_note: return "malformed ELF note, note segment or section table";
    }
    return "unknown ELF error";
}

Error parse(const uint8_t* file, size_t size, Image& out)
{
    out = Image{};
    const Error e = parse_image(file, size, out);
    if (e != Error::none) {
        out = Image{};   // nothing half-read is ever used
    }
    return e;
}

bool load(const Image& image, const uint8_t* file, WriteFn write, void* ctx)
{
    if (image.segment_count > max_segments) {
        return false;
    }
    for (size_t i = 0; i < image.segment_count; ++i) {
        const Segment& s = image.segments[i];
        if (s.file_size != 0 && !write(ctx, s.paddr, file + s.offset, s.file_size)) {
            return false;
        }
        // gABI "Program Header": bytes past p_filesz up to p_memsz are zero (.bss).
        if (s.mem_size > s.file_size && !write(ctx, s.paddr + s.file_size, nullptr, s.mem_size - s.file_size)) {
            return false;
        }
    }
    return true;
}

} // namespace menhir::elf
