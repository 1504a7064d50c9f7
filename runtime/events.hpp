// Event channels, the event upcall and time (pvclock, timers) for the 64-bit
// test guests, on Xen's public ABI:
//
//  - shared_info is mapped with XENMEM_add_to_physmap(XENMAPSPACE_shared_info)
//    at a frame past the end of RAM (alloc_unused_gfn);
//  - events use the 2-level ABI (64-bit layout): evtchn_pending/evtchn_mask in
//    shared_info, evtchn_upcall_pending/evtchn_pending_sel in each vcpu_info;
//  - the upcall is HVM_PARAM_CALLBACK_IRQ type 2: the hypervisor injects
//    CALLBACK_VECTOR into a vCPU while its evtchn_upcall_pending is set and
//    it has interrupts enabled. The handler (upcall.S -> evtchn_upcall())
//    clears upcall_pending, takes pending_sel, and for every pending and
//    unmasked port clears the pending bit, then calls the port's handler.
//    No EOI: the vector is not delivered through a local APIC;
//  - time is pvclock: vcpu_info.time, scaled with the TSC; the wallclock is
//    shared_info's wc_* (the time of day at system time 0).
//
// Interrupts stay disabled until a guest calls irq_enable() (x86.hpp). To
// wait for something an upcall handler does, use wait_until(): it checks the
// condition with interrupts off and sleeps with `sti; hlt`, so an event that
// arrives between the check and the HLT still wakes it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "x86.hpp"
#include "xen.hpp"

#if !defined(__x86_64__)
#error "events need long mode: the 2-level event ABI here is the 64-bit layout"
#endif

namespace guest::ev {

inline constexpr uint8_t CALLBACK_VECTOR = 0xf3;
inline constexpr uint64_t FOREVER = ~0ull;
inline constexpr uint64_t MS = 1000000ull;  // ns

// Maps shared_info, installs the vector gate and sets HVM_PARAM_CALLBACK_IRQ.
// Prints `NAME: FAIL ...` and returns false on error. Interrupts stay off.
bool init();
xen::shared_info* shared();
uint64_t shared_info_gfn();
// The vCPU's vcpu_info: its slot in shared_info, or where
// register_vcpu_info moved it.
xen::vcpu_info* vcpu_info(unsigned vcpu);
// VCPUOP_register_vcpu_info: move this vCPU's vcpu_info to `at` (in the
// guest's own RAM; identity-mapped). 0 or a negative errno.
long register_vcpu_info(xen::vcpu_info* at);

// Called from the upcall for each pending, unmasked port (pending bit
// already cleared), with interrupts disabled, on the vCPU notified.
using Handler = void (*)(uint32_t port, void* ctx);
void set_handler(uint32_t port, Handler handler, void* ctx = nullptr);
// Events that arrived on ports without a handler (their pending bit is
// cleared and they are counted here).
uint64_t unhandled_events();
// All events dispatched so far.
uint64_t events_dispatched();

// Prints the event state of this vCPU (for FAIL diagnostics):
// `NAME: events: upcall_pending P pending_sel S pending[0] X mask[0] M, D dispatched, U unhandled`.
void print_state();

// EVTCHNOP wrappers: a port (>= 0) or a negative errno.
long alloc_unbound(uint16_t remote_dom, uint16_t dom = xen::DOMID_SELF);
long bind_interdomain(uint16_t remote_dom, uint32_t remote_port);
long bind_virq(uint32_t virq, uint32_t vcpu);
long bind_ipi(uint32_t vcpu);
// 0 or a negative errno.
long send(uint32_t port);
long close(uint32_t port);
long unmask(uint32_t port);
long bind_vcpu(uint32_t port, uint32_t vcpu);
long status(uint16_t dom, uint32_t port, xen::evtchn_status* out);

// Test-guest rendezvous without xenstore: the other domain allocates exactly
// one unbound port for us (EVTCHNOP_alloc_unbound, remote = our id); we try
// EVTCHNOP_bind_interdomain on its ports first_port..last_port, round after
// round (yielding in between), until one binds or timeout_ns passes. The
// local port, or the last negative errno. As in Xen, the new local port
// starts pending; callers that count events clear it.
long connect_to_peer(uint16_t peer, uint32_t first_port, uint32_t last_port, uint64_t timeout_ns);

// Local bits in shared_info (no hypercall).
void mask(uint32_t port);
void clear_pending(uint32_t port);
bool is_pending(uint32_t port);
bool is_masked(uint32_t port);

// SCHEDOP_poll on `ports` until one is pending or the absolute system time
// timeout_abs_ns (0: none). Returns 0 either way, or a negative errno.
long poll(const uint32_t* ports, unsigned nr_ports, uint64_t timeout_abs_ns);

// pvclock system time of the calling vCPU in ns. Without time information
// (all zero) it falls back to raw TSC ticks, so deadlines still expire.
uint64_t now_ns();
bool pvclock_present();
// A consistent copy of the calling vCPU's vcpu_time_info.
xen::vcpu_time_info time_info();
// ns for a TSC delta, scaled with ti's mul and shift.
uint64_t tsc_delta_to_ns(uint64_t tsc_delta, const xen::vcpu_time_info& ti);
// Wallclock at system time 0; false if the hypervisor has not set one.
bool wallclock_base(uint64_t* sec, uint32_t* nsec);

// This vCPU's single-shot and periodic timers (fire VIRQ_TIMER).
long timer_set(uint64_t abs_ns);
long timer_stop();
long periodic_stop();

// A self-rearming single-shot timer on the calling vCPU (binds VIRQ_TIMER
// there): wakes wait_until() every period so its timeouts work even when the
// awaited event never comes. Do not combine with other uses of VIRQ_TIMER on
// that vCPU. Returns false (and prints) on error.
bool heartbeat_start(uint64_t period_ns);
void heartbeat_stop();
uint64_t heartbeats();

// Waits until cond() holds or timeout_ns of pvclock time passes (FOREVER:
// no timeout); interrupts are enabled only while halted, and are restored
// to their previous state on return. Timeouts are only noticed when
// something wakes the vCPU (an event or the heartbeat).
template <typename Cond>
bool wait_until(Cond cond, uint64_t timeout_ns) {
    unsigned long flags = irq_save();
    const uint64_t start = now_ns();
    bool ok = true;
    while (!cond()) {
        if (timeout_ns != FOREVER && now_ns() - start >= timeout_ns) {
            ok = cond();
            break;
        }
        halt_then_disable();
    }
    irq_restore(flags);
    return ok;
}

}  // namespace guest::ev
