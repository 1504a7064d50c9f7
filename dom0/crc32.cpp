// CRC-32, table-driven (one table lookup per byte): see crc32.hpp.
#include "dom0/crc32.hpp"

namespace dom0 {
namespace {

struct Table {
    uint32_t v[256];
};

constexpr Table make_table() {
    Table t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t.v[i] = c;
    }
    return t;
}

constexpr Table TABLE = make_table();

}  // namespace

uint32_t crc32(uint32_t crc, const uint8_t* p, uint64_t n) {
    crc = ~crc;
    for (uint64_t i = 0; i < n; ++i) crc = TABLE.v[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

}  // namespace dom0
