// Minimal Optional and Result for freestanding code (no exceptions, so the
// standard library's throwing accessors are not an option). Host-testable.
#pragma once
#include <new>
#include <type_traits>
#include <utility>

namespace menhir {

template <typename T>
class Optional final {
public:
    constexpr Optional() : has_{false} {}
    constexpr Optional(const T& v) : has_{true} { new (&storage_) T(v); }   // NOLINT: implicit by design
    [[nodiscard]] constexpr bool has_value() const { return has_; }
    constexpr explicit operator bool() const { return has_; }
    [[nodiscard]] constexpr T& operator*() { return *ptr(); }
    [[nodiscard]] constexpr const T& operator*() const { return *ptr(); }
    [[nodiscard]] constexpr T* operator->() { return ptr(); }
    [[nodiscard]] constexpr const T* operator->() const { return ptr(); }
    [[nodiscard]] constexpr T value_or(const T& d) const { return has_ ? *ptr() : d; }

private:
    T* ptr() { return std::launder(reinterpret_cast<T*>(&storage_)); }
    const T* ptr() const { return std::launder(reinterpret_cast<const T*>(&storage_)); }
    alignas(T) unsigned char storage_[sizeof(T)]{};
    bool has_;
    static_assert(std::is_trivially_destructible_v<T>, "Optional holds trivially destructible types only");
};

// Result<T, E>: a value or an error code (E is an enum class).
template <typename T, typename E>
class [[nodiscard]] Result final {
public:
    constexpr Result(const T& v) : value_{v}, error_{}, ok_{true} {}   // NOLINT: implicit by design
    constexpr Result(E e) : value_{}, error_{e}, ok_{false} {}          // NOLINT: implicit by design
    [[nodiscard]] constexpr bool ok() const { return ok_; }
    constexpr explicit operator bool() const { return ok_; }
    [[nodiscard]] constexpr const T& value() const { return value_; }
    [[nodiscard]] constexpr T& value() { return value_; }
    [[nodiscard]] constexpr E error() const { return error_; }

private:
    T value_;
    E error_;
    bool ok_;
};

} // namespace menhir
