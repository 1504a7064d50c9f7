// The hypervisor console: every line goes to the in-memory log ring (read
// later by `xl dmesg`) and, when its level passes loglvl, into the transmit
// ring that the UART's transmit interrupt (or a poll) empties: no writer
// ever waits for the UART. Guest lines are rate-limited per domain.
// Serial input goes to dom0, the debug keys or a domU's console ring, cycled
// with Ctrl-A three times.
#pragma once
#include "kernel/cmdline.hpp"
#include "kernel/console_rate.hpp"
#include "kernel/log_ring.hpp"
#include <cstddef>
#include <cstdint>

namespace menhir {

using cmdline::LogLevel;

namespace console {
void init_early();                                  // COM1 at 115200 8n1 until the command line is read
void configure(const cmdline::Options& options);
void set_tsc_khz(uint64_t khz);                     // enables timestamps once the TSC is calibrated
void write_line(LogLevel level, const char* text);  // adds the timestamp (if on) and the newline

// A domain's console output state (in its Domain): its rate-limit bucket and
// the characters dropped since its last line that went out.
struct GuestOutput {
    CharBucket bucket;
    uint64_t suppressed;
};
// One line of guest output, shown as "(dN) TEXT". When `limited`, it costs
// its length + 1 from the domain's bucket; a line the bucket cannot pay, or
// that finds the transmit ring's guest share full, or the ring above its
// high-water mark while the domain holds its fair share of it
// (kernel/console_share), is dropped and counted,
// and the count is reported as "(dN) ... N characters suppressed" before the
// domain's next line that goes out. Rate-limited lines skip the log ring too.
void write_guest_line(uint16_t domid, const char* text, GuestOutput& out, bool limited);

// dom0's terminal (sysctl console_mode), as Xen treats the hardware
// domain's output: once interactive, dom0's console_io bytes go to the
// serial line as written ("\n" as CR LF), without prefix, line buffer, rate
// limit or log ring. A line from anyone else that comes while dom0 left the
// cursor mid-line (a prompt) starts on a line of its own.
void set_dom0_interactive(bool on);
[[nodiscard]] bool dom0_interactive();
// Queues what fits of dom0's bytes (within the guests' share of the
// transmit ring); returns how many were taken, 0 when the ring is full.
[[nodiscard]] size_t write_dom0_raw(const char* text, size_t len);
void clear_log();                                   // xl dmesg -c

void enable_input_interrupts();                     // after the I/O APIC routes the UART's IRQ
void receive(char c);                               // one byte of serial input
void drain_uart();                                  // the UART's interrupt handler: receive and transmit
// Exit path and idle loop: on the CPU the UART's interrupt goes to, do what
// its interrupt would (a guest with IF=0 keeps the interrupt from being
// taken); on any CPU, feed the UART while output waits. Never waits: if
// another CPU is at the UART, it returns.
void poll();
[[nodiscard]] uint32_t uart_cpu();                  // index of the CPU the UART's interrupt goes to
[[nodiscard]] bool output_pending();                // the transmit ring is not empty
void flush();                                       // power-off/reset: send all that is queued, polled
void emergency();                                   // panic path: flush, then write synchronously
// Serial input meant for dom0 (input not switched to the debug keys): it is
// queued here, and `listener` is told (dom0's VIRQ_CONSOLE).
void set_input_listener(void (*listener)());
[[nodiscard]] size_t read_input(char* out, size_t max);
// Serial input for the domUs whose console rings the hypervisor serves
// (vmm/console_rings): Ctrl-A three times cycles dom0 -> Menhir -> each of
// them by id -> dom0 (kernel/console_input). Called from the UART interrupt.
struct GuestInput {
    size_t (*served_ids)(uint16_t* ids, size_t max);   // the domUs taking input now
    void (*put)(uint16_t domid, char c);               // one byte for that domain
};
void set_guest_input(const GuestInput& hooks);
[[nodiscard]] const LogRing& ring();
[[nodiscard]] uint8_t irq();                        // the UART's ISA IRQ
} // namespace console

// "menhir: TEXT" lines at each level.
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

} // namespace menhir
