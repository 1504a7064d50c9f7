#include "kernel/console.hpp"
#include "arch/x86/cpu.hpp"
#include "kernel/console_input.hpp"
#include "kernel/console_share.hpp"
#include "arch/x86/percpu.hpp"
#include "drivers/uart16550.hpp"
#include "kernel/debug_keys.hpp"
#include "kernel/lib/format.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/tx_ring.hpp"
#include <cstdarg>

namespace menhir {
namespace {

constexpr char switch_char = 0x01;        // Ctrl-A, pressed three times, as in Xen
constexpr int switch_presses = 3;
constexpr size_t line_max = 512;
constexpr size_t stamp_max = 32;

char ring_storage[64 * 1024];
constinit LogRing log_ring{ring_storage, sizeof ring_storage};

// The transmit ring holds the whole boot log (a few KiB) with room to spare,
// so nothing of it is lost while the UART's interrupt is not on yet. Guest
// lines may fill only half of it: hypervisor lines always find room. Within
// that half, a domU's line goes in above a high-water mark only while its
// domain holds less than its fair share (kernel/console_share), so a flood
// cannot take the room a quiet neighbour's lines need.
constexpr size_t tx_size = 64 * 1024;
constexpr size_t tx_guest_share = console_share::guest_limit;
static_assert(tx_guest_share == tx_size / 2);
char tx_storage[tx_size];
constinit TxRing tx_ring{tx_storage, tx_size};
constinit ShareTracker tx_share;          // under `lock`: rate-limited domains' bytes in tx_ring
uint64_t menhir_dropped = 0;              // hypervisor line bytes the full ring refused, not yet reported
bool dom0_raw = false;                    // set_dom0_interactive
bool raw_mid_line = false;                // dom0's raw output left the cursor mid-line

Uart16550 com1;
Spinlock lock;                            // the log ring, the transmit ring's producer side, dom0's input
// The UART's registers and the transmit ring's consumer side. Only ever
// try-locked (exit path, interrupt, writers): whoever holds it does the
// work for everyone, and looks again at service_wanted once it let go.
Spinlock uart_lock;
bool service_wanted = false;
constexpr uint32_t no_cpu = ~0u;
uint32_t uart_holder = no_cpu;            // CPU index holding uart_lock (flush() from a debug key)
constexpr uint32_t uart_cpu_index = 0;          // the UART's IRQ goes to the BSP (kernel/main.cpp)
bool uart_interrupts = false;             // enable_input_interrupts() ran
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

uint32_t cpu_index() { return cpu::rdmsr(cpu::msr::gs_base) ? this_cpu().index : 0; }

void put_polled(const char* text, size_t len)
{
    for (size_t i = 0; i < len; ++i) com1.put(text[i]);
}

// Lock held (or emergency). Builds "[stamp] TEXT": the log ring gets it with
// "\n", the serial line with "\r\n" through the transmit ring, which may
// refuse it (`limit`: how full the ring may get). False if refused.
bool write_locked(LogLevel level, const char* text, size_t limit)
{
    const bool to_serial = level <= threshold;
    char out[stamp_max + line_max + 2];
    size_t n = 0;
    if (timestamps && tsc_khz) {
        const uint64_t ticks = cpu::rdtsc();
        const uint64_t ms = ticks / tsc_khz;
        const uint64_t us = (ticks % tsc_khz) * 1000 / tsc_khz;
        n = format(out, stamp_max, "[%5lu.%03lu%03lu] ", ms / 1000, ms % 1000, us);
    }
    for (size_t i = 0; text[i] && i < line_max; ++i) out[n++] = text[i];
    out[n++] = '\n';
    log_ring.write(out, n);
    if (!to_serial) return true;
    out[n - 1] = '\r';
    out[n++] = '\n';
    if (emergency_mode) {
        if (raw_mid_line) put_polled("\r\n", 2);
        raw_mid_line = false;
        put_polled(out, n);
        return true;
    }
    if (raw_mid_line && tx_ring.push("\r\n", 2, limit)) raw_mid_line = false;
    if (menhir_dropped && limit == tx_size) {
        char note[96];
        const size_t k = format(note, sizeof note, "menhir: warning: %lu characters of console output dropped "
                                "(transmit ring full)\r\n", menhir_dropped);
        if (tx_ring.push(note, k)) menhir_dropped = 0;
    }
    if (tx_ring.push(out, n, limit)) return true;
    if (limit == tx_size) menhir_dropped += n;
    return false;
}

// uart_lock held: receive what arrived, fill the transmit FIFO if it is
// empty, and leave the transmit interrupt on only while bytes wait. A few
// rounds at most, until the UART has no interrupt pending (its IRQ is an
// edge: a condition left set would never interrupt again).
void pump_locked()
{
    for (int round = 0; round < 8; ++round) {
        bool busy = false;
        for (int i = 0; i < 64 && com1.has_byte(); ++i) {
            console::receive(com1.get());
            busy = true;
        }
        if (!tx_ring.empty() && com1.can_send()) {
            char chunk[16];
            const size_t n = tx_ring.pop(chunk, com1.fifo_size() < sizeof chunk ? com1.fifo_size() : sizeof chunk);
            for (size_t i = 0; i < n; ++i) com1.send(chunk[i]);
            busy = true;
        }
        com1.set_interrupts(uart_interrupts, uart_interrupts && !tx_ring.empty());
        if (!com1.interrupt_pending() && !busy) return;
    }
}

// Anyone, any context: do the UART's work now unless another CPU (or an
// interrupted caller on this one) is at it; it then sees service_wanted.
void service()
{
    if (emergency_mode) return;
    __atomic_store_n(&service_wanted, true, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&service_wanted, __ATOMIC_SEQ_CST)) {
        if (!uart_lock.try_lock()) return;
        __atomic_store_n(&service_wanted, false, __ATOMIC_SEQ_CST);
        uart_holder = cpu_index();
        pump_locked();
        uart_holder = no_cpu;
        uart_lock.unlock();
        // The unlock must be visible before service_wanted is read again, or
        // a writer that failed its try-lock meanwhile would be missed.
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
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
    if (o.console_com1 &&
        com1.init(o.com1.io_base, o.com1.baud, o.com1.data_bits, o.com1.parity, o.com1.stop_bits))
        info("console: COM1 at 0x%x, %u-byte transmit FIFO", o.com1.io_base, com1.fifo_size());
}

void set_tsc_khz(uint64_t khz) { tsc_khz = khz; }

void write_line(LogLevel level, const char* text)
{
    if (emergency_mode) {
        (void)write_locked(level, text, tx_size);
        return;
    }
    {
        IrqSpinGuard guard{lock};
        (void)write_locked(level, text, tx_size);
    }
    service();
}

void set_dom0_interactive(bool on)
{
    IrqSpinGuard guard{lock};
    dom0_raw = on;
}

bool dom0_interactive() { return __atomic_load_n(&dom0_raw, __ATOMIC_RELAXED); }

size_t write_dom0_raw(const char* text, size_t len)
{
    size_t done = 0;
    {
        IrqSpinGuard guard{lock};
        // A few bytes at a time, so a full ring takes what fits.
        while (done < len) {
            char chunk[64];
            size_t n = 0, used = 0;
            for (; done + used < len && n + 2 <= sizeof chunk; ++used) {
                const char c = text[done + used];
                if (c == '\n') chunk[n++] = '\r';
                chunk[n++] = c;
            }
            if (!tx_ring.push(chunk, n, tx_guest_share)) break;
            raw_mid_line = chunk[n - 1] != '\n';
            done += used;
        }
    }
    service();
    return done;
}

void clear_log()
{
    IrqSpinGuard guard{lock};
    log_ring.clear();
}

void write_guest_line(uint16_t domid, const char* text, GuestOutput& out, bool limited)
{
    const size_t len = __builtin_strlen(text);
    {
        IrqSpinGuard guard{lock};
        char line[line_max];
        char note[64];
        // A line costs what it takes on the serial line: "(dN) ", the text,
        // CR LF, and the suppressed-count line that must come before it.
        size_t cost = format(line, sizeof line, "(d%u) %s", domid, text) + 2;
        const size_t note_len =
            out.suppressed ? format(note, sizeof note, "(d%u) ... %lu characters suppressed", domid, out.suppressed) : 0;
        if (note_len) cost += note_len + 2;
        const uint64_t now_ms = tsc_khz ? cpu::rdtsc() / tsc_khz : 0;
        if (!limited) {
            if (note_len && write_locked(LogLevel::info, note, tx_guest_share)) out.suppressed = 0;
            if (!write_locked(LogLevel::info, line, tx_guest_share)) out.suppressed += len + 1;
        } else {
            // The note and the line go in together or not at all (a note
            // alone would only cost the ring room). What they take in the
            // ring, timestamps included, is checked before either is written,
            // and only the consumer runs meanwhile: it can only make room.
            const size_t wire = cost + (timestamps && tsc_khz ? (note_len ? 2 : 1) * stamp_max : 0);
            tx_share.retire(tx_ring.sent());
            const auto verdict = tx_share.can_record(domid)
                                     ? console_share::admit(tx_ring.used(), tx_share.held(domid), wire)
                                     : console_share::Verdict::untracked;
            if (verdict != console_share::Verdict::queue || !out.bucket.take(now_ms, cost)) {
                out.suppressed += len + 1;
            } else {
                if (note_len && write_locked(LogLevel::info, note, tx_guest_share)) out.suppressed = 0;
                if (!write_locked(LogLevel::info, line, tx_guest_share)) out.suppressed += len + 1;
                (void)tx_share.record(domid, wire, tx_ring.queued());
            }
        }
    }
    // A dropped line feeds the UART too: while guests on every CPU run with
    // IF=0 the UART's interrupt is not taken, and the flooder's own calls are
    // then what drains the ring (without this it drained at a few hundred
    // bytes a second under Bochs, and the ring stayed above its high-water
    // mark, so the flooder got nothing through and the neighbour too little).
    service();
}

void emergency()
{
    // Other CPUs are stopped, perhaps at the UART: take the ring over.
    emergency_mode = true;
    char chunk[64];
    for (size_t n; (n = tx_ring.pop(chunk, sizeof chunk)) != 0;) put_polled(chunk, n);
}

void flush()
{
    if (emergency_mode) return;
    const bool irqs = cpu::interrupts_enabled();
    cpu::cli();
    // From a debug key this CPU holds the UART already; a CPU stopped while
    // holding it is waited for only so long.
    const bool mine = uart_holder == cpu_index();
    bool locked = false;
    for (int i = 0; !mine && i < 1000000 && !(locked = uart_lock.try_lock()); ++i) cpu::pause();
    char chunk[64];
    for (size_t n; (n = tx_ring.pop(chunk, sizeof chunk)) != 0;) put_polled(chunk, n);
    com1.flush();
    if (locked) uart_lock.unlock();
    if (irqs) cpu::sti();
}

void poll()
{
    // Input is the UART CPU's job; output waiting is anyone's.
    if (this_cpu().index == uart_cpu_index || !tx_ring.empty()) service();
}

uint32_t uart_cpu() { return uart_cpu_index; }

bool output_pending() { return !tx_ring.empty(); }

const LogRing& ring() { return log_ring; }

uint8_t irq() { return com1_irq; }

void enable_input_interrupts()
{
    while (com1.has_byte()) (void)com1.get();   // drop bytes typed during boot
    uart_interrupts = true;
    service();
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

// The UART's interrupt: what arrived, and room in the transmit FIFO.
void drain_uart() { service(); }

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
