// Grant tables (version 1) for the 64-bit test guests, on Xen's public ABI.
//
// Granter: table_init() sizes the table (GNTTABOP_query_size and
// GNTTABOP_setup_table) and maps its frames into our physical space with
// XENMEM_add_to_physmap(XENMAPSPACE_grant_table, frame i) at unused frames
// past RAM (how an auto-translated PVH guest reaches its table); then
// grant_access() / end_access() edit entries in place.
//
// Mapper: map() / unmap() are GNTTABOP_map_grant_ref / unmap_grant_ref with
// GNTMAP_host_map, host_addr being a guest-physical address in our own space
// (a frame with nothing behind it, from alloc_unused_gfn()); copy_from_grant()
// is GNTTABOP_copy from another domain's grant into one of our frames.
//
// Results: the hypercall's negative errno when the call failed as a whole,
// else the operation's GNTST_* status (0 = GNTST_okay).
#pragma once

#include <stdint.h>

#include "xen.hpp"

#if !defined(__x86_64__)
#error "grant.hpp is for the 64-bit guests"
#endif

namespace guest::gnt {

// Refs 0..7 are left alone (Xen's toolstack reserves them for the console
// and xenstore pages), as Linux does.
inline constexpr uint32_t FIRST_FREE_REF = 8;

bool table_init(unsigned nr_frames = 1);
xen::grant_entry_v1* table();
uint32_t table_entries();

void grant_access(uint32_t ref, uint16_t domid, uint64_t gfn, bool readonly);
// Revokes the grant unless it is in use (GTF_reading/GTF_writing): true if revoked.
bool end_access(uint32_t ref);
uint16_t entry_flags(uint32_t ref);

long map(uint16_t dom, uint32_t ref, uint64_t gpa, uint32_t flags, uint32_t* handle);
long unmap(uint64_t gpa, uint32_t handle);
long copy_from_grant(uint16_t dom, uint32_t ref, uint16_t src_offset, uint64_t dest_gfn, uint16_t dest_offset,
                     uint16_t len);
long query_size(uint16_t dom, uint32_t* nr_frames, uint32_t* max_nr_frames);
long setup_table(uint16_t dom, uint32_t nr_frames, uint64_t* frame_list);

}  // namespace guest::gnt
