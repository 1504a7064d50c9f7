// blkfront: a test guest that connects to its virtual disk (runtime/blkfront) and does what its command line says, one parseable line per step.
//
// Always: `blkfront: connected: vbd DEVID backend PATH (dom B)` and
// `blkfront: negotiated: S sectors of Z bytes, info I, flush F, ring P pages
// (N slots), indirect K, port E` (two lines: the console back end cuts
// lines at 160 characters), or `blkfront: FAIL connect: REASON`. Options (`extra=` in xl.cfg), done in
// this order:
//   vbd=DEVID order=N indirect=N   which disk; the ring order and indirect
//                                  segments asked for (capped by the back end)
//   write=PAT lba=N count=M        writes M sectors from sector N, sector s
//                                  holding "PAT lba s " repeated over its 512
//                                  bytes; `blkfront: wrote M sectors at N`
//   flush                          BLKIF_OP_FLUSH_DISKCACHE after it
//   ro                             the write must fail with BLKIF_RSP_ERROR:
//                                  `blkfront: write refused as expected (status -1)`
//                                  and info must have VDISK_READONLY
//   read=PAT lba=N count=M         reads and compares: `blkfront: read back OK
//                                  (M sectors at N)` or `blkfront: read back
//                                  FAIL at sector S byte B: got X expected Y`
//   repeat=N                       the read N times (one line, after the last)
//   reconnect                      disconnect (Closing, Closed) and connect again
//                                  before the read: `blkfront: reconnected`
//   hostile=LIST                   comma-separated: segments, indirect, sectors,
//                                  beyond, gref, indices, silent (see hostile());
//                                  `blkfront: hostile NAME: status N` or `...:
//                                  no response (backend state N)`; after the
//                                  list a good read must still work on a
//                                  connection (reconnecting if the back end
//                                  dropped us): `blkfront: after hostile: read OK`
//   bench[=KIB]                    sequential 64 KiB writes then reads over KIB
//                                  (default 1024) from lba: `blkfront: bench:
//                                  write|read 64 KiB x N: T ticks, T/N ticks/op`
//   stay                           after all that, stay up (idle) instead of
//                                  disconnecting and powering off
// Last line: `blkfront: done: P passed, F failed` (before the power-off).
#include "runtime/blkfront.hpp"
#include "runtime/events.hpp"
#include "runtime/grant.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/xenstore.hpp"

using namespace guest;
namespace bf = guest::blkfront;

extern "C" const char guest_name[] = "blkfront";

namespace {

constexpr uint64_t SEC = 1000000000ull;
constexpr uint32_t MAX_COUNT = 512;   // sectors per read= / write= (256 KiB)
alignas(4096) uint8_t g_buf[MAX_COUNT * blkif::sector_bytes];
alignas(4096) uint8_t g_bench[64 * 1024];
alignas(4096) uint8_t g_page[blkif::page_bytes];
alignas(4096) blkif::Segment g_ind_page[blkif::segments_per_indirect_page];
unsigned g_passed = 0, g_failed = 0;
bf::Options g_opts;

void pass() { ++g_passed; }
void failed() { ++g_failed; }

uint8_t pattern_byte(const char* pat, uint64_t sector, unsigned i) {
    // "PAT lba S " repeated: the host computes the same.
    char unit[64];
    const size_t n = format(unit, sizeof unit, "%s lba %llu ", pat, static_cast<unsigned long long>(sector));
    return static_cast<uint8_t>(unit[i % n]);
}

void fill(const char* pat, uint64_t lba, uint32_t count) {
    for (uint32_t s = 0; s < count; ++s) {
        char unit[64];
        const size_t n = format(unit, sizeof unit, "%s lba %llu ", pat, static_cast<unsigned long long>(lba + s));
        uint8_t* p = g_buf + s * blkif::sector_bytes;
        for (unsigned i = 0; i < blkif::sector_bytes; ++i) p[i] = static_cast<uint8_t>(unit[i % n]);
    }
}

bool connect() {
    const long rc = bf::connect(g_opts);
    if (rc != 0) {
        print("blkfront: FAIL connect: %s (%ld)\n", bf::last_error(), rc);
        failed();
        return false;
    }
    const bf::Disk& d = bf::disk();
    print("blkfront: connected: vbd %u backend %s (dom %u)\n", d.devid, d.backend, d.backend_id);
    print("blkfront: negotiated: %llu sectors of %u bytes, info %u, flush %u, ring %u pages (%u slots), indirect %u, "
          "port %u\n",
          static_cast<unsigned long long>(d.sectors), d.sector_size, d.info, d.flush ? 1u : 0u, d.ring_pages,
          d.ring_slots, d.indirect_segments, d.port);
    pass();
    return true;
}

bool disconnect() {
    const long rc = bf::disconnect();
    if (rc != 0) {
        print("blkfront: FAIL disconnect: %s (%ld)\n", bf::last_error(), rc);
        failed();
        return false;
    }
    print("blkfront: disconnected (backend state %u)\n", bf::backend_state());
    return true;
}

void do_write(const char* pat, uint64_t lba, uint32_t count, bool ro, bool want_flush) {
    fill(pat, lba, count);
    const long rc = bf::write(lba, count, g_buf);
    if (ro) {
        if (rc == -bf::EIO && bf::last_status() == blkif::rsp_error) {
            print("blkfront: write refused as expected (status %d)\n", bf::last_status());
            pass();
        } else {
            print("blkfront: FAIL write to a read-only disk -> %ld (status %d)\n", rc, bf::last_status());
            failed();
        }
        if (bf::disk().info & blkif::vdisk_readonly) {
            pass();
        } else {
            print("blkfront: FAIL info %u lacks VDISK_READONLY\n", bf::disk().info);
            failed();
        }
        return;
    }
    if (rc != 0) {
        print("blkfront: FAIL write %u sectors at %llu: %s (%ld)\n", count, static_cast<unsigned long long>(lba),
              bf::last_error(), rc);
        failed();
        return;
    }
    print("blkfront: wrote %u sectors at %llu\n", count, static_cast<unsigned long long>(lba));
    pass();
    if (want_flush) {
        const long f = bf::flush();
        if (f == 0) {
            print("blkfront: flushed\n");
            pass();
        } else {
            print("blkfront: FAIL flush: %s (%ld)\n", bf::last_error(), f);
            failed();
        }
    }
}

bool do_read(const char* pat, uint64_t lba, uint32_t count, bool quiet = false) {
    __builtin_memset(g_buf, 0, count * blkif::sector_bytes);
    const long rc = bf::read(lba, count, g_buf);
    if (rc != 0) {
        print("blkfront: read back FAIL: %s (%ld)\n", bf::last_error(), rc);
        failed();
        return false;
    }
    for (uint32_t s = 0; s < count; ++s)
        for (unsigned i = 0; i < blkif::sector_bytes; ++i) {
            const uint8_t want = pattern_byte(pat, lba + s, i);
            const uint8_t got = g_buf[s * blkif::sector_bytes + i];
            if (got != want) {
                print("blkfront: read back FAIL at sector %llu byte %u: got 0x%02x expected 0x%02x\n",
                      static_cast<unsigned long long>(lba + s), i, got, want);
                failed();
                return false;
            }
        }
    if (!quiet) print("blkfront: read back OK (%u sectors at %llu)\n", count, static_cast<unsigned long long>(lba));
    pass();
    return true;
}

// --- hostile requests ----------------------------------------------------

constexpr uint64_t HOSTILE_ID = 0x4000;

// Pushes the request in *e and reports its response.
void hostile_one(const char* name, const blkif::Entry& e) {
    blkif::Entry* slot = bf::raw_next_slot();
    __builtin_memcpy(slot, &e, sizeof e);
    bf::raw_push();
    blkif::Response r;
    if (bf::raw_response(r, 10 * SEC)) {
        const bool ok = r.status == blkif::rsp_error && r.id == e.req.id;
        print("blkfront: hostile %s: status %d (id 0x%llx) %s\n", name, r.status, static_cast<unsigned long long>(r.id),
              ok ? "ok" : "FAIL");
        ok ? pass() : failed();
    } else {
        // Dropping the connection is an answer too: the back end leaves Connected.
        const uint32_t st = bf::backend_state();
        const bool ok = st != static_cast<uint32_t>(blkif::XenbusState::connected);
        print("blkfront: hostile %s: no response (backend state %u) %s\n", name, st, ok ? "ok" : "FAIL");
        ok ? pass() : failed();
    }
}

blkif::Entry read_request(uint32_t gref, uint8_t first, uint8_t last, uint64_t sector, uint8_t nseg) {
    blkif::Entry e{};
    e.req.operation = blkif::op_read;
    e.req.nr_segments = nseg;
    e.req.handle = static_cast<uint16_t>(bf::disk().devid);
    e.req.id = HOSTILE_ID;
    e.req.sector_number = sector;
    for (unsigned k = 0; k < nseg && k < blkif::max_segments_per_request; ++k) e.req.seg[k] = {gref, first, last, 0};
    return e;
}

// Back to a working connection after a case the back end may have dropped us for.
bool ensure_connected() {
    if (bf::state() == bf::State::connected && bf::backend_state() == static_cast<uint32_t>(blkif::XenbusState::connected))
        return true;
    print("blkfront: reconnecting (backend state %u)\n", bf::backend_state());
    (void)bf::disconnect();
    return connect();
}

void hostile(const char* list) {
    const uint32_t gref = bf::raw_grant(g_page, false);
    const uint64_t sectors = bf::disk().sectors;
    char name[16];
    for (const char* p = list; *p;) {
        size_t n = 0;
        while (p[n] && p[n] != ',') ++n;
        size_t c = 0;
        for (; c < n && c + 1 < sizeof name; ++c) name[c] = p[c];
        name[c] = '\0';
        p += n + (p[n] == ',' ? 1 : 0);
        if (!ensure_connected()) return;
        if (str_eq(name, "segments")) {
            // 12 direct segments: one more than a request holds.
            hostile_one(name, read_request(gref, 0, 7, 0, blkif::max_segments_per_request + 1));
        } else if (str_eq(name, "indirect")) {
            // One segment more than the back end offered (or an indirect
            // request at all, when it offered none).
            const unsigned offered = bf::disk().backend_indirect_segments;
            const unsigned nseg = offered && offered < blkif::segments_per_indirect_page ? offered + 1 : 12;
            const uint32_t iref = bf::raw_grant(g_ind_page, true);
            for (unsigned k = 0; k < nseg; ++k) g_ind_page[k] = {gref, 0, 7, 0};
            blkif::Entry e{};
            e.ind.operation = blkif::op_indirect;
            e.ind.indirect_op = blkif::op_read;
            e.ind.nr_segments = static_cast<uint16_t>(nseg);
            e.ind.id = HOSTILE_ID;
            e.ind.handle = static_cast<uint16_t>(bf::disk().devid);
            e.ind.indirect_grefs[0] = iref;
            hostile_one(name, e);
            (void)bf::raw_end_grant(iref);
        } else if (str_eq(name, "sectors")) {
            hostile_one(name, read_request(gref, 5, 2, 0, 1));   // first_sect > last_sect
        } else if (str_eq(name, "lastsect")) {
            hostile_one(name, read_request(gref, 0, 8, 0, 1));   // last_sect past the page
        } else if (str_eq(name, "beyond")) {
            hostile_one(name, read_request(gref, 0, 7, sectors - 4, 1));   // 8 sectors, 4 past the end
        } else if (str_eq(name, "gref")) {
            hostile_one(name, read_request(1900, 0, 0, 0, 1));   // a ref we never granted
        } else if (str_eq(name, "indices")) {
            // req_prod a ring and more ahead of what the back end consumed.
            volatile blkif::SringHeader* s = bf::raw_sring();
            s->req_prod = s->req_prod + bf::disk().ring_slots + 5;
            bf::raw_notify();
            blkif::Response r;
            const bool got = bf::raw_response(r, 10 * SEC);
            const uint32_t st = bf::backend_state();
            const bool ok = !got || r.status == blkif::rsp_error;
            print("blkfront: hostile indices: %s (backend state %u) %s\n", got ? "a response" : "no response", st,
                  ok ? "ok" : "FAIL");
            ok ? pass() : failed();
            // Whatever it did, this ring is not usable any more.
            (void)bf::disconnect();
        } else if (str_eq(name, "silent")) {
            // Requests, then never a response read or a xenstore reply
            // answered: the domain just sits until it is destroyed.
            for (unsigned k = 0; k < 4; ++k) {
                blkif::Entry e = read_request(gref, 0, 7, k * 8, 1);
                e.req.id = HOSTILE_ID + k;
                __builtin_memcpy(bf::raw_next_slot(), &e, sizeof e);
                bf::raw_push();
            }
            print("blkfront: hostile silent: 4 requests pushed, going silent\n");
            irq_disable();
            for (;;) asm volatile("hlt");
        } else {
            print("blkfront: FAIL unknown hostile case '%s'\n", name);
            failed();
        }
    }
    if (!ensure_connected()) return;
    // The first sector must read without error whatever the cases did.
    __builtin_memset(g_buf, 0, blkif::sector_bytes);
    const long rc = bf::read(0, 1, g_buf);
    if (rc == 0) {
        print("blkfront: after hostile: read OK\n");
        pass();
    } else {
        print("blkfront: after hostile: read FAIL: %s (%ld)\n", bf::last_error(), rc);
        failed();
    }
}

void bench(uint64_t lba, uint64_t kib) {
    const uint32_t per = sizeof g_bench / blkif::sector_bytes;   // 128 sectors
    const uint64_t n = kib / 64 ? kib / 64 : 1;
    if (lba + n * per > bf::disk().sectors) {
        print("blkfront: FAIL bench: %llu KiB from %llu is beyond the disk\n", static_cast<unsigned long long>(kib),
              static_cast<unsigned long long>(lba));
        failed();
        return;
    }
    for (unsigned i = 0; i < sizeof g_bench; ++i) g_bench[i] = static_cast<uint8_t>(i * 13);
    const char* names[2] = {"write", "read"};
    for (int pass_no = 0; pass_no < 2; ++pass_no) {
        const uint64_t t0 = rdtsc();
        long rc = 0;
        for (uint64_t k = 0; k < n && rc == 0; ++k)
            rc = pass_no == 0 ? bf::write(lba + k * per, per, g_bench) : bf::read(lba + k * per, per, g_bench);
        const uint64_t t = rdtsc() - t0;
        if (rc != 0) {
            print("blkfront: FAIL bench %s: %s (%ld)\n", names[pass_no], bf::last_error(), rc);
            failed();
            return;
        }
        print("blkfront: bench: %s 64 KiB x %llu: %llu ticks, %llu ticks/op\n", names[pass_no],
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(t), static_cast<unsigned long long>(t / n));
        pass();
    }
    bool same = true;
    for (unsigned i = 0; i < sizeof g_bench && same; ++i) same = g_bench[i] == static_cast<uint8_t>(i * 13);
    if (!same) {
        print("blkfront: FAIL bench: the last 64 KiB read differs from what was written\n");
        failed();
    }
    const bf::Stats st = bf::stats();
    print("blkfront: bench: %llu requests (%llu indirect), %llu notifications, %llu responses\n",
          static_cast<unsigned long long>(st.requests), static_cast<unsigned long long>(st.indirect_requests),
          static_cast<unsigned long long>(st.notifications), static_cast<unsigned long long>(st.responses));
}

bool has(const char* key) {
    char v[2];
    return cmdline_option(cmdline(), key, v, sizeof v);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    if (!ev::init() || !ev::heartbeat_start(500 * ev::MS)) poweroff();
    if (!xs::open()) {
        print("blkfront: FAIL no xenstore ring\n");
        poweroff();
    }
    irq_enable();
    const char* cl = cmdline();
    uint64_t v = 0;
    if (cmdline_number(cl, "order", &v)) g_opts.max_ring_page_order = static_cast<unsigned>(v);
    if (cmdline_number(cl, "indirect", &v)) g_opts.max_indirect_segments = static_cast<unsigned>(v);
    g_opts.timeout_ns = 30 * SEC;
    uint64_t devid = 0;
    (void)cmdline_number(cl, "vbd", &devid);
    print("blkfront: domain %u, cmdline \"%s\"\n", xen_domid(), cl);
    if (bf::open(static_cast<uint32_t>(devid)) != 0) {
        print("blkfront: FAIL open: %s\n", bf::last_error());
        print("blkfront: done: 0 passed, 1 failed\n");
        poweroff();
    }
    if (!connect()) {
        print("blkfront: done: %u passed, %u failed\n", g_passed, g_failed);
        poweroff();
    }
    uint64_t lba = 0, count = 8;
    (void)cmdline_number(cl, "lba", &lba);
    (void)cmdline_number(cl, "count", &count);
    if (count == 0 || count > MAX_COUNT) count = count ? MAX_COUNT : 1;
    char pat[32];
    if (cmdline_option(cl, "write", pat, sizeof pat))
        do_write(pat, lba, static_cast<uint32_t>(count), has("ro"), has("flush"));
    if (has("reconnect")) {
        if (disconnect() && connect()) {
            print("blkfront: reconnected\n");
            pass();
        }
    }
    if (cmdline_option(cl, "read", pat, sizeof pat) && bf::state() == bf::State::connected) {
        uint64_t repeat = 1;
        (void)cmdline_number(cl, "repeat", &repeat);
        for (uint64_t r = 1; r <= repeat; ++r)
            if (!do_read(pat, lba, static_cast<uint32_t>(count), r < repeat)) break;
    }
    char list[96];
    if (cmdline_option(cl, "hostile", list, sizeof list)) hostile(list);
    char kib_s[16];
    if (cmdline_option(cl, "bench", kib_s, sizeof kib_s)) {
        uint64_t kib = 1024;
        (void)cmdline_number(cl, "bench", &kib);
        if (kib == 0) kib = 1024;
        bench(lba, kib);
    }
    print("blkfront: done: %u passed, %u failed\n", g_passed, g_failed);
    if (has("stay")) {
        for (;;) ev::wait_until([] { return false; }, ev::FOREVER);
    }
    if (bf::state() != bf::State::closed) (void)disconnect();
    poweroff();
}
