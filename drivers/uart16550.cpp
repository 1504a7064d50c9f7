#include "drivers/uart16550.hpp"
#include "arch/x86/cpu.hpp"

namespace menhir {
namespace {
// Register offsets and bits of the 16550 (PC16550D data sheet).
enum Reg : uint16_t { thr_rbr = 0, ier = 1, fcr = 2, lcr = 3, mcr = 4, lsr = 5, scr = 7 };
constexpr uint8_t lcr_dlab = 0x80;
constexpr uint8_t lsr_data_ready = 0x01;
constexpr uint8_t lsr_thr_empty = 0x20;
constexpr uint8_t lsr_transmitter_idle = 0x40;
constexpr uint8_t ier_rx_available = 0x01;
constexpr uint8_t ier_thr_empty = 0x02;
constexpr uint8_t iir_no_interrupt = 0x01;
constexpr uint8_t iir_fifos_enabled = 0xc0;             // both bits set: a 16550A's working FIFOs
constexpr uint32_t fifo_16550a = 16;
constexpr uint8_t fcr_enable_clear_trigger1 = 0x07;   // FIFOs on, both cleared, RX trigger at 1 byte
constexpr uint8_t mcr_dtr_rts_out2 = 0x0b;            // OUT2 gates the IRQ line on PCs
constexpr uint32_t base_baud = 115200;
} // namespace

bool Uart16550::init(uint16_t base, uint32_t baud, uint8_t data_bits, char parity, uint8_t stop_bits)
{
    // Reprogramming clears the FIFOs: let what is queued go out first.
    for (int i = 0; present_ && i < 1000000 && !(cpu::inb(static_cast<uint16_t>(base_ + lsr)) & lsr_transmitter_idle); ++i)
        cpu::pause();
    base_ = base;
    // A UART has a scratch register; reading back what we wrote proves one is there.
    cpu::outb(static_cast<uint16_t>(base_ + scr), 0x5a);
    present_ = cpu::inb(static_cast<uint16_t>(base_ + scr)) == 0x5a;
    if (!present_) return false;

    uint32_t divisor = baud ? base_baud / baud : 1;
    if (divisor == 0) divisor = 1;
    uint8_t line = static_cast<uint8_t>((data_bits >= 5 && data_bits <= 8) ? data_bits - 5 : 3);
    if (stop_bits == 2) line |= 0x04;
    switch (parity) {
    case 'o': line |= 0x08; break;
    case 'e': line |= 0x18; break;
    case 'm': line |= 0x28; break;
    case 's': line |= 0x38; break;
    default: break;
    }
    cpu::outb(static_cast<uint16_t>(base_ + ier), 0);
    cpu::outb(static_cast<uint16_t>(base_ + lcr), lcr_dlab);
    cpu::outb(static_cast<uint16_t>(base_ + thr_rbr), static_cast<uint8_t>(divisor));
    cpu::outb(static_cast<uint16_t>(base_ + ier), static_cast<uint8_t>(divisor >> 8));
    cpu::outb(static_cast<uint16_t>(base_ + lcr), line);
    cpu::outb(static_cast<uint16_t>(base_ + fcr), fcr_enable_clear_trigger1);
    cpu::outb(static_cast<uint16_t>(base_ + mcr), mcr_dtr_rts_out2);
    ier_ = 0;
    // Only a 16550A's FIFO takes 16 bytes at once; an 8250/16450 takes one.
    fifo_size_ = (cpu::inb(static_cast<uint16_t>(base_ + fcr)) & iir_fifos_enabled) == iir_fifos_enabled
                     ? fifo_16550a
                     : 1;
    return true;
}

void Uart16550::put(char c)
{
    if (!present_) return;
    // Bounded wait: a wedged UART must not hang the hypervisor (or a panic).
    for (int i = 0; i < 100000 && !(cpu::inb(static_cast<uint16_t>(base_ + lsr)) & lsr_thr_empty); ++i)
        cpu::pause();
    cpu::outb(static_cast<uint16_t>(base_ + thr_rbr), static_cast<uint8_t>(c));
}

bool Uart16550::has_byte() const
{
    return present_ && (cpu::inb(static_cast<uint16_t>(base_ + lsr)) & lsr_data_ready);
}

char Uart16550::get() const { return static_cast<char>(cpu::inb(static_cast<uint16_t>(base_ + thr_rbr))); }

bool Uart16550::can_send() const
{
    return present_ && (cpu::inb(static_cast<uint16_t>(base_ + lsr)) & lsr_thr_empty);
}

void Uart16550::send(char c) const
{
    if (present_) cpu::outb(static_cast<uint16_t>(base_ + thr_rbr), static_cast<uint8_t>(c));
}

bool Uart16550::interrupt_pending() const
{
    // IIR shares the offset of FCR (read vs write).
    return present_ && !(cpu::inb(static_cast<uint16_t>(base_ + fcr)) & iir_no_interrupt);
}

void Uart16550::set_interrupts(bool rx, bool tx)
{
    const auto v = static_cast<uint8_t>((rx ? ier_rx_available : 0) | (tx ? ier_thr_empty : 0));
    if (!present_ || v == ier_) return;
    ier_ = v;
    cpu::outb(static_cast<uint16_t>(base_ + ier), v);
}

void Uart16550::flush()
{
    for (int i = 0; present_ && i < 1000000 && !(cpu::inb(static_cast<uint16_t>(base_ + lsr)) & lsr_transmitter_idle); ++i)
        cpu::pause();
}

} // namespace menhir
