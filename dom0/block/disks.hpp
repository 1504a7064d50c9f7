// dom0's disks (effectful): the ATA disks with their MBR partition tables,
// named /dev/hdX and /dev/hdXN, and the one-line-per-disk listing the shell
// and test=disk print. What the block backend asks to open a disk name.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "dom0/block/ata.hpp"
#include "dom0/block/disk_name.hpp"
#include "dom0/block/mbr.hpp"

namespace dom0::block {

// A disk or a partition resolved to the disk's sectors it covers.
struct Extent {
    uint8_t disk{0};
    uint64_t start{0};     // first LBA on the disk
    uint64_t sectors{0};
};

// ata::init() and the partition tables of every usable disk (ev::init()
// must have run). Safe to call again.
bool disks_init();

// The partition table of `disk`, or nullptr (no disk, or its table was
// refused: mbr_result() says why).
[[nodiscard]] const PartitionTable* partitions(unsigned disk);
[[nodiscard]] MbrResult mbr_result(unsigned disk);

enum class OpenError : uint8_t { none, bad_name, no_disk, no_partition };
[[nodiscard]] const char* to_string(OpenError e);
// "/dev/hdb1" -> its extent.
[[nodiscard]] OpenError resolve(const char* name, Extent& out);

// Prints, for each device found: `dom0: /dev/hdb: 131072 sectors (64 MiB),
// model "...", ...`, then `dom0: /dev/hdb1: start 2048, 129024 sectors
// (63 MiB), type 0x83` per partition (or why the table was refused).
void list_disks();

}  // namespace dom0::block
