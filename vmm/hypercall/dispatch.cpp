// The VMCALL exit: privilege, argument registers, table lookup, result.
#include "arch/x86/vmx/vmcs.hpp"
#include "kernel/mm/frame_refs.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/guest_state.hpp"
#include "vmm/exit/handlers.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir {
namespace hypercall {
namespace {

enum class Who : uint8_t { anyone, dom0 };
struct Entry { Handler handler; Who who; };

constexpr auto make_table()
{
    struct Table { Entry e[xen::hypercall_count]; } t{};
    for (auto& e : t.e) e = Entry{nullptr, Who::anyone};
    auto set = [&t](xen::Hypercall h, Handler fn, Who who) { t.e[static_cast<uint32_t>(h)] = Entry{fn, who}; };
    set(xen::Hypercall::memory_op, memory_op, Who::anyone);
    set(xen::Hypercall::xen_version, xen_version, Who::anyone);
    set(xen::Hypercall::console_io, console_io, Who::anyone);
    set(xen::Hypercall::vcpu_op, vcpu_op, Who::anyone);
    set(xen::Hypercall::vm_assist, vm_assist, Who::anyone);
    set(xen::Hypercall::sched_op, sched_op, Who::anyone);
    set(xen::Hypercall::hvm_op, hvm_op, Who::anyone);
    set(xen::Hypercall::event_channel_op, event_channel_op, Who::anyone);
    set(xen::Hypercall::grant_table_op, grant_table_op, Who::anyone);
    set(xen::Hypercall::sysctl, sysctl, Who::dom0);
    set(xen::Hypercall::domctl, domctl, Who::dom0);
    return t;
}
constexpr auto table = make_table();

} // namespace

void set_arg(const Args& args, int i, uint64_t value)
{
    auto* base = reinterpret_cast<uint8_t*>(args.regs);
    const uint64_t v = args.is64 ? value : (value & 0xffffffff);
    __builtin_memcpy(base + (args.is64 ? detail::offsets64[i] : detail::offsets32[i]), &v, sizeof v);
}

Domain* target_domain(Vcpu& v, uint16_t domid, int64_t& err)
{
    if (domid == xen::domid_self || domid == v.domain->id) return v.domain;
    // As in Xen: a domain that does not exist is -ESRCH for anyone; only then
    // does privilege matter.
    Domain* d = domains::get(domid);
    if (!d) {
        err = xen::err::esrch;
        return nullptr;
    }
    if (!v.domain->privileged) {
        err = xen::err::eperm;
        return nullptr;
    }
    return d;
}

bool write_page(Vcpu& v, uint64_t msr_value)
{
    // One page only (CPUID 0x40000002 EAX says 1): the page index bits must be 0.
    if (msr_value & 0xfff) return false;
    uint8_t page[4096];
    __builtin_memset(page, 0xcc, sizeof page);   // int3 between stubs
    for (uint32_t i = 0; i < 4096 / 32; ++i) {
        uint8_t* stub = page + i * 32;
        stub[0] = 0xb8;                          // mov $i, %eax
        __builtin_memcpy(stub + 1, &i, 4);
        stub[5] = 0x0f; stub[6] = 0x01; stub[7] = 0xc1;   // vmcall
        stub[8] = 0xc3;                          // ret
    }
    // Into the domain's own RAM only; anything else is refused with #GP, as
    // Xen refuses a frame it cannot get as the domain's writable page.
    auto frame = v.domain->get_own_frame(msr_value / page_size, true);
    if (!frame) return false;
    __builtin_memcpy(phys_to_virt(*frame), page, sizeof page);
    frame_refs::put(*frame);
    return true;
}

} // namespace hypercall

void exit::vmcall(Vcpu& v)
{
    GuestRegs& r = v.ctx.regs;
    // Hypercalls are for the guest kernel (Xen: -EPERM from user mode).
    if (guest::cpl() != 0) {
        r.rax = static_cast<uint64_t>(xen::err::eperm);
        guest::skip_instruction(guest::vmcall_length);
        return;
    }
    hypercall::Args args{&r, guest::in_64bit_code(v)};
    const uint64_t number = args.is64 ? r.rax : (r.rax & 0xffffffff);
    int64_t result = xen::err::enosys;
    if (number < xen::hypercall_count && hypercall::table.e[number].handler) {
        const auto& e = hypercall::table.e[number];
        result = (e.who == hypercall::Who::dom0 && !v.domain->privileged) ? xen::err::eperm : e.handler(v, args);
    }
    if (result == hypercall::preempted) return;   // RIP stays on the VMCALL
    if (v.domain->state != DomainState::running) return;   // it shut down or crashed
    r.rax = args.is64 ? static_cast<uint64_t>(result) : (static_cast<uint64_t>(result) & 0xffffffff);
    guest::skip_instruction(guest::vmcall_length);
}

} // namespace menhir
