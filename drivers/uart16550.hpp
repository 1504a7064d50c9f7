// 16550-compatible UART (the PC's COM ports). Nothing here waits except
// put() (the panic path's polled output): the console feeds the transmit
// FIFO when it is empty and reads what was received, from the UART's
// interrupt or from a poll.
#pragma once
#include <cstdint>

namespace menhir {

class Uart16550 final {
public:
    // parity: 'n', 'o', 'e', 'm', 's'; returns false when no UART answers at `base`.
    [[nodiscard]] bool init(uint16_t base, uint32_t baud, uint8_t data_bits, char parity, uint8_t stop_bits);
    void put(char c);                                        // waits (bounded) for room: panic path only
    [[nodiscard]] bool has_byte() const;
    [[nodiscard]] char get() const;
    // The transmit FIFO (or holding register) is empty: up to fifo_size()
    // bytes may be written with send() without looking again.
    [[nodiscard]] bool can_send() const;
    void send(char c) const;                                 // no wait: only after can_send()
    [[nodiscard]] uint32_t fifo_size() const { return fifo_size_; }
    [[nodiscard]] bool interrupt_pending() const;            // IIR bit 0 clear; reading IIR acks THRE
    void set_interrupts(bool rx, bool tx);                   // IER bits 0 and 1
    void flush();                                            // waits (bounded) until all is sent
    [[nodiscard]] bool present() const { return present_; }

private:
    uint16_t base_{0x3f8};
    bool present_{false};
    uint32_t fifo_size_{1};
    uint8_t ier_{0};
};

} // namespace menhir
