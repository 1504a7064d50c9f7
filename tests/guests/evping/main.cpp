// evping: the calling half of the event-channel ping-pong (evpong answers).
// Command line: `peer=D` (evpong's domain id, required) and `rounds=N`
// (default 10000, must match evpong's).
//
// Binds to evpong's unbound port (EVTCHNOP_bind_interdomain on its ports
// 1..8 until one works), then N times: send an event, sleep (`sti; hlt`)
// until the upcall handler has counted the reply. Every reply must come,
// none twice: after the last one it waits 200 ms for strays. Prints
// `evping: N round trips ok` and `evping: round trip T ticks` (mean TSC
// ticks per round trip, for scripts/bench), or FAIL lines, and powers off.
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

using namespace guest;

extern "C" const char guest_name[] = "evping";

namespace {

constexpr uint64_t DEFAULT_ROUNDS = 10000;

volatile uint64_t g_replies = 0;

void on_pong(uint32_t, void*) { g_replies = g_replies + 1; }

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    uint64_t peer = 0, rounds = DEFAULT_ROUNDS;
    if (!cmdline_number(cmdline(), "peer", &peer) || peer >= xen::DOMID_FIRST_RESERVED) {
        print("evping: FAIL no peer=DOMID on the command line\n");
        poweroff();
    }
    cmdline_number(cmdline(), "rounds", &rounds);
    if (!ev::init()) poweroff();
    if (!ev::heartbeat_start(100 * ev::MS)) poweroff();

    long port = ev::connect_to_peer(static_cast<uint16_t>(peer), 1, 8, 60000 * ev::MS);
    if (port <= 0) {
        print("evping: FAIL cannot bind to an unbound port of domain %llu (last error %ld)\n",
              static_cast<unsigned long long>(peer), port);
        poweroff();
    }
    const uint32_t local = static_cast<uint32_t>(port);
    // Interrupts are still off: drop the notification the bind itself raises.
    ev::clear_pending(local);
    ev::set_handler(local, on_pong);
    print("evping: bound local port %u to domain %llu, %llu round trips\n", local,
          static_cast<unsigned long long>(peer), static_cast<unsigned long long>(rounds));
    irq_enable();

    lfence();
    const uint64_t start = rdtsc();
    lfence();
    for (uint64_t i = 0; i < rounds; ++i) {
        long rc = ev::send(local);
        if (rc != 0) {
            print("evping: FAIL EVTCHNOP_send(%u) -> %ld at round trip %llu\n", local, rc,
                  static_cast<unsigned long long>(i));
            poweroff();
        }
        if (!ev::wait_until([&] { return g_replies > i; }, 10000 * ev::MS)) {
            print("evping: FAIL no reply to ping %llu within 10 s (%llu replies)\n",
                  static_cast<unsigned long long>(i + 1), static_cast<unsigned long long>(g_replies));
            ev::print_state();
            poweroff();
        }
    }
    lfence();
    const uint64_t end = rdtsc();

    ev::wait_until([] { return false; }, 200 * ev::MS);
    const uint64_t replies = g_replies;
    if (replies == rounds) {
        print("evping: %llu round trips ok\n", static_cast<unsigned long long>(rounds));
        if (rounds != 0)
            print("evping: round trip %llu ticks\n", static_cast<unsigned long long>((end - start) / rounds));
    } else {
        print("evping: FAIL %llu replies to %llu pings\n", static_cast<unsigned long long>(replies),
              static_cast<unsigned long long>(rounds));
    }
    poweroff();
}
