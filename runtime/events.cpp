// Event channels, the upcall and pvclock time: see events.hpp.
#include "events.hpp"

#include "hypercall.hpp"
#include "print.hpp"
#include "runtime.hpp"

extern "C" {
void evtchn_upcall_entry();  // upcall.S
void evtchn_upcall();
}

namespace guest::ev {
namespace {

xen::shared_info* g_shared = nullptr;
uint64_t g_shared_gfn = 0;

struct PortSlot {
    Handler handler;
    void* ctx;
    uint32_t vcpu;  // the vCPU the port notifies: only that vCPU's upcall runs it
    uint32_t pad;
};
PortSlot g_ports[xen::EVTCHN_2L_NR_CHANNELS];

uint64_t g_unhandled = 0;
uint64_t g_dispatched = 0;

uint32_t g_heartbeat_port = 0;
uint64_t g_heartbeat_period = 0;
volatile uint64_t g_heartbeats = 0;

constexpr uint64_t bit(uint32_t port) { return 1ull << (port % 64); }

void dispatch(uint32_t port) {
    ++g_dispatched;
    PortSlot& s = g_ports[port];
    if (s.handler != nullptr)
        s.handler(port, s.ctx);
    else
        ++g_unhandled;
}

void set_port_vcpu(uint32_t port, uint32_t vcpu) {
    if (port < xen::EVTCHN_2L_NR_CHANNELS) g_ports[port].vcpu = vcpu;
}

void heartbeat_handler(uint32_t, void*) {
    g_heartbeats = g_heartbeats + 1;
    if (g_heartbeat_period != 0) timer_set(now_ns() + g_heartbeat_period);
}

}  // namespace

bool init() {
    if (g_shared != nullptr) return true;
    uint64_t gfn = alloc_unused_gfn(1);
    if (gfn == 0) {
        print("%s: FAIL no free guest-physical frame for shared_info\n", guest_name);
        return false;
    }
    xen::xen_add_to_physmap xatp{xen::DOMID_SELF, 0, xen::XENMAPSPACE_shared_info, 0, gfn};
    long rc = memory_op(xen::XENMEM_add_to_physmap, &xatp);
    if (rc != 0) {
        print("%s: FAIL XENMEM_add_to_physmap(shared_info, gfn 0x%llx) -> %ld\n", guest_name,
              static_cast<unsigned long long>(gfn), rc);
        return false;
    }
    g_shared_gfn = gfn;
    g_shared = reinterpret_cast<xen::shared_info*>(static_cast<uintptr_t>(gfn << 12));
    idt_set_gate(CALLBACK_VECTOR, evtchn_upcall_entry, 0);
    uint64_t via = (xen::HVM_PARAM_CALLBACK_TYPE_VECTOR << xen::HVM_PARAM_CALLBACK_TYPE_SHIFT) | CALLBACK_VECTOR;
    rc = hvm_set_param(xen::HVM_PARAM_CALLBACK_IRQ, via);
    if (rc != 0) {
        print("%s: FAIL HVMOP_set_param(CALLBACK_IRQ, 0x%llx) -> %ld\n", guest_name,
              static_cast<unsigned long long>(via), rc);
        return false;
    }
    return true;
}

xen::shared_info* shared() { return g_shared; }
uint64_t shared_info_gfn() { return g_shared_gfn; }
xen::vcpu_info* g_moved[xen::XEN_LEGACY_MAX_VCPUS];

xen::vcpu_info* vcpu_info(unsigned vcpu) {
    if (g_shared == nullptr || vcpu >= xen::XEN_LEGACY_MAX_VCPUS) return nullptr;
    return g_moved[vcpu] != nullptr ? g_moved[vcpu] : &g_shared->vcpu[vcpu];
}

long register_vcpu_info(xen::vcpu_info* at) {
    const uintptr_t addr = reinterpret_cast<uintptr_t>(at);
    xen::vcpu_register_vcpu_info r{addr >> 12, static_cast<uint32_t>(addr & 0xfff), 0};
    const long rc = vcpu_op(xen::VCPUOP_register_vcpu_info, this_vcpu(), &r);
    if (rc == 0) g_moved[this_vcpu() % xen::XEN_LEGACY_MAX_VCPUS] = at;
    return rc;
}

void set_handler(uint32_t port, Handler handler, void* ctx) {
    if (port >= xen::EVTCHN_2L_NR_CHANNELS) return;
    unsigned long flags = irq_save();
    g_ports[port].handler = handler;
    g_ports[port].ctx = ctx;
    irq_restore(flags);
}

uint64_t unhandled_events() { return g_unhandled; }

void print_state() {
    if (g_shared == nullptr) return;
    const xen::vcpu_info* vi = vcpu_info(this_vcpu() % xen::XEN_LEGACY_MAX_VCPUS);
    print("%s: events: vcpu %u upcall_pending %u pending_sel 0x%llx pending[0] 0x%llx mask[0] 0x%llx, "
          "%llu dispatched, %llu unhandled, interrupts %s\n",
          guest_name, this_vcpu(), vi->evtchn_upcall_pending, static_cast<unsigned long long>(vi->evtchn_pending_sel),
          static_cast<unsigned long long>(g_shared->evtchn_pending[0]),
          static_cast<unsigned long long>(g_shared->evtchn_mask[0]), static_cast<unsigned long long>(g_dispatched),
          static_cast<unsigned long long>(g_unhandled), irq_enabled() ? "on" : "off");
}
uint64_t events_dispatched() { return g_dispatched; }

long alloc_unbound(uint16_t remote_dom, uint16_t dom) {
    xen::evtchn_alloc_unbound op{dom, remote_dom, 0};
    long rc = event_channel_op(xen::EVTCHNOP_alloc_unbound, &op);
    if (rc != 0) return rc;
    set_port_vcpu(op.port, 0);
    return op.port;
}

long bind_interdomain(uint16_t remote_dom, uint32_t remote_port) {
    xen::evtchn_bind_interdomain op{remote_dom, 0, remote_port, 0};
    long rc = event_channel_op(xen::EVTCHNOP_bind_interdomain, &op);
    if (rc != 0) return rc;
    set_port_vcpu(op.local_port, 0);
    return op.local_port;
}

long connect_to_peer(uint16_t peer, uint32_t first_port, uint32_t last_port, uint64_t timeout_ns) {
    const uint64_t start = now_ns();
    long rc = -xen::XEN_EINVAL;
    for (;;) {
        for (uint32_t p = first_port; p <= last_port; ++p) {
            rc = bind_interdomain(peer, p);
            if (rc >= 0) return rc;
        }
        if (now_ns() - start >= timeout_ns) return rc;
        sched_yield();
    }
}

long bind_virq(uint32_t virq, uint32_t vcpu) {
    xen::evtchn_bind_virq op{virq, vcpu, 0};
    long rc = event_channel_op(xen::EVTCHNOP_bind_virq, &op);
    if (rc != 0) return rc;
    set_port_vcpu(op.port, vcpu);
    return op.port;
}

long bind_ipi(uint32_t vcpu) {
    xen::evtchn_bind_ipi op{vcpu, 0};
    long rc = event_channel_op(xen::EVTCHNOP_bind_ipi, &op);
    if (rc != 0) return rc;
    set_port_vcpu(op.port, vcpu);
    return op.port;
}

long send(uint32_t port) {
    xen::evtchn_port_op op{port};
    return event_channel_op(xen::EVTCHNOP_send, &op);
}

long close(uint32_t port) {
    xen::evtchn_port_op op{port};
    return event_channel_op(xen::EVTCHNOP_close, &op);
}

long unmask(uint32_t port) {
    xen::evtchn_port_op op{port};
    return event_channel_op(xen::EVTCHNOP_unmask, &op);
}

long bind_vcpu(uint32_t port, uint32_t vcpu) {
    xen::evtchn_bind_vcpu op{port, vcpu};
    long rc = event_channel_op(xen::EVTCHNOP_bind_vcpu, &op);
    if (rc == 0) set_port_vcpu(port, vcpu);
    return rc;
}

long status(uint16_t dom, uint32_t port, xen::evtchn_status* out) {
    xen::evtchn_status op{};
    op.dom = dom;
    op.port = port;
    long rc = event_channel_op(xen::EVTCHNOP_status, &op);
    if (out != nullptr) *out = op;
    return rc;
}

void mask(uint32_t port) {
    if (g_shared == nullptr || port >= xen::EVTCHN_2L_NR_CHANNELS) return;
    __atomic_fetch_or(&g_shared->evtchn_mask[port / 64], bit(port), __ATOMIC_SEQ_CST);
}

void clear_pending(uint32_t port) {
    if (g_shared == nullptr || port >= xen::EVTCHN_2L_NR_CHANNELS) return;
    __atomic_fetch_and(&g_shared->evtchn_pending[port / 64], ~bit(port), __ATOMIC_SEQ_CST);
}

bool is_pending(uint32_t port) {
    if (g_shared == nullptr || port >= xen::EVTCHN_2L_NR_CHANNELS) return false;
    return (__atomic_load_n(&g_shared->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) & bit(port)) != 0;
}

bool is_masked(uint32_t port) {
    if (g_shared == nullptr || port >= xen::EVTCHN_2L_NR_CHANNELS) return false;
    return (__atomic_load_n(&g_shared->evtchn_mask[port / 64], __ATOMIC_SEQ_CST) & bit(port)) != 0;
}

long poll(const uint32_t* ports, unsigned nr_ports, uint64_t timeout_abs_ns) {
    xen::sched_poll p{reinterpret_cast<uintptr_t>(ports), nr_ports, 0, timeout_abs_ns};
    return sched_op(xen::SCHEDOP_poll, &p);
}

xen::vcpu_time_info time_info() {
    xen::vcpu_time_info copy{};
    if (g_shared == nullptr) return copy;
    const volatile xen::vcpu_time_info* t = &vcpu_info(this_vcpu() % xen::XEN_LEGACY_MAX_VCPUS)->time;
    uint32_t v;
    do {
        v = t->version;
        asm volatile("" ::: "memory");
        copy.version = v;
        copy.tsc_timestamp = t->tsc_timestamp;
        copy.system_time = t->system_time;
        copy.tsc_to_system_mul = t->tsc_to_system_mul;
        copy.tsc_shift = t->tsc_shift;
        copy.flags = t->flags;
        asm volatile("" ::: "memory");
    } while ((v & 1) != 0 || v != t->version);
    return copy;
}

bool pvclock_present() { return time_info().tsc_to_system_mul != 0; }

uint64_t tsc_delta_to_ns(uint64_t delta, const xen::vcpu_time_info& ti) {
    if (ti.tsc_shift >= 0)
        delta <<= ti.tsc_shift;
    else
        delta >>= -ti.tsc_shift;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * ti.tsc_to_system_mul) >> 32);
}

uint64_t now_ns() {
    if (g_shared == nullptr) return rdtsc();
    const volatile xen::vcpu_time_info* t = &vcpu_info(this_vcpu() % xen::XEN_LEGACY_MAX_VCPUS)->time;
    for (;;) {
        uint32_t v = t->version;
        asm volatile("" ::: "memory");
        xen::vcpu_time_info ti;
        ti.tsc_timestamp = t->tsc_timestamp;
        ti.system_time = t->system_time;
        ti.tsc_to_system_mul = t->tsc_to_system_mul;
        ti.tsc_shift = t->tsc_shift;
        lfence();
        uint64_t tsc = rdtsc();
        asm volatile("" ::: "memory");
        if ((v & 1) != 0 || v != t->version) continue;
        if (ti.tsc_to_system_mul == 0) return tsc;  // no pvclock: raw ticks
        uint64_t delta = tsc > ti.tsc_timestamp ? tsc - ti.tsc_timestamp : 0;
        return ti.system_time + tsc_delta_to_ns(delta, ti);
    }
}

bool wallclock_base(uint64_t* sec, uint32_t* nsec) {
    if (g_shared == nullptr) return false;
    const volatile xen::shared_info* s = g_shared;
    uint32_t v;
    uint64_t secs;
    uint32_t ns;
    do {
        v = s->wc_version;
        asm volatile("" ::: "memory");
        secs = (static_cast<uint64_t>(s->wc_sec_hi) << 32) | s->wc_sec;
        ns = s->wc_nsec;
        asm volatile("" ::: "memory");
    } while ((v & 1) != 0 || v != s->wc_version);
    *sec = secs;
    *nsec = ns;
    return v != 0 || secs != 0 || ns != 0;
}

long timer_set(uint64_t abs_ns) {
    xen::vcpu_set_singleshot_timer t{abs_ns, 0, 0};
    return vcpu_op(xen::VCPUOP_set_singleshot_timer, this_vcpu(), &t);
}

long timer_stop() { return vcpu_op(xen::VCPUOP_stop_singleshot_timer, this_vcpu(), nullptr); }
long periodic_stop() { return vcpu_op(xen::VCPUOP_stop_periodic_timer, this_vcpu(), nullptr); }

bool heartbeat_start(uint64_t period_ns) {
    if (g_heartbeat_port == 0) {
        long port = bind_virq(xen::VIRQ_TIMER, this_vcpu());
        if (port <= 0) {
            print("%s: FAIL bind_virq(VIRQ_TIMER) for the heartbeat -> %ld\n", guest_name, port);
            return false;
        }
        g_heartbeat_port = static_cast<uint32_t>(port);
        set_handler(g_heartbeat_port, heartbeat_handler);
    }
    g_heartbeat_period = period_ns;
    long rc = timer_set(now_ns() + period_ns);
    if (rc != 0) {
        print("%s: FAIL VCPUOP_set_singleshot_timer for the heartbeat -> %ld\n", guest_name, rc);
        return false;
    }
    return true;
}

void heartbeat_stop() {
    g_heartbeat_period = 0;
    timer_stop();
}

uint64_t heartbeats() { return g_heartbeats; }

// The upcall, with interrupts disabled (interrupt gate), on the vCPU the
// vector was injected into. Ports notified to another vCPU are left pending
// for that vCPU's own upcall.
static void upcall() {
    xen::shared_info* s = g_shared;
    if (s == nullptr) return;
    const unsigned me = this_vcpu();
    xen::vcpu_info* vi = vcpu_info(me % xen::XEN_LEGACY_MAX_VCPUS);
    while (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) != 0) {
        __atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
        uint64_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0ull, __ATOMIC_SEQ_CST);
        while (sel != 0) {
            const unsigned word = static_cast<unsigned>(__builtin_ctzll(sel));
            sel &= sel - 1;
            uint64_t ready = __atomic_load_n(&s->evtchn_pending[word], __ATOMIC_SEQ_CST) &
                             ~__atomic_load_n(&s->evtchn_mask[word], __ATOMIC_SEQ_CST);
            while (ready != 0) {
                const unsigned b = static_cast<unsigned>(__builtin_ctzll(ready));
                ready &= ready - 1;
                const uint32_t port = word * 64 + b;
                if (g_ports[port].vcpu != me) continue;
                const uint64_t m = 1ull << b;
                if (__atomic_fetch_and(&s->evtchn_pending[word], ~m, __ATOMIC_SEQ_CST) & m) dispatch(port);
            }
        }
    }
}

}  // namespace guest::ev

extern "C" void evtchn_upcall() { guest::ev::upcall(); }

