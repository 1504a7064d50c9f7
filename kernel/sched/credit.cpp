#include "kernel/sched/credit.hpp"

namespace menhir::sched {
namespace {

// A blocked unit keeps at most one slice of credit: after any sleep it can
// run ahead of its competitors for a bounded time only.
constexpr int64_t credit_max_blocked = static_cast<int64_t>(slice_ns);
// A runnable unit may bank more, since it is waiting for its turn (behind
// up to a slice of each competitor) and throwing its credit away would make
// it lose its share.
constexpr int64_t credit_max = 3 * static_cast<int64_t>(slice_ns);
// Debt is forgiven beyond this, so a unit that had a CPU to itself is not
// punished for long when competition arrives.
constexpr int64_t credit_min = -3 * static_cast<int64_t>(slice_ns);
// A CPU that rescheduled late is charged for all of it, but at most this
// many ticks are handed out at once (keeps the products below in 64 bits:
// 8 ticks * 64 CPUs * 65535 * accounts).
constexpr uint64_t max_ticks_at_once = 8;

constexpr uint32_t weight_of(const Account& a)
{
    if (a.weight == 0)
        return 1;
    return a.weight > max_weight ? max_weight : a.weight;
}

} // namespace

void Credit::init(uint32_t cpu_count, uint64_t now_ns)
{
    cpus_ = cpu_count == 0 ? 1 : (cpu_count > max_cpus ? max_cpus : cpu_count);
    for (Queue& q : queues_)
        q = Queue{};
    accounts_ = nullptr;
    parked_ = nullptr;
    parked_count_ = 0;
    last_tick_ = now_ns;
}

void Credit::add(Unit& u, Account& a, uint32_t cpu)
{
    if (u.tracked_)
        return;
    u.account = &a;
    u.state = State::blocked;
    u.cpu = cpu < cpus_ ? cpu : 0;
    if (!allowed(u, u.cpu))
        u.cpu = first_allowed(u);
    u.next_ = u.prev_ = nullptr;
    u.credit_ = 0;
    u.share_ = 0;
    u.prio_ = Priority::under;
    u.tracked_ = true;
    u.queued_ = u.parked_ = u.boost_ = u.yielded_ = u.demand_ = u.steady_ = false;

    u.prev_sibling_ = nullptr;
    u.sibling_ = a.units_;
    if (a.units_ != nullptr)
        a.units_->prev_sibling_ = &u;
    a.units_ = &u;

    if (!a.linked_) {
        a.linked_ = true;
        a.prev_ = nullptr;
        a.next_ = accounts_;
        if (accounts_ != nullptr)
            accounts_->prev_ = &a;
        accounts_ = &a;
    }
}

void Credit::remove(Unit& u)
{
    if (!u.tracked_)
        return;
    if (u.state == State::running && u.cpu < cpus_ && queues_[u.cpu].curr == &u)
        queues_[u.cpu].curr = nullptr;
    if (u.queued_)
        dequeue(u);
    if (u.parked_)
        unpark(u);

    Account& a = *u.account;
    if (u.prev_sibling_ != nullptr)
        u.prev_sibling_->sibling_ = u.sibling_;
    else
        a.units_ = u.sibling_;
    if (u.sibling_ != nullptr)
        u.sibling_->prev_sibling_ = u.prev_sibling_;
    u.sibling_ = u.prev_sibling_ = nullptr;

    if (a.units_ == nullptr) {
        if (a.prev_ != nullptr)
            a.prev_->next_ = a.next_;
        else
            accounts_ = a.next_;
        if (a.next_ != nullptr)
            a.next_->prev_ = a.prev_;
        a.next_ = a.prev_ = nullptr;
        a.linked_ = false;
    }
    u.tracked_ = false;
    u.state = State::blocked;
    u.boost_ = u.yielded_ = u.demand_ = u.steady_ = false;
}

int Credit::wake(Unit& u, uint64_t now_ns)
{
    if (!u.tracked_ || u.state != State::blocked)
        return -1;
    // Runnable first, so that a tick accounted now sees it wanting CPU.
    u.state = State::runnable;
    u.demand_ = true;
    u.yielded_ = false;
    account(now_ns);
    if (!allowed(u, u.cpu))
        u.cpu = first_allowed(u);
    if (out_of_cap(u)) {
        // Somebody must come back at the next tick to unpark it: an idle
        // CPU, poked now, asks for that in pick_next's slice_out. Busy CPUs
        // come back within a slice anyway.
        park(u);
        int any = -1;
        for (uint32_t i = 0; i < cpus_; i++) {
            const uint32_t c = (u.cpu + i) % cpus_;
            if (queues_[c].curr != nullptr)
                continue;
            if (allowed(u, c))
                return static_cast<int>(c);
            if (any < 0)
                any = static_cast<int>(c);
        }
        return any;
    }
    // Xen's boost: a vCPU that wakes with credit left (typically after
    // waiting for I/O) runs ahead of the CPU-bound ones until it is next
    // descheduled. It is charged as usual, so it cannot gain from it.
    u.boost_ = u.credit_ >= 0;

    // Its own CPU if idle; else any idle CPU not yet poked that it may run
    // on (its soft affinity first), which then runs it without preempting
    // anybody; else its own queue, preempting what runs there if that has
    // a lower priority.
    if (const int c = idle_cpu_for(u); c >= 0) {
        u.cpu = static_cast<uint32_t>(c);
        enqueue(u, false);
        queues_[u.cpu].poked = true;
        return c;
    }
    Queue& home = queues_[u.cpu];
    enqueue(u, false);
    if (home.curr != nullptr && u.prio_ > current_priority(*home.curr))
        return static_cast<int>(u.cpu);
    return -1;
}

void Credit::block(Unit& u, uint64_t now_ns)
{
    if (!u.tracked_ || u.state == State::blocked)
        return;
    account(now_ns);
    if (u.state == State::running) {
        Queue& q = queues_[u.cpu];
        if (q.curr == &u) {
            charge(u, now_ns);
            q.curr = nullptr;
        }
    } else if (u.queued_) {
        dequeue(u);
    } else if (u.parked_) {
        unpark(u);
    }
    u.state = State::blocked;
    u.boost_ = u.yielded_ = u.steady_ = false;
    if (u.credit_ > credit_max_blocked)
        u.credit_ = credit_max_blocked;
}

void Credit::yield(Unit& u)
{
    if (u.tracked_ && u.state != State::blocked)
        u.yielded_ = true;
}

Unit* Credit::pick_next(uint32_t cpu, uint64_t now_ns, Unit* prev, uint64_t& slice_out)
{
    slice_out = 0;
    if (cpu >= cpus_)
        return nullptr;
    account(now_ns);
    Queue& q = queues_[cpu];
    q.poked = false;

    // What ran here is known; `prev` only documents the caller's view. A
    // unit that blocked or was removed meanwhile is no longer curr.
    static_cast<void>(prev);
    if (Unit* p = q.curr; p != nullptr) {
        q.curr = nullptr;
        charge(*p, now_ns);
        p->boost_ = false;
        p->state = State::runnable;
        const bool yielded = p->yielded_;
        p->yielded_ = false;
        if (!allowed(*p, cpu))
            p->cpu = first_allowed(*p);   // pinned away meanwhile (set_affinity)
        if (out_of_cap(*p))
            park(*p);
        else
            enqueue(*p, yielded);
    }

    Unit* local = q.head;
    Unit* next = nullptr;
    if (local == nullptr || local->prio_ == Priority::over)
        next = steal(cpu, local);
    if (next == nullptr && local != nullptr) {
        next = local;
        dequeue(*local);
    }
    if (next == nullptr) {
        // A parked unit may get credit at the next tick, and this CPU may
        // be the one to run it.
        slice_out = parked_count_ != 0 ? last_tick_ + tick_ns - now_ns : 0;
        return nullptr;
    }

    next->state = State::running;
    next->cpu = cpu;
    next->run_start_ = now_ns;
    q.curr = next;
    slice_out = slice_ns;
    if (next->account->cap != 0) {
        // Never run past the credit the cap allows (credit > 0 here, except
        // for a unit that has never been charged).
        const uint64_t credit = next->credit_ > 0 ? static_cast<uint64_t>(next->credit_) : 0;
        slice_out = credit < min_slice_ns ? min_slice_ns : (credit > slice_ns ? slice_ns : credit);
    }
    return next;
}

bool Credit::should_preempt(uint32_t cpu) const
{
    if (cpu >= cpus_)
        return false;
    const Queue& q = queues_[cpu];
    if (q.curr == nullptr)
        return q.head != nullptr;
    if (out_of_cap(*q.curr) || !allowed(*q.curr, cpu))
        return true;
    return q.head != nullptr && q.head->prio_ > current_priority(*q.curr);
}

// ---------------------------------------------------------------------------
// Accounting

void Credit::account(uint64_t now_ns)
{
    if (now_ns < last_tick_ + tick_ns)
        return;
    const uint64_t ticks = (now_ns - last_tick_) / tick_ns;
    last_tick_ += ticks * tick_ns;

    // Running units are charged up to now, so their credit (and priority)
    // is current when the shares are handed out; BOOST lasts one tick at
    // most for a unit that keeps running.
    for (uint32_t c = 0; c < cpus_; c++) {
        if (Unit* u = queues_[c].curr; u != nullptr) {
            charge(*u, now_ns);
            u->boost_ = false;
        }
    }

    distribute((ticks < max_ticks_at_once ? ticks : max_ticks_at_once) * tick_ns);
    top_up();

    for (Account* a = accounts_; a != nullptr; a = a->next_) {
        for (Unit* u = a->units_; u != nullptr; u = u->sibling_) {
            const int64_t max = u->state == State::blocked ? credit_max_blocked : credit_max;
            if (u->credit_ > max)
                u->credit_ = max;
            if (u->credit_ < credit_min)
                u->credit_ = credit_min;
            u->steady_ = u->state != State::blocked;
            if (u->parked_ && !out_of_cap(*u)) {
                unpark(*u);
                enqueue(*u, false);
            }
        }
    }
    // Credits changed: requeue everybody by their new priority.
    for (uint32_t c = 0; c < cpus_; c++)
        resort(queues_[c]);
}

// Hands out elapsed_ns on every CPU among the accounts that wanted CPU, by
// weight, each limited to what its active units can use (one CPU each) and
// to its cap. An account that gets its limit leaves the rest to the others,
// so nothing a busy account could use is lost.
void Credit::distribute(uint64_t elapsed_ns)
{
    uint64_t capacity = elapsed_ns * cpus_;
    uint64_t weights = 0;
    for (Account* a = accounts_; a != nullptr; a = a->next_) {
        a->active_ = 0;
        for (Unit* u = a->units_; u != nullptr; u = u->sibling_) {
            if (u->state != State::blocked || u->demand_)
                a->active_++;
        }
        a->share_ = 0;
        a->full_ = false;
        if (a->active_ == 0)
            continue;
        a->peak_ = elapsed_ns * (a->active_ < cpus_ ? a->active_ : cpus_);
        if (a->cap != 0) {
            const uint64_t cap = a->cap < 100 * cpus_ ? a->cap : 100 * cpus_;
            const uint64_t capped = elapsed_ns * cap / 100;
            if (capped < a->peak_)
                a->peak_ = capped;
        }
        weights += weight_of(*a);
    }

    // Water filling: an account whose fair share reaches its peak gets the
    // peak; that only raises the others' fair share, so repeat until none
    // saturates. At most one pass per account.
    for (bool again = true; again && weights != 0;) {
        again = false;
        for (Account* a = accounts_; a != nullptr; a = a->next_) {
            if (a->active_ == 0 || a->full_)
                continue;
            const uint32_t w = weight_of(*a);
            if (a->peak_ * weights <= capacity * w) {
                a->full_ = true;
                a->share_ = a->peak_;
                capacity -= a->peak_;
                weights -= w;
                again = true;
            }
        }
    }
    for (Account* a = accounts_; a != nullptr; a = a->next_) {
        if (a->active_ != 0 && !a->full_)
            a->share_ = capacity * weight_of(*a) / weights;
        const int64_t per_unit = a->active_ != 0 ? static_cast<int64_t>(a->share_ / a->active_) : 0;
        for (Unit* u = a->units_; u != nullptr; u = u->sibling_) {
            const bool active = u->state != State::blocked || u->demand_;
            u->share_ = active ? per_unit : 0;
            u->credit_ += u->share_;
            u->demand_ = false;
        }
    }
}

// Credit is conserved among CPU-bound units only if they are handed all
// the time they use. Part of each tick goes to units that block and do not
// use it (their credit is clamped away), so the steady uncapped units
// (runnable since the last tick without blocking: the CPU-bound ones) would
// drift OVER together and, FIFO within a priority, share round-robin. When
// their total credit is negative, hand them whole extra rounds of their
// shares until it is not: the weights keep deciding, and OVER keeps meaning
// "had more than its share while a competitor waited".
void Credit::top_up()
{
    int64_t total = 0;
    int64_t shares = 0;
    for (Account* a = accounts_; a != nullptr; a = a->next_) {
        if (a->cap != 0)
            continue;
        for (Unit* u = a->units_; u != nullptr; u = u->sibling_) {
            if (u->steady_ && u->state != State::blocked && u->share_ > 0) {
                total += u->credit_;
                shares += u->share_;
            }
        }
    }
    if (total >= 0 || shares == 0)
        return;
    // For every unit rounds * share <= -total + share (share <= shares),
    // and account() clamps the result.
    const int64_t rounds = (-total + shares - 1) / shares;
    for (Account* a = accounts_; a != nullptr; a = a->next_) {
        if (a->cap != 0)
            continue;
        for (Unit* u = a->units_; u != nullptr; u = u->sibling_) {
            if (u->steady_ && u->state != State::blocked && u->share_ > 0)
                u->credit_ += rounds * u->share_;
        }
    }
}

void Credit::charge(Unit& u, uint64_t now_ns)
{
    if (now_ns <= u.run_start_)
        return;
    const uint64_t ran = now_ns - u.run_start_;
    u.runtime_ns += ran;
    u.credit_ -= static_cast<int64_t>(ran);
    u.run_start_ = now_ns;
}

bool Credit::out_of_cap(const Unit& u) const
{
    return u.account->cap != 0 && u.credit_ <= 0;
}

Priority Credit::current_priority(const Unit& u) const
{
    if (u.boost_)
        return Priority::boost;
    return u.credit_ >= 0 ? Priority::under : Priority::over;
}

// ---------------------------------------------------------------------------
// Queues

// Behind every queued unit of the same or higher priority. A yielding unit
// also goes behind the first unit of lower priority, if any, and takes that
// priority in the queue until the next tick re-sorts it.
void Credit::enqueue(Unit& u, bool behind_lower)
{
    Queue& q = queues_[u.cpu];
    u.prio_ = current_priority(u);
    Unit* after = q.tail;
    while (after != nullptr && after->prio_ < u.prio_)
        after = after->prev_;
    if (behind_lower) {
        Unit* lower = after != nullptr ? after->next_ : q.head;
        if (lower != nullptr) {
            after = lower;
            u.prio_ = lower->prio_;
        }
    }
    u.prev_ = after;
    u.next_ = after != nullptr ? after->next_ : q.head;
    if (u.prev_ != nullptr)
        u.prev_->next_ = &u;
    else
        q.head = &u;
    if (u.next_ != nullptr)
        u.next_->prev_ = &u;
    else
        q.tail = &u;
    u.queued_ = true;
    q.count++;
}

void Credit::dequeue(Unit& u)
{
    Queue& q = queues_[u.cpu];
    if (u.prev_ != nullptr)
        u.prev_->next_ = u.next_;
    else
        q.head = u.next_;
    if (u.next_ != nullptr)
        u.next_->prev_ = u.prev_;
    else
        q.tail = u.prev_;
    u.next_ = u.prev_ = nullptr;
    u.queued_ = false;
    q.count--;
}

void Credit::park(Unit& u)
{
    u.boost_ = false;
    u.parked_ = true;
    u.prev_ = nullptr;
    u.next_ = parked_;
    if (parked_ != nullptr)
        parked_->prev_ = &u;
    parked_ = &u;
    parked_count_++;
}

void Credit::unpark(Unit& u)
{
    if (u.prev_ != nullptr)
        u.prev_->next_ = u.next_;
    else
        parked_ = u.next_;
    if (u.next_ != nullptr)
        u.next_->prev_ = u.prev_;
    u.next_ = u.prev_ = nullptr;
    u.parked_ = false;
    parked_count_--;
}

// Stable partition by the refreshed priorities: FIFO order within each
// priority is kept.
void Credit::resort(Queue& q)
{
    Unit* heads[3]{};
    Unit* tails[3]{};
    for (Unit* u = q.head; u != nullptr;) {
        Unit* next = u->next_;
        u->prio_ = current_priority(*u);
        const auto p = static_cast<size_t>(u->prio_);
        u->next_ = nullptr;
        u->prev_ = tails[p];
        if (tails[p] != nullptr)
            tails[p]->next_ = u;
        else
            heads[p] = u;
        tails[p] = u;
        u = next;
    }
    q.head = q.tail = nullptr;
    for (size_t i = 3; i-- > 0;) {
        if (heads[i] == nullptr)
            continue;
        heads[i]->prev_ = q.tail;
        if (q.tail != nullptr)
            q.tail->next_ = heads[i];
        else
            q.head = heads[i];
        q.tail = tails[i];
    }
}

// The best unit of the other queues that may run on `cpu` and beats `local`
// (nullptr: anything beats it): highest priority, then the longest queue.
// Queues are in priority order, so each queue's first such unit is its best.
Unit* Credit::steal(uint32_t cpu, const Unit* local)
{
    Unit* best = nullptr;
    uint32_t best_count = 0;
    for (uint32_t i = 1; i < cpus_; i++) {
        const uint32_t c = (cpu + i) % cpus_;
        Unit* h = queues_[c].head;
        while (h != nullptr && !allowed(*h, cpu))
            h = h->next_;
        if (h == nullptr || (local != nullptr && h->prio_ <= local->prio_))
            continue;
        if (best == nullptr || h->prio_ > best->prio_ || (h->prio_ == best->prio_ && queues_[c].count > best_count)) {
            best = h;
            best_count = queues_[c].count;
        }
    }
    if (best != nullptr)
        dequeue(*best);
    return best;
}

// ---------------------------------------------------------------------------
// Affinity

uint32_t Credit::first_allowed(const Unit& u) const
{
    const uint64_t m = u.hard_ & cpu_mask();
    return m != 0 ? static_cast<uint32_t>(__builtin_ctzll(m)) : 0;
}

// An idle CPU, not yet poked, that u may run on: from u.cpu on, those of its
// soft affinity first. -1 if none.
int Credit::idle_cpu_for(const Unit& u) const
{
    const bool prefer = (u.soft_ & u.hard_ & cpu_mask()) != 0;
    for (int pass = prefer ? 0 : 1; pass < 2; pass++) {
        for (uint32_t i = 0; i < cpus_; i++) {
            const uint32_t c = (u.cpu + i) % cpus_;
            if (queues_[c].curr != nullptr || queues_[c].poked || !allowed(u, c))
                continue;
            if (pass == 0 && !((u.soft_ >> c) & 1))
                continue;
            return static_cast<int>(c);
        }
    }
    return -1;
}

bool Credit::set_affinity(Unit& u, uint64_t hard, uint64_t soft, int& poke_out)
{
    poke_out = -1;
    hard &= cpu_mask();
    if (hard == 0)
        return false;
    soft &= cpu_mask();
    u.hard_ = hard;
    u.soft_ = (soft & hard) != 0 ? soft : cpu_mask();
    if (!u.tracked_ || allowed(u, u.cpu))
        return true;
    if (u.state == State::running) {
        // Its CPU stays u.cpu while it runs there: that CPU's next
        // pick_next requeues it where it may run.
        poke_out = static_cast<int>(u.cpu);
        return true;
    }
    if (!u.queued_) {
        u.cpu = first_allowed(u);   // blocked or parked: a wake or the next tick queues it there
        return true;
    }
    dequeue(u);
    const int idle = idle_cpu_for(u);
    u.cpu = idle >= 0 ? static_cast<uint32_t>(idle) : first_allowed(u);
    enqueue(u, false);
    if (idle >= 0) {
        queues_[u.cpu].poked = true;
        poke_out = idle;
    } else if (const Unit* curr = queues_[u.cpu].curr; curr != nullptr && u.prio_ > current_priority(*curr)) {
        poke_out = static_cast<int>(u.cpu);
    }
    return true;
}

// ---------------------------------------------------------------------------
// Consistency check

const char* Credit::check() const
{
    uint32_t queued = 0;
    uint32_t running = 0;
    for (uint32_t c = 0; c < cpus_; c++) {
        const Queue& q = queues_[c];
        uint32_t n = 0;
        const Unit* prev = nullptr;
        for (const Unit* u = q.head; u != nullptr; prev = u, u = u->next_) {
            if (u->prev_ != prev)
                return "run queue back link broken";
            if (!u->tracked_ || !u->queued_ || u->parked_ || u->state != State::runnable)
                return "run queue holds a unit that is not a queued runnable unit";
            if (u->cpu != c)
                return "queued unit's cpu is not its queue";
            if (!allowed(*u, c))
                return "queued unit on a CPU outside its hard affinity";
            if (prev != nullptr && prev->prio_ < u->prio_)
                return "run queue not in priority order";
            if (++n > q.count)
                return "run queue longer than its count";
        }
        if (q.tail != prev)
            return "run queue tail wrong";
        if (n != q.count)
            return "run queue count wrong";
        queued += n;
        if (const Unit* u = q.curr; u != nullptr) {
            if (!u->tracked_ || u->state != State::running || u->queued_ || u->parked_ || u->cpu != c)
                return "running unit in a wrong state";
            running++;
        }
    }
    uint32_t parked = 0;
    const Unit* prev = nullptr;
    for (const Unit* u = parked_; u != nullptr; prev = u, u = u->next_) {
        if (u->prev_ != prev)
            return "parked list back link broken";
        if (!u->tracked_ || !u->parked_ || u->queued_ || u->state != State::runnable)
            return "parked list holds a unit that is not parked";
        parked++;
    }
    if (parked != parked_count_)
        return "parked count wrong";

    uint32_t units_queued = 0;
    uint32_t units_running = 0;
    uint32_t units_parked = 0;
    const Account* prev_account = nullptr;
    for (const Account* a = accounts_; a != nullptr; prev_account = a, a = a->next_) {
        if (a->prev_ != prev_account || !a->linked_)
            return "account list broken";
        if (a->units_ == nullptr)
            return "account without units in the list";
        const Unit* prev_sibling = nullptr;
        for (const Unit* u = a->units_; u != nullptr; prev_sibling = u, u = u->sibling_) {
            if (u->prev_sibling_ != prev_sibling || u->account != a || !u->tracked_)
                return "account unit list broken";
            if (u->cpu >= cpus_)
                return "unit on a CPU that does not exist";
            switch (u->state) {
            case State::blocked:
                if (u->queued_ || u->parked_)
                    return "blocked unit queued or parked";
                break;
            case State::runnable:
                if (u->queued_ == u->parked_)
                    return "runnable unit neither queued nor parked (or both)";
                units_queued += u->queued_ ? 1 : 0;
                units_parked += u->parked_ ? 1 : 0;
                break;
            case State::running:
                if (queues_[u->cpu].curr != u)
                    return "running unit is not its CPU's current unit";
                units_running++;
                break;
            }
        }
    }
    if (units_queued != queued || units_running != running || units_parked != parked)
        return "units on queues are not the accounts' units";
    return nullptr;
}

} // namespace menhir::sched
