#include "arch/x86/pit.hpp"
#include "arch/x86/cpu.hpp"

namespace menhir {
namespace {
constexpr uint32_t pit_hz = 1193182;
constexpr uint16_t channel2 = 0x42, command = 0x43, gate_port = 0x61;
constexpr uint8_t gate_on = 0x01, speaker_on = 0x02, out2 = 0x20;
uint64_t tsc_khz_value = 0;
} // namespace

namespace pit {

void wait_ms(uint32_t ms)
{
    const uint32_t count = pit_hz / 1000 * ms;
    // Channel 2's gate is port 0x61 bit 0 and its output is visible in bit 5,
    // so it can be polled without touching interrupts.
    uint8_t gate = cpu::inb(gate_port);
    cpu::outb(gate_port, static_cast<uint8_t>((gate & ~speaker_on) & ~gate_on));
    cpu::outb(command, 0xb0);   // channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count), binary
    cpu::outb(channel2, static_cast<uint8_t>(count));
    cpu::outb(channel2, static_cast<uint8_t>(count >> 8));
    gate = cpu::inb(gate_port);
    cpu::outb(gate_port, static_cast<uint8_t>((gate & ~speaker_on) | gate_on));   // counting starts
    for (uint64_t i = 0; i < 100000000 && !(cpu::inb(gate_port) & out2); ++i) cpu::pause();
}

uint64_t calibrate_tsc_khz()
{
    const uint64_t start = cpu::rdtsc();
    wait_ms(10);
    return (cpu::rdtsc() - start) / 10;
}

} // namespace pit

namespace tsc {
void set_khz(uint64_t khz) { tsc_khz_value = khz; }
uint64_t khz() { return tsc_khz_value; }
void delay_us(uint64_t us)
{
    const uint64_t end = cpu::rdtsc() + (tsc_khz_value ? tsc_khz_value : 1000000) * us / 1000;
    while (cpu::rdtsc() < end) cpu::pause();
}
} // namespace tsc
} // namespace menhir
