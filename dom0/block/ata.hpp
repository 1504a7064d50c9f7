// dom0's ATA driver (effectful): the two legacy IDE channels the hypervisor
// delegates to dom0 (ports 0x1f0-0x1f7/0x3f6 with IRQ 14, 0x170-0x177/0x376
// with IRQ 15), PIO only. IRQs arrive as pirq events; a command completes on
// its event, or, if none comes, when polling the status register shows it
// done. Disks are numbered 0..3 = hda..hdd (disk_name.hpp).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "dom0/block/ata_identify.hpp"
#include "dom0/block/disk_name.hpp"

namespace dom0::block::ata {

inline constexpr uint32_t sector_bytes = 512;
inline constexpr uint32_t max_ext_sectors = 2048;   // 1 MiB per EXT command (the ABI allows 65536)

enum class Error : uint8_t {
    none,
    no_disk,        // no ATA disk at that number (absent, or a packet device)
    out_of_range,   // lba + count beyond the disk, or count 0
    timeout,        // BSY never cleared / DRQ never came
    device,         // the device set ERR or DF: see ata_error
    no_lba48,       // the request needs 48-bit addressing the disk lacks
};
[[nodiscard]] const char* to_string(Error e);

struct Result {
    Error error{Error::none};
    uint8_t status{0};      // status register when it ended
    uint8_t ata_error{0};   // error register (ABRT 0x04, IDNF 0x10, UNC 0x40, ...) if ERR was set
    [[nodiscard]] bool ok() const { return error == Error::none; }
};

struct Device {
    bool present{false};   // something answered IDENTIFY (DEVICE or PACKET DEVICE)
    bool usable{false};    // an ATA disk with LBA and 512-byte sectors: read/write/flush work
    IdentifyInfo id{};
    IdentifyError id_error{IdentifyError::none};
};

struct ChannelStats {
    long port{-1};              // event port bound to the channel's pirq (negative: errno)
    uint64_t irq_events{0};     // interrupts received as events
    uint64_t irq_waits{0};      // waits a device interrupt ended
    uint64_t polled_waits{0};   // waits the status fallback ended (no event in time)
    uint64_t lba28_commands{0}; // READ/WRITE SECTORS issued
    uint64_t lba48_commands{0}; // READ/WRITE SECTORS EXT issued
};

// Binds pirqs 14 and 15 (ev::init() must have run), enables device
// interrupts and probes the four drive positions with IDENTIFY. Prints a
// `dom0: ata: ...` line per problem. Returns false only if no channel could
// be set up. Safe to call again: it does nothing the second time.
bool init();
[[nodiscard]] const Device& device(unsigned disk);
[[nodiscard]] const ChannelStats& channel_stats(unsigned channel);

// Synchronous PIO I/O of `count` 512-byte sectors at `lba` (any count: split
// into commands; READ/WRITE SECTORS (LBA28, up to 256 sectors) where they
// reach, else the EXT forms (LBA48, up to max_ext_sectors) if the disk has
// the 48-bit feature set).
[[nodiscard]] Result read(unsigned disk, uint64_t lba, uint32_t count, void* buf);
[[nodiscard]] Result write(unsigned disk, uint64_t lba, uint32_t count, const void* buf);
// FLUSH CACHE EXT if the disk has it, else FLUSH CACHE: the volatile write
// cache is on the medium when it returns ok.
[[nodiscard]] Result flush(unsigned disk);

// The same as one request, the shape a request queue (the block backend)
// hands over; `result` is filled in.
enum class Op : uint8_t { read, write, flush };
struct Request {
    Op op{Op::read};
    uint8_t disk{0};
    uint64_t lba{0};
    uint32_t count{0};
    void* buf{nullptr};
    Result result{};
};
void submit(Request& r);

}  // namespace dom0::block::ata
