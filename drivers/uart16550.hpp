// 16550-compatible UART (the PC's COM ports). Transmit is polled; receive
// is interrupt-driven once enable_rx_interrupt() is called.
#pragma once
#include <cstdint>

namespace menhir {

class Uart16550 final {
public:
    // parity: 'n', 'o', 'e', 'm', 's'; returns false when no UART answers at `base`.
    [[nodiscard]] bool init(uint16_t base, uint32_t baud, uint8_t data_bits, char parity, uint8_t stop_bits);
    void put(char c);
    [[nodiscard]] bool has_byte() const;
    [[nodiscard]] char get() const;
    void enable_rx_interrupt();
    [[nodiscard]] bool present() const { return present_; }

private:
    uint16_t base_{0x3f8};
    bool present_{false};
};

} // namespace menhir
