// balloon: gives pages of its own RAM back (XENMEM_decrease_reservation),
// checks that they then read as memory with nothing behind it (all ones,
// writes dropped), takes them back (XENMEM_populate_physmap: zeroed and
// usable), and probes the limits and refusals; then the errnos of
// EVTCHNOP_init_control (FIFO ABI set-up) and GNTTABOP_set_version. One
// `balloon: CASE -> R (expected E) ok|FAIL` line each, then
// `balloon: N passed, M failed`, then power off.
//
// Three times it stops and waits for VIRQ_DEBUG (what the `q` debug key
// raises, as in Xen), printing `balloon: pause K: WHAT`, so that a test can
// read the hypervisor's free frame count (`m`) at each: K=1 after a first
// out-and-in cycle (EPT tables split already), K=2 with PAGES pages out,
// K=3 with them back. Expected results follow Xen's common/memory.c,
// common/event_fifo.c and common/grant_table.c.
#include "../lib/check.hpp"
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;
using namespace xen;

extern "C" const char guest_name[] = "balloon";

namespace {

constexpr unsigned PAGES = 16;
constexpr uint32_t ONES32 = 0xffffffffu;
Checks c;
alignas(4096) uint8_t pool[PAGES][4096];
alignas(4096) uint8_t spare[2][4096];   // an order-1 extent (two frames, the first even)
unsigned long gfns[PAGES];
volatile unsigned debug_events;

unsigned long gfn_of(const void* p) { return reinterpret_cast<uintptr_t>(p) >> 12; }

long reservation(unsigned cmd, unsigned long* list, unsigned long n, unsigned order = 0) {
    xen_memory_reservation r{};
    r.extent_start = reinterpret_cast<uintptr_t>(list);
    r.nr_extents = n;
    r.extent_order = order;
    r.domid = DOMID_SELF;
    return memory_op(cmd, &r);
}
long out(unsigned long* list, unsigned long n, unsigned order = 0) {
    return reservation(XENMEM_decrease_reservation, list, n, order);
}
long in(unsigned long* list, unsigned long n, unsigned order = 0) {
    return reservation(XENMEM_populate_physmap, list, n, order);
}
long current_pages() {
    uint16_t dom = DOMID_SELF;
    return memory_op(XENMEM_current_reservation, &dom);
}

uint32_t load32(const void* p) {
    uint32_t v;
    asm volatile("movl (%1), %0" : "=r"(v) : "r"(p) : "memory");
    return v;
}

// Pages of the pool that read as all ones at their first and last word,
// after a write to each.
unsigned pool_pages_unbacked() {
    unsigned n = 0;
    for (auto& page : pool) {
        asm volatile("movl $0x5a5a5a5a, (%0)" : : "r"(page) : "memory");
        n += load32(page) == ONES32 && load32(page + 4092) == ONES32;
    }
    return n;
}

// Pages of the pool that are all zeroes and keep what is written.
unsigned pool_pages_fresh() {
    unsigned n = 0;
    for (auto& page : pool) {
        bool zero = true;
        for (unsigned i = 0; i < 4096; ++i) zero = zero && page[i] == 0;
        page[100] = 0xa5;
        n += zero && load32(page + 100) == 0xa5;
    }
    return n;
}

void fill_pool(uint8_t v) {
    for (auto& page : pool)
        for (auto& b : page) b = v;
}

void pause(unsigned k, const char* what) {
    print("balloon: pause %u: %s\n", k, what);
    ev::wait_until([k] { return debug_events >= k; }, ev::FOREVER);
}

void balloon_cycle(const long max_pages, bool with_pauses) {
    fill_pool(0x77);
    c.expect("decrease_reservation of the pool's pages", out(gfns, PAGES), PAGES);
    c.expect("  ... current_reservation", current_pages(), max_pages - PAGES);
    c.expect("  ... pages that read all ones, writes dropped", pool_pages_unbacked(), PAGES);
    if (with_pauses) pause(2, "pages out");
    c.expect("populate_physmap of them", in(gfns, PAGES), PAGES);
    c.expect("  ... current_reservation", current_pages(), max_pages);
    c.expect("  ... pages zeroed and usable", pool_pages_fresh(), PAGES);
}

void limits(const long max_pages) {
    unsigned long one[2] = {gfn_of(pool[0]), gfn_of(pool[1])};
    // At the maximum nothing more comes in (Xen: alloc_domheap_pages refuses
    // past max_pages; the call reports 0 extents).
    unsigned long hole = alloc_unused_gfn();
    c.expect("populate_physmap past the maximum", in(&hole, 1), 0);
    c.expect("  ... current_reservation", current_pages(), max_pages);
    // One out, then two in: the second extent would pass the maximum.
    c.expect("decrease_reservation of one page", out(one, 1), 1);
    unsigned long two[2] = {gfn_of(pool[0]), hole};
    c.expect("populate_physmap of two with room for one", in(two, 2), 1);
    c.expect("  ... current_reservation", current_pages(), max_pages);
    // Pages that are not its RAM: a hole, and the frame just populated twice.
    unsigned long nothing = alloc_unused_gfn();
    c.expect("decrease_reservation of a hole", out(&nothing, 1), 0);
    c.expect("populate_physmap over RAM in use", [&] {
        long r = out(one + 1, 1);
        if (r != 1) return -100L;
        return in(one, 1);   // pool[0] is RAM: refused
    }(), 0);
    c.expect("  ... and where there is room", in(one + 1, 1), 1);
    // Orders: 1 is fine, past Xen's domU maximum (9) nothing is done.
    unsigned long pair = gfn_of(spare[0]);
    const bool even = (pair & 1) == 0;
    c.expect("spare pair starts at an even gfn", even ? 1 : 0, 1);
    c.expect("decrease_reservation of one order-1 extent", out(&pair, 1, 1), 1);
    c.expect("  ... current_reservation", current_pages(), max_pages - 2);
    c.expect("populate_physmap of one order-1 extent", in(&pair, 1, 1), 1);
    c.expect("  ... current_reservation", current_pages(), max_pages);
    c.expect("decrease_reservation with extent_order 10", out(&pair, 1, 10), 0);
    c.expect("decrease_reservation for domain 0x7000 (none)", [&] {
        xen_memory_reservation r{};
        r.extent_start = reinterpret_cast<uintptr_t>(&pair);
        r.nr_extents = 1;
        r.domid = 0x7000;
        return memory_op(XENMEM_decrease_reservation, &r);
    }(), 0);
    c.expect("  ... current_reservation", current_pages(), max_pages);
}

void fifo_and_grant_versions() {
    evtchn_init_control ic{};
    ic.control_gfn = gfn_of(spare[0]);
    ic.vcpu = 1;
    c.expect("init_control vcpu 1 (no such vCPU)", event_channel_op(EVTCHNOP_init_control, &ic), -XEN_ENOENT);
    ic.vcpu = 0;
    ic.offset = 4;
    c.expect("init_control offset 4 (not 8-aligned)", event_channel_op(EVTCHNOP_init_control, &ic), -XEN_EINVAL);
    ic.offset = 4096 - 64;
    c.expect("init_control offset 4032 (crosses the page)", event_channel_op(EVTCHNOP_init_control, &ic),
             -XEN_EINVAL);
    ic.offset = 0;
    ic.control_gfn = alloc_unused_gfn();
    c.expect("init_control on a gfn with nothing behind it", event_channel_op(EVTCHNOP_init_control, &ic),
             -XEN_EINVAL);
    ic.control_gfn = 0xfffffffffffull;
    c.expect("init_control on gfn 0xfffffffffff", event_channel_op(EVTCHNOP_init_control, &ic), -XEN_EINVAL);
    ic.control_gfn = gfn_of(spare[0]);
    c.expect("init_control, all well formed (FIFO not offered)", event_channel_op(EVTCHNOP_init_control, &ic),
             -XEN_EOPNOTSUPP);

    uint32_t version = 1;
    c.expect("set_version(1)", grant_table_op(GNTTABOP_set_version, &version, 1), 0);
    c.expect("  ... version", version, 1);
    version = 2;
    c.expect("set_version(2) (v2 not offered)", grant_table_op(GNTTABOP_set_version, &version, 1), -XEN_ENOSYS);
    c.expect("  ... version written back", version, 1);
    version = 0;
    c.expect("set_version(0)", grant_table_op(GNTTABOP_set_version, &version, 1), -XEN_EINVAL);
    c.expect("  ... version written back", version, 1);
    version = 3;
    c.expect("set_version(3)", grant_table_op(GNTTABOP_set_version, &version, 1), -XEN_EINVAL);
    gnttab_get_version gv{DOMID_SELF, 0, 0};
    c.expect("get_version", grant_table_op(GNTTABOP_get_version, &gv, 1), 0);
    c.expect("  ... version", gv.version, 1);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    print("balloon: started\n");
    if (!ev::init()) poweroff();
    const long port = ev::bind_virq(VIRQ_DEBUG, 0);
    c.expect("bind_virq(DEBUG, vcpu 0)", port > 0 ? 0 : port, 0);
    if (port > 0)
        ev::set_handler(static_cast<uint32_t>(port), [](uint32_t, void*) { debug_events = debug_events + 1; });
    for (unsigned i = 0; i < PAGES; ++i) gfns[i] = gfn_of(pool[i]);
    uint16_t dom = DOMID_SELF;
    const long max_pages = memory_op(XENMEM_maximum_reservation, &dom);
    c.expect("current_reservation = maximum_reservation at boot", current_pages(), max_pages);

    // A first cycle splits whatever large EPT pages hold the pool, so that the
    // second one below moves exactly PAGES frames.
    balloon_cycle(max_pages, false);
    pause(1, "before");
    balloon_cycle(max_pages, true);
    pause(3, "pages back");
    limits(max_pages);
    fifo_and_grant_versions();
    print("balloon: %u passed, %u failed\n", c.passed, c.failed);
    poweroff();
}
