// The IDENTIFY DEVICE / IDENTIFY PACKET DEVICE answer (pure): 256 words
// decoded into what dom0's ATA driver needs: model, serial, sector counts
// (LBA28 and LBA48), the 48-bit and FLUSH CACHE (EXT) feature bits, and the
// logical/physical sector sizes. Word numbers are ATA8-ACS section 7.16/7.17.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dom0::block {

struct IdentifyInfo {
    bool atapi{false};            // word 0 bits 15:14 = 10b (a packet device: CD-ROM)
    char model[41]{};             // words 27-46, trailing spaces removed
    char serial[21]{};            // words 10-19, leading and trailing spaces removed
    char firmware[9]{};           // words 23-26
    bool lba{false};              // word 49 bit 9
    bool lba48{false};            // word 83 bit 10 (48-bit Address feature set)
    bool flush_cache{false};      // word 83 bit 12 (FLUSH CACHE)
    bool flush_cache_ext{false};  // word 83 bit 13 (FLUSH CACHE EXT)
    bool write_cache{false};      // word 82 bit 5 (volatile write cache supported)
    uint32_t lba28_sectors{0};    // words 60-61
    uint64_t lba48_sectors{0};    // words 100-103
    uint64_t sectors{0};          // what the driver may address: LBA48 count if usable, else LBA28
    uint32_t logical_sector_bytes{512};    // words 106, 117-118
    uint32_t physical_sector_bytes{512};   // word 106 bits 3:0
};

enum class IdentifyError : uint8_t {
    none,
    bad_checksum,     // word 255 carries the 0xA5 signature but the bytes do not sum to 0
    no_lba,           // an ATA disk without LBA: CHS-only disks are not driven
    no_sectors,       // an ATA disk reporting 0 sectors
};

[[nodiscard]] const char* to_string(IdentifyError e);

// Decodes `words` (as read from the data port, little-endian words). For a
// packet device only the strings and `atapi` are filled.
[[nodiscard]] IdentifyError decode_identify(const uint16_t (&words)[256], IdentifyInfo& out);

// ATA strings hold two characters per word, the first in the high byte.
// Copies words [first, first+count) into out (2*count+1 bytes), trimmed.
void ata_string(const uint16_t* words, size_t first, size_t count, char* out);

}  // namespace dom0::block
