// granter: the granting half of the grant-table test (mapper is the other).
// Command line: `peer=D` (mapper's domain id, required), `messages=N`
// (default 1000, must match mapper's).
//
// Sets up its grant table (GNTTABOP_setup_table, then frame 0 mapped with
// XENMEM_add_to_physmap(XENMAPSPACE_grant_table)), grants (ring.hpp):
//   ref 8  the ring page, writable, to the mapper
//   ref 9  a pattern page, read-only, to the mapper
//   ref 10 the pattern page, read-only, to domain 0x7000 (not the mapper)
// then allocates one unbound event channel for the mapper (which finds it by
// trying ports 1..8). They pass N messages each way through the ring. When
// the mapper is done it sets mapper_done and unmaps; the granter waits until
// the hypervisor has cleared GTF_reading/GTF_writing on refs 8 and 9, revokes
// all three grants and prints `granter: ok` (or FAIL lines), then powers off.
#include "runtime/events.hpp"
#include "runtime/grant.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "ring.hpp"

using namespace guest;

extern "C" const char guest_name[] = "granter";

namespace {

constexpr uint64_t DEFAULT_MESSAGES = 1000;

alignas(4096) uint8_t g_ring_page[4096];
alignas(4096) uint8_t g_ro_page[4096];

volatile uint64_t g_events = 0;
void on_event(uint32_t, void*) { g_events = g_events + 1; }

uint64_t gfn_of(const void* p) { return reinterpret_cast<uintptr_t>(p) >> 12; }

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    uint64_t peer = 0, messages = DEFAULT_MESSAGES;
    if (!cmdline_number(cmdline(), "peer", &peer) || peer >= xen::DOMID_FIRST_RESERVED) {
        print("granter: FAIL no peer=DOMID on the command line\n");
        poweroff();
    }
    cmdline_number(cmdline(), "messages", &messages);
    const uint16_t mapper = static_cast<uint16_t>(peer);
    if (!ev::init() || !gnt::table_init(1)) poweroff();

    auto* r = reinterpret_cast<ring::Ring*>(g_ring_page);
    for (uint32_t i = 0; i < sizeof(g_ro_page); ++i) g_ro_page[i] = ring::ro_byte(i);
    r->magic = ring::MAGIC;
    gnt::grant_access(ring::REF_RING, mapper, gfn_of(g_ring_page), false);
    gnt::grant_access(ring::REF_RO, mapper, gfn_of(g_ro_page), true);
    gnt::grant_access(ring::REF_OTHER, ring::OTHER_DOMID, gfn_of(g_ro_page), true);

    // Grants first, then the port: once the mapper can bind, it may map.
    long port = ev::alloc_unbound(mapper);
    if (port <= 0) {
        print("granter: FAIL EVTCHNOP_alloc_unbound(remote %u) -> %ld\n", mapper, port);
        poweroff();
    }
    ev::set_handler(static_cast<uint32_t>(port), on_event);
    if (!ev::heartbeat_start(100 * ev::MS)) poweroff();
    print("granter: refs %u (ring) %u (read-only) %u (for d%u) granted to d%u, port %ld\n", ring::REF_RING,
          ring::REF_RO, ring::REF_OTHER, ring::OTHER_DOMID, mapper, port);
    irq_enable();

    unsigned failures = 0;
    // The mapper starts when it has found our port: allow it 60 s.
    if (!ev::wait_until([&] { return g_events != 0 || ring::can_receive(r->to_granter); }, 60000 * ev::MS)) {
        print("granter: FAIL no sign of the mapper within 60 s\n");
        poweroff();
    }
    ring::Exchange x = ring::exchange(r->to_mapper, r->to_granter, ring::FROM_GRANTER, ring::FROM_MAPPER,
                                      static_cast<uint32_t>(messages), static_cast<uint32_t>(port), 10000 * ev::MS);
    if (x.stalled || x.bad != 0 || x.notify_errors != 0 || x.sent != messages || x.received != messages) {
        print("granter: FAIL exchange: sent %u received %u (of %llu), %u bad, %u failed notifications%s\n", x.sent,
              x.received, static_cast<unsigned long long>(messages), x.bad, x.notify_errors,
              x.stalled ? ", stalled for 10 s" : "");
        ++failures;
    }

    // The mapper runs its own checks, sets mapper_done and unmaps both pages.
    constexpr uint16_t IN_USE = xen::GTF_reading | xen::GTF_writing;
    bool released = ev::wait_until(
        [&] {
            return r->mapper_done != 0 && (gnt::entry_flags(ring::REF_RING) & IN_USE) == 0 &&
                   (gnt::entry_flags(ring::REF_RO) & IN_USE) == 0;
        },
        60000 * ev::MS);
    if (!released) {
        print("granter: FAIL mapper not done after 60 s (mapper_done %u, flags ref %u 0x%x, ref %u 0x%x)\n",
              r->mapper_done, ring::REF_RING, gnt::entry_flags(ring::REF_RING), ring::REF_RO,
              gnt::entry_flags(ring::REF_RO));
        ++failures;
    }
    if ((gnt::entry_flags(ring::REF_OTHER) & IN_USE) != 0) {
        print("granter: FAIL ref %u (granted to d%u) is marked in use: flags 0x%x\n", ring::REF_OTHER,
              ring::OTHER_DOMID, gnt::entry_flags(ring::REF_OTHER));
        ++failures;
    }
    const uint32_t refs[] = {ring::REF_RING, ring::REF_RO, ring::REF_OTHER};
    for (uint32_t ref : refs) {
        if (!gnt::end_access(ref)) {
            print("granter: FAIL cannot revoke ref %u: flags 0x%x\n", ref, gnt::entry_flags(ref));
            ++failures;
        }
    }
    // The read-only page must be as we wrote it.
    for (uint32_t i = 0; i < sizeof(g_ro_page); ++i) {
        if (g_ro_page[i] != ring::ro_byte(i)) {
            print("granter: FAIL read-only page changed at byte %u\n", i);
            ++failures;
            break;
        }
    }
    if (failures == 0)
        print("granter: ok\n");
    else
        print("granter: FAIL (%u problems)\n", failures);
    poweroff();
}
