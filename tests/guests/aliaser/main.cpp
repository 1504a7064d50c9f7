// aliaser: tries to make the hypervisor use, or hand on, pages that are not
// the domain's own RAM, and to run its per-domain counts past their limits.
// Alone in its domain; it grants to itself, which Xen allows, so one domain
// plays granter and mapper. One line per case, `aliaser: CASE -> R
// (expected E) ok|FAIL`, then `aliaser: N passed, M failed` and power off.
//
//  1. Owned frames only. Own page P granted (ref 8) and mapped at gfn X;
//     X granted onward (ref 9) and mapped at Y must be refused as Xen's
//     map_grant_ref refuses a frame the granter does not own
//     (GNTST_general_error), and so must a copy from ref 9, copies naming X
//     or shared_info as a local frame, and a grant of the shared_info gfn.
//     VCPUOP_register_vcpu_info on X, on shared_info and on a grant-table
//     frame: -EINVAL. The hypercall-page MSR at X or at shared_info: #GP.
//     Hypercall arguments in X: -EFAULT (Xen's copies refuse grant maps).
//     Then, that the checks do not refuse everything: the hypercall page
//     and vcpu_info in our own RAM work.
//  2. Races (vcpus=4; vCPU 1 started first). vCPU 0 and vCPU 1 both call
//     VCPUOP_initialise on vCPU 2 at the same moment, then on vCPU 3:
//     exactly one call succeeds, the other is -EEXIST (Xen serialises them
//     under the domain lock), and the vCPU then runs. Then vCPU 1 removes
//     64 pages of our RAM one after another (XENMEM_remove_from_physmap)
//     while vCPU 0 keeps pointing hypercalls at the page being removed
//     (xen_version output, GNTTABOP_copy into it): each answer is success
//     or the clean error (-EFAULT, GNTST_bad_page), every page ends up
//     removed once, and the domain lives on.
//  3. Bounded counts. shared_info mapped at 33,000 different gfns (a 15-bit
//     reference count overflowed at 32,768): each call succeeds and moves
//     the page, as in Xen, so the first gfn is empty afterwards (-ENOENT).
//     Then shared_info at gfns 2 MiB apart, each needing a new EPT table:
//     -ENOMEM once the domain's EPT table budget is spent, before 4 GiB.
#include "../lib/check.hpp"
#include "runtime/events.hpp"
#include "runtime/grant.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/smp.hpp"
#include "runtime/x86.hpp"

using namespace guest;
using namespace xen;

extern "C" const char guest_name[] = "aliaser";

// #GP from the hypercall-page wrmsr: the handler skips the 2-byte wrmsr and counts.
extern "C" {
volatile uint32_t aliaser_gp_count = 0;
void aliaser_gp_entry();
}
asm(R"(
    .text
    .globl aliaser_gp_entry
aliaser_gp_entry:
    addq $8, %rsp
    addq $2, (%rsp)
    lock incl aliaser_gp_count(%rip)
    iretq
)");

namespace {

constexpr uint32_t REF_OWN = 8;       // page P, our own RAM
constexpr uint32_t REF_ALIAS = 9;     // gfn X, where ref 8 is mapped
constexpr uint32_t REF_SHARED = 10;   // the shared_info gfn

Checks c;
alignas(4096) uint8_t g_page[4096];      // P
alignas(4096) uint8_t g_copy[4096];      // copy target
alignas(4096) uint8_t g_hcall[4096];     // where the hypercall page may go
alignas(64) vcpu_info g_info[2];

uint64_t gfn_of(const void* p) { return reinterpret_cast<uintptr_t>(p) >> 12; }

long copy(uint64_t src, bool src_ref, uint64_t dst, bool dst_ref, uint16_t dom) {
    gnttab_copy op{};
    op.source.ref_or_gmfn = src;
    op.source.domid = src_ref ? dom : DOMID_SELF;
    op.dest.ref_or_gmfn = dst;
    op.dest.domid = dst_ref ? dom : DOMID_SELF;
    op.len = 64;
    op.flags = static_cast<uint16_t>((src_ref ? GNTCOPY_source_gref : 0) | (dst_ref ? GNTCOPY_dest_gref : 0));
    long rc = grant_table_op(GNTTABOP_copy, &op, 1);
    return rc != 0 ? rc : op.status;
}

long register_info(uint64_t gfn, uint32_t offset) {
    vcpu_register_vcpu_info r{gfn, offset, 0};
    return vcpu_op(VCPUOP_register_vcpu_info, 0, &r);
}

// 1 if writing the hypercall-page MSR with this gfn raised #GP.
long hypercall_page_faults(uint64_t gfn) {
    const uint32_t before = aliaser_gp_count;
    wrmsr(0x40000000u, gfn << 12);   // Xen's hypercall-page MSR (CPUID 0x40000002 EBX)
    return aliaser_gp_count != before ? 1 : 0;
}

void owned_frames_only(uint16_t self) {
    const uint64_t x = alloc_unused_gfn(), y = alloc_unused_gfn();
    const uint64_t shared_gfn = ev::shared_info_gfn();
    const uint64_t table_gfn = gfn_of(gnt::table());
    for (uint32_t i = 0; i < sizeof g_page; ++i) g_page[i] = static_cast<uint8_t>(i * 7 + 1);

    uint32_t hx = 0, hy = 0;
    gnt::grant_access(REF_OWN, self, gfn_of(g_page), false);
    long rc = gnt::map(self, REF_OWN, x << 12, GNTMAP_host_map, &hx);
    c.expect("map own page P (ref 8) at X", rc, GNTST_okay);
    if (rc != GNTST_okay) return;
    gnt::grant_access(REF_ALIAS, self, x, false);
    rc = gnt::map(self, REF_ALIAS, y << 12, GNTMAP_host_map, &hy);
    c.expect("map ref 9 (gfn X, a grant mapping) at Y", rc, GNTST_general_error);
    if (rc == GNTST_okay) gnt::unmap(y << 12, hy);
    rc = gnt::map(self, REF_ALIAS, y << 12, GNTMAP_host_map | GNTMAP_readonly, &hy);
    c.expect("map ref 9 read-only at Y", rc, GNTST_general_error);
    if (rc == GNTST_okay) gnt::unmap(y << 12, hy);
    c.expect("copy from ref 9", copy(REF_ALIAS, true, gfn_of(g_copy), false, self), GNTST_general_error);
    c.expect("copy into ref 9", copy(gfn_of(g_copy), false, REF_ALIAS, true, self), GNTST_general_error);
    c.expect("copy from local gfn X", copy(x, false, gfn_of(g_copy), false, self), GNTST_general_error);
    c.expect("copy into local gfn X", copy(gfn_of(g_copy), false, x, false, self), GNTST_general_error);
    c.expect("copy from local shared_info gfn", copy(shared_gfn, false, gfn_of(g_copy), false, self),
             GNTST_general_error);
    c.expect("copy from a local hole", copy(y, false, gfn_of(g_copy), false, self), GNTST_bad_page);
    c.expect("copy from ref 8 (own RAM)", copy(REF_OWN, true, gfn_of(g_copy), false, self), GNTST_okay);
    gnt::grant_access(REF_SHARED, self, shared_gfn, true);
    rc = gnt::map(self, REF_SHARED, y << 12, GNTMAP_host_map | GNTMAP_readonly, &hy);
    c.expect("map ref 10 (the shared_info gfn)", rc, GNTST_general_error);
    if (rc == GNTST_okay) gnt::unmap(y << 12, hy);

    // Xen moves a vcpu_info once only: each of these must be refused for its
    // own reason, before any move has happened.
    c.expect("register_vcpu_info on shared_info", register_info(shared_gfn, 64), -XEN_EINVAL);
    c.expect("register_vcpu_info on grant frame 0", register_info(table_gfn, 2048), -XEN_EINVAL);
    c.expect("register_vcpu_info at X", register_info(x, 0), -XEN_EINVAL);

    idt_set_gate(13, aliaser_gp_entry, 0);
    c.expect("hypercall page at X: #GP", hypercall_page_faults(x), 1);
    c.expect("hypercall page on shared_info: #GP", hypercall_page_faults(shared_gfn), 1);
    c.expect("hypercall page on grant frame 0: #GP", hypercall_page_faults(table_gfn), 1);
    c.expect("hypercall page in own RAM: no #GP", hypercall_page_faults(gfn_of(g_hcall)), 0);
    c.expect("  ... and it was written", g_hcall[0] == 0xb8 ? 1 : 0, 1);

    // Hypercall arguments in a grant mapping: Xen's copies to and from the
    // guest refuse one (-EFAULT).
    c.expect("xen_version output into X", xen_version(XENVER_extraversion,
             reinterpret_cast<void*>(static_cast<uintptr_t>(x << 12))), -XEN_EFAULT);
    c.expect("GNTTABOP_query_size argument at X",
             grant_table_op(GNTTABOP_query_size, reinterpret_cast<void*>(static_cast<uintptr_t>(x << 12)), 1),
             -XEN_EFAULT);

    // P still holds what we put there: nothing above wrote into it through X.
    bool intact = true;
    for (uint32_t i = 0; i < sizeof g_page; ++i) intact = intact && g_page[i] == static_cast<uint8_t>(i * 7 + 1);
    c.expect("P unchanged", intact ? 1 : 0, 1);
    c.expect("unmap X", gnt::unmap(x << 12, hx), GNTST_okay);
    c.expect("end access to ref 8", gnt::end_access(REF_OWN) ? 1 : 0, 1);
    gnt::end_access(REF_ALIAS);
    gnt::end_access(REF_SHARED);
    const uintptr_t own = reinterpret_cast<uintptr_t>(&g_info[1]);
    c.expect("register_vcpu_info in own RAM", register_info(own >> 12, own & 0xfff), 0);
}

constexpr unsigned RACE_TARGETS = 2;     // vCPUs 2 and 3
constexpr unsigned STRESS_PAGES = 64;
constexpr uint64_t SPIN_LIMIT = 2000000000ull;   // TSC ticks a wait may take (generous: Bochs)

alignas(16) uint8_t g_stacks[4][8192];
alignas(4096) uint8_t g_victim[STRESS_PAGES][4096];   // removed from our RAM by vCPU 1; never touched here
volatile uint32_t g_round = 0, g_round_done = 0, g_phase = 0, g_removed = 0;
volatile long g_rc1[1 + RACE_TARGETS];
volatile long g_remove_rc[STRESS_PAGES];
volatile uint32_t g_ran[4];

void* stack_top(unsigned vcpu) { return g_stacks[vcpu] + sizeof g_stacks[vcpu]; }
void started(unsigned vcpu) { __atomic_store_n(&g_ran[vcpu], 1u, __ATOMIC_SEQ_CST); }

long remove_from_physmap(uint64_t gfn);

bool wait_for(const volatile uint32_t& v, uint32_t value) {
    const uint64_t t0 = rdtsc();
    while (__atomic_load_n(&v, __ATOMIC_SEQ_CST) != value)
        if (rdtsc() - t0 > SPIN_LIMIT) return false;
    return true;
}

// vCPU 1: its half of each race, then the page removals.
void second(unsigned) {
    for (uint32_t r = 1; r <= RACE_TARGETS; ++r) {
        if (!wait_for(g_round, r)) return;
        g_rc1[r] = smp::vcpu_initialise(1 + r, started, stack_top(1 + r));
        __atomic_store_n(&g_round_done, r, __ATOMIC_SEQ_CST);
    }
    if (!wait_for(g_phase, 1)) return;
    for (unsigned i = 0; i < STRESS_PAGES; ++i) {
        g_remove_rc[i] = remove_from_physmap(gfn_of(g_victim[i]));
        __atomic_store_n(&g_removed, i + 1, __ATOMIC_SEQ_CST);
        for (int k = 0; k < 2000; ++k) asm volatile("pause");
    }
    __atomic_store_n(&g_phase, 2u, __ATOMIC_SEQ_CST);
}

void races() {
    c.expect("VCPUOP_initialise vCPU 1", smp::vcpu_initialise(1, second, stack_top(1)), 0);
    c.expect("VCPUOP_up vCPU 1", smp::vcpu_up(1), 0);
    unsigned single_winner = 0, loser_eexist = 0, ran = 0;
    for (uint32_t r = 1; r <= RACE_TARGETS; ++r) {
        const unsigned target = 1 + r;
        __atomic_store_n(&g_round, r, __ATOMIC_SEQ_CST);
        const long rc0 = smp::vcpu_initialise(target, started, stack_top(target));
        if (!wait_for(g_round_done, r)) break;
        const long rc1 = g_rc1[r];
        print("aliaser: VCPUOP_initialise of vCPU %u from vCPU 0 -> %ld, from vCPU 1 -> %ld\n", target, rc0, rc1);
        if ((rc0 == 0) + (rc1 == 0) == 1) ++single_winner;
        if ((rc0 == 0 && rc1 == -XEN_EEXIST) || (rc1 == 0 && rc0 == -XEN_EEXIST)) ++loser_eexist;
        if (smp::vcpu_up(target) == 0 && wait_for(g_ran[target], 1)) ++ran;
    }
    c.expect("two VCPUOP_initialise at once: rounds with one success", single_winner, RACE_TARGETS);
    c.expect("  ... and the other call -EEXIST", loser_eexist, RACE_TARGETS);
    c.expect("  ... and the vCPU ran", ran, RACE_TARGETS);

    // The page under removal, as a hypercall buffer.
    unsigned ok = 0, clean = 0, other = 0;
    __atomic_store_n(&g_phase, 1u, __ATOMIC_SEQ_CST);
    const uint64_t t0 = rdtsc();
    while (__atomic_load_n(&g_phase, __ATOMIC_SEQ_CST) != 2 && rdtsc() - t0 < 50 * SPIN_LIMIT) {
        uint32_t i = __atomic_load_n(&g_removed, __ATOMIC_SEQ_CST);
        if (i >= STRESS_PAGES) i = STRESS_PAGES - 1;
        const long v = xen_version(XENVER_extraversion, g_victim[i]);
        if (v == 0) ++ok; else if (v == -XEN_EFAULT) ++clean; else ++other;
        const long g = copy(gfn_of(g_page), false, gfn_of(g_victim[i]), false, 0);
        if (g == GNTST_okay) ++ok; else if (g == GNTST_bad_page) ++clean; else ++other;
    }
    print("aliaser: %u hypercalls into pages being removed: %u done, %u refused cleanly, %u otherwise\n",
          ok + clean + other, ok, clean, other);
    c.expect("hypercalls into pages being removed: other answers", other, 0);
    c.expect("  ... some were refused (the page was gone)", clean > 0 ? 1 : 0, 1);
    unsigned removed = 0, gone = 0;
    for (unsigned i = 0; i < STRESS_PAGES; ++i) {
        removed += g_remove_rc[i] == 0;
        gone += remove_from_physmap(gfn_of(g_victim[i])) == -XEN_ENOENT;
    }
    c.expect("  ... pages removed", removed, STRESS_PAGES);
    c.expect("  ... and gone afterwards", gone, STRESS_PAGES);
}

long map_shared_info(uint64_t gfn) {
    xen_add_to_physmap xatp{DOMID_SELF, 0, XENMAPSPACE_shared_info, 0, gfn};
    return memory_op(XENMEM_add_to_physmap, &xatp);
}

long remove_from_physmap(uint64_t gfn) {
    xen_remove_from_physmap r{};
    r.domid = DOMID_SELF;
    r.gpfn = gfn;
    return memory_op(XENMEM_remove_from_physmap, &r);
}

constexpr unsigned SHARED_INFO_MOVES = 33000;

void bounded_counts() {
    // Events are not used from here on: shared_info is away from the gfn
    // the upcall handler reads until it is put back.
    const uint64_t home = ev::shared_info_gfn();
    const uint64_t first = alloc_unused_gfn(SHARED_INFO_MOVES);
    long last = 0;
    unsigned done = 0;
    for (; done < SHARED_INFO_MOVES; ++done) {
        last = map_shared_info(first + done);
        if (last != 0) break;
    }
    print("aliaser: shared_info mapped at %u gfns from 0x%llx, last result %ld\n", done,
          static_cast<unsigned long long>(first), last);
    c.expect("shared_info at 33,000 gfns: calls that succeeded", done, SHARED_INFO_MOVES);
    c.expect("  ... the first of them is empty again", remove_from_physmap(first), -XEN_ENOENT);
    c.expect("  ... shared_info back at its gfn", map_shared_info(home), 0);
    c.expect("  ... and reads as ours", ev::shared()->wc_sec != 0 ? 1 : 0, 1);

    // Far apart: one new EPT table (or more) per call.
    constexpr uint64_t STRIDE = 512;   // 2 MiB in frames
    const uint64_t far = (first + SHARED_INFO_MOVES + 2 * STRIDE) & ~(STRIDE - 1);
    long rc = 0;
    unsigned mapped = 0;
    for (uint64_t gfn = far; gfn < (4ull << 30) >> 12; gfn += STRIDE, ++mapped) {
        rc = map_shared_info(gfn);
        if (rc != 0) break;
    }
    print("aliaser: shared_info at %u gfns 2 MiB apart, then %ld\n", mapped, rc);
    c.expect("shared_info at gfns 2 MiB apart until refused", rc, -XEN_ENOMEM);
    c.expect("  ... refused before a quarter of 4 GiB", mapped < 512 ? 1 : 0, 1);
    c.expect("  ... shared_info back at its gfn", map_shared_info(home), 0);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    const uint16_t self = xen_domid();
    if (self == DOMID_INVALID || !ev::init() || !gnt::table_init(1)) {
        print("aliaser: FAIL no domain id, shared_info or grant table\n");
        poweroff();
    }
    owned_frames_only(self);
    races();
    bounded_counts();
    print("aliaser: %u passed, %u failed\n", c.passed, c.failed);
    poweroff();
}
