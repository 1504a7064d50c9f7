// A vCPU's virtual local APIC, the effectful half: see vlapic.hpp.
#include "vmm/vlapic.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "kernel/console.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/sched/scheduler.hpp"
#include "vmm/domain.hpp"
#include "vmm/domain_builder.hpp"
#include "vmm/vcpu_timer.hpp"

namespace menhir::vlapic {
namespace {

constexpr uint32_t injection_valid = 1u << 31;
constexpr uint32_t type_nmi = 2u << 8;                 // interruption type 2 (SDM Vol 3C 24.8.3)
constexpr uint64_t blocking_sti_movss = 3, blocking_nmi = 8;

// The vCPU running here changed something that may let an interrupt through
// (EOI, TPR, SVR, a self-IPI): look before the next entry.
void recheck_here(Vcpu& v)
{
    v.kick = true;
    this_cpu().resched = true;
}

// lapic_lock held: the timer's new deadline goes to vcpu_timer, and the
// scheduler recomputes this CPU's preemption timer.
void rearm(Vcpu& v)
{
    vcpu_timer::set_lapic(v, timer_deadline(v.lapic));
}

// An interrupt for `t` (another vCPU, or the sender itself).
void raise(Vcpu& t, uint8_t vector)
{
    bool taken;
    {
        SpinGuard g{t.lapic_lock};
        Effects fx;
        taken = accept(t.lapic, vector, false, fx);
    }
    if (taken) scheduler::kick(t);
}

void ignored(Domain& d, const char* why)
{
    if (!__atomic_exchange_n(&d.lapic_init_logged, true, __ATOMIC_RELAXED))
        info("domain %u (%s): INIT/SIPI ignored: %s (logged once)", d.id, d.name, why);
}

// INIT: a vCPU that is not running (never started, or down) gets the
// APIC's INIT state (ID and mode kept, SDM Vol 3A 11.12.5.1) and waits for
// a SIPI. A running one is not taken down: the hypervisor cannot stop it
// here and rewrite its VMCS safely.
void init_ipi(Vcpu& t)
{
    Domain& d = *t.domain;
    if (__atomic_load_n(&t.up, __ATOMIC_ACQUIRE)) return ignored(d, "INIT to a running vCPU");
    SpinGuard g{t.lapic_lock};
    const uint64_t base = t.lapic.apic_base;
    reset(t.lapic, t.id);
    t.lapic.apic_base = base;
    t.lapic_nmi = false;
    rearm(t);
    t.wait_for_sipi = true;
}

// SIPI: a vCPU waiting after INIT starts in real mode at vector << 12
// (CS = vector << 8, IP = 0), as a processor does (SDM Vol 3A 9.4.4.1).
void startup_ipi(Vcpu& t, uint8_t vector)
{
    Domain& d = *t.domain;
    SpinGuard g{d.vcpu_lock};   // as VCPUOP_initialise: one start state loaded at a time
    if (!t.wait_for_sipi || __atomic_load_n(&t.up, __ATOMIC_ACQUIRE)) return;   // not waiting: ignored, as hardware
    vmx::GuestStart s{};
    s.rip = 0;
    s.rflags = 0x2;
    s.cr0 = 1u << 4;   // ET; PE and PG off (unrestricted guest)
    s.cs = vmx::Segment{static_cast<uint16_t>(vector << 8), static_cast<uint64_t>(vector) << 12, 0xffff, 0x9b};
    s.ds = vmx::Segment{0, 0, 0xffff, 0x93};
    s.tr = vmx::Segment{0, 0, 0xffff, 0x8b};
    t.ctx.regs = GuestRegs{};
    if (!builder::start_vcpu(t, s)) return ignored(d, "the real-mode start state was refused");
    t.wait_for_sipi = false;
    __atomic_store_n(&t.initialised, true, __ATOMIC_RELEASE);
    __atomic_store_n(&t.up, true, __ATOMIC_RELEASE);
    scheduler::wake(t);
}

void send_ipi(Vcpu& from, const Ipi& ipi, uint32_t sender_id)
{
    Domain& d = *from.domain;
    if (ipi.delivery == Delivery::init || ipi.delivery == Delivery::startup) {
        // INIT level de-assert (bit 14 clear) only resets arbitration IDs.
        if (ipi.delivery == Delivery::init && !ipi.level_assert) return;
        for (uint32_t i = 0; i < d.vcpu_count; ++i) {
            Vcpu& t = *d.vcpus[i];
            if (&t == &from) continue;   // a vCPU does not INIT or start itself
            bool hit;
            {
                SpinGuard g{t.lapic_lock};
                hit = is_destination(t.lapic, ipi, sender_id);
            }
            if (!hit) continue;
            if (ipi.delivery == Delivery::init) init_ipi(t);
            else startup_ipi(t, ipi.vector);
        }
        return;
    }
    if (ipi.delivery != Delivery::fixed && ipi.delivery != Delivery::lowest && ipi.delivery != Delivery::nmi)
        return;   // SMI and the reserved mode: nothing to deliver them to
    for (uint32_t i = 0; i < d.vcpu_count; ++i) {
        Vcpu& t = *d.vcpus[i];
        bool hit;
        {
            SpinGuard g{t.lapic_lock};
            hit = is_destination(t.lapic, ipi, sender_id);
            if (hit && ipi.delivery == Delivery::nmi) t.lapic_nmi = true;
        }
        if (!hit) continue;
        if (ipi.delivery == Delivery::nmi) scheduler::kick(t);
        else raise(t, ipi.vector);
        // Lowest priority: the first destination (all vCPUs are alike to the guest).
        if (ipi.delivery == Delivery::lowest) return;
    }
}

// lapic_lock held: what an access asks beyond the register change, except
// IPIs, which the caller sends once the lock is dropped.
void apply_local(Vcpu& v, const Effects& fx)
{
    if (fx.timer) rearm(v);
    if (fx.error) {
        Effects more;
        (void)accept(v.lapic, static_cast<uint8_t>(v.lapic.lvt[static_cast<unsigned>(Lvt::error)] & 0xff), false, more);
    }
}

// A register write by MSR or through the page: `write` changes the model
// under lapic_lock and says whether it took; its local effects follow under
// the lock, its IPI once the lock is dropped (the target's lock is taken).
template <typename Write>
bool write_register(Vcpu& v, Write write)
{
    Effects fx;
    uint32_t sender_id;
    {
        SpinGuard g{v.lapic_lock};
        if (!write(fx)) return false;
        apply_local(v, fx);
        sender_id = v.lapic.id;
    }
    if (fx.ipi) send_ipi(v, fx.ipi_req, sender_id);
    recheck_here(v);
    return true;
}

} // namespace

void init(Vcpu& v)
{
    reset(v.lapic, v.id);
    v.lapic_nmi = false;
    v.lapic_deadline_ns = 0;
}

void describe()
{
    using vmx::ApicMode;
    const bool x2 = vmx::apic_virtualisation(ApicMode::x2apic), x1 = vmx::apic_virtualisation(ApicMode::xapic);
    if (x1 && x2)
        info("guest local APICs: emulated, and virtualised by the CPU in xAPIC and x2APIC mode (APIC-access page, TPR "
             "shadow, virtual-interrupt delivery: EOI/TPR/self-IPI writes and register reads without exits); ICR, LVT "
             "and timer writes and the timer's count by exits");
    else if (x1 || x2)
        info("guest local APICs: emulated, and virtualised by the CPU in %s mode only (the CPU lacks virtualize %s); "
             "the other mode by exits", x2 ? "x2APIC" : "xAPIC", x2 ? "APIC accesses" : "x2APIC mode");
    else
        info("guest local APICs: emulated, x2APIC MSRs and the xAPIC page by exits (apicv=0, or the CPU lacks TPR "
             "shadow, APIC-register virtualisation or virtual-interrupt delivery)");
}

namespace {

// Whether the CPU virtualises v's APIC now (lapic_lock held): as its VMCS says.
bool virtualised(const Vcpu& v) { return v.lapic_virtualised; }

// RVI and SVI as the virtual-APIC page says (SDM Vol 3C 30.1.1).
uint16_t interrupt_status(const State& s)
{
    const int rvi = highest_irr(s), svi = highest_isr(s);
    return static_cast<uint16_t>(((svi < 0 ? 0 : svi) << 8) | (rvi < 0 ? 0 : rvi));
}

// lapic_lock held, v's VMCS current: the CPU's virtualisation as v's mode asks.
void follow_mode(Vcpu& v)
{
    using vmx::ApicMode;
    const State& s = v.lapic;
    const ApicMode mode = !s.hw_enabled() ? ApicMode::none : s.x2apic() ? ApicMode::x2apic : ApicMode::xapic;
    v.lapic_virtualised =
        vmx::set_apic_virtualisation(mode, virt_to_phys(&v.lapic.page), v.domain->apic_access, interrupt_status(s));
    v.lapic.irr_raised = false;   // RVI is written whole just above
    // The CPU may hold translations of the page made under the old mode's
    // controls for this vCPU's VPID (SDM Vol 3C 30.4.5). Mode changes are
    // rare: a flush each time costs nothing that matters.
    if (v.vpid) vmx::invvpid_single(v.vpid);
}

} // namespace

void configure(Vcpu& v)
{
    SpinGuard g{v.lapic_lock};
    follow_mode(v);
}

bool read_msr(Vcpu& v, uint32_t msr, uint64_t& value)
{
    SpinGuard g{v.lapic_lock};
    if (msr == msr_apic_base) {
        value = v.lapic.apic_base;
        return true;
    }
    return vlapic::read_msr(v.lapic, msr, scheduler::now_ns(), value) == Access::ok;
}

bool write_msr(Vcpu& v, uint32_t msr, uint64_t value)
{
    if (msr == msr_apic_base) {
        SpinGuard g{v.lapic_lock};
        if (write_apic_base(v.lapic, value, v.id) != Access::ok) return false;
        rearm(v);   // disabling resets the timer
        follow_mode(v);   // into or out of x2APIC mode
        recheck_here(v);
        return true;
    }
    return write_register(v, [&](Effects& fx) {
        return vlapic::write_msr(v.lapic, msr, value, scheduler::now_ns(), fx) == Access::ok;
    });
}

bool owns_page(Vcpu& v, uint64_t gpa)
{
    SpinGuard g{v.lapic_lock};
    const State& s = v.lapic;
    return s.hw_enabled() && !s.x2apic() && (gpa & ~0xfffull) == (s.apic_base & ~0xfffull);
}

uint64_t page_gpa(Vcpu& v)
{
    SpinGuard g{v.lapic_lock};
    return v.lapic.apic_base & ~0xfffull;
}

void page_written(Vcpu& v, uint32_t offset)
{
    (void)write_register(v, [&](Effects& fx) {
        apply_page_write(v.lapic, offset, scheduler::now_ns(), fx);
        return true;
    });
}

uint32_t read_page(Vcpu& v, uint32_t offset, uint32_t size)
{
    SpinGuard g{v.lapic_lock};
    return read_mmio_sized(v.lapic, offset, size, scheduler::now_ns());
}

void write_page(Vcpu& v, uint32_t offset, uint32_t size, uint32_t value)
{
    (void)write_register(v, [&](Effects& fx) {
        if (size == 4) {
            vlapic::write_mmio(v.lapic, offset, value, scheduler::now_ns(), fx);
            return true;
        }
        // Wider or crossing a register: dropped (the SDM leaves them undefined).
        return write_mmio_narrow(v.lapic, offset, size, value, scheduler::now_ns(), fx);
    });
}

uint64_t read_cr8(Vcpu& v)
{
    SpinGuard g{v.lapic_lock};
    return (v.lapic.tpr() >> 4) & 0xf;
}

void write_cr8(Vcpu& v, uint64_t value)
{
    {
        SpinGuard g{v.lapic_lock};
        write_tpr(v.lapic, static_cast<uint32_t>(value & 0xf) << 4);
    }
    recheck_here(v);
}

bool pending(Vcpu& v)
{
    SpinGuard g{v.lapic_lock};
    return v.lapic_nmi || deliverable(v.lapic) >= 0;
}

bool inject(Vcpu& v, bool can_take, bool& left)
{
    SpinGuard g{v.lapic_lock};
    left = false;
    const bool injecting = vmx::read(vmx::Field::entry_interruption_info) & injection_valid;
    if (v.lapic_nmi) {
        const uint64_t blocking = vmx::read(vmx::Field::guest_interruptibility);
        if (!injecting && !(blocking & (blocking_sti_movss | blocking_nmi))) {
            vmx::write(vmx::Field::entry_interruption_info, 2u | type_nmi | injection_valid);
            v.lapic_nmi = false;
            left = deliverable(v.lapic) >= 0;
            return true;
        }
        // Blocked (in its NMI handler, or a shadow): retried at the next
        // entry after a scheduling pass. An interrupt window would not
        // help: it opens at once with IF=1 and would exit without end.
        v.kick = true;
    }
    if (virtualised(v)) {
        // The CPU delivers from IRR itself when RVI is above its PPR and the
        // guest can take it (30.2): RVI just has to name the highest vector
        // raised since, if any was. SVI stays the CPU's.
        if (!v.lapic.irr_raised) return false;
        v.lapic.irr_raised = false;
        const uint64_t svi = vmx::read(vmx::Field::guest_interrupt_status) & 0xff00;
        const int rvi = highest_irr(v.lapic);   // ISR need not be scanned: SVI is kept
        vmx::write(vmx::Field::guest_interrupt_status, svi | static_cast<uint64_t>(rvi < 0 ? 0 : rvi));
        return false;
    }
    const int vector = deliverable(v.lapic);
    if (vector < 0) return false;
    if (!can_take) {
        left = true;
        return false;
    }
    // An external interrupt (type 0): IRR -> ISR now, as the CPU's INTA cycle would.
    acknowledge(v.lapic, static_cast<uint8_t>(vector));
    vmx::write(vmx::Field::entry_interruption_info, static_cast<uint32_t>(vector) | injection_valid);
    left = left || deliverable(v.lapic) >= 0;
    return true;
}

void timer_expired(Vcpu& v, uint64_t now_ns)
{
    bool taken = false;
    {
        SpinGuard g{v.lapic_lock};
        const int vector = timer_fire(v.lapic, now_ns);
        Effects fx;
        if (vector >= 0) taken = accept(v.lapic, static_cast<uint8_t>(vector), false, fx);
        rearm(v);
    }
    if (taken) scheduler::kick(v);
}

void stop_timer(Vcpu& v)
{
    SpinGuard g{v.lapic_lock};
    v.lapic.timer_running = false;
    rearm(v);
}

} // namespace menhir::vlapic
