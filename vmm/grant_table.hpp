// Grant tables, version 1 (Xen's grant_table.h): the checks the hypervisor
// makes when one domain maps or copies a page another domain granted it, and
// the bookkeeping that goes with them.
//
// The granter shares an array of GrantEntryV1 with the hypervisor: it fills
// frame and domid, then sets flags to GTF_permit_access (GTF_readonly if the
// grantee may only read). While the grant is in use the hypervisor keeps
// GTF_reading (any pin) and GTF_writing (a writable pin) set in that shared
// entry; the granter revokes a grant by swapping flags to 0 only while
// neither bit is set, so a compare-and-swap on either side decides who won.
//
// Pure logic: no EPT mapping, no copying from guests, no locks. The caller
// holds one lock around every call; only the shared entries can change under
// it, since the granter writes them whenever it likes.
#pragma once
#include <cstdint>

#include "vmm/abi/xen.hpp"

namespace menhir::grant {

inline constexpr uint32_t page_size = 4096;
inline constexpr uint32_t entries_per_frame = page_size / sizeof(xen::GrantEntryV1);   // 512
inline constexpr uint32_t max_frames = 4;         // per domain (GNTTABOP_query_size reports it)
inline constexpr uint32_t max_maptrack = 1024;    // handles per mapping domain
// A guest rewriting its entry as fast as it can must not keep the hypervisor
// in the compare-and-swap loop: after this many failed attempts pin gives up.
inline constexpr uint32_t max_cas_retries = 4;

// Granter side: what is pinned per grant ref. readers counts read-only pins,
// writers writable ones; the shared entry carries GTF_reading while either is
// non-zero and GTF_writing while writers is.
struct Active {
    uint16_t mapper;     // the one domain that has it pinned (valid while pinned)
    uint32_t frame;      // the granted guest frame number, captured at the first pin
    uint32_t readers;
    uint32_t writers;
};

struct Granter {
    uint32_t nr_frames{0};   // grant-table frames set up (GNTTABOP_setup_table / XENMAPSPACE_grant_table)
    Active active[max_frames * entries_per_frame]{};
    [[nodiscard]] uint32_t nr_entries() const { return nr_frames * entries_per_frame; }
};

// Pins grant `ref` of granter `g`, whose shared entries are `entries`
// (g.nr_entries() of them), for domain `mapper`, read-only or writable:
//  - ref out of range -> GNTST_bad_gntref;
//  - ref already pinned by another domain -> GNTST_general_error (Menhir
//    lets one domain at a time have a ref pinned);
//  - entry not GTF_permit_access, or granted to another domain, or a
//    writable pin of a GTF_readonly entry -> GNTST_general_error (as Xen);
//  - the granter keeps rewriting the entry (max_cas_retries) -> GNTST_general_error;
//  - the entry's frame changed since the ref was first pinned -> GNTST_general_error.
// On success the entry has GTF_reading (and GTF_writing for a writable pin)
// set, the count is taken and `frame_out` is the granted frame.
[[nodiscard]] int16_t pin(Granter& g, xen::GrantEntryV1* entries, uint32_t ref, uint16_t mapper, bool readonly,
                          uint32_t& frame_out);

// Drops one read-only or writable pin; GTF_writing is cleared when no writable
// pin is left, GTF_reading when no pin at all is. False (and nothing changes)
// if the ref is out of range or had no pin of that kind.
[[nodiscard]] bool unpin(Granter& g, xen::GrantEntryV1* entries, uint32_t ref, bool readonly);

// Mapper side: the handles GNTTABOP_map_grant_ref hands out and
// GNTTABOP_unmap_grant_ref takes back. A handle unmaps only what it mapped,
// at the guest-physical address it was mapped at.
struct Mapping {
    bool used;
    uint16_t granter;
    uint32_t ref;
    uint64_t gpa;          // host_addr of the map call (guest-physical for PVH)
    bool readonly;
    uint64_t host_frame;
    uint64_t granter_generation;   // the granter's Domain::generation: ids are reused
};

struct Maptrack {
    Mapping map[max_maptrack]{};
    // Stores `m` (marked used) under the lowest free handle and returns it, or
    // -1 when all are taken (the caller reports GNTST_no_device_space).
    [[nodiscard]] int64_t add(const Mapping& m);
    // nullptr if the handle is out of range or unused.
    [[nodiscard]] const Mapping* find(uint32_t handle) const;
    // Frees the handle and returns what it mapped in `out`: GNTST_bad_handle if
    // out of range or unused, GNTST_general_error if it was mapped at another
    // gpa (the handle stays), GNTST_okay.
    [[nodiscard]] int16_t remove(uint32_t handle, uint64_t gpa, Mapping& out);
    // Whether some handle has a grant mapped at this gpa.
    [[nodiscard]] bool mapped_at(uint64_t gpa) const;
};

// GNTTABOP_copy argument checks, before any grant is looked at: each side's
// offset + len must stay within its page, else GNTST_bad_copy_arg; a side
// given by frame number rather than grant ref may only name the caller's own
// memory (DOMID_SELF), else GNTST_permission_denied.
[[nodiscard]] int16_t check_copy(const xen::GnttabCopy& op);

namespace detail {
// pin with a hook called just before each compare-and-swap on the shared
// entry, so a test can play the granter rewriting it at the worst moment.
using CasHook = void (*)(xen::GrantEntryV1& entry, void* ctx);
[[nodiscard]] int16_t pin_hooked(Granter& g, xen::GrantEntryV1* entries, uint32_t ref, uint16_t mapper,
                                 bool readonly, uint32_t& frame_out, CasHook hook, void* ctx);
} // namespace detail

} // namespace menhir::grant
