// Disk names as Xen users write them (pure): /dev/hda primary master,
// /dev/hdb primary slave, /dev/hdc and /dev/hdd on the secondary channel;
// /dev/hdbN is partition N (Linux numbering: 1-4 primary, 5.. logical).
#pragma once
#include <cstddef>
#include <cstdint>

namespace dom0::block {

inline constexpr unsigned max_ata_disks = 4;      // two channels, master and slave
inline constexpr unsigned max_partition_number = 63;   // Linux's limit for hd* disks

struct DiskRef {
    uint8_t disk{0};        // 0 hda .. 3 hdd: channel * 2 + (slave ? 1 : 0)
    uint8_t partition{0};   // 0: the whole disk
};

enum class DiskNameError : uint8_t { none, not_hd, bad_letter, bad_partition, too_long };

[[nodiscard]] const char* to_string(DiskNameError e);

// Parses "/dev/hdb1", "hdb1", "/dev/hda" (the "/dev/" prefix is optional, as
// xl accepts both forms in a disk spec's target). No leading zeros, no
// partition 0, nothing after the number.
[[nodiscard]] DiskNameError parse_disk_name(const char* name, DiskRef& out);

// Writes "/dev/hdX" or "/dev/hdXN" into out (at least 12 bytes); returns the
// length, or 0 if ref is out of range or out too small.
size_t format_disk_name(const DiskRef& ref, char* out, size_t out_size);

inline constexpr unsigned disk_channel(unsigned disk) { return disk / 2; }
inline constexpr bool disk_is_slave(unsigned disk) { return (disk & 1) != 0; }

}  // namespace dom0::block
