// dom0's initramfs reader (pure: bytes in, entries out; host-tested): a cpio "newc" archive, the
// format Linux's initramfs uses (magic 070701, or 070702 with a checksum field, which is not checked).
//
// dom0's initramfs is the first PVH module (hvm_start_info modlist) whose data starts with the newc
// magic; scripts/mkiso --dom0-file puts it right after dom0's own module.
//
// Every header is checked once, in open(), against the archive's size: thirteen 8-digit hex fields,
// a NUL-terminated name that fits, data that fits, and a TRAILER!!! entry at the end. A malformed
// archive is refused as a whole (error() says why), so later lookups never read out of bounds.
// Names are compared without a leading "/" or "./": "/etc/xen/demo.cfg" finds "etc/xen/demo.cfg".
// When a path occurs twice the later entry wins, as when the kernel unpacks an initramfs.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace dom0::initramfs {

// The file type bits of a cpio mode (S_IFMT), as in stat(2).
enum class Type : uint8_t { regular, directory, symlink, other };

struct Entry {
    const char* name = nullptr;      // NUL-terminated, as stored (may start with "./" or "/")
    uint32_t mode = 0;               // type and permission bits
    const uint8_t* data = nullptr;   // size bytes inside the archive
    uint64_t size = 0;

    [[nodiscard]] Type type() const;
};

// Whether data starts like a newc archive (enough to tell it from an ELF file).
[[nodiscard]] bool looks_like_cpio(const uint8_t* data, uint64_t size);

class Archive {
public:
    // Checks the whole archive. False (and nothing can be listed or found) if it is malformed.
    [[nodiscard]] bool open(const uint8_t* data, uint64_t size);
    // Why open() failed; null after a successful open().
    [[nodiscard]] const char* error() const { return error_; }
    // Byte offset of the header open() refused (for its message).
    [[nodiscard]] uint64_t error_offset() const { return error_offset_; }

    // Entries in archive order, TRAILER!!! excluded. Start with cursor 0; false at the end.
    [[nodiscard]] bool next(uint64_t* cursor, Entry* out) const;
    [[nodiscard]] unsigned count() const { return count_; }

    // The entry named path (see above), or false.
    [[nodiscard]] bool find(const char* path, Entry* out) const;

private:
    const uint8_t* data_ = nullptr;
    uint64_t size_ = 0;
    uint64_t end_ = 0;    // offset of the TRAILER!!! header
    unsigned count_ = 0;
    const char* error_ = "not opened";
    uint64_t error_offset_ = 0;
};

// A name without its leading "/" and "./" parts ("./etc/x" -> "etc/x", "." -> "").
[[nodiscard]] const char* strip_root(const char* name);

}  // namespace dom0::initramfs
