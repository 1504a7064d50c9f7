// Strong address types: host-physical, host-virtual, guest-physical and
// guest-virtual addresses are distinct types so they can never be mixed
// by accident. Compiles freestanding and on the host.
#pragma once
#include <compare>
#include <cstddef>
#include <cstdint>

namespace menhir {

template <typename Tag>
class Address final {
public:
    constexpr Address() = default;
    constexpr explicit Address(uint64_t v) : value_{v} {}

    [[nodiscard]] constexpr uint64_t value() const { return value_; }
    [[nodiscard]] constexpr Address operator+(uint64_t off) const { return Address{value_ + off}; }
    [[nodiscard]] constexpr Address operator-(uint64_t off) const { return Address{value_ - off}; }
    [[nodiscard]] constexpr uint64_t operator-(Address o) const { return value_ - o.value_; }
    constexpr Address& operator+=(uint64_t off) { value_ += off; return *this; }
    [[nodiscard]] constexpr bool aligned(uint64_t a) const { return (value_ & (a - 1)) == 0; }
    [[nodiscard]] constexpr Address align_down(uint64_t a) const { return Address{value_ & ~(a - 1)}; }
    [[nodiscard]] constexpr Address align_up(uint64_t a) const { return Address{(value_ + a - 1) & ~(a - 1)}; }
    constexpr auto operator<=>(const Address&) const = default;

private:
    uint64_t value_{0};
};

using HostPhys  = Address<struct HostPhysTag>;
using HostVirt  = Address<struct HostVirtTag>;
using GuestPhys = Address<struct GuestPhysTag>;
using GuestVirt = Address<struct GuestVirtTag>;

inline constexpr uint64_t page_size    = 4096;
inline constexpr uint64_t large_page   = 2ull << 20;  // 2 MiB
inline constexpr uint64_t huge_page    = 1ull << 30;  // 1 GiB

[[nodiscard]] constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
[[nodiscard]] constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }

} // namespace menhir
