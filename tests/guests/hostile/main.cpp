// hostile: event-channel, grant-table, timer, vCPU and privileged operations
// with wrong arguments, alone in its domain (one vCPU). Every case must fail
// (or, where Xen accepts it, succeed) exactly as Xen does, leave the domain
// intact, and be answered. Expected values follow Xen's code
// (common/event_channel.c, common/grant_table.c, common/domain.c,
// common/sched/core.c, arch/x86/mm/p2m.c), except domctl and sysctl, which
// are Menhir's own ABI and dom0-only.
//
// One line per case: `hostile: CASE -> R (expected E) ok|FAIL`, then
// `hostile: N passed, M failed`, then power off. Grant results are GNTST_*
// statuses; everything else is 0, a port, or a negative errno.
#include "../../../vmm/abi/menhir.hpp"
#include "../lib/check.hpp"
#include "runtime/events.hpp"
#include "runtime/grant.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

using namespace guest;
using namespace xen;

extern "C" const char guest_name[] = "hostile";

namespace {

constexpr uint16_t NO_DOMAIN = 0x7000;     // a valid id no domain has
constexpr uint32_t HUGE_PORT = 0x7fffffff;  // beyond any event-channel ABI
constexpr uint32_t PORT_LIMIT = EVTCHN_2L_NR_CHANNELS;  // first port past the 2-level ABI

Checks c;
alignas(4096) uint8_t g_scratch[2][4096];

uint64_t scratch_gfn(unsigned i) { return reinterpret_cast<uintptr_t>(g_scratch[i]) >> 12; }

long port_or_zero(long rc) { return rc > 0 ? 0 : rc; }

void event_channels() {
    // A loopback pair (both ends ours), then a port we close, as material.
    long a = ev::alloc_unbound(DOMID_SELF);
    c.expect("alloc_unbound(remote self)", port_or_zero(a), 0);
    long b = a > 0 ? ev::bind_interdomain(DOMID_SELF, static_cast<uint32_t>(a)) : -1;
    c.expect("bind_interdomain(self, that port)", port_or_zero(b), 0);
    if (a <= 0 || b <= 0) return;
    const uint32_t pa = static_cast<uint32_t>(a), pb = static_cast<uint32_t>(b);
    ev::mask(pa);
    ev::mask(pb);
    ev::clear_pending(pa);
    ev::clear_pending(pb);
    c.expect("send on the loopback port", ev::send(pb), 0);
    c.expect("  ... the other end is pending", ev::is_pending(pa) ? 1 : 0, 1);
    ev::clear_pending(pa);
    long closed = ev::alloc_unbound(DOMID_SELF);
    c.expect("alloc_unbound (to be closed)", port_or_zero(closed), 0);
    const uint32_t pc = closed > 0 ? static_cast<uint32_t>(closed) : 0;
    c.expect("close it", ev::close(pc), 0);

    // Wrong ports.
    c.expect("send port 0 (reserved)", ev::send(0), -XEN_EINVAL);
    c.expect("send port 4096 (past the 2-level ABI)", ev::send(PORT_LIMIT), -XEN_EINVAL);
    c.expect("send port 0x7fffffff", ev::send(HUGE_PORT), -XEN_EINVAL);
    c.expect("send on a closed port", ev::send(pc), -XEN_EINVAL);
    c.expect("send port 1000 (never allocated)", ev::send(1000), -XEN_EINVAL);
    c.expect("close port 0", ev::close(0), -XEN_EINVAL);
    c.expect("close port 0x7fffffff", ev::close(HUGE_PORT), -XEN_EINVAL);
    c.expect("close a closed port", ev::close(pc), -XEN_EINVAL);
    c.expect("unmask port 4096", ev::unmask(PORT_LIMIT), -XEN_EINVAL);
    c.expect("unmask port 0x7fffffff", ev::unmask(HUGE_PORT), -XEN_EINVAL);
    // Xen only range-checks unmask: a closed port inside the table is fine.
    c.expect("unmask a closed port (Xen: range check only)", ev::unmask(pc), 0);
    evtchn_status st{};
    long rc = ev::status(DOMID_SELF, 0, &st);
    c.expect("status port 0", rc == 0 ? static_cast<long>(st.status) : rc, EVTCHNSTAT_closed);
    rc = ev::status(DOMID_SELF, pc, &st);
    c.expect("status of a closed port", rc == 0 ? static_cast<long>(st.status) : rc, EVTCHNSTAT_closed);
    rc = ev::status(DOMID_SELF, pa, &st);
    c.expect("status of the loopback port", rc == 0 ? static_cast<long>(st.status) : rc, EVTCHNSTAT_interdomain);
    c.expect("status port 0x7fffffff", ev::status(DOMID_SELF, HUGE_PORT, &st), -XEN_EINVAL);
    c.expect("bind_vcpu port 0x7fffffff", ev::bind_vcpu(HUGE_PORT, 0), -XEN_EINVAL);
    c.expect("bind_vcpu port 0 (reserved)", ev::bind_vcpu(0, 0), -XEN_EINVAL);

    // Wrong domains. An id no domain has is -ESRCH in Xen (the lookup comes
    // before any permission check); DOMID_SELF is fine everywhere here.
    c.expect("alloc_unbound(dom 0x7000)", ev::alloc_unbound(DOMID_SELF, NO_DOMAIN), -XEN_ESRCH);
    c.expect("status(dom 0x7000, port 1)", ev::status(NO_DOMAIN, 1, &st), -XEN_ESRCH);
    c.expect("bind_interdomain(dom 0x7000, port 1)", ev::bind_interdomain(NO_DOMAIN, 1), -XEN_ESRCH);
    c.expect("bind_interdomain(DOMID_INVALID)", ev::bind_interdomain(DOMID_INVALID, 1), -XEN_ESRCH);
    c.expect("bind_interdomain(self, port 0)", ev::bind_interdomain(DOMID_SELF, 0), -XEN_EINVAL);
    c.expect("bind_interdomain(self, port 0x7fffffff)", ev::bind_interdomain(DOMID_SELF, HUGE_PORT), -XEN_EINVAL);
    c.expect("bind_interdomain(self, already bound port)", ev::bind_interdomain(DOMID_SELF, pa), -XEN_EINVAL);
    // Xen does not check the remote of an unbound port; binding to it from
    // anyone else fails.
    long other = ev::alloc_unbound(NO_DOMAIN);
    c.expect("alloc_unbound(remote 0x7000) (Xen: accepted)", port_or_zero(other), 0);
    if (other > 0) {
        c.expect("bind_interdomain(self, port meant for 0x7000)",
                 ev::bind_interdomain(DOMID_SELF, static_cast<uint32_t>(other)), -XEN_EINVAL);
        c.expect("send on an unbound port (dropped)", ev::send(static_cast<uint32_t>(other)), 0);
        c.expect("close it", ev::close(static_cast<uint32_t>(other)), 0);
    }

    // VIRQs and IPIs on vCPUs that do not exist.
    c.expect("bind_virq(TIMER, vcpu 1)", ev::bind_virq(VIRQ_TIMER, 1), -XEN_ENOENT);
    c.expect("bind_virq(TIMER, vcpu 0xffffffff)", ev::bind_virq(VIRQ_TIMER, 0xffffffffu), -XEN_ENOENT);
    c.expect("bind_virq(24 = NR_VIRQS)", ev::bind_virq(NR_VIRQS, 0), -XEN_EINVAL);
    c.expect("bind_virq(0xffffffff)", ev::bind_virq(0xffffffffu, 0), -XEN_EINVAL);
    c.expect("bind_virq(DOM_EXC (global), vcpu 1)", ev::bind_virq(VIRQ_DOM_EXC, 1), -XEN_EINVAL);
    long t = ev::bind_virq(VIRQ_TIMER, 0);
    c.expect("bind_virq(TIMER, vcpu 0)", port_or_zero(t), 0);
    c.expect("bind_virq(TIMER, vcpu 0) again", ev::bind_virq(VIRQ_TIMER, 0), -XEN_EEXIST);
    if (t > 0) {
        c.expect("bind_vcpu(TIMER port, vcpu 0) (per-vCPU VIRQ)", ev::bind_vcpu(static_cast<uint32_t>(t), 0),
                 -XEN_EINVAL);
        c.expect("close the TIMER port", ev::close(static_cast<uint32_t>(t)), 0);
    }
    c.expect("bind_ipi(vcpu 1)", ev::bind_ipi(1), -XEN_ENOENT);
    c.expect("bind_vcpu(loopback port, vcpu 1)", ev::bind_vcpu(pa, 1), -XEN_ENOENT);
    evtchn_port_op op{pa};
    c.expect("event_channel_op 99 (unknown)", event_channel_op(99, &op), -XEN_ENOSYS);

    // Closing one end of the loopback unbinds the other: sending on it is
    // then dropped (the remaining end is unbound).
    c.expect("close one loopback end", ev::close(pa), 0);
    c.expect("send on the other end (now unbound)", ev::send(pb), 0);
    c.expect("close the other end", ev::close(pb), 0);
    c.expect("send on it (closed)", ev::send(pb), -XEN_EINVAL);

    // SCHEDOP_poll with bad arguments. Interrupts are off, so Xen does not
    // count our pending events as deliverable; clear the upcall flags anyway
    // so that no implementation returns early for them.
    if (xen::vcpu_info* vi = ev::vcpu_info(0)) {
        vi->evtchn_upcall_pending = 0;
        vi->evtchn_pending_sel = 0;
    }
    uint32_t ports[129] = {};
    c.expect("poll 129 ports", ev::poll(ports, 129, 0), -XEN_EINVAL);
    uint32_t bad = HUGE_PORT;
    c.expect("poll port 0x7fffffff", ev::poll(&bad, 1, 0), -XEN_EINVAL);
}

void grant_tables() {
    uint32_t handle = 0;
    const uint64_t gpa = alloc_unused_gfn() << 12;
    c.expect("map from domain 0x7000", gnt::map(NO_DOMAIN, 8, gpa, GNTMAP_host_map, &handle), GNTST_bad_domain);
    c.expect("map from DOMID_SELF", gnt::map(DOMID_SELF, 8, gpa, GNTMAP_host_map, &handle), GNTST_bad_domain);
    c.expect("map with flags 0", gnt::map(DOMID_SELF, 8, gpa, 0, &handle), GNTST_bad_gntref);
    c.expect("unmap handle 0 (nothing mapped)", gnt::unmap(gpa, 0), GNTST_bad_handle);
    c.expect("unmap handle 0xffffffff", gnt::unmap(gpa, 0xffffffffu), GNTST_bad_handle);
    c.expect("unmap handle 0 again", gnt::unmap(gpa, 0), GNTST_bad_handle);
    uint32_t nr = 0, max = 0;
    c.expect("query_size(dom 0x7000)", gnt::query_size(NO_DOMAIN, &nr, &max), GNTST_bad_domain);
    uint64_t frames[1];
    c.expect("setup_table(dom 0x7000)", gnt::setup_table(NO_DOMAIN, 1, frames), GNTST_bad_domain);
    c.expect("setup_table(self, 100000 frames)", gnt::setup_table(DOMID_SELF, 100000, frames), GNTST_general_error);
    c.expect("copy from dom 0x7000's ref 8", gnt::copy_from_grant(NO_DOMAIN, 8, 0, scratch_gfn(1), 0, 8),
             GNTST_bad_domain);
    // Copies by frame number: only DOMID_SELF may use them; within ourselves
    // they work, and a range running off the page is refused.
    for (unsigned i = 0; i < 8; ++i) g_scratch[0][i] = static_cast<uint8_t>(0xa0 + i);
    gnttab_copy cp{};
    cp.source.ref_or_gmfn = scratch_gfn(0);
    cp.source.domid = DOMID_SELF;
    cp.dest.ref_or_gmfn = scratch_gfn(1);
    cp.dest.domid = DOMID_SELF;
    cp.dest.offset = 16;
    cp.len = 8;
    cp.flags = 0;
    long rc = grant_table_op(GNTTABOP_copy, &cp, 1);
    bool same = true;
    for (unsigned i = 0; i < 8; ++i) same = same && g_scratch[1][16 + i] == g_scratch[0][i];
    c.expect("copy 8 bytes by frame within DOMID_SELF", rc != 0 ? rc : (cp.status != 0 ? cp.status : (same ? 0 : 99)),
             GNTST_okay);
    cp.source.offset = 4000;
    cp.dest.offset = 0;
    cp.len = 200;
    rc = grant_table_op(GNTTABOP_copy, &cp, 1);
    c.expect("copy 200 bytes from offset 4000", rc != 0 ? rc : cp.status, GNTST_bad_copy_arg);
    cp.source.offset = 0;
    cp.source.domid = NO_DOMAIN;
    cp.len = 8;
    rc = grant_table_op(GNTTABOP_copy, &cp, 1);
    c.expect("copy by frame from dom 0x7000", rc != 0 ? rc : cp.status, GNTST_permission_denied);
    c.expect("grant_table_op 99 (unknown)", grant_table_op(99, &cp, 1), -XEN_ENOSYS);
    // Grant-table frames past the table's limit.
    xen_add_to_physmap xatp{DOMID_SELF, 0, XENMAPSPACE_grant_table, 100000, alloc_unused_gfn()};
    c.expect("add_to_physmap(grant_table frame 100000)", memory_op(XENMEM_add_to_physmap, &xatp), -XEN_EINVAL);
    xatp.space = XENMAPSPACE_shared_info;
    xatp.idx = 1;
    c.expect("add_to_physmap(shared_info idx 1)", memory_op(XENMEM_add_to_physmap, &xatp), -XEN_EINVAL);
}

void vcpus_and_timers() {
    c.expect("vcpu_op up(vcpu 1) (no such vCPU)", vcpu_op(VCPUOP_up, 1, nullptr), -XEN_ENOENT);
    c.expect("vcpu_op is_up(vcpu 0xffffffff)", vcpu_op(VCPUOP_is_up, 0xffffffffu, nullptr), -XEN_ENOENT);
    vcpu_set_singleshot_timer t{0, 0, 0};
    c.expect("set_singleshot_timer(vcpu 1)", vcpu_op(VCPUOP_set_singleshot_timer, 1, &t), -XEN_ENOENT);
    vcpu_hvm_context ctx{};
    ctx.mode = 7;
    c.expect("initialise(vcpu 0) (already running)", vcpu_op(VCPUOP_initialise, 0, &ctx), -XEN_EEXIST);
}

void privileged() {
    menhir::abi::Domctl d{};
    d.cmd = static_cast<uint32_t>(menhir::abi::DomctlCmd::get_info);
    d.interface_version = menhir::abi::domctl_interface_version;
    d.domain = 0;
    c.expect("domctl get_info(dom 0)", domctl(&d), -XEN_EPERM);
    d.cmd = static_cast<uint32_t>(menhir::abi::DomctlCmd::create);
    d.u.create.memory_kb = 4096;
    d.u.create.vcpus = 1;
    c.expect("domctl create", domctl(&d), -XEN_EPERM);
    d.cmd = static_cast<uint32_t>(menhir::abi::DomctlCmd::destroy);
    d.domain = 0;
    c.expect("domctl destroy(dom 0)", domctl(&d), -XEN_EPERM);
    menhir::abi::Sysctl s{};
    s.cmd = static_cast<uint32_t>(menhir::abi::SysctlCmd::physinfo);
    s.interface_version = menhir::abi::domctl_interface_version;
    c.expect("sysctl physinfo", sysctl(&s), -XEN_EPERM);

    // Foreign mappings are for dom0 (Xen: p2m_add_foreign, "hardware domain
    // only"). Xen reports it in errs[0] with the call itself returning 0;
    // either way counts.
    uint64_t idx = 0x100;
    uint64_t gpfn = alloc_unused_gfn();
    int err = 0x5a5a;
    xen_add_to_physmap_batch b{};
    b.domid = DOMID_SELF;
    b.space = XENMAPSPACE_gmfn_foreign;
    b.size = 1;
    b.foreign_domid = 0;
    b.idxs = reinterpret_cast<uintptr_t>(&idx);
    b.gpfns = reinterpret_cast<uintptr_t>(&gpfn);
    b.errs = reinterpret_cast<uintptr_t>(&err);
    long rc = memory_op(XENMEM_add_to_physmap_batch, &b);
    c.expect("add_to_physmap_batch(gmfn_foreign from dom 0)", rc != 0 ? rc : err, -XEN_EPERM);
    xen_hvm_param p{DOMID_SELF, 0, HVM_PARAM_STORE_PFN, 0x1000};
    c.expect("hvm_op set_param(STORE_PFN) on itself", hvm_op(HVMOP_set_param, &p), -XEN_EPERM);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    print("hostile: started\n");
    // Interrupts stay off throughout: the loopback and timer events stay
    // pending in shared_info and no handler runs.
    if (!ev::init()) poweroff();
    c.expect("grant table set up (setup_table, add_to_physmap frame 0)", gnt::table_init(1) ? 0 : 1, 0);
    event_channels();
    grant_tables();
    vcpus_and_timers();
    privileged();
    print("hostile: %u passed, %u failed\n", c.passed, c.failed);
    poweroff();
}
