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
// Skipped, because they would legitimately stop or break the fuzzer itself:
// sched_op except SCHEDOP_yield (shutdown, block, poll), vcpu_op (down,
// timers), memory_op (it could unmap or move our own RAM) and hvm_op
// (a random callback vector would be delivered into our code).
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

bool skipped(uint64_t nr, uint64_t cmd) {
    switch (nr) {
    case xen::HYPERVISOR_sched_op: return cmd != static_cast<uint64_t>(xen::SCHEDOP_yield);
    case xen::HYPERVISOR_vcpu_op:
    case xen::HYPERVISOR_memory_op:
    case xen::HYPERVISOR_hvm_op: return true;
    default: return false;
    }
}

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

    print("fuzzer: started, seed %llu, %llu calls\n", static_cast<unsigned long long>(seed),
          static_cast<unsigned long long>(calls));
    const uint64_t t0 = rdtsc();
    uint64_t writes = 0, bad_writes = 0, unexpected = 0, skips = 0;
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
            }
            ++done;
            continue;
        }
        const uint64_t nr = below(8) == 0 ? next() : below(64);
        const uint64_t cmd = below(4) == 0 ? next() : below(32);
        if (skipped(nr, cmd)) {
            ++skips;
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
    print("\nfuzzer: %llu calls done, %llu console writes (%llu bad pointers), %llu skipped, "
          "%llu unexpected results, %llu TSC ticks\n",
          static_cast<unsigned long long>(calls), static_cast<unsigned long long>(writes),
          static_cast<unsigned long long>(bad_writes), static_cast<unsigned long long>(skips),
          static_cast<unsigned long long>(unexpected), static_cast<unsigned long long>(ticks));
}
