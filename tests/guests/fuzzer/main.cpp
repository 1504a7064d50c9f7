// fuzzer: 20,000 hypercalls with numbers and arguments from a seeded PRNG,
// console_io writes with large counts among them, to show that no guest can
// flood the console or stall the hypervisor with them.
//
// Command line: `seed=S` (default 1), `calls=N` (default 20000).
// Each call is one of:
//  - CONSOLEIO_write (1 in 8): a printable random buffer of up to 64 KiB
//    (lines of random length) must answer 0; a bad pointer (past RAM, or a
//    non-canonical address) must answer -EFAULT (-14).
//  - any other hypercall number (0..63, or a random 64-bit one), the first
//    argument a small command number, the others random values, pointers
//    into a scratch area at the very end of RAM (so a structure walked past
//    it faults instead of landing on our code), or bad pointers. The scratch
//    area holds random bytes. grant_table_op gets a count below 8 and an
//    array in the scratch area or at a bad address: with a huge count from
//    a small address the hypervisor would write status fields over all our
//    RAM, page tables included (it does on Xen too).
//  - sched_op, vcpu_op, memory_op and hvm_op (each 1 in 8 of the others)
//    with their argument structures built here: random counts, orders,
//    flags, ids and sub-op numbers (random ones among them), but every frame
//    they may free, move or overlay is one of a 16-page pool the fuzzer never
//    touches, a frame past RAM or a huge number, and every pointer the
//    hypervisor may write through is in the scratch area or bad. Left out,
//    because each would legitimately stop or kill the fuzzer itself:
//    SCHEDOP_shutdown, SCHEDOP_block (no event would ever wake it),
//    SCHEDOP_remote_shutdown of itself (`domid=N`, default 1), a
//    SCHEDOP_shutdown_code other than poweroff (the final report would
//    change), SCHEDOP_watchdog with a timeout, SCHEDOP_poll without one,
//    VCPUOP_down and VCPUOP_send_nmi of its own vCPU 0, its own
//    HVM_PARAM_CALLBACK_IRQ and HVMOP_set_evtchn_upcall_vector (a random
//    vector would be delivered into its code).
// Ends with `fuzzer: N calls done, W console writes (B bad pointers), U
// unexpected results` after waiting ~2 emulated seconds with no output, so
// that the per-domain console rate limit has refilled and the line is seen.
// Any unexpected console_io result also prints a `fuzzer: FAIL ...` line.
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

using namespace guest;

extern "C" const char guest_name[] = "fuzzer";

namespace {

constexpr uint64_t DEFAULT_CALLS = 20000;
constexpr size_t TEXT_SIZE = 64 * 1024;
constexpr size_t SCRATCH_SIZE = 16 * 1024;

char g_text[TEXT_SIZE];
uint64_t g_state;

// xorshift64*: small, seedable, good enough to pick arguments.
uint64_t next() {
    g_state ^= g_state >> 12;
    g_state ^= g_state << 25;
    g_state ^= g_state >> 27;
    return g_state * 0x2545f4914f6cdd1dull;
}

uint64_t below(uint64_t n) { return n ? next() % n : 0; }

void fill_text() {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789 .,:;-+=/()";
    for (size_t i = 0; i < TEXT_SIZE; ++i)
        g_text[i] = below(60) == 0 ? '\n' : alphabet[below(sizeof(alphabet) - 1)];
}

// The pool: frames the hypervisor may take away, move or overlay (decrease,
// populate, add_to_physmap, vcpu_info, ...); the fuzzer never reads or writes them.
constexpr size_t POOL_PAGES = 16;
alignas(POOL_PAGES * 4096) char g_pool[POOL_PAGES * 4096];

constexpr uint16_t DOMID_SELF = 0x7ff0;
constexpr uint64_t SCHEDOP_remote_shutdown = 4, SCHEDOP_shutdown_code = 5, SCHEDOP_watchdog = 6;
constexpr uint64_t VCPUOP_down = 2, VCPUOP_send_nmi = 11;
constexpr uint64_t HVMOP_set_param = 0, HVMOP_get_param = 1, HVMOP_set_evtchn_upcall_vector = 23;
constexpr uint32_t HVM_PARAM_CALLBACK_IRQ = 0;

struct HvmParam {   // struct xen_hvm_param
    uint16_t domid;
    uint16_t pad;
    uint32_t index;
    uint64_t value;
};
struct AddToPhysmapBatch {   // struct xen_add_to_physmap_batch
    uint16_t domid, space, size, foreign_domid;
    uint64_t idxs, gpfns, errs;
};
static_assert(sizeof(AddToPhysmapBatch) == 32);
struct SchedPoll {   // struct sched_poll
    uint64_t ports;
    uint32_t nr_ports;
    uint32_t pad;
    uint64_t timeout;
};
struct SchedRemoteShutdown {   // struct sched_remote_shutdown
    uint16_t domid;
    uint16_t pad;
    uint32_t reason;
};
struct SchedWatchdog {   // struct sched_watchdog
    uint32_t id, timeout;
};

}  // namespace

namespace {
// Arguments for one of the four ops, built in `at` (the scratch area's last
// page, so a structure read past its end faults); false if skipped.
struct Call {
    uint64_t cmd, a1, a2, a3;
};

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    const char* line = cmdline();
    uint64_t seed = 1, calls = DEFAULT_CALLS;
    if (!cmdline_number(line, "seed", &seed)) seed = 1;
    if (!cmdline_number(line, "calls", &calls)) calls = DEFAULT_CALLS;
    g_state = seed ? seed : 1;
    fill_text();

    const uint64_t end = ram_end();
    const uint64_t scratch = end - SCRATCH_SIZE;
    const uint64_t unbacked = unbacked_paddr();
    // Random contents: structures read from here hold random fields.
    for (uint64_t i = 0; i < SCRATCH_SIZE; i += 8) *reinterpret_cast<volatile uint64_t*>(scratch + i) = next();
    auto random_arg = [&]() -> uint64_t {
        switch (below(4)) {
        case 0: return below(16);
        case 1: return next();
        case 2: return scratch + below(SCRATCH_SIZE);
        default: return unbacked + below(1u << 20);
        }
    };
    auto bad_pointer = [&]() -> uint64_t {
        return below(2) ? unbacked + below(1u << 20) : 0x8000000000000000ull + below(1u << 30);
    };

    uint64_t self = 1;
    if (!cmdline_number(line, "domid", &self)) self = 1;
    const uint64_t pool_gfn = reinterpret_cast<uintptr_t>(g_pool) >> 12;
    const uint64_t at = end - 4096;   // argument structures: the scratch area's last page
    auto frame = [&](unsigned order) -> uint64_t {   // an extent of 2^order frames the fuzzer may lose
        switch (below(4)) {
        case 0:
        case 1: return order < 4 ? pool_gfn + (below(POOL_PAGES >> order) << order) : ((unbacked + (4u << 20)) >> 12);
        // Past RAM, but clear of the megabyte bad pointers point into:
        // RAM populated there would make them good.
        case 2: return ((unbacked + (4u << 20)) >> 12) + below(256);
        default: return next() | (1ull << 40);
        }
    };
    auto some_domid = [&]() -> uint16_t {
        switch (below(4)) {
        case 0: return DOMID_SELF;
        case 1: return static_cast<uint16_t>(self);
        case 2: return static_cast<uint16_t>(below(8));
        default: return static_cast<uint16_t>(next());
        }
    };
    auto put = [&](uint64_t offset, const void* what, size_t n) {
        for (size_t i = 0; i < n; ++i)
            reinterpret_cast<volatile char*>(at + offset)[i] = static_cast<const char*>(what)[i];
    };
    auto frames_at = [&](uint64_t offset, size_t n, unsigned order) {
        for (size_t i = 0; i < n; ++i) {
            const uint64_t f = frame(order);
            put(offset + 8 * i, &f, 8);
        }
    };
    const uint64_t four_ops[4] = {xen::HYPERVISOR_sched_op, xen::HYPERVISOR_vcpu_op, xen::HYPERVISOR_memory_op,
                                  xen::HYPERVISOR_hvm_op};
    // Offsets in `at`: 0 the structure, 1024 frame or index lists, 2048 a
    // second list, 3072 what the hypervisor writes back.
    auto build = [&](uint64_t nr, Call& c) -> bool {
        c.a1 = at;
        c.a2 = random_arg();
        c.a3 = random_arg();
        if (nr == xen::HYPERVISOR_sched_op) {
            c.cmd = below(8) == 0 ? next() : below(10);
            switch (c.cmd) {
            case xen::SCHEDOP_yield: return true;
            case xen::SCHEDOP_block:
            case xen::SCHEDOP_shutdown: return false;
            case xen::SCHEDOP_poll: {
                frames_at(1024, 8, 0);   // random port numbers
                SchedPoll p{below(2) ? at + 1024 : bad_pointer(), static_cast<uint32_t>(below(4) ? below(9) : next()), 0,
                            1 + below(1000)};   // a timeout long past: it returns at once
                put(0, &p, sizeof p);
                return true;
            }
            case SCHEDOP_remote_shutdown: {
                SchedRemoteShutdown r{some_domid(), 0, static_cast<uint32_t>(below(6))};
                if (r.domid == self || r.domid == DOMID_SELF) return false;
                put(0, &r, sizeof r);
                return true;
            }
            case SCHEDOP_shutdown_code: {
                const uint32_t reason = xen::SHUTDOWN_poweroff;
                put(0, &reason, sizeof reason);
                return true;
            }
            case SCHEDOP_watchdog: {
                SchedWatchdog w{static_cast<uint32_t>(below(4) ? below(4) : next()), 0};
                put(0, &w, sizeof w);
                return true;
            }
            default:
                if (below(2)) c.a1 = random_arg();
                return true;
            }
        }
        if (nr == xen::HYPERVISOR_vcpu_op) {
            c.cmd = below(8) == 0 ? next() : below(16);
            c.a1 = below(4) ? 0 : (below(2) ? below(4) : next());   // the vCPU id
            c.a2 = at;
            if (c.a1 == 0 && (c.cmd == VCPUOP_down || c.cmd == VCPUOP_send_nmi)) return false;
            switch (c.cmd) {
            case 5:    // register_runstate_memory_area: {addr}
            case 13: { // register_vcpu_time_memory_area: {addr}
                const uint64_t addr = below(2) ? at + 3072 + below(512) : bad_pointer();
                put(0, &addr, 8);
                return true;
            }
            case xen::VCPUOP_register_vcpu_info: {
                // The scratch area's second-last page (random bytes only), not
                // `at`: the hypervisor's writes there would change our structures.
                xen::vcpu_register_vcpu_info r{below(2) ? (at >> 12) - 1 : frame(0),
                                              static_cast<uint32_t>(below(4) ? below(4096) : next()), 0};
                put(0, &r, sizeof r);
                return true;
            }
            case xen::VCPUOP_set_periodic_timer: {   // {period_ns}
                const uint64_t period = below(2) ? below(1000000) : next();
                put(0, &period, 8);
                return true;
            }
            case xen::VCPUOP_set_singleshot_timer: {
                xen::vcpu_set_singleshot_timer t{below(2) ? below(1000000000) : next(),
                                                static_cast<uint32_t>(below(4)), 0};
                put(0, &t, sizeof t);
                return true;
            }
            default:
                if (below(2)) c.a2 = random_arg();
                return true;
            }
        }
        if (nr == xen::HYPERVISOR_memory_op) {
            const uint64_t sub = below(8) == 0 ? below(64) : below(24);
            // The bits above the sub-op carry a continuation's start extent.
            c.cmd = sub | (below(8) == 0 ? (below(64) << 6) : 0);
            switch (sub) {
            case 0:    // increase_reservation
            case xen::XENMEM_decrease_reservation:
            case xen::XENMEM_populate_physmap: {
                const unsigned order = below(4) ? static_cast<unsigned>(below(3)) : static_cast<unsigned>(next());
                const uint64_t n = below(4) ? below(9) : next();
                // The list is the page's last 64 bytes: a count past 8 reads on past RAM's end.
                const uint64_t list = 4096 - 64;
                frames_at(list, 8, order);
                xen::xen_memory_reservation r{below(8) ? at + list : bad_pointer(), n, order,
                                              static_cast<uint32_t>(below(4) ? 0 : next()),
                                              below(4) ? DOMID_SELF : some_domid()};
                put(0, &r, sizeof r);
                return true;
            }
            case xen::XENMEM_add_to_physmap: {
                const uint32_t space = static_cast<uint32_t>(below(8) ? below(6) : next());
                const uint16_t size = static_cast<uint16_t>(below(4) ? below(5) : next());
                uint64_t idx;
                switch (space) {
                case xen::XENMAPSPACE_shared_info: idx = below(4) ? 0 : next(); break;
                case xen::XENMAPSPACE_grant_table: idx = (below(4) ? below(40) : next()) | (below(4) ? 0 : 1ull << 31); break;
                case xen::XENMAPSPACE_gmfn:
                case xen::XENMAPSPACE_gmfn_range: idx = below(2) ? pool_gfn + below(POOL_PAGES - 4) : frame(0); break;
                default: idx = next(); break;
                }
                const uint64_t gpfn = space == xen::XENMAPSPACE_gmfn_range ? frame(2) : frame(0);
                struct {
                    uint16_t domid, size;
                    uint32_t space;
                    uint64_t idx, gpfn;
                } a{below(2) ? DOMID_SELF : some_domid(), size, space, idx, gpfn};
                put(0, &a, sizeof a);
                return true;
            }
            case xen::XENMEM_add_to_physmap_batch: {
                const uint16_t size = static_cast<uint16_t>(below(4) ? below(9) : next());
                for (size_t i = 0; i < 8; ++i) {
                    const uint64_t idx = below(2) ? pool_gfn + below(POOL_PAGES) : below(40);
                    put(1024 + 8 * i, &idx, 8);
                }
                frames_at(2048, 8, 0);
                AddToPhysmapBatch b{below(2) ? DOMID_SELF : some_domid(),
                                    static_cast<uint16_t>(below(8) ? below(6) : next()), size, some_domid(),
                                    at + 1024, at + 2048, below(4) ? at + 3072 : bad_pointer()};
                // A list entry past 8 is read from the next list or past RAM:
                // only gmfn and the others that cannot move our own frames.
                if (size > 8 && (b.space == xen::XENMAPSPACE_gmfn || b.space == xen::XENMAPSPACE_gmfn_range)) return false;
                put(0, &b, sizeof b);
                return true;
            }
            case xen::XENMEM_remove_from_physmap: {
                struct {
                    uint16_t domid, pad;
                    uint32_t pad2;
                    uint64_t gpfn;
                } r{below(2) ? DOMID_SELF : some_domid(), 0, 0, frame(0)};
                put(0, &r, sizeof r);
                return true;
            }
            case xen::XENMEM_memory_map:
            case 10: {   // machine_memory_map
                xen::xen_memory_map m{static_cast<uint32_t>(below(4) ? below(64) : next()),
                                      below(2) ? at + 1024 : bad_pointer()};
                // Entries past the page's end fault; 20 bytes each from offset 1024 leave 153.
                if (m.nr_entries > 150 && m.buffer == at + 1024) m.nr_entries = 150;
                put(0, &m, sizeof m);
                return true;
            }
            default: {
                // The others get their structure from random scratch bytes or a
                // bad pointer; any frame or pointer in them is a random 64-bit value.
                c.a1 = below(2) ? at : bad_pointer();
                for (uint64_t i = 0; i < 1024; i += 8) {
                    const uint64_t r = next() | (1ull << 47);
                    put(i, &r, 8);
                }
                return true;
            }
            }
        }
        // hvm_op
        c.cmd = below(8) == 0 ? next() : below(32);
        if (c.cmd == HVMOP_set_evtchn_upcall_vector) return false;
        if (c.cmd == HVMOP_set_param || c.cmd == HVMOP_get_param) {
            HvmParam p{some_domid(), 0, static_cast<uint32_t>(below(8) ? below(64) : next()),
                       below(2) ? frame(0) : below(16)};
            if (c.cmd == HVMOP_set_param && p.index == HVM_PARAM_CALLBACK_IRQ && (p.domid == self || p.domid == DOMID_SELF))
                return false;
            put(0, &p, sizeof p);
            return true;
        }
        if (below(2)) c.a1 = random_arg();
        return true;
    };

    print("fuzzer: started, seed %llu, %llu calls\n", static_cast<unsigned long long>(seed),
          static_cast<unsigned long long>(calls));
    const uint64_t t0 = rdtsc();
    uint64_t writes = 0, bad_writes = 0, unexpected = 0, skips = 0, four = 0;
    char first_fail[160] = {};
    for (uint64_t done = 0; done < calls;) {
        if (below(8) == 0) {
            const bool bad = below(4) == 0;
            const uint64_t count = below(4) == 0 ? below(TEXT_SIZE) : below(256);
            const uint64_t offset = below(TEXT_SIZE - count + 1);
            const uint64_t buffer = bad ? bad_pointer() : reinterpret_cast<uintptr_t>(g_text) + offset;
            const long r = hypercall(xen::HYPERVISOR_console_io, xen::CONSOLEIO_write, count, buffer);
            const long expected = bad && count ? -xen::XEN_EFAULT : 0;
            ++writes;
            if (bad) ++bad_writes;
            if (r != expected) {
                ++unexpected;
                print("\nfuzzer: FAIL console_io write of %llu bytes at 0x%llx -> %ld (expected %ld)\n",
                      static_cast<unsigned long long>(count), static_cast<unsigned long long>(buffer), r,
                      expected);
                // The line above may be lost to the rate limit: the first one is said again at the end.
                if (!first_fail[0])
                    format(first_fail, sizeof first_fail, "console_io write of %llu bytes at 0x%llx -> %ld (expected %ld)",
                           static_cast<unsigned long long>(count), static_cast<unsigned long long>(buffer), r, expected);
            }
            ++done;
            continue;
        }
        if (below(8) == 0) {
            Call c{};
            const uint64_t nr = four_ops[below(4)];
            if (!build(nr, c)) {
                ++skips;
                continue;
            }
            (void)hypercall(nr, c.cmd, c.a1, c.a2, c.a3, random_arg());
            ++four;
            ++done;
            continue;
        }
        const uint64_t nr = below(8) == 0 ? next() : below(64);
        const uint64_t cmd = below(4) == 0 ? next() : below(32);
        if (nr == xen::HYPERVISOR_sched_op || nr == xen::HYPERVISOR_vcpu_op || nr == xen::HYPERVISOR_memory_op ||
            nr == xen::HYPERVISOR_hvm_op) {
            ++skips;   // only with the arguments built above
            continue;
        }
        uint64_t a1 = random_arg(), a2 = random_arg();
        if (nr == xen::HYPERVISOR_grant_table_op) {
            // An array of ops the hypervisor writes status back into: from a
            // small address with a huge count it would walk over our own
            // page tables and code (as it would on Xen).
            a1 = below(2) ? scratch + below(SCRATCH_SIZE) : bad_pointer();
            a2 = below(8);
        }
        (void)hypercall(nr, cmd, a1, a2, random_arg(), random_arg());
        ++done;
    }
    const uint64_t ticks = rdtsc() - t0;
    // Quiet for a while: let the console rate limit refill before the last line.
    const uint64_t quiet_from = rdtsc();
    while (rdtsc() - quiet_from < 100000000ull) (void)hypercall(xen::HYPERVISOR_sched_op, xen::SCHEDOP_yield, 0);
    if (first_fail[0]) print("\nfuzzer: FAIL (first) %s\n", first_fail);
    print("\nfuzzer: %llu calls done, %llu console writes (%llu bad pointers), %llu skipped, "
          "%llu unexpected results, %llu TSC ticks, %llu sched/vcpu/memory/hvm_op calls\n",
          static_cast<unsigned long long>(calls), static_cast<unsigned long long>(writes),
          static_cast<unsigned long long>(bad_writes), static_cast<unsigned long long>(skips),
          static_cast<unsigned long long>(unexpected), static_cast<unsigned long long>(ticks),
          static_cast<unsigned long long>(four));
}
