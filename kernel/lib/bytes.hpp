// Little-endian loads from byte buffers handed over by others (boot
// loaders, ELF files): memcpy, so no alignment or aliasing assumptions.
#pragma once
#include <cstdint>

namespace menhir::bytes {
template <typename T>
[[nodiscard]] inline T load(const uint8_t* p)
{
    T v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
[[nodiscard]] inline uint16_t load16(const uint8_t* p) { return load<uint16_t>(p); }
[[nodiscard]] inline uint32_t load32(const uint8_t* p) { return load<uint32_t>(p); }
[[nodiscard]] inline uint64_t load64(const uint8_t* p) { return load<uint64_t>(p); }
} // namespace menhir::bytes
