// Credit scheduler policy, in the spirit of Xen's credit scheduler: domains
// (accounts) have a weight and an optional cap, vCPUs (units) sit on per-CPU
// run queues ordered by priority (BOOST > UNDER > OVER, FIFO within one),
// CPU time is charged exactly in nanoseconds and handed back as credit every
// 10 ms tick in proportion to the weights, and a CPU with nothing worth
// running steals work from the others.
//
// Pure policy: every call carries the time explicitly and nothing here
// touches timers, IPIs or locks. The caller serialises all calls with one
// lock and embeds Units and Accounts in its own vCPU and domain objects (the
// lists are intrusive; nothing is allocated).
//
// How the time is shared out, and why it stays proportional:
// - At each tick the CPU time that elapsed (ticks * CPUs) is divided among
//   the accounts that wanted CPU during the tick, by weight, but never more
//   than their vCPUs can use (one CPU each) or their cap allows; what one
//   account cannot use goes to the others ("water filling"). An account's
//   share is split evenly among its active units.
// - A unit's credit is its share minus what it ran. Credit >= 0 is UNDER,
//   below is OVER. A unit woken with credit >= 0 is BOOSTed until it is next
//   descheduled, so I/O-bound vCPUs get the CPU promptly.
// - Units that do not use their share (they block) would bank credit and
//   starve the busy ones of credit, until every busy unit is OVER and the
//   weights no longer matter (the well-known drift of credit schedulers). Two
//   rules prevent that: a unit that blocks keeps at most one slice of credit,
//   and when the total credit of the steady uncapped units (runnable since
//   the last tick without blocking) is negative, they get whole extra rounds
//   of their shares until it is not. What each CPU-bound unit receives stays
//   proportional to its share, and OVER keeps meaning "had more than its
//   share while a competitor waited".
// - A capped unit whose credit runs out is parked (off the run queues) until
//   the next tick gives it credit; its slices never exceed its credit, so
//   the cap holds tick by tick, not only on average.
// - Affinity (xl vcpu-pin): a unit has a hard mask of the CPUs it may run on
//   and a soft mask of those it prefers. It is queued, woken, stolen and run
//   only on CPUs of its hard mask; among idle CPUs a wake picks one of the
//   soft mask first. A unit running where its new hard mask no longer allows
//   is preempted there and requeued on an allowed CPU.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::sched {

inline constexpr uint64_t slice_ns = 30'000'000;      // max time a unit runs before pick_next is called again
inline constexpr uint64_t tick_ns = 10'000'000;       // accounting granularity
inline constexpr uint64_t min_slice_ns = 1'000'000;   // shortest slice given to a capped unit
inline constexpr uint32_t default_weight = 256;
inline constexpr uint32_t max_weight = 65535;
inline constexpr uint32_t max_cpus = 64;
inline constexpr uint64_t all_cpus = ~0ull;   // an affinity mask: bit i = CPU i

enum class State : uint8_t { blocked, runnable, running };
enum class Priority : uint8_t { over, under, boost };

class Credit;
struct Unit;

// One per domain. weight and cap may be changed at any time (under the
// caller's lock); they take effect at the next tick.
struct Account {
    uint32_t weight{default_weight};   // 1..65535 (0 is treated as 1)
    uint32_t cap{0};                   // percent of one CPU (100 = one full CPU), 0 = no cap

private:
    friend class Credit;
    Account* next_{nullptr};   // Credit's list of accounts with units
    Account* prev_{nullptr};
    Unit* units_{nullptr};     // this account's units
    bool linked_{false};
    // Scratch of the tick being accounted.
    uint32_t active_{0};
    uint64_t peak_{0};
    uint64_t share_{0};
    bool full_{false};
};

// One per vCPU.
struct Unit {
    Account* account{nullptr};
    void* owner{nullptr};   // the caller's vCPU
    State state{State::blocked};
    uint32_t cpu{0};          // run queue it belongs to / CPU it runs on
    uint64_t runtime_ns{0};   // total CPU time consumed (for `xl list`/debug keys)

    [[nodiscard]] int64_t credit_ns() const { return credit_; }
    [[nodiscard]] Priority priority() const { return prio_; }
    // Runnable but held back by its account's cap until the next tick.
    [[nodiscard]] bool parked() const { return parked_; }
    // On a run queue, waiting for a CPU.
    [[nodiscard]] bool queued() const { return queued_; }
    // Affinity masks (Credit::set_affinity), limited to the CPUs that exist.
    [[nodiscard]] uint64_t hard_affinity() const { return hard_; }
    [[nodiscard]] uint64_t soft_affinity() const { return soft_; }

private:
    friend class Credit;
    Unit* next_{nullptr};   // run queue, or the parked list
    Unit* prev_{nullptr};
    Unit* sibling_{nullptr};   // next unit of the same account
    Unit* prev_sibling_{nullptr};
    int64_t credit_{0};
    int64_t share_{0};        // credit received at the last tick (0 if inactive)
    uint64_t run_start_{0};   // charged up to here while running
    Priority prio_{Priority::under};
    bool tracked_{false};
    bool queued_{false};
    bool parked_{false};
    bool boost_{false};
    bool yielded_{false};
    bool demand_{false};   // woken since the last tick
    bool steady_{false};   // runnable since the last tick without blocking
    uint64_t hard_{all_cpus};
    uint64_t soft_{all_cpus};
};

class Credit final {
public:
    void init(uint32_t cpu_count, uint64_t now_ns);

    // Starts tracking u (blocked, credit 0) for account a on `cpu`. Ignored
    // if u is already tracked.
    void add(Unit& u, Account& a, uint32_t cpu);
    // From any state. A running unit just stops being tracked (it is not
    // charged for its last stretch) and its CPU counts as idle.
    void remove(Unit& u);

    // blocked -> runnable, queued on u.cpu, or on an idle CPU that was not
    // already poked (u.cpu is updated), so that CPU runs it straight away.
    // Returns the CPU to poke (an idle CPU, or u.cpu when u should preempt
    // what runs there), or -1. A capped unit without credit is parked; an
    // idle CPU is then returned so that it asks to come back at the next tick.
    int wake(Unit& u, uint64_t now_ns);
    // runnable/running -> blocked; a running unit is charged up to now and
    // its CPU counts as idle until its next pick_next.
    void block(Unit& u, uint64_t now_ns);
    // At its next pick_next the unit goes behind the other queued units of
    // its priority and, if there is one, behind one unit of lower priority
    // (as in Xen), so a spinning vCPU can let a lock holder that is OVER run.
    void yield(Unit& u);

    // Sets u's hard and soft affinity, each limited to the CPUs that exist.
    // Returns false (nothing changed) if the hard mask holds none of them.
    // A soft mask with no CPU of the hard one means no preference (all).
    // A unit queued or parked for a CPU the new mask excludes moves to an
    // allowed one; `poke_out` is then the CPU to poke (an idle one that can
    // run it, or the one where it runs now and may no longer), else -1.
    [[nodiscard]] bool set_affinity(Unit& u, uint64_t hard, uint64_t soft, int& poke_out);
    // All the CPUs that exist, as a mask.
    [[nodiscard]] uint64_t cpu_mask() const { return cpus_ >= 64 ? all_cpus : (1ull << cpus_) - 1; }

    // CPU `cpu` reschedules at `now_ns`. What ran there is charged and, if
    // still runnable, requeued (or parked). The scheduler knows what ran:
    // `prev` is the caller's view only, and a unit that blocked or was
    // removed meanwhile is no longer charged or requeued. Returns the
    // unit to run (state running, cpu = this cpu) and its slice in
    // `slice_out` (<= slice_ns; shorter for a capped unit), or nullptr to
    // idle. When idling, `slice_out` is how long the CPU may sleep before it
    // must call pick_next again even if nobody pokes it (a parked unit may
    // get credit at the next tick), or 0 to sleep until poked.
    // When the best local unit is OVER or there is none, it steals a better
    // queued unit from another CPU: UNDER before OVER, busiest queue first.
    Unit* pick_next(uint32_t cpu, uint64_t now_ns, Unit* prev, uint64_t& slice_out);

    // Whether `cpu` should reschedule now: a queued unit there has a higher
    // priority than the running one, the running one is capped and out of
    // credit, or the CPU idles with work queued.
    [[nodiscard]] bool should_preempt(uint32_t cpu) const;

    // Queued (not running, not parked) on cpu, for the `r` debug key.
    [[nodiscard]] uint32_t runnable_count(uint32_t cpu) const { return cpu < cpus_ ? queues_[cpu].count : 0; }
    [[nodiscard]] uint32_t parked_count() const { return parked_count_; }
    [[nodiscard]] const Unit* running(uint32_t cpu) const { return cpu < cpus_ ? queues_[cpu].curr : nullptr; }
    [[nodiscard]] uint32_t cpu_count() const { return cpus_; }

    // Iterate a CPU's queue in order (fn(const Unit&)), for the `r` debug key.
    template <typename Fn>
    void for_each_queued(uint32_t cpu, Fn&& fn) const
    {
        if (cpu >= cpus_)
            return;
        for (const Unit* u = queues_[cpu].head; u != nullptr; u = u->next_)
            fn(*u);
    }
    template <typename Fn>
    void for_each_parked(Fn&& fn) const
    {
        for (const Unit* u = parked_; u != nullptr; u = u->next_)
            fn(*u);
    }

    // nullptr if every list, count and state agrees, else what does not
    // (for tests and a debug key).
    [[nodiscard]] const char* check() const;

private:
    struct Queue {
        Unit* head{nullptr};
        Unit* tail{nullptr};
        Unit* curr{nullptr};   // running here
        uint32_t count{0};
        bool poked{false};     // told to reschedule by wake, not yet done
    };

    void account(uint64_t now_ns);
    void distribute(uint64_t elapsed_ns);
    void top_up();
    void charge(Unit& u, uint64_t now_ns);
    void refresh_priority(Unit& u);
    void enqueue(Unit& u, bool behind_lower);
    void dequeue(Unit& u);
    void park(Unit& u);
    void unpark(Unit& u);
    void make_runnable(Unit& u);
    void resort(Queue& q);
    [[nodiscard]] Unit* steal(uint32_t cpu, const Unit* local);
    [[nodiscard]] static bool allowed(const Unit& u, uint32_t cpu) { return cpu < 64 && ((u.hard_ >> cpu) & 1); }
    [[nodiscard]] uint32_t first_allowed(const Unit& u) const;
    [[nodiscard]] int idle_cpu_for(const Unit& u) const;
    [[nodiscard]] bool out_of_cap(const Unit& u) const;
    [[nodiscard]] Priority current_priority(const Unit& u) const;

    Queue queues_[max_cpus]{};
    Account* accounts_{nullptr};
    Unit* parked_{nullptr};
    uint32_t parked_count_{0};
    uint32_t cpus_{1};
    uint64_t last_tick_{0};   // accounting is done up to here
};

} // namespace menhir::sched
