#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>

#include "vmm/grant_table.hpp"

using namespace menhir;
using namespace menhir::grant;
using xen::GrantEntryV1;

namespace {

constexpr uint16_t granter_id = 1;
constexpr uint16_t dom0 = 0;
constexpr uint16_t other = 2;
constexpr uint16_t reading = xen::gtf_reading;
constexpr uint16_t writing = xen::gtf_writing;

// A granter with one grant-table frame, as a guest would share it.
struct Fixture {
    std::unique_ptr<Granter> g = std::make_unique<Granter>();
    alignas(4096) GrantEntryV1 entries[entries_per_frame]{};
    Fixture() { g->nr_frames = 1; }
    void grant(uint32_t ref, uint16_t to, uint32_t frame, bool readonly = false)
    {
        entries[ref].domid = to;
        entries[ref].frame = frame;
        entries[ref].flags = static_cast<uint16_t>(xen::gtf_permit_access | (readonly ? xen::gtf_readonly : 0));
    }
    uint16_t status(uint32_t ref) const { return entries[ref].flags & (reading | writing); }
    int16_t pin(uint32_t ref, uint16_t mapper, bool readonly, uint32_t& frame)
    {
        return grant::pin(*g, entries, ref, mapper, readonly, frame);
    }
    int16_t pin(uint32_t ref, uint16_t mapper, bool readonly)
    {
        uint32_t frame = 0;
        return pin(ref, mapper, readonly, frame);
    }
    bool unpin(uint32_t ref, bool readonly) { return grant::unpin(*g, entries, ref, readonly); }
};

// The granter's side of revocation: swap flags to 0 only while unused.
bool guest_end_access(GrantEntryV1& e)
{
    uint16_t flags = __atomic_load_n(&e.flags, __ATOMIC_SEQ_CST);
    do {
        if (flags & (reading | writing))
            return false;
    } while (!__atomic_compare_exchange_n(&e.flags, &flags, uint16_t{0}, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    return true;
}

} // namespace

TEST_CASE("grant: sizes", "[grant]")
{
    STATIC_REQUIRE(entries_per_frame == 512);
    Granter g;
    CHECK(g.nr_entries() == 0);
    g.nr_frames = max_frames;
    CHECK(g.nr_entries() == 2048);
}

TEST_CASE("grant: pin error codes", "[grant]")
{
    Fixture f;
    f.grant(5, dom0, 0x1234);
    f.grant(6, dom0, 0x1235, true);
    f.grant(7, other, 0x1236);
    f.entries[8] = {xen::gtf_accept_transfer, dom0, 0x1237};
    f.entries[9] = {xen::gtf_invalid, dom0, 0x1238};
    f.entries[10] = {xen::gtf_type_mask, dom0, 0x1239};

    SECTION("ref out of range")
    {
        CHECK(f.pin(entries_per_frame, dom0, true) == xen::gntst_bad_gntref);
        CHECK(f.pin(UINT32_MAX, dom0, false) == xen::gntst_bad_gntref);
        Granter empty;
        uint32_t frame = 0;
        CHECK(pin(empty, nullptr, 0, dom0, true, frame) == xen::gntst_bad_gntref);
    }
    SECTION("wrong type or domain")
    {
        CHECK(f.pin(7, dom0, true) == xen::gntst_general_error);
        CHECK(f.pin(8, dom0, true) == xen::gntst_general_error);
        CHECK(f.pin(9, dom0, true) == xen::gntst_general_error);
        CHECK(f.pin(10, dom0, true) == xen::gntst_general_error);
        CHECK(f.pin(5, other, true) == xen::gntst_general_error);
    }
    SECTION("writable pin of a read-only grant")
    {
        CHECK(f.pin(6, dom0, false) == xen::gntst_general_error);
        CHECK(f.status(6) == 0);
        uint32_t frame = 0;
        CHECK(f.pin(6, dom0, true, frame) == xen::gntst_okay);
        CHECK(frame == 0x1235);
        CHECK(f.status(6) == reading);
        CHECK(f.pin(6, dom0, false) == xen::gntst_general_error);
        CHECK(f.status(6) == reading);
    }
    SECTION("pinned by another domain")
    {
        REQUIRE(f.pin(5, dom0, true) == xen::gntst_okay);
        f.entries[5].domid = other;   // a granter that re-grants an entry still in use
        CHECK(f.pin(5, other, true) == xen::gntst_general_error);
        CHECK(f.pin(5, other, false) == xen::gntst_general_error);
        CHECK(f.g->active[5].readers == 1);
        CHECK(f.g->active[5].writers == 0);
    }
    SECTION("frame changed while pinned")
    {
        REQUIRE(f.pin(5, dom0, true) == xen::gntst_okay);
        f.entries[5].frame = 0x9999;
        CHECK(f.pin(5, dom0, true) == xen::gntst_general_error);
        CHECK(f.pin(5, dom0, false) == xen::gntst_general_error);
        CHECK(f.status(5) == reading);   // the refused writable pin left no GTF_writing behind
        CHECK(f.g->active[5].readers == 1);
        CHECK(f.g->active[5].writers == 0);
        CHECK(f.g->active[5].frame == 0x1234);
        f.entries[5].frame = 0x1234;
        uint32_t frame = 0;
        CHECK(f.pin(5, dom0, false, frame) == xen::gntst_okay);
        CHECK(frame == 0x1234);
    }
    SECTION("failed pins leave the entry alone")
    {
        CHECK(f.entries[7].flags == xen::gtf_permit_access);
        CHECK(f.entries[6].flags == (xen::gtf_permit_access | xen::gtf_readonly));
    }
}

TEST_CASE("grant: pin and unpin keep the status bits", "[grant]")
{
    Fixture f;
    f.grant(3, dom0, 0xabc);

    SECTION("read-only pins")
    {
        uint32_t frame = 0;
        REQUIRE(f.pin(3, dom0, true, frame) == xen::gntst_okay);
        CHECK(frame == 0xabc);
        CHECK(f.status(3) == reading);
        REQUIRE(f.pin(3, dom0, true) == xen::gntst_okay);
        CHECK(f.g->active[3].readers == 2);
        CHECK(f.unpin(3, true));
        CHECK(f.status(3) == reading);
        CHECK_FALSE(f.unpin(3, false));   // no writable pin to drop
        CHECK(f.status(3) == reading);
        CHECK(f.unpin(3, true));
        CHECK(f.status(3) == 0);
        CHECK_FALSE(f.unpin(3, true));
        CHECK(f.entries[3].flags == xen::gtf_permit_access);
        CHECK(f.entries[3].domid == dom0);
        CHECK(f.entries[3].frame == 0xabc);
    }
    SECTION("writable pins set both bits")
    {
        REQUIRE(f.pin(3, dom0, false) == xen::gntst_okay);
        CHECK(f.status(3) == (reading | writing));
        REQUIRE(f.pin(3, dom0, false) == xen::gntst_okay);
        CHECK(f.unpin(3, false));
        CHECK(f.status(3) == (reading | writing));
        CHECK(f.unpin(3, false));
        CHECK(f.status(3) == 0);
        CHECK(f.g->active[3].readers == 0);
        CHECK(f.g->active[3].writers == 0);
    }
    SECTION("mixed pins: GTF_writing goes with the last writer, GTF_reading with the last pin")
    {
        REQUIRE(f.pin(3, dom0, true) == xen::gntst_okay);
        REQUIRE(f.pin(3, dom0, false) == xen::gntst_okay);
        REQUIRE(f.pin(3, dom0, false) == xen::gntst_okay);
        REQUIRE(f.pin(3, dom0, true) == xen::gntst_okay);
        CHECK(f.status(3) == (reading | writing));
        CHECK(f.unpin(3, false));
        CHECK(f.status(3) == (reading | writing));
        CHECK(f.unpin(3, false));
        CHECK(f.status(3) == reading);
        CHECK_FALSE(f.unpin(3, false));
        CHECK(f.unpin(3, true));
        CHECK(f.status(3) == reading);
        REQUIRE(f.pin(3, dom0, false) == xen::gntst_okay);
        CHECK(f.status(3) == (reading | writing));
        CHECK(f.unpin(3, true));
        CHECK(f.status(3) == (reading | writing));
        CHECK(f.unpin(3, false));
        CHECK(f.status(3) == 0);
    }
    SECTION("the granter cannot revoke a pinned grant, and can once it is released")
    {
        REQUIRE(f.pin(3, dom0, true) == xen::gntst_okay);
        CHECK_FALSE(guest_end_access(f.entries[3]));
        CHECK(f.unpin(3, true));
        CHECK(guest_end_access(f.entries[3]));
        CHECK(f.pin(3, dom0, true) == xen::gntst_general_error);
    }
    SECTION("a released ref can go to another domain")
    {
        REQUIRE(f.pin(3, dom0, false) == xen::gntst_okay);
        REQUIRE(f.unpin(3, false));
        REQUIRE(guest_end_access(f.entries[3]));
        f.grant(3, other, 0xdef);
        uint32_t frame = 0;
        CHECK(f.pin(3, other, true, frame) == xen::gntst_okay);
        CHECK(frame == 0xdef);
        CHECK(f.g->active[3].mapper == other);
    }
    SECTION("unpin out of range")
    {
        CHECK_FALSE(f.unpin(entries_per_frame, true));
        CHECK_FALSE(f.unpin(UINT32_MAX, false));
    }
    SECTION("other status bits and the granter's bits survive")
    {
        f.grant(4, dom0, 0x44, true);
        REQUIRE(f.pin(4, dom0, true) == xen::gntst_okay);
        CHECK(f.entries[4].flags == (xen::gtf_permit_access | xen::gtf_readonly | reading));
        CHECK(f.unpin(4, true));
        CHECK(f.entries[4].flags == (xen::gtf_permit_access | xen::gtf_readonly));
    }
    SECTION("entries beyond the first frame")
    {
        auto g = std::make_unique<Granter>();
        g->nr_frames = max_frames;
        auto big = std::make_unique<GrantEntryV1[]>(g->nr_entries());
        const uint32_t ref = g->nr_entries() - 1;
        big[ref] = {xen::gtf_permit_access, dom0, 77};
        uint32_t frame = 0;
        CHECK(pin(*g, big.get(), ref, dom0, false, frame) == xen::gntst_okay);
        CHECK(frame == 77);
        CHECK(pin(*g, big.get(), ref + 1, dom0, false, frame) == xen::gntst_bad_gntref);
        CHECK(unpin(*g, big.get(), ref, false));
        CHECK(big[ref].flags == xen::gtf_permit_access);
    }
}

namespace {

// What the granter does between pin's read of the entry and its swap.
struct Race {
    int calls{0};
    int change_on{0};               // change the entry on this call (1-based); -1: on every call
    GrantEntryV1 becomes{};
};

void race_hook(GrantEntryV1& e, void* ctx)
{
    auto& r = *static_cast<Race*>(ctx);
    ++r.calls;
    if (r.change_on == -1) {
        e.frame ^= 1;   // any change to the header word makes the swap fail
        e.domid = r.becomes.domid;
        e.flags = static_cast<uint16_t>(e.flags ^ xen::gtf_readonly);
    } else if (r.calls == r.change_on) {
        __atomic_store_n(&e.flags, r.becomes.flags, __ATOMIC_SEQ_CST);
        e.domid = r.becomes.domid;
        e.frame = r.becomes.frame;
    }
}

} // namespace

TEST_CASE("grant: the granter changes the entry during pin", "[grant]")
{
    Fixture f;
    f.grant(9, dom0, 0x900);
    uint32_t frame = 0;

    SECTION("revoked between the read and the swap")
    {
        Race r{0, 1, {xen::gtf_invalid, dom0, 0x900}};
        CHECK(detail::pin_hooked(*f.g, f.entries, 9, dom0, true, frame, race_hook, &r) ==
              xen::gntst_general_error);
        CHECK(r.calls == 1);
        CHECK(f.entries[9].flags == 0);
        CHECK(f.g->active[9].readers == 0);
    }
    SECTION("made read-only before a writable pin")
    {
        Race r{0, 1, {xen::gtf_permit_access | xen::gtf_readonly, dom0, 0x900}};
        CHECK(detail::pin_hooked(*f.g, f.entries, 9, dom0, false, frame, race_hook, &r) ==
              xen::gntst_general_error);
        CHECK(f.status(9) == 0);
    }
    SECTION("given to another domain")
    {
        Race r{0, 1, {xen::gtf_permit_access, other, 0x900}};
        CHECK(detail::pin_hooked(*f.g, f.entries, 9, dom0, true, frame, race_hook, &r) ==
              xen::gntst_general_error);
        CHECK(f.status(9) == 0);
    }
    SECTION("a harmless change is retried and the new frame is taken")
    {
        Race r{0, 1, {xen::gtf_permit_access | xen::gtf_readonly, dom0, 0x901}};
        CHECK(detail::pin_hooked(*f.g, f.entries, 9, dom0, true, frame, race_hook, &r) == xen::gntst_okay);
        CHECK(r.calls == 2);
        CHECK(frame == 0x901);
        CHECK(f.entries[9].flags == (xen::gtf_permit_access | xen::gtf_readonly | reading));
        CHECK(f.g->active[9].frame == 0x901);
    }
    SECTION("an entry rewritten on every attempt is given up on")
    {
        Race r{0, -1, {0, dom0, 0}};
        CHECK(detail::pin_hooked(*f.g, f.entries, 9, dom0, true, frame, race_hook, &r) ==
              xen::gntst_general_error);
        CHECK(r.calls == static_cast<int>(max_cas_retries));
        CHECK(f.status(9) == 0);
        CHECK(f.g->active[9].readers == 0);
    }
    SECTION("no hook call and no swap for refs that fail early")
    {
        Race r{0, 1, {}};
        CHECK(detail::pin_hooked(*f.g, f.entries, 10, dom0, true, frame, race_hook, &r) ==
              xen::gntst_general_error);
        CHECK(detail::pin_hooked(*f.g, f.entries, 4096, dom0, true, frame, race_hook, &r) ==
              xen::gntst_bad_gntref);
        CHECK(r.calls == 0);
    }
}

TEST_CASE("grant: maptrack", "[grant]")
{
    auto t = std::make_unique<Maptrack>();
    const Mapping a{false, granter_id, 3, 0x10000, true, 0x500, 7};
    const Mapping b{false, granter_id, 4, 0x11000, false, 0x501, 8};

    SECTION("handles are handed out, found and reused")
    {
        CHECK(t->add(a) == 0);
        CHECK(t->add(b) == 1);
        const Mapping* m = t->find(1);
        REQUIRE(m != nullptr);
        CHECK(m->used);
        CHECK(m->ref == 4);
        CHECK(m->gpa == 0x11000);
        CHECK_FALSE(m->readonly);
        CHECK(m->host_frame == 0x501);
        CHECK(t->find(2) == nullptr);
        CHECK(t->find(max_maptrack) == nullptr);
        CHECK(t->find(UINT32_MAX) == nullptr);
        CHECK(t->mapped_at(0x10000));
        CHECK(t->mapped_at(0x11000));
        CHECK_FALSE(t->mapped_at(0x12000));

        Mapping out{};
        CHECK(t->remove(0, 0x10000, out) == xen::gntst_okay);
        CHECK(out.used);
        CHECK(out.ref == 3);
        CHECK(out.readonly);
        CHECK(out.granter == granter_id);
        CHECK(out.granter_generation == 7);   // which domain of that id, for the unpin
        CHECK(t->find(0) == nullptr);
        CHECK_FALSE(t->mapped_at(0x10000));
        CHECK(t->add(b) == 0);   // the freed handle comes back
        CHECK(t->add(a) == 2);
    }
    SECTION("unmap with a wrong handle or address, and twice")
    {
        REQUIRE(t->add(a) == 0);
        Mapping out{};
        CHECK(t->remove(1, 0x10000, out) == xen::gntst_bad_handle);
        CHECK(t->remove(max_maptrack, 0x10000, out) == xen::gntst_bad_handle);
        CHECK(t->remove(UINT32_MAX, 0x10000, out) == xen::gntst_bad_handle);
        CHECK(t->remove(0, 0x11000, out) == xen::gntst_general_error);
        CHECK(t->find(0) != nullptr);   // a refused unmap keeps the mapping
        CHECK(t->remove(0, 0x10000, out) == xen::gntst_okay);
        CHECK(t->remove(0, 0x10000, out) == xen::gntst_bad_handle);
    }
    SECTION("full")
    {
        for (uint32_t i = 0; i < max_maptrack; ++i) {
            Mapping m = a;
            m.gpa = 0x100000 + uint64_t{i} * 4096;
            REQUIRE(t->add(m) == i);
        }
        CHECK(t->add(b) == -1);
        Mapping out{};
        CHECK(t->remove(517, 0x100000 + 517 * 4096, out) == xen::gntst_okay);
        CHECK(t->add(b) == 517);
        CHECK(t->add(b) == -1);
    }
}

TEST_CASE("grant: copy argument checks", "[grant]")
{
    xen::GnttabCopy op{};
    op.source = {12, dom0, 0, 0};
    op.dest = {0x4000, xen::domid_self, 0, 0};
    op.flags = xen::gntcopy_source_gref;
    op.len = 4096;
    CHECK(check_copy(op) == xen::gntst_okay);
    op.source.offset = 1;
    CHECK(check_copy(op) == xen::gntst_bad_copy_arg);
    op.len = 4095;
    CHECK(check_copy(op) == xen::gntst_okay);
    op.dest.offset = 2;
    CHECK(check_copy(op) == xen::gntst_bad_copy_arg);
    op.dest.offset = 0xffff;
    op.len = 0xffff;
    CHECK(check_copy(op) == xen::gntst_bad_copy_arg);   // no 16-bit wrap-around
    op.source.offset = 4095;
    op.dest.offset = 4095;
    op.len = 1;
    CHECK(check_copy(op) == xen::gntst_okay);
    op.len = 0;
    op.source.offset = 4096;
    CHECK(check_copy(op) == xen::gntst_okay);   // nothing to copy, nothing beyond the page
    op.source.offset = 4097;
    CHECK(check_copy(op) == xen::gntst_bad_copy_arg);

    SECTION("a side given by frame must be the caller's own")
    {
        op = {};
        op.len = 8;
        op.source = {12, dom0, 0, 0};
        op.dest = {0x4000, other, 0, 0};
        op.flags = xen::gntcopy_source_gref;
        CHECK(check_copy(op) == xen::gntst_permission_denied);
        op.flags |= xen::gntcopy_dest_gref;
        CHECK(check_copy(op) == xen::gntst_okay);
        op.flags = xen::gntcopy_dest_gref;
        CHECK(check_copy(op) == xen::gntst_permission_denied);
        op.source.domid = xen::domid_self;
        CHECK(check_copy(op) == xen::gntst_okay);
    }
}
