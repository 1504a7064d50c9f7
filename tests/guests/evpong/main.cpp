// evpong: the answering half of the event-channel ping-pong (evping is the
// other). Command line: `peer=D` (evping's domain id, required) and
// `rounds=N` (default 10000, must match evping's).
//
// Allocates exactly one unbound port for the peer (EVTCHNOP_alloc_unbound;
// evping finds it by trying to bind ports 1..8), then for every event on it
// the upcall handler counts and sends one event back. Once N events have
// arrived it waits 200 ms for strays, prints `evpong: N events ok` (or a
// FAIL line with the counts) and powers off.
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

extern "C" const char guest_name[] = "evpong";

namespace {

constexpr uint64_t DEFAULT_ROUNDS = 10000;

uint32_t g_port = 0;
volatile uint64_t g_events = 0;
volatile uint64_t g_send_failures = 0;
volatile long g_last_send_error = 0;

void on_ping(uint32_t port, void*) {
    g_events = g_events + 1;
    long rc = ev::send(port);
    if (rc != 0) {
        g_send_failures = g_send_failures + 1;
        g_last_send_error = rc;
    }
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    uint64_t peer = 0, rounds = DEFAULT_ROUNDS;
    if (!cmdline_number(cmdline(), "peer", &peer) || peer >= xen::DOMID_FIRST_RESERVED) {
        print("evpong: FAIL no peer=DOMID on the command line\n");
        poweroff();
    }
    cmdline_number(cmdline(), "rounds", &rounds);
    if (!ev::init()) poweroff();

    // The one unbound port evping binds to: allocated before anything else.
    long port = ev::alloc_unbound(static_cast<uint16_t>(peer));
    if (port <= 0) {
        print("evpong: FAIL EVTCHNOP_alloc_unbound(remote %llu) -> %ld\n", static_cast<unsigned long long>(peer), port);
        poweroff();
    }
    g_port = static_cast<uint32_t>(port);
    ev::set_handler(g_port, on_ping);
    if (!ev::heartbeat_start(100 * ev::MS)) poweroff();
    print("evpong: port %u for domain %llu, expecting %llu events\n", g_port, static_cast<unsigned long long>(peer),
          static_cast<unsigned long long>(rounds));
    irq_enable();

    // Wait for all of them; give up after 60 s without the first event or
    // 10 s without progress.
    while (g_events < rounds) {
        const uint64_t seen = g_events;
        bool moved = ev::wait_until([&] { return g_events != seen; }, (seen == 0 ? 60000 : 10000) * ev::MS);
        if (!moved) {
            print("evpong: FAIL stuck at %llu events of %llu (no event for %s), %llu replies failed (last error %ld)\n",
                  static_cast<unsigned long long>(g_events), static_cast<unsigned long long>(rounds),
                  seen == 0 ? "60 s" : "10 s", static_cast<unsigned long long>(g_send_failures), g_last_send_error);
            ev::print_state();
            poweroff();
        }
    }
    // Anything beyond `rounds` would be an event too many.
    ev::wait_until([] { return false; }, 200 * ev::MS);
    const uint64_t events = g_events;
    if (events == rounds && g_send_failures == 0)
        print("evpong: %llu events ok\n", static_cast<unsigned long long>(events));
    else
        print("evpong: FAIL %llu events (expected %llu), %llu replies failed (last error %ld)\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(rounds),
              static_cast<unsigned long long>(g_send_failures), g_last_send_error);
    poweroff();
}
