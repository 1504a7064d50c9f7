// See ata_identify.hpp. Words 83 and 106 only count when their bits 15:14
// read 01b (ATA8-ACS: "the contents of this word are valid").
#include "dom0/block/ata_identify.hpp"

namespace dom0::block {
namespace {

bool valid_word(uint16_t w) { return (w & 0xc000) == 0x4000; }

}  // namespace

const char* to_string(IdentifyError e) {
    switch (e) {
    case IdentifyError::none: return "ok";
    case IdentifyError::bad_checksum: return "IDENTIFY integrity word (255) checksum mismatch";
    case IdentifyError::no_lba: return "the device does not support LBA";
    case IdentifyError::no_sectors: return "the device reports no sectors";
    }
    return "?";
}

void ata_string(const uint16_t* words, size_t first, size_t count, char* out) {
    size_t n = 0;
    for (size_t i = 0; i < count; ++i) {
        out[n++] = static_cast<char>(words[first + i] >> 8);
        out[n++] = static_cast<char>(words[first + i] & 0xff);
    }
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0')) out[--n] = '\0';
    size_t lead = 0;
    while (lead < n && out[lead] == ' ') ++lead;
    if (lead)
        for (size_t i = 0; i <= n - lead; ++i) out[i] = out[i + lead];
}

IdentifyError decode_identify(const uint16_t (&w)[256], IdentifyInfo& out) {
    out = IdentifyInfo{};
    if ((w[255] & 0xff) == 0xa5) {
        uint8_t sum = 0;
        for (uint16_t x : w) sum = static_cast<uint8_t>(sum + (x & 0xff) + (x >> 8));
        if (sum != 0) return IdentifyError::bad_checksum;
    }
    ata_string(w, 10, 10, out.serial);
    ata_string(w, 23, 4, out.firmware);
    ata_string(w, 27, 20, out.model);
    out.atapi = (w[0] & 0xc000) == 0x8000;
    if (out.atapi) return IdentifyError::none;

    out.lba = (w[49] & (1u << 9)) != 0;
    if (valid_word(w[83])) {
        out.lba48 = (w[83] & (1u << 10)) != 0;
        out.flush_cache = (w[83] & (1u << 12)) != 0;
        out.flush_cache_ext = (w[83] & (1u << 13)) != 0;
    }
    out.write_cache = w[82] != 0xffff && (w[82] & (1u << 5)) != 0;   // 0xffff: word not implemented
    out.lba28_sectors = static_cast<uint32_t>(w[60]) | static_cast<uint32_t>(w[61]) << 16;
    out.lba48_sectors = static_cast<uint64_t>(w[100]) | static_cast<uint64_t>(w[101]) << 16 |
                        static_cast<uint64_t>(w[102]) << 32 | static_cast<uint64_t>(w[103]) << 48;
    out.sectors = (out.lba48 && out.lba48_sectors) ? out.lba48_sectors : out.lba28_sectors;
    if (valid_word(w[106])) {
        if (w[106] & (1u << 12)) {
            const uint32_t logical_words = static_cast<uint32_t>(w[117]) | static_cast<uint32_t>(w[118]) << 16;
            // Ignore sizes no real device has (and that would overflow the shift below).
            if (logical_words >= 256 && logical_words <= (1u << 16)) out.logical_sector_bytes = logical_words * 2;
        }
        const unsigned shift = (w[106] & (1u << 13)) ? (w[106] & 0xfu) : 0;
        out.physical_sector_bytes = out.logical_sector_bytes << shift;
    } else {
        out.physical_sector_bytes = out.logical_sector_bytes;
    }
    if (!out.lba) return IdentifyError::no_lba;
    if (out.sectors == 0) return IdentifyError::no_sectors;
    return IdentifyError::none;
}

}  // namespace dom0::block
