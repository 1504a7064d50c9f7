// mapper: the mapping half of the grant-table test (granter is the other;
// the refs and the ring are in ../granter/ring.hpp). Command line: `peer=D`
// (granter's domain id, required), `messages=N` (default 1000).
//
// Binds to the granter's unbound port (ports 1..8), maps ref 8 (the ring)
// writable and ref 9 read-only at unused guest-physical frames, checks both
// pages, copies the read-only page into its own memory with GNTTABOP_copy,
// passes N messages each way through the ring, then tries what must fail:
// one line each, `mapper: CASE -> R (expected E) ok|FAIL`. It times 100
// read-only map+unmap pairs of ref 9 (`mapper: map+unmap T ticks`, the mean
// in TSC ticks), sets mapper_done, unmaps both pages (the ring twice: the
// second must fail), notifies the granter, prints
// `mapper: N messages ok, C hostile checks ok` (or FAIL lines) and powers off.
#include "../granter/ring.hpp"
#include "../lib/check.hpp"
#include "runtime/events.hpp"
#include "runtime/grant.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

using namespace guest;
using namespace xen;

extern "C" const char guest_name[] = "mapper";

namespace {

constexpr uint64_t DEFAULT_MESSAGES = 1000;
constexpr unsigned TIMED_ROUNDS = 100;

alignas(4096) uint8_t g_copy_page[4096];

volatile uint64_t g_events = 0;
void on_event(uint32_t, void*) { g_events = g_events + 1; }

// Undoes a mapping a hostile case should not have made.
void undo(long status, uint64_t gpa, uint32_t handle) {
    if (status == GNTST_okay) gnt::unmap(gpa, handle);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    uint64_t peer = 0, messages = DEFAULT_MESSAGES;
    if (!cmdline_number(cmdline(), "peer", &peer) || peer >= DOMID_FIRST_RESERVED) {
        print("mapper: FAIL no peer=DOMID on the command line\n");
        poweroff();
    }
    cmdline_number(cmdline(), "messages", &messages);
    const uint16_t granter = static_cast<uint16_t>(peer);
    if (!ev::init() || !ev::heartbeat_start(100 * ev::MS)) poweroff();

    long port = ev::connect_to_peer(granter, 1, 8, 60000 * ev::MS);
    if (port <= 0) {
        print("mapper: FAIL cannot bind to an unbound port of domain %u (last error %ld)\n", granter, port);
        poweroff();
    }
    const uint32_t local = static_cast<uint32_t>(port);
    ev::set_handler(local, on_event);

    const uint64_t ring_gpa = alloc_unused_gfn() << 12;
    const uint64_t ro_gpa = alloc_unused_gfn() << 12;
    const uint64_t spare_gpa = alloc_unused_gfn() << 12;
    if (ring_gpa == 0 || ro_gpa == 0 || spare_gpa == 0) {
        print("mapper: FAIL no unused guest-physical frames\n");
        poweroff();
    }
    uint32_t ring_handle = 0, ro_handle = 0;
    long rc = gnt::map(granter, ring::REF_RING, ring_gpa, GNTMAP_host_map, &ring_handle);
    if (rc != GNTST_okay) {
        print("mapper: FAIL map ref %u (ring) writable at 0x%llx -> %ld\n", ring::REF_RING,
              static_cast<unsigned long long>(ring_gpa), rc);
        poweroff();
    }
    rc = gnt::map(granter, ring::REF_RO, ro_gpa, GNTMAP_host_map | GNTMAP_readonly, &ro_handle);
    if (rc != GNTST_okay) {
        print("mapper: FAIL map ref %u read-only at 0x%llx -> %ld\n", ring::REF_RO,
              static_cast<unsigned long long>(ro_gpa), rc);
        poweroff();
    }
    auto* r = reinterpret_cast<ring::Ring*>(static_cast<uintptr_t>(ring_gpa));
    const auto* ro = reinterpret_cast<const volatile uint8_t*>(static_cast<uintptr_t>(ro_gpa));
    unsigned failures = 0;
    if (r->magic != ring::MAGIC) {
        print("mapper: FAIL ring page magic 0x%x (expected 0x%x)\n", r->magic, ring::MAGIC);
        poweroff();
    }
    for (uint32_t i = 0; i < 4096; ++i) {
        if (ro[i] != ring::ro_byte(i)) {
            print("mapper: FAIL read-only page differs at byte %u\n", i);
            ++failures;
            break;
        }
    }
    print("mapper: mapped ref %u at 0x%llx (handle %u) and ref %u read-only at 0x%llx (handle %u)\n",
          ring::REF_RING, static_cast<unsigned long long>(ring_gpa), ring_handle, ring::REF_RO,
          static_cast<unsigned long long>(ro_gpa), ro_handle);

    // GNTTABOP_copy: the granter's read-only page into our own page.
    rc = gnt::copy_from_grant(granter, ring::REF_RO, 0, reinterpret_cast<uintptr_t>(g_copy_page) >> 12, 0, 4096);
    bool copied = rc == GNTST_okay;
    for (uint32_t i = 0; copied && i < sizeof(g_copy_page); ++i) copied = g_copy_page[i] == ring::ro_byte(i);
    if (copied) {
        print("mapper: GNTTABOP_copy of ref %u ok\n", ring::REF_RO);
    } else {
        print("mapper: FAIL GNTTABOP_copy of ref %u -> %ld%s\n", ring::REF_RO, rc,
              rc == GNTST_okay ? " but the data differ" : "");
        ++failures;
    }

    irq_enable();
    ring::Exchange x = ring::exchange(r->to_granter, r->to_mapper, ring::FROM_MAPPER, ring::FROM_GRANTER,
                                      static_cast<uint32_t>(messages), local, 10000 * ev::MS);
    const bool exchange_ok = !x.stalled && x.bad == 0 && x.notify_errors == 0 && x.sent == messages &&
                             x.received == messages;
    if (!exchange_ok) {
        print("mapper: FAIL exchange: sent %u received %u (of %llu), %u bad, %u failed notifications%s\n", x.sent,
              x.received, static_cast<unsigned long long>(messages), x.bad, x.notify_errors,
              x.stalled ? ", stalled for 10 s" : "");
        ++failures;
    }

    // What must fail. Status codes as Xen's grant_table.c returns them.
    Checks c;
    uint32_t h = 0;
    rc = gnt::map(granter, ring::REF_RO, spare_gpa, GNTMAP_host_map, &h);
    c.expect("map read-only ref 9 writable", rc, GNTST_general_error);
    undo(rc, spare_gpa, h);
    rc = gnt::map(granter, 0x100000, spare_gpa, GNTMAP_host_map | GNTMAP_readonly, &h);
    c.expect("map ref 0x100000 (out of range)", rc, GNTST_bad_gntref);
    undo(rc, spare_gpa, h);
    rc = gnt::map(granter, ring::REF_UNUSED, spare_gpa, GNTMAP_host_map | GNTMAP_readonly, &h);
    c.expect("map ref 100 (never granted)", rc, GNTST_general_error);
    undo(rc, spare_gpa, h);
    rc = gnt::map(granter, ring::REF_OTHER, spare_gpa, GNTMAP_host_map | GNTMAP_readonly, &h);
    c.expect("map ref 10 (granted to another domain)", rc, GNTST_general_error);
    undo(rc, spare_gpa, h);
    rc = gnt::map(granter, ring::REF_RO, spare_gpa, 0, &h);
    c.expect("map with neither host_map nor device_map", rc, GNTST_bad_gntref);
    undo(rc, spare_gpa, h);
    rc = gnt::map(granter, ring::REF_RO, spare_gpa, GNTMAP_host_map | GNTMAP_device_map | GNTMAP_readonly, &h);
    c.expect("map with device_map (HVM)", rc, GNTST_general_error);
    undo(rc, spare_gpa, h);
    rc = gnt::map(0x7000, ring::REF_RO, spare_gpa, GNTMAP_host_map | GNTMAP_readonly, &h);
    c.expect("map from domain 0x7000 (none)", rc, GNTST_bad_domain);
    undo(rc, spare_gpa, h);
    rc = gnt::map(DOMID_SELF, ring::REF_RO, spare_gpa, GNTMAP_host_map | GNTMAP_readonly, &h);
    c.expect("map from DOMID_SELF", rc, GNTST_bad_domain);
    undo(rc, spare_gpa, h);
    c.expect("unmap handle 0xffffffff", gnt::unmap(spare_gpa, 0xffffffffu), GNTST_bad_handle);
    c.expect("unmap a handle never used", gnt::unmap(spare_gpa, ro_handle + ring_handle + 100), GNTST_bad_handle);
    c.expect("unmap ref 9 at a wrong address", gnt::unmap(spare_gpa, ro_handle), GNTST_general_error);

    // map+unmap timing (read-only, ref 9, at the spare frame).
    uint64_t ticks = 0;
    unsigned timing_errors = 0;
    for (unsigned i = 0; i < TIMED_ROUNDS; ++i) {
        lfence();
        uint64_t t0 = rdtsc();
        lfence();
        long m = gnt::map(granter, ring::REF_RO, spare_gpa, GNTMAP_host_map | GNTMAP_readonly, &h);
        long u = m == GNTST_okay ? gnt::unmap(spare_gpa, h) : 0;
        lfence();
        ticks += rdtsc() - t0;
        if (m != GNTST_okay || u != GNTST_okay) {
            if (timing_errors++ == 0) print("mapper: FAIL timed map -> %ld, unmap -> %ld\n", m, u);
        }
    }
    if (timing_errors != 0) ++failures;

    // Done with the ring: tell the granter, then unmap (the ring twice).
    r->mapper_done = 1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    c.expect("unmap ref 8 (ring)", gnt::unmap(ring_gpa, ring_handle), GNTST_okay);
    c.expect("unmap ref 8 again", gnt::unmap(ring_gpa, ring_handle), GNTST_bad_handle);
    c.expect("unmap ref 9", gnt::unmap(ro_gpa, ro_handle), GNTST_okay);
    if (ev::send(local) != 0) ++failures;

    if (timing_errors == 0)
        print("mapper: map+unmap %llu ticks\n", static_cast<unsigned long long>(ticks / TIMED_ROUNDS));
    if (failures == 0 && c.failed == 0 && exchange_ok)
        print("mapper: %llu messages ok, %u hostile checks ok\n", static_cast<unsigned long long>(messages), c.passed);
    else
        print("mapper: FAIL %u problems, %u of %u hostile checks failed\n", failures, c.failed, c.passed + c.failed);
    poweroff();
}
