// See disk_name.hpp.
#include "dom0/block/disk_name.hpp"

namespace dom0::block {

const char* to_string(DiskNameError e) {
    switch (e) {
    case DiskNameError::none: return "ok";
    case DiskNameError::not_hd: return "not an ATA disk name (expected /dev/hdX or /dev/hdXN)";
    case DiskNameError::bad_letter: return "no such ATA disk (hda, hdb, hdc and hdd exist)";
    case DiskNameError::bad_partition: return "bad partition number (1-63, no leading zero)";
    case DiskNameError::too_long: return "name too long";
    }
    return "?";
}

DiskNameError parse_disk_name(const char* name, DiskRef& out) {
    out = DiskRef{};
    if (!name) return DiskNameError::not_hd;
    const char* p = name;
    const char prefix[] = "/dev/";
    size_t i = 0;
    while (prefix[i] && p[i] == prefix[i]) ++i;
    if (prefix[i] == '\0') p += i;
    if (p[0] != 'h' || p[1] != 'd') return DiskNameError::not_hd;
    if (p[2] < 'a' || p[2] > 'z') return DiskNameError::not_hd;
    if (static_cast<unsigned>(p[2] - 'a') >= max_ata_disks) return DiskNameError::bad_letter;
    DiskRef r{static_cast<uint8_t>(p[2] - 'a'), 0};
    p += 3;
    if (*p == '\0') {
        out = r;
        return DiskNameError::none;
    }
    if (*p < '1' || *p > '9') return DiskNameError::bad_partition;
    unsigned n = 0;
    for (size_t digits = 0; *p; ++p, ++digits) {
        if (*p < '0' || *p > '9') return DiskNameError::bad_partition;
        if (digits == 2) return DiskNameError::too_long;
        n = n * 10 + static_cast<unsigned>(*p - '0');
    }
    if (n > max_partition_number) return DiskNameError::bad_partition;
    r.partition = static_cast<uint8_t>(n);
    out = r;
    return DiskNameError::none;
}

size_t format_disk_name(const DiskRef& ref, char* out, size_t out_size) {
    if (ref.disk >= max_ata_disks || ref.partition > max_partition_number || out_size < 12) return 0;
    const char base[] = "/dev/hd";
    size_t n = 0;
    for (; base[n]; ++n) out[n] = base[n];
    out[n++] = static_cast<char>('a' + ref.disk);
    if (ref.partition >= 10) out[n++] = static_cast<char>('0' + ref.partition / 10);
    if (ref.partition) out[n++] = static_cast<char>('0' + ref.partition % 10);
    out[n] = '\0';
    return n;
}

}  // namespace dom0::block
