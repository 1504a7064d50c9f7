// reuse: the four roles of the domain-id reuse test (tests/integration/domid_reuse.py), chosen by the
// command line: `role=holder|victim|newcomer|heir peer=D`.
//
// The holder (peer = the victim's id X) binds the victim's one unbound port and maps its ref 8
// read-only. The victim sends one event on that port and dies; a newcomer gets id X again (peer = the
// holder). The holder then binds the newcomer's port, maps the newcomer's ref 8 too, and acts through
// its stale references: it sends on the old port (Xen leaves it unbound after the peer died: the send
// is dropped), reads the old page through the old mapping (still the victim's bytes), and unmaps the
// old handle (which must not touch the newcomer's ref 8, though id and ref number are the same). The
// newcomer counts events on every port (its first port sits where the victim's was, a trap for a send
// misrouted by id) and, while the holder still maps its ref 8, finds GTF_reading set and end_access
// refused; once the holder unmapped it, end_access succeeds.
// Then the other way round: the holder dies with the newcomer's ref 9 mapped, which must leave ref 9
// unpinned; the heir, the next domain with the holder's id (peer = X), binds the port the holder's
// death left unbound for that id and maps ref 9, which is pinned while it does and revocable after.
// One line per check, `reuse: CASE -> R (expected E) ok|FAIL` (tests/guests/lib/check.hpp).
#include "../lib/check.hpp"
#include "runtime/events.hpp"
#include "runtime/grant.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;
using namespace xen;

extern "C" const char guest_name[] = "reuse";

namespace {

constexpr uint32_t REF = gnt::FIRST_FREE_REF;   // the ref both the victim and the newcomer grant
constexpr uint32_t REF_LEFT = REF + 1;          // the newcomer's, which the holder dies with mapped
constexpr uint16_t FLAGS_GRANTED = GTF_permit_access | GTF_readonly;
constexpr uint16_t FLAGS_MAPPED = FLAGS_GRANTED | GTF_reading;
constexpr uint8_t VICTIM_TAG = 0x11;
constexpr uint8_t NEWCOMER_TAG = 0x77;
constexpr uint64_t WAIT_MS = 120000;            // for another domain xl creates meanwhile

alignas(4096) uint8_t g_page[4096];

uint8_t pattern(uint32_t i, uint8_t tag) { return static_cast<uint8_t>(i * 31 + tag); }

void fill(uint8_t tag) {
    for (uint32_t i = 0; i < sizeof g_page; ++i) g_page[i] = pattern(i, tag);
}

// Whose page is at guest-physical `addr`: VICTIM_TAG, NEWCOMER_TAG, or 0 for neither.
uint8_t page_tag(uintptr_t addr) {
    const auto* p = reinterpret_cast<const volatile uint8_t*>(addr);
    constexpr uint8_t tags[] = {VICTIM_TAG, NEWCOMER_TAG};
    for (uint8_t tag : tags) {
        uint32_t i = 0;
        while (i < 4096 && p[i] == pattern(i, tag)) ++i;
        if (i == 4096) return tag;
    }
    return 0;
}

uint64_t gfn_of(const void* p) { return reinterpret_cast<uintptr_t>(p) >> 12; }

// Sleeps (the heartbeat wakes us) so that polling another domain leaves the CPU to the others.
void nap(uint64_t ms) { ev::wait_until([] { return false; }, ms * ev::MS); }

template <typename Cond>
bool poll_until(Cond cond, uint64_t timeout_ms) {
    for (uint64_t waited = 0; !cond(); waited += 20) {
        if (waited >= timeout_ms) return false;
        nap(20);
    }
    return true;
}

evtchn_status port_status(uint32_t port) {
    evtchn_status s{};
    if (ev::status(DOMID_SELF, port, &s) != 0) s.status = ~0u;
    return s;
}

// The local port bound to one of `peer`'s unbound ports 1..8, or a negative errno after WAIT_MS.
long bind_peer(uint16_t peer) {
    long rc = -XEN_EINVAL;
    poll_until(
        [&] {
            for (uint32_t p = 1; p <= 8 && rc < 0; ++p) rc = ev::bind_interdomain(peer, p);
            return rc >= 0;
        },
        WAIT_MS);
    return rc;
}

long map_ref(uint16_t dom, uint64_t gpa, uint32_t* handle, uint32_t ref = REF) {
    return gnt::map(dom, ref, gpa, GNTMAP_host_map | GNTMAP_readonly, handle);
}

[[noreturn]] void fail(const char* what) {
    print("reuse: FAIL %s\n", what);
    ev::print_state();
    poweroff();
}

volatile uint64_t g_counts[4];   // events by what the port is for (Count)
enum Count : uint8_t { stale, partner, trap, dom0 };
void count(uint32_t, void* which) {
    const auto i = reinterpret_cast<uintptr_t>(which);
    g_counts[i] = g_counts[i] + 1;
}
void on(uint32_t port, Count c) { ev::set_handler(port, count, reinterpret_cast<void*>(uintptr_t{c})); }

// Grants ref 8 (a page of `tag` bytes) read-only to `peer`, then allocates the one unbound port it binds.
uint32_t offer(uint16_t peer, uint8_t tag) {
    if (!gnt::table_init(1)) fail("no grant table");
    fill(tag);
    gnt::grant_access(REF, peer, gfn_of(g_page), true);
    const long port = ev::alloc_unbound(peer);
    if (port <= 0) fail("EVTCHNOP_alloc_unbound");
    return static_cast<uint32_t>(port);
}

bool mapped_by_peer(uint32_t port) {
    return port_status(port).status == EVTCHNSTAT_interdomain && (gnt::entry_flags(REF) & GTF_reading) != 0;
}

[[noreturn]] void victim(uint16_t holder) {
    const uint32_t port = offer(holder, VICTIM_TAG);
    print("reuse: victim d%u: ref %u and port %u for d%u\n", xen_domid(), REF, port, holder);
    if (!poll_until([&] { return mapped_by_peer(port); }, WAIT_MS)) fail("the holder never bound and mapped");
    // Dies with its page still mapped and its port still bound by the holder, which this event tells.
    if (ev::send(port) != 0) fail("notify the holder");
    print("reuse: victim: held by d%u, powering off\n", holder);
    poweroff();
}

[[noreturn]] void newcomer(uint16_t holder) {
    // Where the victim's port was (its first allocation too): a send misrouted by id would land here.
    const long trap_port = ev::alloc_unbound(DOMID_SELF);
    if (trap_port <= 0) fail("EVTCHNOP_alloc_unbound(DOMID_SELF)");
    on(static_cast<uint32_t>(trap_port), trap);
    const uint32_t port = offer(holder, NEWCOMER_TAG);
    gnt::grant_access(REF_LEFT, holder, gfn_of(g_page), true);
    on(port, partner);
    // dom0's console and xenstore ports may see events; every other port counts as unhandled.
    constexpr uint32_t params[] = {HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_STORE_EVTCHN};
    for (uint32_t param : params) {
        uint64_t p = 0;
        if (hvm_get_param(param, &p) == 0 && p != 0) on(static_cast<uint32_t>(p), dom0);
    }
    print("reuse: newcomer d%u: ref %u and port %u for d%u, trap port %ld\n", xen_domid(), REF, port, holder,
          trap_port);
    irq_enable();

    // The holder binds, maps ref 8, does its stale sends and unmap, then notifies.
    if (!ev::wait_until([] { return g_counts[partner] >= 1; }, WAIT_MS * ev::MS)) fail("no word from the holder");
    Checks c;
    c.expect("events on the trap port (the victim's port number)", static_cast<long>(g_counts[trap]), 0);
    c.expect("events on ports nobody bound", static_cast<long>(ev::unhandled_events()), 0);
    c.expect("ref 8 flags after the holder unmapped its stale handle", gnt::entry_flags(REF), FLAGS_MAPPED);
    c.expect("end_access of ref 8 while the holder maps it", gnt::end_access(REF), 0);
    if (ev::send(port) != 0) fail("notify the holder");

    if (!ev::wait_until([&] { return g_counts[partner] >= 2; }, WAIT_MS * ev::MS)) fail("the holder never unmapped");
    c.expect("end_access of ref 8 once the holder unmapped it", gnt::end_access(REF), 1);

    // The holder dies with ref 9 mapped: its teardown drops that pin, and the heir, the next domain
    // with its id, binds the port the holder's death left unbound for that id (as in Xen).
    if (!poll_until([&] { return port_status(port).status != EVTCHNSTAT_interdomain; }, WAIT_MS))
        fail("the holder never died");
    const evtchn_status left = port_status(port);
    c.expect("status of the holder's port after it died", left.status, EVTCHNSTAT_unbound);
    c.expect("domain that port is left for", left.u.unbound.dom, holder);
    c.expect("ref 9 flags after the holder died with it mapped", gnt::entry_flags(REF_LEFT), FLAGS_GRANTED);
    print("reuse: newcomer: the holder is gone; waiting for a new d%u\n", holder);
    if (!ev::wait_until([] { return g_counts[partner] >= 3; }, WAIT_MS * ev::MS)) fail("no word from the heir");
    c.expect("ref 9 flags while the heir maps it", gnt::entry_flags(REF_LEFT), FLAGS_MAPPED);
    if (ev::send(port) != 0) fail("notify the heir");
    if (!ev::wait_until([] { return g_counts[partner] >= 4; }, WAIT_MS * ev::MS)) fail("the heir never unmapped");
    c.expect("end_access of ref 9 once the heir unmapped it", gnt::end_access(REF_LEFT), 1);
    nap(200);   // for a stray event
    c.expect("events on the trap port at the end", static_cast<long>(g_counts[trap]), 0);
    c.expect("events on ports nobody bound at the end", static_cast<long>(ev::unhandled_events()), 0);
    c.expect("events from the holder and the heir", static_cast<long>(g_counts[partner]), 4);
    if (c.failed == 0)
        print("reuse: newcomer: %u checks ok\n", c.passed);
    else
        print("reuse: newcomer: FAIL %u of %u checks\n", c.failed, c.passed + c.failed);
    poweroff();
}

[[noreturn]] void holder(uint16_t x) {
    const uint64_t old_gpa = alloc_unused_gfn() << 12, new_gpa = alloc_unused_gfn() << 12;
    const uint64_t left_gpa = alloc_unused_gfn() << 12;
    if (old_gpa == 0 || new_gpa == 0 || left_gpa == 0) fail("no unused guest-physical frames");
    print("reuse: holder d%u: waiting for d%u\n", xen_domid(), x);

    // The victim: its port and its page.
    long rc = bind_peer(x);
    if (rc <= 0) fail("cannot bind the victim's port");
    const uint32_t old_port = static_cast<uint32_t>(rc);
    ev::clear_pending(old_port);   // raised by the bind, as in Xen
    on(old_port, stale);
    const uint32_t victim_port = port_status(old_port).u.interdomain.port;
    uint32_t old_handle = 0;
    rc = map_ref(x, old_gpa, &old_handle);
    if (rc != GNTST_okay) fail("map the victim's ref 8");
    if (page_tag(old_gpa) != VICTIM_TAG) fail("the victim's page has the wrong bytes");
    print("reuse: holder: bound port %u to d%u port %u, mapped its ref %u (handle %u): the victim's page\n",
          old_port, x, victim_port, REF, old_handle);

    // Xen's evtchn_close on the peer's death: our end goes back to unbound, for the dead domain's id.
    // Checked, not awaited forever: if it stayed bound, the sends below must still reach nobody.
    if (!poll_until([] { return g_counts[stale] >= 1; }, WAIT_MS)) fail("no word from the victim");
    poll_until([&] { return port_status(old_port).status != EVTCHNSTAT_interdomain; }, 10000);
    Checks c;
    const evtchn_status after = port_status(old_port);
    c.expect("status of the stale port after the victim died", after.status, EVTCHNSTAT_unbound);
    c.expect("domain the stale port is left for", after.u.unbound.dom, x);
    c.expect("page through the stale mapping after the victim died", page_tag(old_gpa), VICTIM_TAG);
    print("reuse: holder: the victim is gone; waiting for a new d%u\n", x);

    // The newcomer with the same id: a fresh port and its ref 8, mapped beside the stale one.
    rc = bind_peer(x);
    if (rc <= 0) fail("cannot bind the newcomer's port");
    const uint32_t new_port = static_cast<uint32_t>(rc);
    ev::clear_pending(new_port);
    on(new_port, partner);
    uint32_t new_handle = 0;
    if (!poll_until([&] { return map_ref(x, new_gpa, &new_handle) == GNTST_okay; }, WAIT_MS))
        fail("map the newcomer's ref 8");
    c.expect("page through the newcomer's mapping", page_tag(new_gpa), NEWCOMER_TAG);
    print("reuse: holder: bound port %u to the new d%u, mapped its ref %u (handle %u)\n", new_port, x, REF,
          new_handle);

    // The stale references, used now that the id is someone else's.
    for (int i = 0; i < 3; ++i) c.expect("send on the stale port", ev::send(old_port), 0);
    c.expect("page through the stale mapping beside the newcomer's", page_tag(old_gpa), VICTIM_TAG);
    c.expect("unmap the stale handle", gnt::unmap(old_gpa, old_handle), GNTST_okay);
    c.expect("unmap the stale handle again", gnt::unmap(old_gpa, old_handle), GNTST_bad_handle);
    c.expect("page through the newcomer's mapping after that", page_tag(new_gpa), NEWCOMER_TAG);
    irq_enable();
    if (ev::send(new_port) != 0) fail("notify the newcomer");
    if (!ev::wait_until([] { return g_counts[partner] >= 1; }, WAIT_MS * ev::MS)) fail("the newcomer never answered");
    c.expect("unmap the newcomer's handle", gnt::unmap(new_gpa, new_handle), GNTST_okay);
    uint32_t left_handle = 0;
    c.expect("map the newcomer's ref 9", map_ref(x, left_gpa, &left_handle, REF_LEFT), GNTST_okay);
    c.expect("page through it", page_tag(left_gpa), NEWCOMER_TAG);
    c.expect("events on the stale port (the victim's one before it died)", static_cast<long>(g_counts[stale]), 1);
    if (c.failed == 0)
        print("reuse: holder: %u checks ok; dying with ref 9 mapped\n", c.passed);
    else
        print("reuse: holder: FAIL %u of %u checks\n", c.failed, c.passed + c.failed);
    if (ev::send(new_port) != 0) fail("notify the newcomer");
    poweroff();
}

// The next domain with the holder's id: binds the port the holder left, maps ref 9 as granted to
// that id, and unmaps it when the newcomer has looked.
[[noreturn]] void heir(uint16_t x) {
    const uint64_t gpa = alloc_unused_gfn() << 12;
    if (gpa == 0) fail("no unused guest-physical frame");
    const long rc = bind_peer(x);
    if (rc <= 0) fail("cannot bind the port the holder left");
    const auto port = static_cast<uint32_t>(rc);
    ev::clear_pending(port);
    on(port, partner);
    print("reuse: heir d%u: bound port %u to d%u port %u\n", xen_domid(), port, x,
          port_status(port).u.interdomain.port);
    Checks c;
    uint32_t handle = 0;
    c.expect("map the newcomer's ref 9", map_ref(x, gpa, &handle, REF_LEFT), GNTST_okay);
    c.expect("page through it", page_tag(gpa), NEWCOMER_TAG);
    irq_enable();
    if (ev::send(port) != 0) fail("notify the newcomer");
    if (!ev::wait_until([] { return g_counts[partner] >= 1; }, WAIT_MS * ev::MS)) fail("the newcomer never answered");
    c.expect("unmap it", gnt::unmap(gpa, handle), GNTST_okay);
    if (ev::send(port) != 0) fail("notify the newcomer");
    if (c.failed == 0)
        print("reuse: heir: %u checks ok\n", c.passed);
    else
        print("reuse: heir: FAIL %u of %u checks\n", c.failed, c.passed + c.failed);
    poweroff();
}

}  // namespace

extern "C" void guest_main(const hvm_start_info*) {
    char role[16];
    uint64_t peer = 0;
    if (!cmdline_option(cmdline(), "role", role, sizeof role) || !cmdline_number(cmdline(), "peer", &peer) ||
        peer >= DOMID_FIRST_RESERVED)
        fail("want role=holder|victim|newcomer|heir peer=DOMID on the command line");
    if (!ev::init() || !ev::heartbeat_start(20 * ev::MS)) poweroff();
    const auto p = static_cast<uint16_t>(peer);
    if (str_eq(role, "holder")) holder(p);
    if (str_eq(role, "victim")) victim(p);
    if (str_eq(role, "newcomer")) newcomer(p);
    if (str_eq(role, "heir")) heir(p);
    fail("unknown role");
}
