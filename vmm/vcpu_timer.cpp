#include "vmm/vcpu_timer.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/pit.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/sched/scheduler.hpp"
#include "kernel/time/pvclock.hpp"
#include "kernel/time/rtc.hpp"
#include "vmm/domain.hpp"
#include "vmm/events.hpp"
#include "vmm/vlapic.hpp"

namespace menhir::vcpu_timer {
namespace {

Spinlock timer_lock;
volatile uint64_t earliest = 0;   // 0: nothing armed

// Recomputes `earliest` from every vCPU (timer_lock held). Timers are few
// and change rarely compared with exits, so a scan is simplest.
void recompute()
{
    uint64_t best = 0;
    domains::for_each([&best](Domain& d) {
        for (uint32_t i = 0; i < d.vcpu_count; ++i) {
            const Vcpu& v = *d.vcpus[i];
            for (uint64_t t : {v.timer_deadline_ns, v.poll_deadline_ns, v.lapic_deadline_ns})
                if (t && (!best || t < best)) best = t;
        }
    });
    earliest = best;
}

} // namespace

void set(Vcpu& v, uint64_t deadline_ns)
{
    SpinGuard g{timer_lock};
    v.timer_deadline_ns = deadline_ns;
    recompute();
}

void set_poll_timeout(Vcpu& v, uint64_t deadline_ns)
{
    SpinGuard g{timer_lock};
    v.poll_deadline_ns = deadline_ns;
    recompute();
}

void set_lapic(Vcpu& v, uint64_t deadline_ns)
{
    SpinGuard g{timer_lock};
    v.lapic_deadline_ns = deadline_ns;
    recompute();
}

uint64_t next_deadline() { return earliest; }

void fire_due(uint64_t now)
{
    const uint64_t next = earliest;
    if (!next || now < next) return;
    constexpr uint32_t batch = 64;
    Vcpu* timers[batch];
    Vcpu* polls[batch];
    Vcpu* lapics[batch];
    uint32_t nt = 0, np = 0, nl = 0;
    {
        SpinGuard g{timer_lock};
        domains::for_each([&](Domain& d) {
            for (uint32_t i = 0; i < d.vcpu_count; ++i) {
                Vcpu& v = *d.vcpus[i];
                if (v.timer_deadline_ns && v.timer_deadline_ns <= now && nt < batch) {
                    v.timer_deadline_ns = 0;
                    timers[nt++] = &v;
                }
                if (v.poll_deadline_ns && v.poll_deadline_ns <= now && np < batch) {
                    v.poll_deadline_ns = 0;
                    polls[np++] = &v;
                }
                if (v.lapic_deadline_ns && v.lapic_deadline_ns <= now && nl < batch) {
                    v.lapic_deadline_ns = 0;
                    lapics[nl++] = &v;
                }
            }
        });
        recompute();
    }
    for (uint32_t i = 0; i < nt; ++i) events::raise_virq(*timers[i]->domain, xen::virq_timer, timers[i]->id);
    // Outside timer_lock: lapic_lock comes first (a timer write re-arms under it).
    for (uint32_t i = 0; i < nl; ++i) vlapic::timer_expired(*lapics[i], now);
    for (uint32_t i = 0; i < np; ++i) {
        polls[i]->polling = false;
        scheduler::kick(*polls[i]);
    }
}

namespace {

// The time area gets what vcpu_info's record now holds, under the same
// protocol: the odd version the first had while it changed, the rest, then
// its even version (time_area_lock held).
void copy_to_area(Vcpu& v, const xen::VcpuTimeInfo& t)
{
    const GuestArea& a = v.time_area;
    if (!a.registered()) return;
    const uint32_t changing = t.version - 1;
    guest_area::write(a, 0, &changing, sizeof changing);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    constexpr size_t rest = __builtin_offsetof(xen::VcpuTimeInfo, tsc_timestamp);
    guest_area::write(a, rest, reinterpret_cast<const uint8_t*>(&t) + rest, sizeof t - rest);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    guest_area::write(a, 0, &t.version, sizeof t.version);
}

} // namespace

void update_time_info(Vcpu& v)
{
    xen::VcpuTimeInfo& t = v.info->time;
    pvclock::begin_update(t);
    // The guest's TSC is the host's plus its offset (IA32_TSC_ADJUST, IA32_TSC writes).
    const uint64_t tsc = cpu::rdtsc() + v.tsc.offset;
    pvclock::fill(t, tsc, scheduler::now_ns(), pvclock::scale_for(tsc::khz()), xen::xen_pvclock_tsc_stable_bit);
    pvclock::end_update(t);
    if (!v.time_area.registered()) return;   // read unlocked: a registration updates it itself
    const xen::VcpuTimeInfo copy = t;
    SpinGuard g{v.time_area_lock};
    copy_to_area(v, copy);
}

int64_t register_time_area(Vcpu& caller, Vcpu& target, uint64_t linear)
{
    GuestArea area;
    if (const int64_t rc = guest_area::pin(caller, linear, sizeof(xen::VcpuTimeInfo), area)) return rc;
    SpinGuard g{target.time_area_lock};
    guest_area::release(target.time_area);
    target.time_area = area;
    // Current once registered, as Xen forces an update: vcpu_info's record
    // holds the last one (an even version).
    copy_to_area(target, target.info->time);
    return 0;
}

void release_time_area(Vcpu& v)
{
    SpinGuard g{v.time_area_lock};
    guest_area::release(v.time_area);
}

void init_wallclock(Domain& d)
{
    // Wallclock at system time 0, as Xen keeps it (wc_version odd while it changes).
    xen::SharedInfo& s = *d.shared();
    const uint64_t boot_sec = rtc::boot_seconds();
    s.wc_version = 1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    s.wc_sec = static_cast<uint32_t>(boot_sec);
    s.wc_sec_hi = static_cast<uint32_t>(boot_sec >> 32);
    s.wc_nsec = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    s.wc_version = 2;
}

} // namespace menhir::vcpu_timer
