// CRC-32 as zlib computes it (IEEE 802.3 polynomial, reflected, 0xEDB88320; pure, host-tested):
// dom0 prints it for initramfs files so that a test compares it with Python's zlib.crc32.
#pragma once

#include <stdint.h>

namespace dom0 {

// Continues a CRC over n more bytes; start with crc = 0. crc32(0, "123456789", 9) == 0xCBF43926.
[[nodiscard]] uint32_t crc32(uint32_t crc, const uint8_t* p, uint64_t n);

}  // namespace dom0
