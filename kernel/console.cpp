#include "kernel/console.hpp"
#include "arch/x86/cpu.hpp"
#include "kernel/console_input.hpp"
#include "drivers/uart16550.hpp"
#include "kernel/debug_keys.hpp"
#include "kernel/lib/format.hpp"
#include "kernel/lib/spinlock.hpp"
#include <cstdarg>

namespace menhir {
namespace {

constexpr char switch_char = 0x01;        // Ctrl-A, pressed three times, as in Xen
constexpr int switch_presses = 3;
constexpr size_t line_max = 512;

char ring_storage[64 * 1024];
LogRing log_ring{ring_storage, sizeof ring_storage};
Uart16550 com1;
Spinlock lock;
bool emergency_mode = false;
LogLevel threshold = LogLevel::info;
bool timestamps = false;
uint64_t tsc_khz = 0;
uint8_t com1_irq = 4;

char dom0_input[1024];
size_t input_head = 0, input_tail = 0;   // bytes queued: head - tail
void (*input_listener)() = nullptr;

console_input::Target input_target{};   // dom0
console::GuestInput guest_input{};
int switch_count = 0;

void emit(const char* text, size_t len, bool to_serial)
{
    log_ring.write(text, len);
    if (!to_serial) return;
    for (size_t i = 0; i < len; ++i) {
        if (text[i] == '\n') com1.put('\r');
        com1.put(text[i]);
    }
}

void write_locked(LogLevel level, const char* text)
{
    const bool to_serial = level <= threshold;
    char stamp[32];
    if (timestamps && tsc_khz) {
        const uint64_t ticks = cpu::rdtsc();
        const uint64_t ms = ticks / tsc_khz;
        const uint64_t us = (ticks % tsc_khz) * 1000 / tsc_khz;
        const size_t n = format(stamp, sizeof stamp, "[%5lu.%03lu%03lu] ", ms / 1000, ms % 1000, us);
        emit(stamp, n, to_serial);
    }
    emit(text, __builtin_strlen(text), to_serial);
    emit("\n", 1, to_serial);
}

void vlog(LogLevel level, const char* prefix, const char* fmt, va_list ap)
{
    char line[line_max];
    size_t n = format(line, sizeof line, "%s", prefix);
    if (n < sizeof line) vformat(line + n, sizeof line - n, fmt, ap);
    console::write_line(level, line);
}

} // namespace

namespace console {

void init_early()
{
    (void)com1.init(0x3f8, 115200, 8, 'n', 1);
}

void configure(const cmdline::Options& o)
{
    threshold = o.loglvl;
    timestamps = o.console_timestamps;
    com1_irq = o.com1.irq;
    if (o.console_com1)
        (void)com1.init(o.com1.io_base, o.com1.baud, o.com1.data_bits, o.com1.parity, o.com1.stop_bits);
}

void set_tsc_khz(uint64_t khz) { tsc_khz = khz; }

void write_line(LogLevel level, const char* text)
{
    if (emergency_mode) {
        write_locked(level, text);
        return;
    }
    IrqSpinGuard guard{lock};
    write_locked(level, text);
}

void emergency() { emergency_mode = true; }

const LogRing& ring() { return log_ring; }

uint8_t irq() { return com1_irq; }

void enable_input_interrupts()
{
    com1.enable_rx_interrupt();
    while (com1.has_byte()) (void)com1.get();   // drop bytes typed during boot
}

namespace {

// Ctrl-A three times: the next target of the cycle, announced as Xen does.
void switch_input()
{
    uint16_t ids[128];
    const size_t n = guest_input.served_ids ? guest_input.served_ids(ids, sizeof ids / sizeof ids[0]) : 0;
    input_target = console_input::next(input_target, ids, n);
    switch (input_target.kind) {
    case console_input::Kind::dom0: info("*** Serial input to DOM0 (type 'CTRL-a' three times to switch input)"); break;
    case console_input::Kind::menhir: info("*** Serial input to Menhir (type 'CTRL-a' three times to switch input)"); break;
    case console_input::Kind::domain:
        info("*** Serial input to DOM%u (type 'CTRL-a' three times to switch input)", input_target.domid);
        break;
    }
}

} // namespace

void receive(char c)
{
    if (c == switch_char) {
        if (++switch_count < switch_presses) return;
        switch_count = 0;
        switch_input();
        return;
    }
    switch_count = 0;
    if (input_target.kind == console_input::Kind::menhir) {
        debug_keys::handle(c);
        return;
    }
    if (input_target.kind == console_input::Kind::domain) {
        if (guest_input.put) guest_input.put(input_target.domid, c);   // dropped if it no longer takes input
        return;
    }
    {
        IrqSpinGuard g{lock};
        if (input_head - input_tail < sizeof dom0_input) dom0_input[input_head++ % sizeof dom0_input] = c;
    }
    if (input_listener) input_listener();
}

void set_input_listener(void (*listener)()) { input_listener = listener; }

void set_guest_input(const GuestInput& hooks) { guest_input = hooks; }

size_t read_input(char* out, size_t max)
{
    IrqSpinGuard g{lock};
    size_t n = 0;
    while (n < max && input_tail != input_head) out[n++] = dom0_input[input_tail++ % sizeof dom0_input];
    return n;
}

// Called from the UART's interrupt: drain everything that arrived.
void drain_uart()
{
    while (com1.has_byte()) receive(com1.get());
}

} // namespace console

#define MENHIR_LOG_FN(name, level, prefix)     \
    void name(const char* fmt, ...)            \
    {                                          \
        va_list ap;                            \
        va_start(ap, fmt);                     \
        vlog(level, prefix, fmt, ap);          \
        va_end(ap);                            \
    }
MENHIR_LOG_FN(error, LogLevel::error, "menhir: error: ")
MENHIR_LOG_FN(warning, LogLevel::warning, "menhir: warning: ")
MENHIR_LOG_FN(info, LogLevel::info, "menhir: ")
MENHIR_LOG_FN(debug, LogLevel::debug, "menhir: ")
#undef MENHIR_LOG_FN

} // namespace menhir
