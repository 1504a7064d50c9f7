#include "kernel/sched/scheduler.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/fpu.hpp"
#include "arch/x86/idt.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/pit.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "kernel/console.hpp"
#include "kernel/debug_keys.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/sched/credit.hpp"
#include "kernel/sched/guest_entry.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/domain.hpp"
#include "vmm/events.hpp"
#include "vmm/runstate.hpp"
#include "vmm/vcpu_timer.hpp"

extern "C" [[noreturn]] void vmx_resume_current();

namespace menhir {
extern uint64_t boot_tsc;
}

namespace menhir::scheduler {
namespace {

sched::Credit credit;
Spinlock lock;
uint32_t cpus = 1;
uint32_t next_cpu = 0;
uint32_t idle_poll_ticks = 0;

// Under `lock`: a blocked vCPU becomes runnable now; its runstate notes the
// wake. Returns the CPU it was queued on (to poke).
int wake_locked(Vcpu& v)
{
    const uint64_t now = now_ns();
    runstate::woken(v.runstate, now);
    return credit.wake(v.unit, now);
}

void poke(int cpu)
{
    if (cpu < 0) return;
    PerCpu* c = percpu::get(static_cast<uint32_t>(cpu));
    if (!c) return;
    c->resched = true;
    if (c != &this_cpu()) lapic::send_fixed(c->apic_id, vector::reschedule);
}

uint64_t ns_to_tsc(uint64_t ns) { return ns * tsc::khz() / 1000000; }
uint64_t apic_khz = 0;
uint64_t ns_to_apic(uint64_t ns) { const uint64_t t = ns * apic_khz / 1000000; return t ? t : 1; }

// SYSCALL MSRs and friends are the guest's while it runs (no exits for
// them) and nobody else's: switch them only when the vCPU changes.
constexpr uint32_t msr_star = 0xc0000081, msr_lstar = 0xc0000082, msr_cstar = 0xc0000083,
                   msr_sfmask = 0xc0000084, msr_tsc_aux = 0xc0000103;

void save_lazy(Vcpu& v)
{
    v.msrs = LazyMsrs{cpu::rdmsr(msr_star), cpu::rdmsr(msr_lstar), cpu::rdmsr(msr_cstar),
                      cpu::rdmsr(msr_sfmask), cpu::rdmsr(cpu::msr::kernel_gs_base), cpu::rdmsr(msr_tsc_aux)};
}

void load_lazy(const Vcpu& v)
{
    cpu::wrmsr(msr_star, v.msrs.star);
    cpu::wrmsr(msr_lstar, v.msrs.lstar);
    cpu::wrmsr(msr_cstar, v.msrs.cstar);
    cpu::wrmsr(msr_sfmask, v.msrs.sfmask);
    cpu::wrmsr(cpu::msr::kernel_gs_base, v.msrs.kernel_gs_base);
    cpu::wrmsr(msr_tsc_aux, v.msrs.tsc_aux);
}

// CR2 and the debug registers (vcpu.hpp LazyRegs). DR6's reserved bits read
// as the CPU fixes them and are written back unchanged.
void save_regs(Vcpu& v)
{
    LazyRegs& r = v.lazy;
    r.cr2 = cpu::read_cr2();
    asm volatile("mov %%dr0, %0" : "=r"(r.dr0));
    asm volatile("mov %%dr1, %0" : "=r"(r.dr1));
    asm volatile("mov %%dr2, %0" : "=r"(r.dr2));
    asm volatile("mov %%dr3, %0" : "=r"(r.dr3));
    asm volatile("mov %%dr6, %0" : "=r"(r.dr6));
}

void load_regs(const Vcpu& v)
{
    const LazyRegs& r = v.lazy;
    cpu::write_cr2(r.cr2);
    asm volatile("mov %0, %%dr0" :: "r"(r.dr0));
    asm volatile("mov %0, %%dr1" :: "r"(r.dr1));
    asm volatile("mov %0, %%dr2" :: "r"(r.dr2));
    asm volatile("mov %0, %%dr3" :: "r"(r.dr3));
    asm volatile("mov %0, %%dr6" :: "r"(r.dr6));
}

// x87/SSE/AVX state: the hypervisor never touches it (-mgeneral-regs-only),
// so it only changes hands when vCPUs do.
void save_fpu(Vcpu& v) { fpu::save(phys_to_virt(v.fpu), v.xcr0); }

void load_fpu(const Vcpu& v) { fpu::restore(phys_to_virt(v.fpu), v.xcr0); }

void unload(PerCpu& c, Vcpu& v)
{
    save_lazy(v);
    save_regs(v);
    save_fpu(v);
    // VMCLEAR makes the VMCS launchable on any CPU (SDM Vol 3C 25.11.3).
    (void)vmx::vmclear(v.vmcs);
    v.ctx.launched = 0;
    c.current = nullptr;
    c.current_ctx = nullptr;
    runstate::unloaded(v, v.unit.state == sched::State::blocked, now_ns());
    Domain& d = *v.domain;
    __atomic_sub_fetch(&d.running_vcpus, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&v.resident, false, __ATOMIC_RELEASE);   // last touch before reap may free it
    domains::reap(d);
}

// Printed once: the cost of booting, from kernel_main to dom0's first VM
// entry, in TSC ticks (emulated instructions in Bochs).
void report_dom0_start(const Vcpu& v)
{
    static bool reported = false;
    if (reported || v.domain->id != 0 || v.id != 0) return;
    reported = true;
    info("dom0 entered %lu TSC ticks after the hypervisor's entry", cpu::rdtsc() - boot_tsc);
}

void load(PerCpu& c, Vcpu& v)
{
    // Another CPU may still be unloading it (see Vcpu::resident): a few
    // hundred instructions at most.
    while (__atomic_load_n(&v.resident, __ATOMIC_ACQUIRE)) __builtin_ia32_pause();
    __atomic_store_n(&v.resident, true, __ATOMIC_RELAXED);
    if (!vmx::vmptrld(v.vmcs)) {
        __atomic_store_n(&v.resident, false, __ATOMIC_RELEASE);
        domains::crash(*v.domain, "VMPTRLD failed");
        return;
    }
    if (v.host_cpu != c.index) {
        vmx::write_host_state();
        v.host_cpu = c.index;
    }
    Domain& d = *v.domain;
    // EPT and VPID translations of a dead domain may still be cached here
    // under the same EPTP/VPID: flush once per domain per CPU.
    const uint64_t bit = 1ull << c.index;
    if (!(d.tlb_flushed_cpus & bit)) {
        vmx::invept_single(d.eptp);
        vmx::invvpid_single(v.vpid);
        d.tlb_flushed_cpus |= bit;
    }
    load_lazy(v);
    load_regs(v);
    load_fpu(v);
    vcpu_timer::update_time_info(v);
    runstate::loaded(v, now_ns());
    if (v.polling) {
        v.polling = false;
        vcpu_timer::set_poll_timeout(v, 0);
    }
    __atomic_add_fetch(&d.running_vcpus, 1, __ATOMIC_SEQ_CST);
    c.current = &v;
    c.current_ctx = &v.ctx;
    report_dom0_start(v);
}

void timer_interrupt(InterruptFrame&) { this_cpu().resched = true; }
void reschedule_interrupt(InterruptFrame&) { this_cpu().resched = true; }

void dump_queues(char)
{
    info("'r' pressed -> dumping run queues");
    SpinGuard g{lock};
    for (uint32_t i = 0; i < cpus; ++i) {
        PerCpu* c = percpu::get(i);
        if (!c) continue;
        if (c->current)
            info("CPU%u: running d%uv%u, %u queued", i, c->current->domain->id, c->current->id,
                 credit.runnable_count(i));
        else
            info("CPU%u: idle, %u queued", i, credit.runnable_count(i));
        credit.for_each_queued(i, [](const sched::Unit& u) {
            const auto* v = static_cast<const Vcpu*>(u.owner);
            info("  d%uv%u runtime %lu ms", v->domain->id, v->id, u.runtime_ns / 1000000);
        });
    }
}

struct KeyRegistrar {
    KeyRegistrar() { debug_keys::register_key('r', "dump run queues", dump_queues); }
} key_registrar;

} // namespace

uint64_t now_ns()
{
    const uint64_t t = cpu::rdtsc();
    const uint64_t khz = tsc::khz();
    return t / khz * 1000000 + (t % khz) * 1000000 / khz;
}

void init(uint32_t cpu_count)
{
    cpus = cpu_count;
    credit.init(cpu_count, now_ns());
    idt::set_handler(vector::timer, timer_interrupt);
    idt::set_handler(vector::reschedule, reschedule_interrupt);
    apic_khz = lapic::calibrate_timer();
    idle_poll_ticks = static_cast<uint32_t>(apic_khz * 10);   // 10 ms
}

void add(Vcpu& v)
{
    SpinGuard g{lock};
    credit.add(v.unit, v.domain->account, next_cpu);
    next_cpu = (next_cpu + 1) % cpus;
}

void remove(Vcpu& v)
{
    SpinGuard g{lock};
    credit.remove(v.unit);
}

void wake(Vcpu& v)
{
    int cpu;
    {
        SpinGuard g{lock};
        if (v.unit.state != sched::State::blocked) return;
        cpu = wake_locked(v);
    }
    poke(cpu);
}

void block_current()
{
    PerCpu& c = this_cpu();
    Vcpu& v = *c.current;
    {
        SpinGuard g{lock};
        credit.block(v.unit, now_ns());
    }
    c.resched = true;
    // An event that arrived just before the block found the vCPU still
    // running and did not wake it: look again now that it is blocked.
    if (v.up && events::work_pending(v)) wake(v);
}

void kick(Vcpu& v)
{
    v.kick = true;
    int cpu = -1;
    {
        SpinGuard g{lock};
        if (v.unit.state == sched::State::blocked) {
            if (v.up && v.domain->state == DomainState::running) cpu = wake_locked(v);
        } else {
            cpu = static_cast<int>(v.unit.cpu);
        }
    }
    poke(cpu);
}

void yield_current()
{
    PerCpu& c = this_cpu();
    {
        SpinGuard g{lock};
        credit.yield(c.current->unit);
    }
    c.resched = true;
}

namespace {
// On the CPU the UART's interrupt goes to, a guest running with IF=0 keeps
// that interrupt from being taken (it is not an exit then, in Bochs), so the
// slice is armed in parts and each part's end polls the console: 1 ms while
// output waits (16 bytes, one FIFO, last 1.4 ms at 115200 baud), 10 ms
// otherwise (serial input is still answered well within a second).
uint64_t next_timer_part(PerCpu& c)
{
    uint64_t part = c.slice_rest;
    if (c.index == console::uart_cpu()) {
        const uint64_t most = ns_to_tsc(console::output_pending() ? 1000000 : 10000000) >>
                              vmx::capabilities().preemption_timer_rate;
        if (part > most) part = most;
    }
    c.slice_rest -= part;
    return part ? part : 1;
}
} // namespace

void preemption_timer_exit()
{
    PerCpu& c = this_cpu();
    console::poll();
    if (c.slice_rest) {
        vmx::write(vmx::Field::preemption_timer_value, next_timer_part(c));
        return;
    }
    c.resched = true;
}

namespace {
// Caller holds the lock.
void stop_locked(Vcpu& v)
{
    if (v.unit.state == sched::State::blocked) return;
    credit.block(v.unit, now_ns());
    for (uint32_t i = 0; i < cpus; ++i) {
        PerCpu* c = percpu::get(i);
        if (c && c->current == &v) {
            c->resched = true;
            if (c != &this_cpu()) lapic::send_fixed(c->apic_id, vector::reschedule);
        }
    }
}
} // namespace

void flush_ept_elsewhere(Domain& d)
{
    // The caller has cleared d.tlb_flushed_cpus. A CPU about to enter d sets
    // in_guest and then looks at that mask (before_entry), so either it sees
    // the cleared bit and flushes, or we see in_guest and wait for its next
    // exit: in both cases no CPU uses a stale translation of d once this
    // returns, and the caller may free what it unmapped (SDM Vol 3C 29.4.3.1:
    // a translation lives on until INVEPT on that CPU).
    PerCpu& self = this_cpu();
    uint64_t seen[64]{};
    uint64_t waiting = 0;
    for (uint32_t i = 0; i < cpus && i < 64; ++i) {
        PerCpu* c = percpu::get(i);
        if (!c || c == &self) continue;
        Vcpu* cur = c->current;
        if (!cur || cur->domain != &d) continue;
        seen[i] = __atomic_load_n(&c->exits, __ATOMIC_SEQ_CST);
        c->resched = true;
        if (__atomic_load_n(&c->in_guest, __ATOMIC_SEQ_CST)) waiting |= 1ull << i;
        lapic::send_fixed(c->apic_id, vector::reschedule);
    }
    // The IPI makes each of them exit (external-interrupt exiting), whatever
    // the guest does; none of them needs anything from this CPU to get there.
    while (waiting) {
        for (uint32_t i = 0; i < 64; ++i) {
            if (!(waiting & (1ull << i))) continue;
            PerCpu* c = percpu::get(i);
            if (!__atomic_load_n(&c->in_guest, __ATOMIC_SEQ_CST) || __atomic_load_n(&c->exits, __ATOMIC_SEQ_CST) != seen[i])
                waiting &= ~(1ull << i);
        }
        cpu::pause();
    }
}

void stop_vcpu(Vcpu& v)
{
    SpinGuard g{lock};
    stop_locked(v);
}

bool set_affinity(Vcpu& v, uint64_t hard, uint64_t soft)
{
    int cpu = -1;
    {
        SpinGuard g{lock};
        if (!credit.set_affinity(v.unit, hard, soft, cpu)) return false;
    }
    poke(cpu);
    return true;
}

VcpuView view(const Vcpu& v)
{
    SpinGuard g{lock};
    const sched::Unit& u = v.unit;
    return VcpuView{u.state == sched::State::running, u.state == sched::State::blocked, u.cpu, u.runtime_ns,
                    u.hard_affinity() & credit.cpu_mask(), u.soft_affinity() & credit.cpu_mask()};
}

void stop_domain(Domain& d)
{
    SpinGuard g{lock};
    for (uint32_t i = 0; i < d.vcpu_count; ++i) stop_locked(*d.vcpus[i]);
}

void schedule()
{
    PerCpu& c = this_cpu();
    for (;;) {
        c.resched = false;
        quiescent(c);
        vcpu_timer::fire_due(now_ns());
        Vcpu* prev = c.current;
        sched::Unit* next_unit;
        uint64_t slice = 0;
        {
            SpinGuard g{lock};
            next_unit = credit.pick_next(c.index, now_ns(), prev ? &prev->unit : nullptr, slice);
        }
        Vcpu* next = next_unit ? static_cast<Vcpu*>(next_unit->owner) : nullptr;
        if (next != prev) {
            if (prev) unload(c, *prev);
            if (next) load(c, *next);
        }
        const uint64_t now = now_ns();
        const uint64_t timer = vcpu_timer::next_deadline();
        if (c.current) {
            // The slice, cut short if a guest timer is due earlier.
            if (timer && timer > now && timer - now < slice) slice = timer - now;
            c.slice_rest = ns_to_tsc(slice) >> vmx::capabilities().preemption_timer_rate;
            vmx::write(vmx::Field::preemption_timer_value, next_timer_part(c));
            if (c.current->kick) events::deliver(*c.current);
            before_entry(c);
            return;
        }
        // Idle: wait for an IPI, a guest timer, or the poll that lets this
        // CPU look for work to steal from the others.
        uint64_t wait = idle_poll_ticks;
        if (timer) {
            const uint64_t until = timer > now ? ns_to_apic(timer - now) : 1;
            if (until < wait) wait = until;
        }
        lapic::arm_oneshot(static_cast<uint32_t>(wait));
        while (!c.resched) {
            console::poll();   // interrupts are off here: what came in since the last one
            cpu::sti_hlt();
        }
        cpu::cli();
    }
}

void run()
{
    cpu::cli();
    this_cpu().resched = true;
    schedule();
    vmx_resume_current();
}

} // namespace menhir::scheduler
