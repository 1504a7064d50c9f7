// The cpio newc reader: see initramfs.hpp.
//
// newc header (110 bytes, all ASCII): "070701" then thirteen 8-digit hex fields: ino, mode, uid,
// gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check. The name
// (namesize bytes with its NUL) follows; header + name is padded to 4 bytes, then the data, padded
// to 4 bytes.
#include "dom0/initramfs.hpp"

namespace dom0::initramfs {
namespace {

constexpr uint64_t HEADER = 110;
constexpr unsigned FIELD_MODE = 1, FIELD_FILESIZE = 6, FIELD_NAMESIZE = 11;
constexpr uint32_t S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000, S_IFLNK = 0120000;
constexpr char TRAILER[] = "TRAILER!!!";

uint64_t align4(uint64_t v) { return (v + 3) & ~uint64_t{3}; }

bool field(const uint8_t* h, unsigned index, uint32_t* out) {
    const uint8_t* p = h + 6 + 8 * index;
    uint32_t v = 0;
    for (int i = 0; i < 8; ++i) {
        const uint8_t c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10u;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10u;
        else
            return false;
        v = (v << 4) | d;
    }
    *out = v;
    return true;
}

bool equal(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

struct Header {
    uint32_t mode, filesize, namesize;
    uint64_t data_off, next;
    const char* name;
};

// Reads the header at off; null, or why it is bad. Everything it reports lies inside [0, size).
const char* read_header(const uint8_t* data, uint64_t size, uint64_t off, Header* h) {
    if (off > size || size - off < HEADER) return "truncated header";
    const uint8_t* p = data + off;
    if (!looks_like_cpio(p, HEADER)) return "bad magic (not a cpio newc header)";
    for (unsigned i = 0; i < 13; ++i) {
        uint32_t ignored;
        if (!field(p, i, &ignored)) return "bad hex field in header";
    }
    (void)field(p, FIELD_MODE, &h->mode);
    (void)field(p, FIELD_FILESIZE, &h->filesize);
    (void)field(p, FIELD_NAMESIZE, &h->namesize);
    if (h->namesize == 0) return "empty name";
    if (h->namesize > size - off - HEADER) return "name runs past the end of the archive";
    const char* name = reinterpret_cast<const char*>(p + HEADER);
    for (uint32_t i = 0; i + 1 < h->namesize; ++i)
        if (name[i] == '\0') return "NUL inside a name";
    if (name[h->namesize - 1] != '\0') return "name not NUL-terminated";
    h->name = name;
    h->data_off = align4(off + HEADER + h->namesize);
    if (h->data_off > size || h->filesize > size - h->data_off) return "file data runs past the end of the archive";
    h->next = align4(h->data_off + h->filesize);
    return nullptr;
}

}  // namespace

Type Entry::type() const {
    switch (mode & S_IFMT) {
        case S_IFREG: return Type::regular;
        case S_IFDIR: return Type::directory;
        case S_IFLNK: return Type::symlink;
        default: return Type::other;
    }
}

bool looks_like_cpio(const uint8_t* data, uint64_t size) {
    if (size < 6) return false;
    for (int i = 0; i < 5; ++i)
        if (data[i] != "07070"[i]) return false;
    return data[5] == '1' || data[5] == '2';
}

const char* strip_root(const char* name) {
    for (;;) {
        if (name[0] == '/') {
            ++name;
        } else if (name[0] == '.' && name[1] == '/') {
            name += 2;
        } else if (name[0] == '.' && name[1] == '\0') {
            ++name;
        } else {
            return name;
        }
    }
}

bool Archive::open(const uint8_t* data, uint64_t size) {
    data_ = nullptr;
    size_ = 0;
    count_ = 0;
    error_offset_ = 0;
    uint64_t off = 0;
    unsigned count = 0;
    for (;;) {
        Header h;
        if (const char* why = read_header(data, size, off, &h)) {
            error_ = why;
            error_offset_ = off;
            return false;
        }
        if (equal(h.name, TRAILER)) break;
        ++count;
        off = h.next;
    }
    data_ = data;
    size_ = size;
    end_ = off;
    count_ = count;
    error_ = nullptr;
    return true;
}

bool Archive::next(uint64_t* cursor, Entry* out) const {
    if (data_ == nullptr || *cursor >= end_) return false;
    Header h;
    if (read_header(data_, size_, *cursor, &h) != nullptr) return false;  // open() checked it
    out->name = h.name;
    out->mode = h.mode;
    out->data = data_ + h.data_off;
    out->size = h.filesize;
    *cursor = h.next;
    return true;
}

bool Archive::find(const char* path, Entry* out) const {
    const char* want = strip_root(path);
    bool found = false;
    uint64_t cursor = 0;
    Entry e;
    while (next(&cursor, &e)) {
        if (equal(strip_root(e.name), want)) {
            *out = e;
            found = true;
        }
    }
    return found;
}

}  // namespace dom0::initramfs
