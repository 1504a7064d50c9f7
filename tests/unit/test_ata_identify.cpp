#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>

#include "dom0/block/ata_identify.hpp"

using namespace dom0::block;

namespace {

void put_string(uint16_t (&w)[256], int first, int count, const char* s) {
    const size_t len = std::strlen(s);
    for (int i = 0; i < count; ++i) {
        const char hi = static_cast<size_t>(2 * i) < len ? s[2 * i] : ' ';
        const char lo = static_cast<size_t>(2 * i + 1) < len ? s[2 * i + 1] : ' ';
        w[first + i] = static_cast<uint16_t>(static_cast<uint8_t>(hi) << 8 | static_cast<uint8_t>(lo));
    }
}

// A disk like Bochs's or QEMU's: LBA, 48-bit, FLUSH CACHE (EXT).
void disk(uint16_t (&w)[256], uint64_t sectors) {
    std::memset(w, 0, sizeof w);
    w[0] = 0x0040;
    put_string(w, 10, 10, "  BXHD00011");
    put_string(w, 23, 4, "1.0");
    put_string(w, 27, 20, "Generic 1234");
    w[49] = 1u << 9;
    const uint64_t s28 = sectors > 0x0fffffff ? 0x0fffffff : sectors;
    w[60] = static_cast<uint16_t>(s28);
    w[61] = static_cast<uint16_t>(s28 >> 16);
    w[82] = 1u << 5;
    w[83] = 0x4000 | 1u << 10 | 1u << 12 | 1u << 13;
    for (int i = 0; i < 4; ++i) w[100 + i] = static_cast<uint16_t>(sectors >> (16 * i));
}

}  // namespace

TEST_CASE("identify: model string is byte-swapped and trimmed") {
    uint16_t w[256];
    disk(w, 131072);
    IdentifyInfo id;
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK(std::string(id.model) == "Generic 1234");
    CHECK(std::string(id.serial) == "BXHD00011");
    CHECK(std::string(id.firmware) == "1.0");
    CHECK_FALSE(id.atapi);
}

TEST_CASE("identify: LBA28 and LBA48 sector counts and feature bits") {
    uint16_t w[256];
    disk(w, 131072);
    IdentifyInfo id;
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK(id.lba);
    CHECK(id.lba48);
    CHECK(id.flush_cache);
    CHECK(id.flush_cache_ext);
    CHECK(id.write_cache);
    CHECK(id.lba28_sectors == 131072);
    CHECK(id.lba48_sectors == 131072);
    CHECK(id.sectors == 131072);

    disk(w, 0x123456789ull);   // beyond LBA28: words 60-61 saturate
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK(id.lba28_sectors == 0x0fffffff);
    CHECK(id.sectors == 0x123456789ull);

    // Without the 48-bit feature the LBA28 count is what can be addressed.
    w[83] = 0x4000 | 1u << 12;
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK_FALSE(id.lba48);
    CHECK(id.flush_cache);
    CHECK_FALSE(id.flush_cache_ext);
    CHECK(id.sectors == 0x0fffffff);

    // Word 83 not valid (bits 15:14 != 01b): no features believed.
    w[83] = 0xffff;
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK_FALSE(id.lba48);
    CHECK_FALSE(id.flush_cache);
    w[82] = 0xffff;
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK_FALSE(id.write_cache);
}

TEST_CASE("identify: sector sizes from words 106 and 117-118") {
    uint16_t w[256];
    disk(w, 1000);
    IdentifyInfo id;
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK(id.logical_sector_bytes == 512);
    CHECK(id.physical_sector_bytes == 512);

    w[106] = 0x4000 | 1u << 13 | 3;   // 8 logical per physical: 512e with 4 KiB physical
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK(id.logical_sector_bytes == 512);
    CHECK(id.physical_sector_bytes == 4096);

    w[106] = 0x4000 | 1u << 12;   // 4 KiB logical (4Kn): size in words
    w[117] = 2048;
    w[118] = 0;
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK(id.logical_sector_bytes == 4096);
    CHECK(id.physical_sector_bytes == 4096);

    w[106] = 0x8000 | 1u << 13 | 3;   // invalid word: ignored
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK(id.physical_sector_bytes == 512);
}

TEST_CASE("identify: ATAPI devices, no-LBA disks, the integrity word") {
    uint16_t w[256];
    std::memset(w, 0, sizeof w);
    w[0] = 0x85c0;   // packet device, CD-ROM
    put_string(w, 27, 20, "BOCHS CD-ROM");
    IdentifyInfo id;
    REQUIRE(decode_identify(w, id) == IdentifyError::none);
    CHECK(id.atapi);
    CHECK(std::string(id.model) == "BOCHS CD-ROM");
    CHECK(id.sectors == 0);

    disk(w, 1000);
    w[49] = 0;
    CHECK(decode_identify(w, id) == IdentifyError::no_lba);
    disk(w, 0);
    CHECK(decode_identify(w, id) == IdentifyError::no_sectors);

    disk(w, 1000);
    uint8_t sum = 0;
    for (int i = 0; i < 255; ++i) sum = static_cast<uint8_t>(sum + (w[i] & 0xff) + (w[i] >> 8));
    sum = static_cast<uint8_t>(sum + 0xa5);
    w[255] = static_cast<uint16_t>(static_cast<uint8_t>(-sum) << 8 | 0xa5);
    CHECK(decode_identify(w, id) == IdentifyError::none);
    w[255] = static_cast<uint16_t>(w[255] ^ 0x0100);
    CHECK(decode_identify(w, id) == IdentifyError::bad_checksum);
}
