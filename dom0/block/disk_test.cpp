// See disk_test.hpp. The sector ranges (relative to the partition) and the
// pattern are what tests/integration/dom0_disk.py checks in the image file:
//   sectors 0..7     read: the host wrote them; dom0 prints their FNV-1a
//   sectors 16..315  written with pattern(sector, byte), flushed, read back
//   sectors 1024..   bench: 4 x 64 KiB written then read, timed
#include "dom0/block/disk_test.hpp"

#include "dom0/block/disks.hpp"
#include "runtime/events.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

using namespace guest;

namespace dom0::block {
namespace {

constexpr uint32_t read_first = 0, read_count = 8;
constexpr uint32_t write_first = 16, write_count = 300;   // more than 256 sectors: one EXT command
constexpr uint32_t bench_first = 1024, bench_chunk = 128, bench_chunks = 4;   // 128 sectors = 64 KiB

uint8_t g_out[write_count * ata::sector_bytes];
uint8_t g_in[write_count * ata::sector_bytes];

uint32_t fnv1a(const uint8_t* p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
    return h;
}

uint8_t pattern(uint32_t sector, uint32_t i) { return static_cast<uint8_t>(sector * 131u + i * 7u + (i >> 8) * 3u + 0x3c); }

bool fail_io(const char* what, const ata::Result& r) {
    print("dom0: FAIL %s: %s (status 0x%02x, error 0x%02x)\n", what, ata::to_string(r.error), r.status, r.ata_error);
    return false;
}

void bench(const Extent& e, const char* name) {
    if (e.sectors < bench_first + bench_chunk * bench_chunks) {
        print("dom0: disk: bench skipped: %s is too small\n", name);
        return;
    }
    for (uint32_t i = 0; i < bench_chunk * ata::sector_bytes; ++i) g_out[i] = static_cast<uint8_t>(i);
    uint64_t t0 = rdtsc();
    for (uint32_t c = 0; c < bench_chunks; ++c)
        if (!ata::write(e.disk, e.start + bench_first + c * bench_chunk, bench_chunk, g_out).ok()) return;
    if (!ata::flush(e.disk).ok()) return;
    const uint64_t write_ticks = rdtsc() - t0;
    t0 = rdtsc();
    for (uint32_t c = 0; c < bench_chunks; ++c)
        if (!ata::read(e.disk, e.start + bench_first + c * bench_chunk, bench_chunk, g_in).ok()) return;
    const uint64_t read_ticks = rdtsc() - t0;
    print("dom0: disk: bench %s: read %llu ticks per 64 KiB, write %llu ticks per 64 KiB (%u x 64 KiB, PIO)\n", name,
          static_cast<unsigned long long>(read_ticks / bench_chunks),
          static_cast<unsigned long long>(write_ticks / bench_chunks), bench_chunks);
}

}  // namespace

bool test_disk() {
    if (!ev::init()) return false;
    char name[24] = "/dev/hdb1";
    (void)cmdline_option(cmdline(), "disk", name, sizeof name);
    (void)disks_init();
    list_disks();

    Extent e;
    const OpenError oe = resolve(name, e);
    if (oe != OpenError::none) {
        print("dom0: FAIL %s: %s\n", name, to_string(oe));
        return false;
    }
    if (e.sectors < write_first + write_count) {
        print("dom0: FAIL %s: %llu sectors, too small for the test\n", name, static_cast<unsigned long long>(e.sectors));
        return false;
    }

    ata::Result r = ata::read(e.disk, e.start + read_first, read_count, g_in);
    if (!r.ok()) return fail_io("read", r);
    print("dom0: disk: read %s sectors %u+%u: fnv1a 0x%08x\n", name, read_first, read_count,
          fnv1a(g_in, read_count * ata::sector_bytes));

    for (uint32_t s = 0; s < write_count; ++s)
        for (uint32_t i = 0; i < ata::sector_bytes; ++i) g_out[s * ata::sector_bytes + i] = pattern(write_first + s, i);
    r = ata::write(e.disk, e.start + write_first, write_count, g_out);
    if (!r.ok()) return fail_io("write", r);
    r = ata::flush(e.disk);
    if (!r.ok()) return fail_io("flush", r);
    for (uint8_t& b : g_in) b = 0;
    r = ata::read(e.disk, e.start + write_first, write_count, g_in);
    if (!r.ok()) return fail_io("read back", r);
    for (uint32_t i = 0; i < sizeof g_in; ++i) {
        if (g_in[i] != g_out[i]) {
            print("dom0: FAIL read back differs at byte %u of sector %u: 0x%02x, wrote 0x%02x\n", i % ata::sector_bytes,
                  write_first + i / ata::sector_bytes, g_in[i], g_out[i]);
            return false;
        }
    }
    print("dom0: disk: wrote %s sectors %u+%u, flushed, read back equal: fnv1a 0x%08x\n", name, write_first,
          write_count, fnv1a(g_in, sizeof g_in));

    bench(e, name);

    // Requests the driver must refuse without touching the device.
    const uint64_t disk_sectors = ata::device(e.disk).id.sectors;
    const ata::Result past = ata::read(e.disk, disk_sectors, 1, g_in);
    const ata::Result cd = ata::read(0, 0, 1, g_in);
    const ata::Result none = ata::write(e.disk, 0, 0, g_out);
    print("dom0: disk: refused: read at sector %llu: %s; read from /dev/hda: %s; write of 0 sectors: %s\n",
          static_cast<unsigned long long>(disk_sectors), ata::to_string(past.error), ata::to_string(cd.error),
          ata::to_string(none.error));
    if (past.error != ata::Error::out_of_range || none.error != ata::Error::out_of_range ||
        (cd.error != ata::Error::no_disk && !ata::device(0).usable)) {
        print("dom0: FAIL a request the driver must refuse was not refused\n");
        return false;
    }

    const unsigned ch = disk_channel(e.disk);
    const ata::ChannelStats& s = ata::channel_stats(ch);
    print("dom0: disk: IRQ %u: %llu events, %llu waits ended by the interrupt, %llu by polling the status\n",
          ch == 0 ? 14u : 15u, static_cast<unsigned long long>(s.irq_events),
          static_cast<unsigned long long>(s.irq_waits), static_cast<unsigned long long>(s.polled_waits));
    print("dom0: disk: commands: %llu READ/WRITE SECTORS, %llu READ/WRITE SECTORS EXT\n",
          static_cast<unsigned long long>(s.lba28_commands), static_cast<unsigned long long>(s.lba48_commands));
    print("dom0: test=disk ok\n");
    return true;
}

}  // namespace dom0::block
