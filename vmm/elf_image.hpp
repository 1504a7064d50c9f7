// Reading an ELF kernel image for PVH boot (System V gABI, "ELF Header",
// "Program Header", "Sections", "Note Section"; Xen's PVH boot ABI for the
// entry point note).
//
// The image comes from whoever built the guest and is trusted no further
// than its bounds: every header, table and note is checked against the
// file size with overflow-safe arithmetic before a byte of it is read.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::elf {

inline constexpr size_t max_segments = 16;

// Xen's elfnote.h: the note whose descriptor is the 32-bit physical
// address where a PVH kernel is entered in protected mode, paging off.
inline constexpr uint32_t xen_elfnote_phys32_entry = 18;   // XEN_ELFNOTE_PHYS32_ENTRY

enum class Error {
    none, too_small, bad_magic, bad_class, bad_endianness, bad_version, bad_machine, bad_type,
    bad_program_headers, segment_outside_file, segment_overflow, too_many_segments,
    no_loadable_segment, no_pvh_entry, bad_note
};
const char* to_string(Error);

// One PT_LOAD program header with a non-zero p_memsz.
struct Segment {
    uint64_t paddr;       // p_paddr: PVH loads by physical address, paging is off at entry
    uint64_t offset;      // p_offset
    uint64_t file_size;   // p_filesz, <= mem_size, and [offset, offset + file_size) is in the file
    uint64_t mem_size;    // p_memsz; paddr + mem_size does not wrap
    uint32_t flags;       // p_flags (PF_X 1, PF_W 2, PF_R 4)
};

struct Image {
    bool is64{false};
    uint16_t machine{0};
    uint64_t entry{0};                 // e_entry (informational: PVH enters at pvh_entry)
    uint32_t pvh_entry{0};             // XEN_ELFNOTE_PHYS32_ENTRY descriptor, low 32 bits
    size_t segment_count{0};
    Segment segments[max_segments]{};
    uint64_t lowest{0};                // lowest paddr over the segments
    uint64_t highest{0};               // highest paddr + mem_size (one past the last byte)
};

// Accepts ELF32 or ELF64, little-endian, EV_CURRENT, ET_EXEC only (ET_DYN
// is refused with bad_type: PVH loads at the physical addresses the image
// names, there is no relocation), e_machine EM_X86_64 for either class or
// EM_386 for ELF32. PT_LOAD headers with p_memsz == 0 are skipped.
//
// The PVH entry is the first note named "Xen" of type 18 (descriptor 4 or
// 8 bytes, low 32 bits used) in a PT_NOTE segment, or, if no PT_NOTE has
// one, in an SHT_NOTE section. The section table is read only for that
// fallback, so a broken one does not matter when a PT_NOTE holds the note.
// e_phnum == PN_XNUM (0xffff, count kept in section 0) is refused as
// bad_program_headers; e_shnum == 0 means no sections.
//
// On any error `out` is reset to an empty Image.
[[nodiscard]] Error parse(const uint8_t* file, size_t size, Image& out);

// Writes guest memory; src == nullptr means fill `len` bytes with zeros.
// Returns false if [gpa, gpa + len) is not backed guest RAM.
using WriteFn = bool (*)(void* ctx, uint64_t gpa, const void* src, size_t len);

// Copies each segment's file bytes to its paddr and zero-fills the rest of
// mem_size. `file` must be the buffer `image` was parsed from. Returns
// false as soon as a write fails (earlier segments stay written).
[[nodiscard]] bool load(const Image& image, const uint8_t* file, WriteFn write, void* ctx);

} // namespace menhir::elf
