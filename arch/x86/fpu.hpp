// A vCPU's x87/SSE/AVX state and how it changes hands between vCPUs.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::fpu {

// On each CPU, once CR4.OSXSAVE is set (percpu::activate): loads XCR0 with
// every user state component the CPU supports. XCR0 stays that while no
// vCPU is loaded, so that XSAVE/XRSTOR move the whole state whatever XCR0 a
// guest chose (SDM Vol 1 13.7, 13.8: they only touch components in XCR0).
void init_this_cpu();

// The XCR0 bits a guest may set: everything init_this_cpu() enabled (0
// without XSAVE: there is no XCR0 then).
[[nodiscard]] uint64_t host_xcr0();

// Frames one vCPU's save area takes (the XSAVE size for host_xcr0()).
[[nodiscard]] size_t area_frames();

// A fresh vCPU's area: every component in its initial state (XSTATE_BV 0),
// with FXSAVE's own defaults for the legacy region (FCW 0x37f, MXCSR 0x1f80).
void init_area(void* area);

// Unloading a vCPU whose XCR0 is guest_xcr0: XCR0 := host_xcr0(), then the
// whole state into area.
void save(void* area, uint64_t guest_xcr0);

// Loading one: the whole state from area, then XCR0 := its own.
void restore(const void* area, uint64_t guest_xcr0);

} // namespace menhir::fpu
