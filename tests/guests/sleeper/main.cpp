// sleeper: pvclock time, the single-shot timer, SCHEDOP_block and
// SCHEDOP_poll. Command line: `sleeps=N` (default 5), `ms=M` (default 50).
//
//  1. VCPUOP_stop_periodic_timer (Xen may run a default periodic timer),
//     EVTCHNOP_bind_virq(VIRQ_TIMER) on vCPU 0, interrupts on.
//  2. N times: read pvclock time T0 and the TSC, set the single-shot timer
//     at T0 + M ms, SCHEDOP_block until the VIRQ_TIMER handler has run; the
//     pvclock time T1 must be >= T0 + M ms, and T1 - T0 must agree within 1%
//     with the TSC delta scaled by vcpu_time_info's mul/shift. One line each:
//     `sleeper: sleep I: T us pvclock, S us by TSC ok|FAIL`.
//  3. A stopped timer must not fire: set it 20 ms ahead, stop it, then with
//     interrupts off SCHEDOP_poll on the timer port with a timeout 60 ms
//     ahead; the poll must time out (>= 60 ms, port not pending) and no
//     timer event may arrive afterwards.
//  4. SCHEDOP_poll wakes on the port: timer 20 ms ahead, poll with a 1 s
//     timeout: it must return after >= 20 ms and well before 1 s, with the
//     port pending.
//  5. Prints the wallclock (shared_info wc_* + system time), then
//     `sleeper: N sleeps ok` and `sleeper: all ok` or `sleeper: FAIL ...`.
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

using namespace guest;

extern "C" const char guest_name[] = "sleeper";

namespace {

volatile uint64_t g_fired = 0;
volatile uint64_t g_fired_at = 0;

void on_timer(uint32_t, void*) {
    g_fired_at = ev::now_ns();
    g_fired = g_fired + 1;
}

unsigned g_failures = 0;

void fail(const char* what) {
    ++g_failures;
    print("sleeper: FAIL %s\n", what);
}

uint64_t us(uint64_t ns) { return ns / 1000; }

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const uint64_t doe = static_cast<uint64_t>(z - era * 146097);
    const uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const uint64_t mp = (5 * doy + 2) / 153;
    *d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
    *m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
    *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0);
}

void print_wallclock() {
    uint64_t base_sec = 0;
    uint32_t base_nsec = 0;
    if (!ev::wallclock_base(&base_sec, &base_nsec)) {
        print("sleeper: wallclock not set (wc_version 0)\n");
        return;
    }
    uint64_t total_ns = base_nsec + ev::now_ns();
    uint64_t sec = base_sec + total_ns / 1000000000ull;
    uint32_t nsec = static_cast<uint32_t>(total_ns % 1000000000ull);
    int64_t year;
    unsigned month, day;
    civil_from_days(static_cast<int64_t>(sec / 86400), &year, &month, &day);
    uint64_t rem = sec % 86400;
    print("sleeper: wallclock %lld-%02u-%02u %02llu:%02llu:%02llu UTC (%llu.%09u s since 1970)\n",
          static_cast<long long>(year), month, day, static_cast<unsigned long long>(rem / 3600),
          static_cast<unsigned long long>(rem / 60 % 60), static_cast<unsigned long long>(rem % 60),
          static_cast<unsigned long long>(sec), nsec);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    uint64_t sleeps = 5, ms = 50;
    cmdline_number(cmdline(), "sleeps", &sleeps);
    cmdline_number(cmdline(), "ms", &ms);
    if (!ev::init()) poweroff();
    if (!ev::pvclock_present()) {
        print("sleeper: FAIL no pvclock: vcpu_info[0].time has tsc_to_system_mul 0\n");
        poweroff();
    }
    long rc = ev::periodic_stop();
    if (rc != 0) {
        print("sleeper: FAIL VCPUOP_stop_periodic_timer -> %ld\n", rc);
        ++g_failures;
    }
    long port = ev::bind_virq(xen::VIRQ_TIMER, 0);
    if (port <= 0) {
        print("sleeper: FAIL bind_virq(VIRQ_TIMER, vcpu 0) -> %ld\n", port);
        poweroff();
    }
    const uint32_t timer_port = static_cast<uint32_t>(port);
    ev::set_handler(timer_port, on_timer);
    irq_enable();

    // 2. Sleeps with SCHEDOP_block.
    unsigned good_sleeps = 0;
    for (uint64_t i = 1; i <= sleeps; ++i) {
        const uint64_t before = g_fired;
        lfence();
        const uint64_t tsc0 = rdtsc();
        const uint64_t t0 = ev::now_ns();
        const uint64_t deadline = t0 + ms * ev::MS;
        rc = ev::timer_set(deadline);
        if (rc != 0) {
            print("sleeper: FAIL VCPUOP_set_singleshot_timer -> %ld\n", rc);
            poweroff();
        }
        unsigned blocks = 0;
        while (g_fired == before) {
            sched_block();
            ++blocks;
        }
        const uint64_t t1 = ev::now_ns();
        lfence();
        const uint64_t tsc1 = rdtsc();
        const xen::vcpu_time_info ti = ev::time_info();
        const uint64_t by_pvclock = t1 - t0;
        const uint64_t by_tsc = ev::tsc_delta_to_ns(tsc1 - tsc0, ti);
        const uint64_t diff = by_pvclock > by_tsc ? by_pvclock - by_tsc : by_tsc - by_pvclock;
        const bool late_enough = t1 >= deadline && g_fired_at >= deadline;
        const bool agree = diff * 100 <= by_tsc;
        print("sleeper: sleep %llu: %llu us pvclock, %llu us by TSC, timer at +%llu us, %u block%s %s\n",
              static_cast<unsigned long long>(i), static_cast<unsigned long long>(us(by_pvclock)),
              static_cast<unsigned long long>(us(by_tsc)),
              static_cast<unsigned long long>(us(g_fired_at > t0 ? g_fired_at - t0 : 0)), blocks,
              blocks == 1 ? "" : "s", late_enough && agree ? "ok" : "FAIL");
        if (!late_enough) fail("woke before the deadline");
        if (!agree) fail("pvclock and TSC disagree by more than 1%");
        if (late_enough && agree) ++good_sleeps;
    }
    if (good_sleeps == sleeps) print("sleeper: %llu sleeps ok\n", static_cast<unsigned long long>(sleeps));

    // 2b. The vcpu_info moves into the guest's own RAM (VCPUOP_register_vcpu_info):
    // upcalls and pvclock time must follow it there, sleep after sleep.
    {
        alignas(64) static xen::vcpu_info moved_info[64];   // in .bss: ordinary RAM, identity-mapped
        const long moved = ev::register_vcpu_info(&moved_info[1]);
        const long again = ev::register_vcpu_info(&moved_info[2]);   // Xen allows one move only
        unsigned good = 0;
        for (unsigned i = 0; moved == 0 && i < 3; ++i) {
            const uint64_t before = g_fired;
            const uint64_t t0 = ev::now_ns();
            if (ev::timer_set(t0 + 20 * ev::MS) != 0) break;
            while (g_fired == before) sched_block();
            if (ev::now_ns() >= t0 + 20 * ev::MS && ev::time_info().tsc_to_system_mul != 0) ++good;
        }
        const bool ok = moved == 0 && again < 0 && good == 3;
        print("sleeper: moved vcpu_info: register -> %ld, again -> %ld, %u sleeps after the move %s\n", moved, again,
              good, ok ? "ok" : "FAIL");
        if (!ok) fail("timer events or pvclock did not follow the moved vcpu_info");
    }

    // 2c. A second copy of the pvclock (VCPUOP_register_vcpu_time_memory_area,
    // Linux's vDSO clock): the same record at once, again after a sleep (the
    // vCPU is loaded anew), left alone once unregistered.
    {
        alignas(4096) static volatile xen::vcpu_time_info area[2];
        uint64_t addr = reinterpret_cast<uintptr_t>(&area[0]);
        const long reg = vcpu_op(xen::VCPUOP_register_vcpu_time_memory_area, 0, &addr);
        const xen::vcpu_time_info first = ev::time_info();
        const bool same = reg == 0 && area[0].version == first.version && !(area[0].version & 1) &&
                          area[0].system_time == first.system_time && area[0].tsc_to_system_mul == first.tsc_to_system_mul &&
                          area[0].flags == first.flags;
        const uint32_t v0 = area[0].version;
        const uint64_t t0 = ev::now_ns();
        const uint64_t before = g_fired;
        bool followed = false;
        if (ev::timer_set(t0 + 20 * ev::MS) == 0) {
            while (g_fired == before) sched_block();
            const xen::vcpu_time_info now = ev::time_info();
            followed = area[0].version != v0 && area[0].version == now.version && area[0].system_time == now.system_time;
        }
        uint64_t odd = reinterpret_cast<uintptr_t>(&area[0]) + 4;
        const long misaligned = vcpu_op(xen::VCPUOP_register_vcpu_time_memory_area, 0, &odd);
        uint64_t none = 0;
        const long off = vcpu_op(xen::VCPUOP_register_vcpu_time_memory_area, 0, &none);
        const uint32_t v1 = area[0].version;
        const uint64_t before2 = g_fired;
        if (ev::timer_set(ev::now_ns() + 20 * ev::MS) == 0)
            while (g_fired == before2) sched_block();
        const bool stopped = off == 0 && area[0].version == v1;
        const bool ok = same && followed && misaligned == -22 && stopped;
        print("sleeper: time area: register -> %ld, %s, %s after a sleep, misaligned -> %ld, unregister -> %ld, %s %s\n",
              reg, same ? "the pvclock copied" : "not the pvclock", followed ? "followed" : "not followed", misaligned,
              off, stopped ? "then left alone" : "still written", ok ? "ok" : "FAIL");
        if (!ok) fail("the registered time area did not mirror vcpu_info's pvclock");
    }

    // 3. A stopped timer does not fire: poll with interrupts off until a timeout.
    {
        const uint64_t before = g_fired;
        const uint64_t t0 = ev::now_ns();
        rc = ev::timer_set(t0 + 20 * ev::MS);
        long stop = ev::timer_stop();
        irq_disable();
        long poll = ev::poll(&timer_port, 1, t0 + 60 * ev::MS);
        const uint64_t t1 = ev::now_ns();
        const bool pending = ev::is_pending(timer_port);
        irq_enable();
        // Let a late event show itself.
        for (uint64_t until = ev::now_ns() + 20 * ev::MS; ev::now_ns() < until;) sched_yield();
        const bool ok = rc == 0 && stop == 0 && poll == 0 && !pending && t1 >= t0 + 60 * ev::MS && g_fired == before;
        print("sleeper: stopped timer: set %ld, stop %ld, poll %ld after %llu us, port %s, %llu events %s\n", rc, stop,
              poll, static_cast<unsigned long long>(us(t1 - t0)), pending ? "pending" : "idle",
              static_cast<unsigned long long>(g_fired - before), ok ? "ok" : "FAIL");
        if (!ok) fail("a stopped single-shot timer fired, or SCHEDOP_poll did not time out");
    }

    // 4. SCHEDOP_poll returns when the polled port becomes pending.
    {
        const uint64_t t0 = ev::now_ns();
        irq_disable();
        rc = ev::timer_set(t0 + 20 * ev::MS);
        long poll = ev::poll(&timer_port, 1, t0 + 1000 * ev::MS);
        const uint64_t t1 = ev::now_ns();
        const bool pending = ev::is_pending(timer_port);
        irq_enable();  // the handler takes the event now
        const bool ok = rc == 0 && poll == 0 && pending && t1 >= t0 + 20 * ev::MS && t1 < t0 + 900 * ev::MS;
        print("sleeper: poll woken by the timer after %llu us, port %s %s\n",
              static_cast<unsigned long long>(us(t1 - t0)), pending ? "pending" : "idle", ok ? "ok" : "FAIL");
        if (!ok) fail("SCHEDOP_poll did not return when the timer port fired");
    }

    print_wallclock();
    if (ev::unhandled_events() != 0) {
        print("sleeper: FAIL %llu events on ports without a handler\n",
              static_cast<unsigned long long>(ev::unhandled_events()));
        ++g_failures;
    }
    if (g_failures == 0)
        print("sleeper: all ok\n");
    else
        print("sleeper: FAIL (%u problems)\n", g_failures);
    poweroff();
}
