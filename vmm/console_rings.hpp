// The hypervisor's console service for boot-time domUs, as Xen's dom0less
// domains have it: each gets a console ring page (Xen's PVH special page
// SPECIALPAGE_CONSOLE, gfn 0xfefff) and an unbound event channel for dom0,
// in HVM_PARAM_CONSOLE_PFN / HVM_PARAM_CONSOLE_EVTCHN. Until dom0's console
// back end takes a ring over (hand_over), the hypervisor serves it: the
// guest's sends on that port print its out[] as `(dN)` lines, and serial
// input switched to the domain goes into its in[] with a send back.
//
// Effectful: the ring logic is vmm/console_ring (pure). One IRQ-safe lock
// covers every served ring; it is taken before the event lock, never after.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir {
struct Domain;
}

namespace menhir::console_rings {

// Gives a new domain (its RAM populated, not yet running) its console page
// and port, and starts serving it. False (nothing left behind) when memory
// or a port is missing, or its RAM reaches into the special pages.
[[nodiscard]] bool attach(Domain& d);

// EVTCHNOP_send by `d` on its unbound port `port` (call without the event
// lock): if that is its served console port, print what it wrote.
void notified(Domain& d, uint32_t port);

// `d` is being freed: stop serving it (it leaves the input cycle).
void detach(Domain& d);

// dom0's console back end takes d's console over: the hypervisor prints
// what is still in out[] and stops serving it. -ENOENT if it does not serve it.
[[nodiscard]] int64_t hand_over(Domain& d, uint64_t& gfn, uint32_t& port);

// The domUs served now, for the serial input cycle (kernel/console_input).
[[nodiscard]] size_t served_ids(uint16_t* ids, size_t max);
// One byte of serial input for domain `domid` (dropped if it is not served
// or its in[] is full).
void input(uint16_t domid, char c);

} // namespace menhir::console_rings
