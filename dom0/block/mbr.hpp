// MBR partition tables (pure): the four primary entries of sector 0 with the
// 0x55AA signature, and the logical partitions chained through extended boot
// records; entries that overlap, leave the disk or loop are refused with a
// reason. Sector reads are injected, so this also runs on the host.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dom0::block {

inline constexpr uint32_t mbr_sector_bytes = 512;
inline constexpr size_t max_logical_partitions = 12;
// Linux numbering: primaries are 1-4 by slot, logicals 5, 6, ... in chain order.
inline constexpr size_t max_partitions = 4 + max_logical_partitions;

enum class PartitionKind : uint8_t { primary, extended, logical };

struct Partition {
    uint8_t number{0};        // 1-4 primary or extended, 5.. logical
    uint8_t type{0};          // the system id byte (0x83 Linux, 0x05/0x0f/0x85 extended, ...)
    bool bootable{false};     // status byte 0x80
    PartitionKind kind{PartitionKind::primary};
    uint64_t start{0};        // absolute LBA
    uint64_t sectors{0};
};

struct PartitionTable {
    size_t count{0};
    Partition part[max_partitions]{};
    // The partition with this Linux number, or nullptr.
    [[nodiscard]] const Partition* find(unsigned number) const;
};

enum class MbrError : uint8_t {
    none,
    read_failed,       // the injected read of sector 0 or an EBR failed
    no_signature,      // sector 0 (or an EBR) does not end in 0x55 0xAA
    bad_status,        // status byte neither 0x00 nor 0x80
    overlaps_mbr,      // starts at LBA 0
    beyond_disk,       // start + sectors past the end of the disk (or wraps)
    overlap,           // shares sectors with another partition
    two_extended,      // more than one extended entry among the primaries
    logical_outside,   // a logical partition or EBR link leaves its extended partition
    too_many_logical,  // the EBR chain is longer than max_logical_partitions (or loops)
};

[[nodiscard]] const char* to_string(MbrError e);

struct MbrResult {
    MbrError error{MbrError::none};
    uint8_t partition{0};   // the partition number the error is about (0: the table itself)
    uint8_t other{0};       // for overlap: the partition it overlaps
    [[nodiscard]] bool ok() const { return error == MbrError::none; }
};

// Reads one 512-byte sector at `lba` into `out`; false on an I/O error.
using ReadSector = bool (*)(void* ctx, uint64_t lba, uint8_t (&out)[mbr_sector_bytes]);

inline bool is_extended_type(uint8_t type) { return type == 0x05 || type == 0x0f || type == 0x85; }

// Parses the table of a disk of `disk_sectors` sectors. On error `out` is
// empty: a half-trusted table is never used.
[[nodiscard]] MbrResult parse_mbr(ReadSector read, void* ctx, uint64_t disk_sectors, PartitionTable& out);

}  // namespace dom0::block
