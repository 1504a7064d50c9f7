// vcpu_op: secondary vCPUs (initialise, up, down), the singleshot timer,
// where a vCPU's vcpu_info lives, its runstate and its time area.
#include "arch/x86/percpu.hpp"
#include "kernel/mm/frame_refs.hpp"
#include "kernel/sched/scheduler.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/domain_builder.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"
#include "vmm/runstate.hpp"
#include "vmm/vcpu_timer.hpp"

namespace menhir::hypercall {
namespace {

constexpr int64_t etime = -62;   // Xen's -ETIME: a "future" timer already in the past

// VMCS access rights from the 16-bit "ar" format of vcpu_hvm_context
// (descriptor bits 40-47 and 52-55), as Xen's hvm_vcpu.h describes it.
uint32_t access_from_ar(uint16_t ar) { return (ar & 0xff) | ((ar & 0xf00u) << 4); }

int64_t initialise_locked(Vcpu& caller, Vcpu& target, uint64_t ptr)
{
    if (target.initialised) return xen::err::eexist;   // once, as in Xen
    xen::VcpuHvmContext ctx{};
    if (!guest::copy_from(caller, ptr, &ctx, sizeof ctx)) return xen::err::efault;
    vmx::GuestStart s{};
    GuestRegs& r = target.ctx.regs;
    r = GuestRegs{};
    if (ctx.mode == xen::vcpu_hvm_mode_64b) {
        const auto& c = ctx.cpu_regs.x86_64;
        // Long mode needs paging, PAE and LME/LMA (SDM Vol 3A 10.8.5).
        if (!(c.cr0 & (1u << 31)) || !(c.cr4 & (1u << 5)) || !(c.efer & (1u << 8))) return xen::err::einval;
        s.rip = c.rip;
        s.rsp = c.rsp;
        s.rflags = c.rflags;
        s.cr0 = c.cr0;
        s.cr3 = c.cr3;
        s.cr4 = c.cr4;
        s.efer = c.efer | (1u << 10);
        s.cs = vmx::Segment{0x08, 0, 0xffffffff, 0xa09b};   // 64-bit code (L = 1)
        s.ds = vmx::Segment{0x10, 0, 0xffffffff, 0xc093};
        s.tr = vmx::Segment{0, 0, 0x67, 0x8b};
        r.rax = c.rax; r.rcx = c.rcx; r.rdx = c.rdx; r.rbx = c.rbx;
        r.rbp = c.rbp; r.rsi = c.rsi; r.rdi = c.rdi;
    } else if (ctx.mode == xen::vcpu_hvm_mode_32b) {
        const auto& c = ctx.cpu_regs.x86_32;
        s.rip = c.eip;
        s.rsp = c.esp;
        s.rflags = c.eflags;
        s.cr0 = c.cr0;
        s.cr3 = c.cr3;
        s.cr4 = c.cr4;
        s.efer = c.efer & ~(1ull << 10);
        if (s.cr0 & (1u << 31) && s.efer & (1u << 8)) return xen::err::einval;   // long mode needs the 64B form
        s.cs = vmx::Segment{0x08, c.cs_base, c.cs_limit, access_from_ar(c.cs_ar)};
        s.ds = vmx::Segment{0x10, c.ds_base, c.ds_limit, access_from_ar(c.ds_ar)};
        s.tr = vmx::Segment{0, c.tr_base, c.tr_limit ? c.tr_limit : 0x67, c.tr_ar ? access_from_ar(c.tr_ar) : 0x8b};
        r.rax = c.eax; r.rcx = c.ecx; r.rdx = c.edx; r.rbx = c.ebx;
        r.rbp = c.ebp; r.rsi = c.esi; r.rdi = c.edi;
    } else {
        return xen::err::einval;
    }
    if (!builder::start_vcpu(target, s)) return xen::err::einval;
    __atomic_store_n(&target.initialised, true, __ATOMIC_RELEASE);
    return 0;
}

// One VCPUOP_initialise of a domain at a time (Xen holds the domain lock):
// two vCPUs starting the same one would load its VMCS on two CPUs at once;
// the second sees it initialised and gets -EEXIST.
int64_t initialise(Vcpu& caller, Vcpu& target, uint64_t ptr)
{
    SpinGuard g{caller.domain->vcpu_lock};
    return initialise_locked(caller, target, ptr);
}

int64_t register_vcpu_info(Vcpu& v, Vcpu& target, uint64_t ptr)
{
    xen::VcpuRegisterVcpuInfo info{};
    if (!guest::copy_from(v, ptr, &info, sizeof info)) return xen::err::efault;
    if (info.offset > page_size - sizeof(xen::VcpuInfo)) return xen::err::einval;
    if (target.info != &v.domain->shared()->vcpu_info[target.id]) return xen::err::einval;   // once only, as in Xen
    // Only the domain's own RAM (Xen: -EINVAL unless the gfn is a page it
    // owns): a grant or foreign mapping could go back to its owner while the
    // hypervisor keeps writing it, and shared_info or a grant-table frame
    // would have vcpu_info written over its contents.
    // The reference taken here stays: the page remains the hypervisor's to
    // write even if the guest gives it up.
    auto frame = v.domain->get_own_frame(info.mfn, true);
    if (!frame) return xen::err::einval;
    const HostPhys hpa = *frame + info.offset;
    auto* moved = phys_to_virt<xen::VcpuInfo>(hpa);
    __builtin_memcpy(moved, target.info, sizeof *moved);
    target.info_page = *frame;
    target.info = moved;
    vcpu_timer::update_time_info(target);
    return 0;
}

} // namespace

int64_t vcpu_op(Vcpu& v, Args& args)
{
    const uint64_t cmd = args[0];
    const uint64_t id = args[1];
    Domain& d = *v.domain;
    if (id >= d.vcpu_count) return xen::err::enoent;
    Vcpu& target = *d.vcpus[id];
    switch (cmd) {
    case xen::vcpuop_is_up:
        return target.up ? 1 : 0;
    case xen::vcpuop_initialise:
        return initialise(v, target, args[2]);
    case xen::vcpuop_up:
        if (!__atomic_load_n(&target.initialised, __ATOMIC_ACQUIRE)) return xen::err::einval;
        if (!target.up) {
            target.up = true;
            scheduler::wake(target);
        }
        return 0;
    case xen::vcpuop_down:
        if (target.up) {
            target.up = false;
            if (&target == &v)
                scheduler::block_current();
            else
                scheduler::stop_vcpu(target);
        }
        return 0;
    case xen::vcpuop_set_singleshot_timer: {
        if (&target != &v) return xen::err::einval;   // a vCPU arms only its own timer
        xen::VcpuSetSingleshotTimer t{};
        if (!guest::copy_from(v, args[2], &t, sizeof t)) return xen::err::efault;
        if ((t.flags & xen::vcpu_sshottmr_future) && t.timeout_abs_ns < scheduler::now_ns()) return etime;
        vcpu_timer::set(v, t.timeout_abs_ns ? t.timeout_abs_ns : 1);
        this_cpu().resched = true;   // the preemption timer must now stop at the deadline
        return 0;
    }
    case xen::vcpuop_stop_singleshot_timer:
        if (&target != &v) return xen::err::einval;
        vcpu_timer::set(v, 0);
        return 0;
    case xen::vcpuop_stop_periodic_timer:
        return 0;   // Menhir never starts one
    case xen::vcpuop_register_vcpu_info:
        return register_vcpu_info(v, target, args[2]);
    case xen::vcpuop_get_runstate_info: {
        const xen::VcpuRunstateInfo r = runstate::snapshot(target);
        return guest::copy_to(v, args[2], &r, sizeof r) ? 0 : xen::err::efault;
    }
    case xen::vcpuop_register_runstate_memory_area: {
        uint64_t area = 0;   // struct vcpu_register_runstate_memory_area: the area's address
        if (!guest::copy_from(v, args[2], &area, sizeof area)) return xen::err::efault;
        return runstate::register_area(v, target, area);
    }
    case xen::vcpuop_register_vcpu_time_memory_area: {
        uint64_t area = 0;   // struct vcpu_register_time_memory_area: the record's address
        if (!guest::copy_from(v, args[2], &area, sizeof area)) return xen::err::efault;
        return vcpu_timer::register_time_area(v, target, area);
    }
    default:
        return xen::err::enosys;
    }
}

} // namespace menhir::hypercall
