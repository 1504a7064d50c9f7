#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "kernel/sched/credit.hpp"

using namespace menhir::sched;

namespace {

constexpr uint64_t ms = 1'000'000;
constexpr uint64_t sec = 1'000'000'000;
constexpr uint64_t never = ~uint64_t{0};

// A simulated machine: per CPU it runs what pick_next returned for the slice
// it got, or until the unit blocks by itself; units wake at set times; an
// idle CPU sleeps until poked or until the time pick_next asked for. Every
// event is checked against the scheduler's invariants, and the CPU time the
// simulator saw each unit get is compared with the scheduler's runtime_ns.
class Sim final {
public:
    struct Job {
        Unit unit;
        uint64_t burst{0};   // runs this long, then blocks; 0 = always runnable
        uint64_t sleep{0};   // for this long
        uint64_t left{0};    // of the current burst
        uint64_t wake_at{never};
        uint64_t ran{0};     // seen by the simulator
        uint32_t last_cpu{~0u};
        uint64_t runs{0};
        uint64_t migrations{0};
    };

    explicit Sim(uint32_t cpus) : cpus_(cpus) { sched.init(cpus, now); }

    Account& account(uint32_t weight, uint32_t cap = 0)
    {
        accounts_.emplace_back();
        accounts_.back().weight = weight;
        accounts_.back().cap = cap;
        return accounts_.back();
    }

    // Added on `cpu` and woken at `start`.
    Job& job(Account& a, uint32_t cpu, uint64_t burst = 0, uint64_t sleep = 0, uint64_t start = 0)
    {
        jobs_.push_back(std::make_unique<Job>());
        Job& j = *jobs_.back();
        j.unit.owner = &j;
        j.burst = burst;
        j.sleep = sleep;
        j.left = burst;
        j.wake_at = start;
        sched.add(j.unit, a, cpu);
        return j;
    }

    void remove(Job& j)
    {
        if (j.unit.state == State::running)
            stop(j.unit.cpu);
        sched.remove(j.unit);
        j.wake_at = never;
        check();
    }

    // Runs until `until`, then brings every running unit's runtime up to date.
    void run_until(uint64_t until)
    {
        for (;;) {
            uint64_t t = never;
            int cpu_event = -1;
            Job* wake = nullptr;
            for (uint32_t c = 0; c < cpus_.size(); c++) {
                const uint64_t e = cpu_event_time(c);
                if (e < t) {
                    t = e;
                    cpu_event = static_cast<int>(c);
                }
            }
            for (auto& j : jobs_) {
                if (j->unit.state == State::blocked && j->wake_at < t) {
                    t = j->wake_at;
                    wake = j.get();
                    cpu_event = -1;
                }
            }
            if (t > until)
                break;
            if (t > now)
                check_work_conserving();
            now = t;
            if (wake != nullptr)
                do_wake(*wake);
            else
                cpu_fires(static_cast<uint32_t>(cpu_event));
            check();
        }
        now = until;
        for (uint32_t c = 0; c < cpus_.size(); c++) {
            if (cpus_[c].cur != nullptr) {
                Job& j = job_of(*cpus_[c].cur);
                j.ran += now - cpus_[c].start;
                if (j.burst != 0)
                    j.left -= now - cpus_[c].start;
                cpus_[c].start = now;
            }
        }
    }

    // Simulated CPU time of j, and its share of one CPU over `span`.
    static double share(const Job& j, uint64_t span) { return static_cast<double>(j.ran) / static_cast<double>(span); }

    void check()
    {
        const char* err = sched.check();
        INFO("t=" << now << " " << (err != nullptr ? err : ""));
        REQUIRE(err == nullptr);
        for (uint32_t c = 0; c < cpus_.size(); c++)
            REQUIRE(sched.running(c) == cpus_[c].cur);
        for (auto& j : jobs_) {
            // Blocked units never exceed a slice of credit; nobody goes
            // unboundedly into debt or credit.
            if (j->unit.state == State::blocked)
                REQUIRE(j->unit.credit_ns() <= static_cast<int64_t>(slice_ns));
            REQUIRE(j->unit.credit_ns() < static_cast<int64_t>(4 * slice_ns));
            REQUIRE(j->unit.credit_ns() > -static_cast<int64_t>(5 * slice_ns));
            // Running units are charged at ticks and when descheduled.
            if (j->unit.state == State::running) {
                REQUIRE(j->unit.runtime_ns >= j->ran);
                REQUIRE(j->unit.runtime_ns <= j->ran + (now - cpus_[j->unit.cpu].start));
            } else {
                REQUIRE(j->unit.runtime_ns == j->ran);
            }
        }
    }

    Credit sched;
    uint64_t now{0};
    uint64_t preemptions{0};
    uint64_t idle_wakeups{0};

private:
    struct Cpu {
        Unit* cur{nullptr};
        uint64_t start{0};
        uint64_t end{never};     // slice end
        uint64_t timer{never};   // idle: pick_next's sleep limit
    };

    static Job& job_of(Unit& u) { return *static_cast<Job*>(u.owner); }

    uint64_t cpu_event_time(uint32_t c) const
    {
        const Cpu& cpu = cpus_[c];
        if (cpu.cur == nullptr)
            return cpu.timer;
        const Job& j = *static_cast<const Job*>(cpu.cur->owner);
        uint64_t e = cpu.end;
        if (j.burst != 0 && cpu.start + j.left < e)
            e = cpu.start + j.left;
        return e;
    }

    // The CPU stops running what it ran (the simulator's bookkeeping only).
    void stop(uint32_t c)
    {
        Cpu& cpu = cpus_[c];
        if (cpu.cur == nullptr)
            return;
        Job& j = job_of(*cpu.cur);
        j.ran += now - cpu.start;
        if (j.burst != 0)
            j.left -= now - cpu.start;
        cpu.cur = nullptr;
    }

    void reschedule(uint32_t c)
    {
        Cpu& cpu = cpus_[c];
        Unit* prev = cpu.cur;
        stop(c);
        uint64_t slice = 0;
        Unit* next = sched.pick_next(c, now, prev, slice);
        REQUIRE(slice <= slice_ns);
        cpu.cur = next;
        cpu.start = now;
        if (next != nullptr) {
            REQUIRE(next->state == State::running);
            REQUIRE(next->cpu == c);
            Job& j = job_of(*next);
            j.runs++;
            if (j.last_cpu != ~0u && j.last_cpu != c)
                j.migrations++;
            j.last_cpu = c;
            REQUIRE(slice > 0);
            cpu.end = now + slice;
            cpu.timer = never;
        } else {
            cpu.end = never;
            cpu.timer = slice != 0 ? now + slice : never;
        }
    }

    void cpu_fires(uint32_t c)
    {
        Cpu& cpu = cpus_[c];
        if (cpu.cur != nullptr) {
            Job& j = job_of(*cpu.cur);
            if (j.burst != 0 && cpu.start + j.left == now) {
                Unit* u = cpu.cur;
                stop(c);
                sched.block(*u, now);
                j.left = j.burst;
                j.wake_at = now + j.sleep;
                cpu.cur = u;   // pick_next's prev: it blocked meanwhile
                cpu.start = now;
            }
        } else {
            idle_wakeups++;
        }
        reschedule(c);
    }

    void do_wake(Job& j)
    {
        j.wake_at = never;
        const int poke = sched.wake(j.unit, now);
        check();
        if (poke < 0)
            return;
        REQUIRE(static_cast<uint32_t>(poke) < cpus_.size());
        const auto p = static_cast<uint32_t>(poke);
        if (cpus_[p].cur == nullptr) {
            reschedule(p);
        } else if (sched.should_preempt(p)) {
            preemptions++;
            reschedule(p);
        }
    }

    // No CPU sleeps while a unit waits on some queue.
    void check_work_conserving()
    {
        bool idle = false;
        uint32_t waiting = 0;
        for (uint32_t c = 0; c < cpus_.size(); c++) {
            idle = idle || cpus_[c].cur == nullptr;
            waiting += sched.runnable_count(c);
        }
        INFO("t=" << now);
        REQUIRE(!(idle && waiting != 0));
    }

    std::vector<Cpu> cpus_;
    std::deque<Account> accounts_;
    std::vector<std::unique_ptr<Job>> jobs_;
};

double ratio(const Sim::Job& a, const Sim::Job& b) { return static_cast<double>(a.ran) / static_cast<double>(b.ran); }

} // namespace

TEST_CASE("credit: weights 256:512 on one CPU share it 1:2", "[credit]")
{
    Sim sim{1};
    auto& a = sim.job(sim.account(256), 0);
    auto& b = sim.job(sim.account(512), 0);
    sim.run_until(10 * sec);
    INFO("ratio " << ratio(b, a));
    CHECK(ratio(b, a) > 1.95);
    CHECK(ratio(b, a) < 2.05);
    CHECK(a.ran + b.ran == 10 * sec);
}

TEST_CASE("credit: three weights share one CPU proportionally", "[credit]")
{
    Sim sim{1};
    auto& a = sim.job(sim.account(100), 0);
    auto& b = sim.job(sim.account(200), 0);
    auto& c = sim.job(sim.account(300), 0);
    sim.run_until(10 * sec);
    INFO("b/a " << ratio(b, a) << " c/a " << ratio(c, a));
    CHECK(ratio(b, a) > 1.95);
    CHECK(ratio(b, a) < 2.05);
    CHECK(ratio(c, a) > 2.9);
    CHECK(ratio(c, a) < 3.1);
}

TEST_CASE("credit: equal weights share equally, also with unequal vCPU counts", "[credit]")
{
    Sim sim{1};
    auto& a = sim.job(sim.account(256), 0);
    auto& b = sim.job(sim.account(256), 0);
    auto& c = sim.job(sim.account(256), 0);
    sim.run_until(10 * sec);
    CHECK(ratio(a, b) > 0.97);
    CHECK(ratio(a, b) < 1.03);
    CHECK(ratio(c, b) > 0.97);
    CHECK(ratio(c, b) < 1.03);

    // A domain's weight is shared by its vCPUs: two vCPUs of one domain
    // against one vCPU of another get a quarter each.
    Sim two{1};
    auto& d = two.account(256);
    auto& d1 = two.job(d, 0);
    auto& d2 = two.job(d, 0);
    auto& e = two.job(two.account(256), 0);
    two.run_until(10 * sec);
    CHECK(Sim::share(e, 10 * sec) == Approx(0.5).margin(0.02));
    CHECK(Sim::share(d1, 10 * sec) == Approx(0.25).margin(0.02));
    CHECK(Sim::share(d2, 10 * sec) == Approx(0.25).margin(0.02));
}

TEST_CASE("credit: proportions hold when a mostly-blocked domain wastes its share", "[credit]")
{
    // Like dom0 idling next to two busy guests: it is active every few
    // milliseconds but uses little, so credit it cannot use is clamped away.
    Sim sim{1};
    auto& dom0 = sim.job(sim.account(256), 0, 200'000, 4 * ms);
    auto& a = sim.job(sim.account(256), 0);
    auto& b = sim.job(sim.account(512), 0);
    sim.run_until(10 * sec);
    INFO("b/a " << ratio(b, a) << " dom0 " << Sim::share(dom0, 10 * sec));
    CHECK(ratio(b, a) > 1.9);
    CHECK(ratio(b, a) < 2.1);
    // dom0 got all it asked for (0.2 ms out of every 4.2 ms).
    CHECK(Sim::share(dom0, 10 * sec) == Approx(0.2 / 4.2).margin(0.003));
    CHECK(sim.preemptions > 0);
}

TEST_CASE("credit: a cap of 50 alone on a CPU gets half of it", "[credit]")
{
    Sim sim{1};
    auto& a = sim.job(sim.account(256, 50), 0);
    sim.run_until(10 * sec);
    INFO("share " << Sim::share(a, 10 * sec));
    CHECK(Sim::share(a, 10 * sec) == Approx(0.5).margin(0.01));
    CHECK(sim.idle_wakeups > 0);   // the CPU idled and came back for it
}

TEST_CASE("credit: a cap of 25 against an uncapped competitor", "[credit]")
{
    Sim sim{1};
    auto& capped = sim.job(sim.account(256, 25), 0);
    auto& other = sim.job(sim.account(256), 0);
    sim.run_until(10 * sec);
    INFO("capped " << Sim::share(capped, 10 * sec) << " other " << Sim::share(other, 10 * sec));
    CHECK(Sim::share(capped, 10 * sec) == Approx(0.25).margin(0.01));
    CHECK(Sim::share(other, 10 * sec) == Approx(0.75).margin(0.01));

    // A cap above the weight's share does not bind: the weights decide.
    Sim loose{1};
    auto& c1 = loose.job(loose.account(256, 80), 0);
    auto& c2 = loose.job(loose.account(256), 0);
    loose.run_until(10 * sec);
    CHECK(ratio(c1, c2) == Approx(1.0).margin(0.03));

    // A cap of 100 on a 2-vCPU domain on 2 CPUs: one CPU in total.
    Sim wide{2};
    auto& d = wide.account(256, 100);
    auto& d1 = wide.job(d, 0);
    auto& d2 = wide.job(d, 1);
    wide.run_until(10 * sec);
    CHECK(Sim::share(d1, 10 * sec) + Sim::share(d2, 10 * sec) == Approx(1.0).margin(0.02));
    CHECK(Sim::share(d1, 10 * sec) == Approx(0.5).margin(0.02));
}

TEST_CASE("credit: four units on two CPUs all progress", "[credit]")
{
    for (uint32_t first_cpu_only = 0; first_cpu_only < 2; first_cpu_only++) {
        Sim sim{2};
        std::vector<Sim::Job*> jobs;
        for (uint32_t i = 0; i < 4; i++)
            jobs.push_back(&sim.job(sim.account(256), first_cpu_only != 0 ? 0 : i % 2));
        sim.run_until(10 * sec);
        uint64_t total = 0;
        for (auto* j : jobs) {
            INFO("share " << Sim::share(*j, 10 * sec));
            CHECK(Sim::share(*j, 10 * sec) == Approx(0.5).margin(0.03));
            total += j->ran;
        }
        CHECK(total == 20 * sec);   // both CPUs busy all the time
    }
}

TEST_CASE("credit: weights hold across CPUs", "[credit]")
{
    // Two 2-vCPU domains, 256 and 512, on two CPUs: 2/3 and 4/3 of a CPU.
    Sim sim{2};
    auto& a = sim.account(256);
    auto& b = sim.account(512);
    auto& a1 = sim.job(a, 0);
    auto& a2 = sim.job(a, 0);
    auto& b1 = sim.job(b, 0);
    auto& b2 = sim.job(b, 0);
    sim.run_until(10 * sec);
    const double ra = static_cast<double>(a1.ran + a2.ran);
    const double rb = static_cast<double>(b1.ran + b2.ran);
    INFO("b/a " << rb / ra);
    CHECK(rb / ra > 1.9);
    CHECK(rb / ra < 2.1);

    // Three busy vCPUs on two CPUs: two thirds of a CPU each.
    Sim three{2};
    auto& t1 = three.job(three.account(256), 0);
    auto& t2 = three.job(three.account(256), 0);
    auto& t3 = three.job(three.account(256), 1);
    three.run_until(10 * sec);
    CHECK(Sim::share(t1, 10 * sec) == Approx(2.0 / 3).margin(0.03));
    CHECK(Sim::share(t2, 10 * sec) == Approx(2.0 / 3).margin(0.03));
    CHECK(Sim::share(t3, 10 * sec) == Approx(2.0 / 3).margin(0.03));
}

TEST_CASE("credit: an idle CPU steals from a busy queue", "[credit]")
{
    Credit s;
    s.init(2, 0);
    Account acc;
    Unit u[3];
    for (auto& x : u)
        s.add(x, acc, 0);
    uint64_t slice = 0;
    REQUIRE(s.pick_next(1, 0, nullptr, slice) == nullptr);
    CHECK(slice == 0);   // nothing parked: sleep until poked

    CHECK(s.wake(u[2], 0) == 0);
    REQUIRE(s.pick_next(0, 0, nullptr, slice) == &u[2]);
    CHECK(s.wake(u[0], 0) == 1);    // CPU 0 busy, CPU 1 idle: u[0] goes there
    CHECK(u[0].cpu == 1);
    CHECK(s.wake(u[1], 0) == -1);   // CPU 1 already poked, nothing to preempt
    CHECK(u[1].cpu == 0);
    CHECK(s.runnable_count(0) == 1);
    CHECK(s.runnable_count(1) == 1);
    REQUIRE(s.pick_next(1, 1 * ms, nullptr, slice) == &u[0]);
    // u[0] blocks: CPU 1's queue is empty, so it steals u[1] from CPU 0.
    s.block(u[0], 2 * ms);
    CHECK(s.running(1) == nullptr);
    REQUIRE(s.pick_next(1, 2 * ms, &u[0], slice) == &u[1]);
    CHECK(u[1].cpu == 1);
    CHECK(s.runnable_count(0) == 0);
    CHECK(s.check() == nullptr);
}

TEST_CASE("credit: a CPU whose best unit is OVER takes an UNDER one from elsewhere", "[credit]")
{
    // Three busy units of equal weight on two CPUs are entitled to 2/3 of a
    // CPU each. x alone on CPU 1 uses a whole CPU and goes OVER; y and z
    // share CPU 0 and stay UNDER. When x's slice ends, CPU 1 takes z.
    Credit s;
    s.init(2, 0);
    Account a;
    Account b;
    Account c;
    Unit x;
    Unit y;
    Unit z;
    s.add(x, a, 1);
    s.add(y, b, 0);
    s.add(z, c, 0);
    uint64_t slice = 0;
    CHECK(s.wake(y, 0) == 0);
    REQUIRE(s.pick_next(0, 0, nullptr, slice) == &y);
    CHECK(s.wake(x, 0) == 1);
    REQUIRE(s.pick_next(1, 0, nullptr, slice) == &x);
    CHECK(s.wake(z, 0) == -1);   // both CPUs busy, z is no better than y
    CHECK(z.cpu == 0);

    REQUIRE(s.pick_next(1, slice_ns, &x, slice) == &z);
    CHECK(x.priority() == Priority::over);
    CHECK(z.cpu == 1);
    CHECK(s.runnable_count(1) == 1);   // x waits there
    // CPU 0: y is OVER too now, but x (OVER) is no better: y runs on.
    REQUIRE(s.pick_next(0, slice_ns, &y, slice) == &y);
    CHECK(s.check() == nullptr);
}

TEST_CASE("credit: blocked units use nothing and bank bounded credit", "[credit]")
{
    Sim sim{1};
    auto& busy = sim.job(sim.account(256), 0);
    // Sleeps 5 s, then is always runnable.
    auto& sleeper = sim.job(sim.account(256), 0, 0, 0, 5 * sec);
    sim.run_until(5 * sec);
    CHECK(sleeper.ran == 0);
    CHECK(busy.ran == 5 * sec);
    CHECK(sleeper.unit.credit_ns() <= static_cast<int64_t>(slice_ns));

    // Once it wakes it runs ahead by at most a few slices, then they share.
    const uint64_t busy_before = busy.ran;
    sim.run_until(5 * sec + 300 * ms);
    INFO("sleeper " << sleeper.ran / ms << " ms, busy " << (busy.ran - busy_before) / ms << " ms");
    CHECK(sleeper.ran <= 150 * ms + 3 * slice_ns);
    CHECK(busy.ran - busy_before >= 150 * ms - 3 * slice_ns);
    sim.run_until(15 * sec);
    CHECK(Sim::share(sleeper, 10 * sec) == Approx(0.5).margin(0.02));

    // Periodic sleepers never hold more than a slice of credit when blocked
    // (Sim::check enforces it at every event).
    Sim io{1};
    io.job(io.account(256), 0);
    auto& p = io.job(io.account(256), 0, 2 * ms, 50 * ms);
    io.run_until(5 * sec);
    CHECK(Sim::share(p, 5 * sec) == Approx(2.0 / 52).margin(0.005));
}

TEST_CASE("credit: wake pokes an idle CPU", "[credit]")
{
    Credit s;
    s.init(2, 0);
    Account a;
    Unit u;
    Unit v;
    s.add(u, a, 1);
    s.add(v, a, 1);
    uint64_t slice = 0;
    CHECK(s.wake(u, 0) == 1);
    CHECK(s.should_preempt(1));
    CHECK(!s.should_preempt(0));
    REQUIRE(s.pick_next(1, 0, nullptr, slice) == &u);
    CHECK(u.state == State::running);
    CHECK(slice == slice_ns);
    CHECK(!s.should_preempt(1));
    // Its own CPU is busy: the idle one is poked and gets it.
    CHECK(s.wake(v, 0) == 0);
    CHECK(v.cpu == 0);
    REQUIRE(s.pick_next(0, 0, nullptr, slice) == &v);
    // Spurious wakes are ignored.
    CHECK(s.wake(u, 1 * ms) == -1);
    CHECK(s.wake(v, 1 * ms) == -1);
    CHECK(s.check() == nullptr);
}

TEST_CASE("credit: a woken UNDER unit preempts an OVER one", "[credit]")
{
    // Three equal CPU-bound units on two CPUs are entitled to 2/3 of a CPU
    // each: h, alone on CPU 0, goes OVER; s1 and s2 share CPU 1.
    Credit s;
    s.init(2, 0);
    Account a;
    Account b;
    Account c;
    Account d;
    Unit h;
    Unit s1;
    Unit s2;
    Unit io;
    s.add(h, a, 0);
    s.add(s1, b, 1);
    s.add(s2, c, 1);
    s.add(io, d, 0);
    uint64_t slice = 0;
    CHECK(s.wake(h, 0) == 0);
    CHECK(s.wake(s1, 0) == 1);
    REQUIRE(s.pick_next(0, 0, nullptr, slice) == &h);
    REQUIRE(s.pick_next(1, 0, nullptr, slice) == &s1);
    CHECK(s.wake(s2, 0) == -1);   // both busy; BOOST does not preempt BOOST

    CHECK(s.wake(io, 15 * ms) == 0);   // the tick at 10 ms is accounted here
    CHECK(h.credit_ns() < 0);
    CHECK(io.priority() == Priority::boost);
    CHECK(s.should_preempt(0));
    REQUIRE(s.pick_next(0, 15 * ms, &h, slice) == &io);
    CHECK(h.state == State::runnable);
    CHECK(h.priority() == Priority::over);
    CHECK(s.runnable_count(0) == 1);
    CHECK(s.check() == nullptr);
}

TEST_CASE("credit: a woken OVER unit does not preempt", "[credit]")
{
    Credit s;
    s.init(1, 0);
    Account heavy;
    heavy.weight = max_weight;
    Account light;
    light.weight = 1;
    Unit x;
    Unit y;
    s.add(x, heavy, 0);
    s.add(y, light, 0);
    uint64_t slice = 0;
    CHECK(s.wake(x, 0) == 0);
    REQUIRE(s.pick_next(0, 0, nullptr, slice) == &x);
    CHECK(s.wake(y, 1 * ms) == -1);   // x is still BOOST
    // x's boost ends when it is descheduled: y (BOOST) runs, briefly.
    REQUIRE(s.pick_next(0, 5 * ms, &x, slice) == &y);
    s.block(y, 8 * ms);
    REQUIRE(s.pick_next(0, 8 * ms, &y, slice) == &x);
    // At the tick, x has its huge share and is UNDER, y has used far more
    // than its tiny one and is OVER. It wakes without BOOST and waits.
    CHECK(s.wake(y, 12 * ms) == -1);
    CHECK(x.credit_ns() > 0);
    CHECK(y.priority() == Priority::over);
    CHECK(!s.should_preempt(0));
    CHECK(s.runnable_count(0) == 1);
    CHECK(s.check() == nullptr);
}

TEST_CASE("credit: yield lets the other runnable unit run", "[credit]")
{
    // Two equal UNDER units: the yielder goes behind the other.
    Credit s;
    s.init(1, 0);
    Account a;
    Account b;
    Unit p;
    Unit q;
    s.add(p, a, 0);
    s.add(q, b, 0);
    uint64_t slice = 0;
    s.wake(p, 0);
    s.wake(q, 0);
    REQUIRE(s.pick_next(0, 0, nullptr, slice) == &p);
    s.yield(p);
    REQUIRE(s.pick_next(0, 100'000, &p, slice) == &q);
    s.yield(q);
    REQUIRE(s.pick_next(0, 200'000, &q, slice) == &p);
    // Alone, a yielder just runs again.
    s.block(q, 300'000);
    s.yield(p);
    REQUIRE(s.pick_next(0, 300'000, &p, slice) == &p);
    CHECK(s.check() == nullptr);

    // An UNDER unit that would run again lets an OVER one go first (Xen's
    // "behind one lower-priority unit"), once.
    Credit t;
    t.init(1, 0);
    Account heavy;
    heavy.weight = max_weight;
    Account light;
    light.weight = 1;
    Unit x;
    Unit y;
    t.add(x, heavy, 0);
    t.add(y, light, 0);
    t.wake(x, 0);
    t.wake(y, 0);
    REQUIRE(t.pick_next(0, 0, nullptr, slice) == &x);
    REQUIRE(t.pick_next(0, 30 * ms, &x, slice) == &y);   // y still BOOST from its wake
    REQUIRE(t.pick_next(0, 60 * ms, &y, slice) == &x);   // y ran 30 ms on a tiny share: OVER
    CHECK(x.priority() == Priority::under);
    CHECK(y.priority() == Priority::over);
    REQUIRE(t.pick_next(0, 61 * ms, &x, slice) == &x);   // no yield: x runs on
    t.yield(x);
    REQUIRE(t.pick_next(0, 62 * ms, &x, slice) == &y);
    CHECK(t.check() == nullptr);
    REQUIRE(t.pick_next(0, 63 * ms, &y, slice) == &x);
    REQUIRE(t.pick_next(0, 64 * ms, &x, slice) == &x);   // the yield was used up
    CHECK(t.check() == nullptr);
}

TEST_CASE("credit: debug iteration and removal", "[credit]")
{
    Credit s;
    s.init(2, 0);
    Account a;
    Unit u[4];
    for (auto& x : u) {
        s.add(x, a, 0);
        x.cpu = 0;
    }
    uint64_t slice = 0;
    s.wake(u[0], 0);
    REQUIRE(s.pick_next(0, 0, nullptr, slice) == &u[0]);
    s.wake(u[1], 0);   // goes to idle CPU 1
    s.wake(u[2], 0);
    s.wake(u[3], 0);
    std::vector<const Unit*> seen;
    s.for_each_queued(0, [&](const Unit& x) { seen.push_back(&x); });
    CHECK(seen.size() == s.runnable_count(0));
    CHECK(s.runnable_count(0) + s.runnable_count(1) == 3);

    // Removing a running, a queued and a blocked unit.
    s.remove(u[0]);
    CHECK(s.running(0) == nullptr);
    CHECK(s.check() == nullptr);
    s.remove(u[2]);
    CHECK(s.check() == nullptr);
    s.block(u[3], 1 * ms);
    s.remove(u[3]);
    CHECK(s.check() == nullptr);
    s.remove(u[3]);   // twice is harmless
    // CPU 0 passes its stale prev: ignored.
    Unit* next = s.pick_next(0, 2 * ms, &u[0], slice);
    CHECK(next == &u[1]);
    s.remove(u[1]);
    CHECK(s.check() == nullptr);
    CHECK(s.pick_next(0, 3 * ms, nullptr, slice) == nullptr);
    // The account went away with its last unit; it can come back. CPU 1
    // was poked but has not rescheduled yet, so the idle CPU 0 gets it.
    s.add(u[0], a, 1);
    CHECK(s.wake(u[0], 4 * ms) == 0);
    CHECK(u[0].cpu == 0);
    CHECK(s.check() == nullptr);
}

TEST_CASE("credit: random operations keep the queues consistent", "[credit]")
{
    std::mt19937_64 rng{12345};
    for (int round = 0; round < 20; round++) {
        Credit s;
        const uint32_t cpus = 1 + static_cast<uint32_t>(rng() % 4);
        s.init(cpus, 0);
        Account accounts[4];
        accounts[1].weight = 512;
        accounts[2].cap = 30;
        accounts[3].weight = 100;
        accounts[3].cap = 150;
        Unit units[12];
        bool added[12]{};
        Unit* running[4]{};
        uint64_t t = 0;
        for (int step = 0; step < 3000; step++) {
            t += rng() % (3 * ms);
            Unit& u = units[rng() % 12];
            const size_t i = static_cast<size_t>(&u - units);
            switch (rng() % 8) {
            case 0:
                if (!added[i]) {
                    s.add(u, accounts[rng() % 4], static_cast<uint32_t>(rng() % cpus));
                    added[i] = true;
                } else {
                    for (auto& r : running)
                        if (r == &u)
                            r = nullptr;
                    s.remove(u);
                    added[i] = false;
                }
                break;
            case 1:
            case 2: {
                const int p = s.wake(u, t);
                REQUIRE(p < static_cast<int>(cpus));
                break;
            }
            case 3:
                s.block(u, t);
                break;
            case 4:
                s.yield(u);
                break;
            case 5:
                accounts[rng() % 4].weight = static_cast<uint32_t>(rng() % 1000);
                accounts[2].cap = static_cast<uint32_t>(rng() % 120);
                break;
            default: {
                const auto c = static_cast<uint32_t>(rng() % cpus);
                uint64_t slice = 0;
                running[c] = s.pick_next(c, t, running[c], slice);
                REQUIRE(slice <= slice_ns);
                if (running[c] != nullptr) {
                    REQUIRE(running[c]->cpu == c);
                    REQUIRE(running[c]->state == State::running);
                }
                break;
            }
            }
            const char* err = s.check();
            INFO("round " << round << " step " << step << ": " << (err != nullptr ? err : ""));
            REQUIRE(err == nullptr);
            for (uint32_t c = 0; c < cpus; c++) {
                if (s.running(c) != nullptr)
                    REQUIRE(s.running(c) == running[c]);
            }
        }
    }
}

TEST_CASE("credit: measured shares", "[.][credit-report]")
{
    struct Case {
        const char* name;
        uint32_t w[3];
    };
    for (const Case& c : {Case{"256:512", {256, 512, 0}}, Case{"100:200:300", {100, 200, 300}},
                          Case{"256:256", {256, 256, 0}}}) {
        Sim sim{1};
        std::vector<Sim::Job*> jobs;
        for (uint32_t w : c.w)
            if (w != 0)
                jobs.push_back(&sim.job(sim.account(w), 0));
        sim.run_until(10 * sec);
        std::printf("%-12s", c.name);
        for (auto* j : jobs)
            std::printf(" %.4f", ratio(*j, *jobs[0]));
        std::printf("\n");
    }
}

TEST_CASE("credit: scenario sweep", "[.][credit-sweep]")
{
    struct Scenario {
        const char* name;
        uint32_t cpus;
        uint32_t vcpus;            // per guest
        uint64_t d_burst, d_sleep;   // dom0 vCPU pattern (0 = no dom0)
        uint32_t dom0_vcpus;
    };
    const Scenario list[] = {
        {"1cpu plain", 1, 1, 0, 0, 0},
        {"1cpu dom0 .2/4", 1, 1, 200'000, 4 * ms, 1},
        {"1cpu dom0 2/10", 1, 1, 2 * ms, 10 * ms, 1},
        {"1cpu dom0 5/20", 1, 1, 5 * ms, 20 * ms, 1},
        {"1cpu dom0 .05/1", 1, 1, 50'000, 1 * ms, 1},
        {"2cpu 2vcpu plain", 2, 2, 0, 0, 0},
        {"2cpu 2vcpu dom0", 2, 2, 300'000, 3 * ms, 2},
        {"2cpu 1vcpu+1vcpu", 2, 1, 0, 0, 0},
        {"4cpu 4vcpu dom0", 4, 4, 500'000, 7 * ms, 4},
        {"2cpu 3vcpu dom0", 2, 3, 1 * ms, 9 * ms, 1},
    };
    for (const Scenario& sc : list) {
        Sim sim{sc.cpus};
        std::vector<Sim::Job*> d0;
        if (sc.dom0_vcpus != 0) {
            auto& acc = sim.account(256);
            for (uint32_t i = 0; i < sc.dom0_vcpus; i++)
                d0.push_back(&sim.job(acc, i % sc.cpus, sc.d_burst, sc.d_sleep, i * 777'777));
        }
        auto& aa = sim.account(256);
        auto& ba = sim.account(512);
        std::vector<Sim::Job*> a, b;
        for (uint32_t i = 0; i < sc.vcpus; i++) {
            a.push_back(&sim.job(aa, i % sc.cpus));
            b.push_back(&sim.job(ba, (i + 1) % sc.cpus));
        }
        sim.run_until(10 * sec);
        uint64_t ra = 0, rb = 0, rd = 0, runs = 0, migr = 0;
        for (auto* j : a) {
            ra += j->ran;
            runs += j->runs;
            migr += j->migrations;
        }
        for (auto* j : b) {
            rb += j->ran;
            runs += j->runs;
            migr += j->migrations;
        }
        for (auto* j : d0)
            rd += j->ran;
        std::printf("%-20s b/a %.4f  a %.3f b %.3f dom0 %.4f CPUs  preempt %llu  guest runs %llu migrations %llu\n",
                    sc.name, static_cast<double>(rb) / static_cast<double>(ra), ra / 1e10, rb / 1e10, rd / 1e10,
                    static_cast<unsigned long long>(sim.preemptions), static_cast<unsigned long long>(runs),
                    static_cast<unsigned long long>(migr));
    }
}
