// See ata.hpp. Registers and protocols are ATA8-ACS / ATA/ATAPI-6: command
// block at BASE+0..7 (data, error/features, sector count, LBA low/mid/high,
// device, status/command), control block at CTRL (alternate status on read,
// device control on write: nIEN is bit 1). PIO data-in (READ SECTORS (EXT),
// IDENTIFY): the device interrupts before each sector; reading the status
// register acknowledges it. PIO data-out (WRITE SECTORS (EXT)): the first
// sector is sent when DRQ shows, then the device interrupts after each one.
// Non-data (FLUSH CACHE (EXT)): one interrupt at the end.
#include "dom0/block/ata.hpp"

#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/x86.hpp"

using namespace guest;

namespace dom0::block::ata {
namespace {

namespace reg {
constexpr uint16_t data = 0, error = 1, count = 2, lba0 = 3, lba1 = 4, lba2 = 5, device = 6, status = 7, command = 7;
}
namespace st {
constexpr uint8_t bsy = 0x80, df = 0x20, drq = 0x08, err = 0x01;
}
namespace cmd {
constexpr uint8_t read = 0x20, read_ext = 0x24, write = 0x30, write_ext = 0x34;
constexpr uint8_t flush = 0xe7, flush_ext = 0xea, identify = 0xec, identify_packet = 0xa1;
}

constexpr uint64_t command_timeout = 5000 * ev::MS;   // emulated time: Bochs keeps its own clock
constexpr uint64_t flush_timeout = 30000 * ev::MS;
// How long a wait trusts the interrupt alone before it also reads the
// status. Under Bochs, the interrupt of a read whose seek outlasts dom0's
// way into SCHEDOP_poll (a one-sector read far from the last one) reaches
// the hypervisor but its event has been seen to arrive only after this
// fallback ended the wait (the next command then finds the port pending):
// such a read costs ~20 ms of emulated time instead of hanging.
constexpr uint64_t fallback_after = 20 * ev::MS;
constexpr uint64_t poll_slice = 5 * ev::MS;
constexpr uint32_t max_lba28_sectors = 256;   // a sector count of 0 means 256

struct Channel {
    uint16_t base, ctrl;
    uint32_t irq;
    bool floating;   // status 0xff: no controller or no drives
    ChannelStats stats;
};

Channel g_channels[2] = {{0x1f0, 0x3f6, 14, false, {}}, {0x170, 0x376, 15, false, {}}};
Device g_devices[max_ata_disks];
bool g_initialised = false;

void on_irq(uint32_t, void* ctx) {
    auto* c = static_cast<Channel*>(ctx);
    c->stats.irq_events = c->stats.irq_events + 1;
}

uint8_t alt_status(const Channel& c) { return inb(c.ctrl); }
uint8_t status(const Channel& c) { return inb(static_cast<uint16_t>(c.base + reg::status)); }   // acks the IRQ
void out(const Channel& c, uint16_t r, uint8_t v) { outb(static_cast<uint16_t>(c.base + r), v); }
uint8_t in(const Channel& c, uint16_t r) { return inb(static_cast<uint16_t>(c.base + r)); }

// The device needs 400 ns after a device select or a command before its
// status means anything; four alternate-status reads take at least that.
void delay400(const Channel& c) {
    for (int i = 0; i < 4; ++i) (void)alt_status(c);
}

void insw(const Channel& c, void* buf) {
    unsigned long n = sector_bytes / 2;
    asm volatile("rep insw" : "+D"(buf), "+c"(n) : "d"(static_cast<uint16_t>(c.base + reg::data)) : "memory");
}
void outsw(const Channel& c, const void* buf) {
    unsigned long n = sector_bytes / 2;
    asm volatile("rep outsw" : "+S"(buf), "+c"(n) : "d"(static_cast<uint16_t>(c.base + reg::data)) : "memory");
}

// With interrupts off the upcall cannot run: take an event that is pending
// on the channel's port into the count directly.
void collect(Channel& c) {
    if (c.stats.port <= 0) return;
    const auto port = static_cast<uint32_t>(c.stats.port);
    if (ev::is_pending(port)) {
        ev::clear_pending(port);
        c.stats.irq_events = c.stats.irq_events + 1;
    }
}

// The interrupt count to wait past, after taking in an event still pending
// from an earlier completion (one that came after the fallback ended that
// wait), so that it cannot end the next wait early.
uint64_t snapshot(Channel& c) {
    const unsigned long flags = irq_save();
    collect(c);
    const uint64_t n = c.stats.irq_events;
    irq_restore(flags);
    return n;
}

// Waits until the channel's interrupt count moves past `before`, or (after
// fallback_after) the device no longer shows BSY; false on timeout. Sleeps
// in SCHEDOP_poll on the pirq port, which returns when the event comes.
bool wait_irq(Channel& c, uint64_t before, uint64_t start, uint64_t timeout) {
    const unsigned long flags = irq_save();
    bool done = false;
    for (;;) {
        collect(c);
        if (c.stats.irq_events != before) {
            ++c.stats.irq_waits;
            done = true;
            break;
        }
        const uint64_t now = ev::now_ns();
        if ((c.stats.port <= 0 || now - start >= fallback_after) && !(alt_status(c) & st::bsy)) {
            ++c.stats.polled_waits;
            done = true;
            break;
        }
        if (now - start >= timeout) break;
        if (c.stats.port > 0) {
            const auto port = static_cast<uint32_t>(c.stats.port);
            uint64_t until = now + poll_slice;
            if (until > start + timeout) until = start + timeout;
            (void)ev::poll(&port, 1, until);
        } else {
            pause();
        }
    }
    irq_restore(flags);
    return done;
}

Result device_result(const Channel& c, uint8_t s) {
    if (s & (st::err | st::df)) return Result{Error::device, s, in(c, reg::error)};
    return Result{Error::none, s, 0};
}

// After a command or a data block: the interrupt (or the fallback), then the
// status register (which acknowledges it). A stale event from an earlier
// block can end the wait early: BSY still set means wait again.
Result wait_done(Channel& c, uint64_t before, uint64_t timeout, bool want_drq) {
    const uint64_t start = ev::now_ns();
    for (;;) {
        if (!wait_irq(c, before, start, timeout)) return Result{Error::timeout, alt_status(c), 0};
        const uint8_t s = status(c);
        if (s & st::bsy) {
            before = snapshot(c);
            continue;
        }
        const Result r = device_result(c, s);
        if (!r.ok()) return r;
        if (want_drq && !(s & st::drq)) return Result{Error::device, s, in(c, reg::error)};
        return r;
    }
}

// Polls (no interrupt comes) until BSY clears, and with want_drq until DRQ
// shows (the first block of a PIO data-out command). Without want_drq, ERR
// is the previous command's and is not this wait's business.
Result wait_status(Channel& c, uint64_t timeout, bool want_drq) {
    const uint64_t start = ev::now_ns();
    for (;;) {
        const uint8_t s = alt_status(c);
        if (!(s & st::bsy)) {
            if (want_drq && (s & (st::err | st::df))) return Result{Error::device, s, in(c, reg::error)};
            if (!want_drq || (s & st::drq)) return Result{Error::none, s, 0};
        }
        if (ev::now_ns() - start >= timeout) return Result{Error::timeout, s, 0};
        pause();
    }
}

// Selects the drive with the device register's other bits (LBA mode and
// LBA28's top nibble) and waits until it is idle.
Result select(Channel& c, bool slave, uint8_t bits) {
    out(c, reg::device, static_cast<uint8_t>(0xa0 | bits | (slave ? 0x10 : 0)));
    delay400(c);
    return wait_status(c, command_timeout, false);
}

bool identify(Channel& c, bool slave, uint8_t command, uint16_t (&words)[256], Result& r) {
    r = select(c, slave, 0);
    if (!r.ok()) return false;
    const uint64_t before = snapshot(c);
    out(c, reg::command, command);
    delay400(c);
    r = wait_done(c, before, command_timeout, true);
    if (!r.ok()) return false;
    insw(c, words);
    return true;
}

void probe(unsigned disk) {
    Channel& c = g_channels[disk_channel(disk)];
    const bool slave = disk_is_slave(disk);
    Device& d = g_devices[disk];
    d = Device{};
    if (c.floating) return;
    out(c, reg::device, slave ? 0xb0 : 0xa0);
    delay400(c);
    const uint8_t s = alt_status(c);
    if (s == 0x00 || s == 0xff) return;   // nothing at that position
    static uint16_t words[256];
    Result r;
    if (!identify(c, slave, cmd::identify, words, r)) {
        // A packet device aborts IDENTIFY DEVICE and leaves its signature
        // 0x14/0xEB in LBA mid/high (ATA8-ACS 9.12): ask it the packet way.
        const uint8_t mid = in(c, reg::lba1), high = in(c, reg::lba2);
        if (!(mid == 0x14 && high == 0xeb) || !identify(c, slave, cmd::identify_packet, words, r)) {
            if (r.error != Error::device)   // a plain abort is just "nothing we drive"
                print("dom0: ata: disk %u: IDENTIFY failed: %s (status 0x%x)\n", disk, to_string(r.error), r.status);
            return;
        }
    }
    d.present = true;
    d.id_error = decode_identify(words, d.id);
    d.usable = !d.id.atapi && d.id_error == IdentifyError::none && d.id.logical_sector_bytes == sector_bytes;
}

long bind_pirq(uint32_t pirq) {
    struct {
        uint32_t pirq, flags, port;
    } b{pirq, 0, 0};
    const long rc = event_channel_op(xen::EVTCHNOP_bind_pirq, &b);
    return rc < 0 ? rc : static_cast<long>(b.port);
}

Result check(unsigned disk, uint64_t lba, uint32_t count) {
    if (disk >= max_ata_disks || !g_devices[disk].usable) return Result{Error::no_disk, 0, 0};
    const uint64_t sectors = g_devices[disk].id.sectors;
    if (count == 0 || lba > sectors || count > sectors - lba) return Result{Error::out_of_range, 0, 0};
    return Result{};
}

// One command of 1..max_ext_sectors sectors (more than 256, or an end past
// LBA 2^28, needs the EXT form).
// `in` receives a read; `from` is what a write sends (exactly one is set).
Result command(unsigned disk, uint64_t lba, uint32_t n, uint8_t* in, const uint8_t* from) {
    Channel& c = g_channels[disk_channel(disk)];
    const bool slave = disk_is_slave(disk);
    const bool ext = lba + n > (1ull << 28) || n > max_lba28_sectors;
    const bool is_write = from != nullptr;
    if (ext && !g_devices[disk].id.lba48) return Result{Error::no_lba48, 0, 0};
    Result r = select(c, slave, ext ? 0x40 : static_cast<uint8_t>(0x40 | ((lba >> 24) & 0x0f)));
    if (!r.ok()) return r;
    if (ext) {   // the high-order bytes first: each register keeps the previous byte written
        out(c, reg::count, static_cast<uint8_t>(n >> 8));
        out(c, reg::lba0, static_cast<uint8_t>(lba >> 24));
        out(c, reg::lba1, static_cast<uint8_t>(lba >> 32));
        out(c, reg::lba2, static_cast<uint8_t>(lba >> 40));
    }
    out(c, reg::count, static_cast<uint8_t>(n));   // 256 (LBA28) or 65536 (EXT) is written as 0
    out(c, reg::lba0, static_cast<uint8_t>(lba));
    out(c, reg::lba1, static_cast<uint8_t>(lba >> 8));
    out(c, reg::lba2, static_cast<uint8_t>(lba >> 16));
    ++(ext ? c.stats.lba48_commands : c.stats.lba28_commands);
    uint64_t before = snapshot(c);
    out(c, reg::command, is_write ? (ext ? cmd::write_ext : cmd::write) : (ext ? cmd::read_ext : cmd::read));
    delay400(c);
    if (!is_write) {
        for (uint32_t i = 0; i < n; ++i) {
            r = wait_done(c, before, command_timeout, true);
            if (!r.ok()) return r;
            before = snapshot(c);
            insw(c, in + i * sector_bytes);
        }
        // The status after the last block says whether the command ended
        // well; reading it also acknowledges anything the device still signals.
        return device_result(c, status(c));
    }
    r = wait_status(c, command_timeout, true);
    if (!r.ok()) return r;
    for (uint32_t i = 0; i < n; ++i) {
        before = snapshot(c);
        outsw(c, from + i * sector_bytes);
        delay400(c);
        r = wait_done(c, before, command_timeout, i + 1 < n);
        if (!r.ok()) return r;
    }
    return r;
}

Result transfer(unsigned disk, uint64_t lba, uint32_t count, uint8_t* in, const uint8_t* from) {
    Result r = check(disk, lba, count);
    const uint32_t most = g_devices[disk < max_ata_disks ? disk : 0].id.lba48 ? max_ext_sectors : max_lba28_sectors;
    while (r.ok() && count) {
        const uint32_t n = count < most ? count : most;
        r = command(disk, lba, n, in, from);
        const size_t bytes = static_cast<size_t>(n) * sector_bytes;
        lba += n;
        count -= n;
        if (in) in += bytes;
        if (from) from += bytes;
    }
    return r;
}

}  // namespace

const char* to_string(Error e) {
    switch (e) {
    case Error::none: return "ok";
    case Error::no_disk: return "no ATA disk there";
    case Error::out_of_range: return "sectors beyond the disk";
    case Error::timeout: return "the device did not answer in time";
    case Error::device: return "the device reported an error";
    case Error::no_lba48: return "the disk lacks 48-bit addressing";
    }
    return "?";
}

bool init() {
    if (g_initialised) return true;
    bool any = false;
    for (Channel& c : g_channels) {
        c.stats.port = bind_pirq(c.irq);
        if (c.stats.port > 0) {
            ev::set_handler(static_cast<uint32_t>(c.stats.port), on_irq, &c);
            any = true;
        } else {
            print("dom0: ata: bind_pirq(%u) -> %ld: polling the status instead\n", c.irq, c.stats.port);
        }
        out(c, reg::device, 0xa0);
        delay400(c);
        c.floating = alt_status(c) == 0xff;
        if (!c.floating) outb(c.ctrl, 0x00);   // nIEN clear: the devices interrupt
    }
    for (unsigned disk = 0; disk < max_ata_disks; ++disk) probe(disk);
    g_initialised = true;
    return any;
}

const Device& device(unsigned disk) {
    static const Device none{};
    return disk < max_ata_disks ? g_devices[disk] : none;
}

const ChannelStats& channel_stats(unsigned channel) { return g_channels[channel < 2 ? channel : 0].stats; }

Result read(unsigned disk, uint64_t lba, uint32_t count, void* buf) {
    return transfer(disk, lba, count, static_cast<uint8_t*>(buf), nullptr);
}

Result write(unsigned disk, uint64_t lba, uint32_t count, const void* buf) {
    return transfer(disk, lba, count, nullptr, static_cast<const uint8_t*>(buf));
}

Result flush(unsigned disk) {
    if (disk >= max_ata_disks || !g_devices[disk].usable) return Result{Error::no_disk, 0, 0};
    Channel& c = g_channels[disk_channel(disk)];
    const IdentifyInfo& id = g_devices[disk].id;
    Result r = select(c, disk_is_slave(disk), 0x40);
    if (!r.ok()) return r;
    const uint64_t before = snapshot(c);
    out(c, reg::command, (id.lba48 && id.flush_cache_ext) ? cmd::flush_ext : cmd::flush);
    delay400(c);
    return wait_done(c, before, flush_timeout, false);
}

void submit(Request& r) {
    switch (r.op) {
    case Op::read: r.result = read(r.disk, r.lba, r.count, r.buf); return;
    case Op::write: r.result = write(r.disk, r.lba, r.count, r.buf); return;
    case Op::flush: r.result = flush(r.disk); return;
    }
    r.result = Result{Error::no_disk, 0, 0};
}

}  // namespace dom0::block::ata
