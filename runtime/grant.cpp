// Grant tables, version 1: see grant.hpp.
#include "grant.hpp"

#include "hypercall.hpp"
#include "print.hpp"
#include "runtime.hpp"

namespace guest::gnt {
namespace {

xen::grant_entry_v1* g_table = nullptr;
uint32_t g_entries = 0;

long result(long rc, int16_t status) { return rc != 0 ? rc : status; }

}  // namespace

long query_size(uint16_t dom, uint32_t* nr_frames, uint32_t* max_nr_frames) {
    xen::gnttab_query_size q{};
    q.dom = dom;
    long rc = grant_table_op(xen::GNTTABOP_query_size, &q, 1);
    if (nr_frames != nullptr) *nr_frames = q.nr_frames;
    if (max_nr_frames != nullptr) *max_nr_frames = q.max_nr_frames;
    return result(rc, q.status);
}

long setup_table(uint16_t dom, uint32_t nr_frames, uint64_t* frame_list) {
    xen::gnttab_setup_table st{};
    st.dom = dom;
    st.nr_frames = nr_frames;
    st.frame_list = reinterpret_cast<uintptr_t>(frame_list);
    long rc = grant_table_op(xen::GNTTABOP_setup_table, &st, 1);
    return result(rc, st.status);
}

bool table_init(unsigned nr_frames) {
    if (g_table != nullptr) return true;
    uint32_t cur = 0, max = 0;
    long rc = query_size(xen::DOMID_SELF, &cur, &max);
    if (rc != 0) {
        print("%s: FAIL GNTTABOP_query_size -> %ld\n", guest_name, rc);
        return false;
    }
    if (max < nr_frames) {
        print("%s: FAIL grant table limited to %u frames, %u wanted\n", guest_name, max, nr_frames);
        return false;
    }
    uint64_t frames[16];
    if (nr_frames > 16) nr_frames = 16;
    rc = setup_table(xen::DOMID_SELF, nr_frames, frames);
    if (rc != 0) {
        print("%s: FAIL GNTTABOP_setup_table(%u frames) -> %ld\n", guest_name, nr_frames, rc);
        return false;
    }
    uint64_t gfn = alloc_unused_gfn(nr_frames);
    if (gfn == 0) {
        print("%s: FAIL no free guest-physical frames for the grant table\n", guest_name);
        return false;
    }
    // Highest index first, so the table grows once (as Linux does).
    for (unsigned i = nr_frames; i-- > 0;) {
        xen::xen_add_to_physmap xatp{xen::DOMID_SELF, 0, xen::XENMAPSPACE_grant_table, i, gfn + i};
        rc = memory_op(xen::XENMEM_add_to_physmap, &xatp);
        if (rc != 0) {
            print("%s: FAIL XENMEM_add_to_physmap(grant_table, frame %u, gfn 0x%llx) -> %ld\n", guest_name, i,
                  static_cast<unsigned long long>(gfn + i), rc);
            return false;
        }
    }
    g_table = reinterpret_cast<xen::grant_entry_v1*>(static_cast<uintptr_t>(gfn << 12));
    g_entries = nr_frames * xen::GRANT_ENTRIES_PER_FRAME;
    return true;
}

xen::grant_entry_v1* table() { return g_table; }
uint32_t table_entries() { return g_entries; }

void grant_access(uint32_t ref, uint16_t domid, uint64_t gfn, bool readonly) {
    if (g_table == nullptr || ref >= g_entries) return;
    volatile xen::grant_entry_v1* e = &g_table[ref];
    e->frame = static_cast<uint32_t>(gfn);
    e->domid = domid;
    // frame and domid must be visible before the flags make the entry valid.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    e->flags = static_cast<uint16_t>(xen::GTF_permit_access | (readonly ? xen::GTF_readonly : 0));
}

bool end_access(uint32_t ref) {
    if (g_table == nullptr || ref >= g_entries) return false;
    uint16_t* flags = &g_table[ref].flags;
    uint16_t cur = __atomic_load_n(flags, __ATOMIC_SEQ_CST);
    do {
        if (cur & (xen::GTF_reading | xen::GTF_writing)) return false;
    } while (!__atomic_compare_exchange_n(flags, &cur, uint16_t{0}, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return true;
}

uint16_t entry_flags(uint32_t ref) {
    if (g_table == nullptr || ref >= g_entries) return 0;
    return __atomic_load_n(&g_table[ref].flags, __ATOMIC_SEQ_CST);
}

long map(uint16_t dom, uint32_t ref, uint64_t gpa, uint32_t flags, uint32_t* handle) {
    xen::gnttab_map_grant_ref op{};
    op.host_addr = gpa;
    op.flags = flags;
    op.ref = ref;
    op.dom = dom;
    long rc = grant_table_op(xen::GNTTABOP_map_grant_ref, &op, 1);
    if (handle != nullptr) *handle = op.handle;
    return result(rc, op.status);
}

long unmap(uint64_t gpa, uint32_t handle) {
    xen::gnttab_unmap_grant_ref op{};
    op.host_addr = gpa;
    op.handle = handle;
    long rc = grant_table_op(xen::GNTTABOP_unmap_grant_ref, &op, 1);
    return result(rc, op.status);
}

long copy_from_grant(uint16_t dom, uint32_t ref, uint16_t src_offset, uint64_t dest_gfn, uint16_t dest_offset,
                     uint16_t len) {
    xen::gnttab_copy op{};
    op.source.ref_or_gmfn = ref;
    op.source.domid = dom;
    op.source.offset = src_offset;
    op.dest.ref_or_gmfn = dest_gfn;
    op.dest.domid = xen::DOMID_SELF;
    op.dest.offset = dest_offset;
    op.len = len;
    op.flags = xen::GNTCOPY_source_gref;
    long rc = grant_table_op(xen::GNTTABOP_copy, &op, 1);
    return result(rc, op.status);
}

}  // namespace guest::gnt
